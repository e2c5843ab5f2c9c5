//! The same network on candle tensors: any device candle has (CPU, CUDA)
//! and any float type (f32, bf16).
//!
//! The fused engine in [`super::net`] is the fast path on a CPU. This one is
//! the path to a GPU and to lower precision, and it is an independent
//! implementation of the same maths: candle's autograd computes the
//! gradients the fused engine writes by hand, and a test holds the two to
//! each other. Parameters move between them through the flat layout of
//! [`Mlp`], so a model trained here saves, loads and serves like any other.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer as _, ParamsAdamW};

use super::config::DeviceKind;
use super::net::Mlp;
use crate::error::{Error, Result};
use crate::features::Matrix;

/// The candle device for `kind`, or a clear error saying how to get it.
pub fn device(kind: DeviceKind) -> Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        DeviceKind::Cuda if !cfg!(feature = "cuda") => Err(Error::usage(
            "--device cuda needs a build with CUDA support: install the CUDA toolkit (or run \
             scripts/build-cuda.sh), build with `cargo build --release --features cuda`, and run \
             on a machine with an NVIDIA GPU; or use --device cpu",
        )),
        DeviceKind::Cuda => Device::new_cuda(0).map_err(|e| {
            Error::usage(format!(
                "--device cuda: no usable CUDA device ({e}); check `nvidia-smi` and `carelab doctor`, \
                 or use --device cpu"
            ))
        }),
    }
}

/// Parse a float type name as the CLI spells it.
pub fn dtype(name: &str) -> Result<DType> {
    match name {
        "f32" => Ok(DType::F32),
        "bf16" => Ok(DType::BF16),
        "f16" => Ok(DType::F16),
        other => Err(Error::usage(format!(
            "unknown dtype '{other}': expected f32, bf16 or f16"
        ))),
    }
}

/// The MLP's parameters as candle variables.
pub struct CandleMlp {
    layers: Vec<(Var, Var)>,
    device: Device,
    dtype: DType,
}

impl CandleMlp {
    /// Copy the flat parameters of `mlp` onto `device` as `dtype`.
    pub fn from_mlp(mlp: &Mlp, device: &Device, dtype: DType) -> Result<CandleMlp> {
        let mut layers = Vec::with_capacity(mlp.layers.len());
        for l in &mlp.layers {
            let w = &mlp.params[l.weight_at..l.weight_at + l.weight_len()];
            let b = &mlp.params[l.bias_at..l.bias_at + l.outputs];
            let w = Tensor::from_slice(w, (l.outputs, l.inputs), device)?.to_dtype(dtype)?;
            let b = Tensor::from_slice(b, l.outputs, device)?.to_dtype(dtype)?;
            layers.push((Var::from_tensor(&w)?, Var::from_tensor(&b)?));
        }
        Ok(CandleMlp {
            layers,
            device: device.clone(),
            dtype,
        })
    }

    /// Write the parameters back into `mlp`'s flat vector (as f32).
    pub fn write_into(&self, mlp: &mut Mlp) -> Result<()> {
        for (l, (w, b)) in mlp.layers.clone().iter().zip(&self.layers) {
            let w: Vec<f32> = w
                .as_tensor()
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1()?;
            let b: Vec<f32> = b.as_tensor().to_dtype(DType::F32)?.to_vec1()?;
            mlp.params[l.weight_at..l.weight_at + l.weight_len()].copy_from_slice(&w);
            mlp.params[l.bias_at..l.bias_at + l.outputs].copy_from_slice(&b);
        }
        Ok(())
    }

    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }

    /// Logits [n] for a batch `x` [n, inputs].
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = h
                .matmul(&w.as_tensor().t()?)?
                .broadcast_add(b.as_tensor())?;
            if i < last {
                h = h.relu()?;
            }
        }
        Ok(h.squeeze(1)?)
    }

    /// Mean over the batch of `w * bce(logit, y)` in the stable form
    /// max(z, 0) − z·y + ln(1 + e^−|z|), as the fused engine computes it.
    pub fn loss(&self, x: &Tensor, y: &Tensor, w: &Tensor) -> Result<Tensor> {
        let z = self.logits(x)?;
        let softplus = (z.abs()?.neg()?.exp()? + 1.0)?.log()?;
        let per_row = ((z.relu()? - (&z * y)?)? + softplus)?;
        Ok((per_row * w)?.mean_all()?)
    }

    /// Rows `rows` of `x`, labels and weights as tensors on this device.
    pub fn batch(
        &self,
        x: &Matrix,
        y: &[f32],
        w: &[f32],
        rows: &[usize],
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let mut xs = Vec::with_capacity(rows.len() * x.cols);
        for &r in rows {
            xs.extend_from_slice(x.row(r));
        }
        let ys: Vec<f32> = rows.iter().map(|&r| y[r]).collect();
        let ws: Vec<f32> = rows.iter().map(|&r| w[r]).collect();
        let to = |v: Vec<f32>, shape: &[usize]| -> Result<Tensor> {
            Ok(Tensor::from_vec(v, shape, &self.device)?.to_dtype(self.dtype)?)
        };
        Ok((
            to(xs, &[rows.len(), x.cols])?,
            to(ys, &[rows.len()])?,
            to(ws, &[rows.len()])?,
        ))
    }

    /// One epoch of AdamW over `order` in batches; returns the mean batch loss.
    pub fn train_epoch(
        &self,
        opt: &mut AdamW,
        x: &Matrix,
        y: &[f32],
        w: &[f32],
        order: &[usize],
        batch_size: usize,
    ) -> Result<f32> {
        let mut total = 0.0f64;
        let mut batches = 0usize;
        for rows in order.chunks(batch_size.max(1)) {
            let (xb, yb, wb) = self.batch(x, y, w, rows)?;
            let loss = self.loss(&xb, &yb, &wb)?;
            opt.backward_step(&loss)?;
            total += f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?);
            batches += 1;
        }
        Ok((total / batches.max(1) as f64) as f32)
    }
}

/// candle's AdamW with PyTorch's defaults and the given rate and decay.
pub fn adamw(vars: Vec<Var>, lr: f64, weight_decay: f64) -> Result<AdamW> {
    Ok(AdamW::new(
        vars,
        ParamsAdamW {
            lr,
            weight_decay,
            ..Default::default()
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::net::{Mlp, Workspace};

    fn data(n: usize, cols: usize) -> (Matrix, Vec<f32>, Vec<f32>) {
        let data: Vec<f32> = (0..n * cols)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect();
        let y: Vec<f32> = (0..n).map(|i| f32::from(u8::from(i % 3 == 0))).collect();
        let w: Vec<f32> = (0..n).map(|i| if i % 3 == 0 { 2.0 } else { 1.0 }).collect();
        (
            Matrix {
                rows: n,
                cols,
                data,
            },
            y,
            w,
        )
    }

    #[test]
    fn candle_autograd_matches_the_hand_written_backward() {
        let (x, y, w) = data(24, 5);
        let mlp = Mlp::init(5, &[8, 4], 7);
        let rows: Vec<usize> = (0..24).collect();

        let mut ws = Workspace::new(&mlp, 24);
        ws.load_rows(&x, &rows);
        let fused_loss = ws.forward_backward(&mlp, 24, &y, &w);

        let net = CandleMlp::from_mlp(&mlp, &Device::Cpu, DType::F32).unwrap();
        let (xb, yb, wb) = net.batch(&x, &y, &w, &rows).unwrap();
        let loss = net.loss(&xb, &yb, &wb).unwrap();
        let candle_loss = loss.to_scalar::<f32>().unwrap();
        assert!(
            (fused_loss - candle_loss).abs() < 1e-5,
            "{fused_loss} vs {candle_loss}"
        );

        let grads = loss.backward().unwrap();
        let mut flat = Vec::new();
        for var in net.vars() {
            let g = grads.get(var.as_tensor()).unwrap();
            flat.extend(g.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        }
        assert_eq!(flat.len(), ws.grads.len());
        for (i, (a, b)) in flat.iter().zip(&ws.grads).enumerate() {
            assert!(
                (a - b).abs() < 1e-5,
                "gradient {i}: candle {a} vs fused {b}"
            );
        }
    }

    #[test]
    fn parameters_round_trip_and_training_lowers_the_loss() {
        let (x, y, w) = data(64, 5);
        let mut mlp = Mlp::init(5, &[8], 3);
        let net = CandleMlp::from_mlp(&mlp, &Device::Cpu, DType::F32).unwrap();
        let mut copy = mlp.clone();
        net.write_into(&mut copy).unwrap();
        assert_eq!(copy, mlp);

        let order: Vec<usize> = (0..64).collect();
        let mut opt = adamw(net.vars(), 0.05, 0.0).unwrap();
        let first = net.train_epoch(&mut opt, &x, &y, &w, &order, 16).unwrap();
        let mut last = first;
        for _ in 0..20 {
            last = net.train_epoch(&mut opt, &x, &y, &w, &order, 16).unwrap();
        }
        assert!(last < first * 0.9, "loss {first} -> {last}");
        net.write_into(&mut mlp).unwrap();
        assert_ne!(mlp, copy);
    }

    #[test]
    fn cuda_without_the_feature_says_how_to_get_it() {
        if cfg!(feature = "cuda") {
            return;
        }
        let e = device(DeviceKind::Cuda).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--features cuda"));
        assert!(dtype("bf16").is_ok() && dtype("f64").is_err());
    }
}
