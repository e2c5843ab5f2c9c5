//! The same network and optimiser written with candle tensors and autograd,
//! for devices other than the CPU (`--device cuda`).
//!
//! The CPU trainer uses the fused kernels in [`super::net`]; this engine runs
//! a whole epoch on a candle device, then copies weights and Adam moments
//! back into the flat buffers, so checkpoints, the best-epoch copy, resume
//! and scoring stay one mechanism whatever the device. A test checks that
//! on the CPU it takes the same steps as the fused engine.

use candle_core::{DType, Device, Tensor, Var};

use super::config::OptimizerKind;
use super::net::Mlp;
use super::optim::Optimizer;
use crate::error::{Error, Result};
use crate::features::Matrix;

/// The device for a name, failing with the way out when it is missing.
pub fn device(cuda: bool) -> Result<Device> {
    if !cuda {
        return Ok(Device::Cpu);
    }
    Device::new_cuda(0).map_err(|e| {
        Error::usage(format!(
            "--device cuda: no usable CUDA GPU ({e}); check `nvidia-smi` and `carelab doctor`, \
             or use --device cpu"
        ))
    })
}

/// Training data and parameters resident on a candle device.
pub struct CandleEngine {
    dev: Device,
    x: Tensor,
    y: Tensor,
    w: Tensor,
    /// weight, bias, weight, bias, ... as in `Mlp::named_ranges`.
    params: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// The type the forward pass computes in. Parameters, moments and the
    /// loss stay f32 (mixed precision: bf16 matmuls, f32 master weights),
    /// so a bf16 run still updates weights by small steps.
    compute: DType,
}

impl CandleEngine {
    /// Upload the training rows and the current parameters and moments.
    pub fn new(
        dev: Device,
        x: &Matrix,
        y: &[f32],
        w: &[f32],
        mlp: &Mlp,
        opt: &Optimizer,
    ) -> Result<CandleEngine> {
        let upload = |flat: &[f32]| -> Result<Vec<Tensor>> {
            mlp.named_ranges()
                .into_iter()
                .map(|(_, shape, range)| {
                    let values = flat.get(range).unwrap_or_default();
                    Ok(Tensor::from_slice(values, shape, &dev)?)
                })
                .collect()
        };
        let params = upload(&mlp.params)?
            .into_iter()
            .map(|t| Var::from_tensor(&t))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let (m, v) = if opt.m.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (upload(&opt.m)?, upload(&opt.v)?)
        };
        Ok(CandleEngine {
            x: Tensor::from_slice(&x.data, (x.rows, x.cols), &dev)?,
            y: Tensor::from_slice(y, (y.len(), 1), &dev)?,
            w: Tensor::from_slice(w, (w.len(), 1), &dev)?,
            dev,
            params,
            m,
            v,
            compute: DType::F32,
        })
    }

    /// Compute the forward pass in `dtype` (f32 or bf16) from now on. The
    /// training rows are converted once; weights are cast each step, and
    /// the cast is part of the graph, so gradients reach the f32 weights.
    pub fn with_compute(mut self, dtype: DType) -> Result<CandleEngine> {
        if !matches!(dtype, DType::F32 | DType::BF16) {
            return Err(Error::usage(format!(
                "compute type {dtype:?}: the engine computes in f32 or bf16"
            )));
        }
        self.x = self.x.to_dtype(dtype)?;
        self.compute = dtype;
        Ok(self)
    }

    /// One epoch over `perm` in batches; returns the sum over rows of the
    /// weighted loss (as the fused engine's `loss * rows`).
    pub fn epoch(&mut self, perm: &[usize], batch: usize, opt: &mut Optimizer) -> Result<f64> {
        let mut total = 0.0;
        for rows in perm.chunks(batch.max(1)) {
            let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
            let idx = Tensor::from_slice(&idx, idx.len(), &self.dev)?;
            let xb = self.x.index_select(&idx, 0)?;
            let yb = self.y.index_select(&idx, 0)?;
            let wb = self.w.index_select(&idx, 0)?;
            let z = self.forward(&xb)?;
            // Stable BCE with logits: max(z, 0) - z y + log(1 + exp(-|z|)).
            let bce =
                ((z.relu()? - (&z * &yb)?)? + z.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?;
            let loss = (bce * wb)?.mean_all()?;
            total += f64::from(loss.to_scalar::<f32>()?) * rows.len() as f64;
            let grads = loss.backward()?;
            opt.step += 1;
            for i in 0..self.params.len() {
                let p = self.params[i].as_tensor().clone();
                let g = grads.get(&p).cloned().map_or_else(|| p.zeros_like(), Ok)?;
                let next = self.update(i, &p, &g, opt)?;
                self.params[i].set(&next)?;
            }
        }
        Ok(total)
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut a = x.clone();
        let layers = self.params.len() / 2;
        for (i, wb) in self.params.chunks(2).enumerate() {
            let (Some(w), Some(b)) = (wb.first(), wb.get(1)) else {
                break;
            };
            let w = w.as_tensor().to_dtype(self.compute)?;
            let b = b.as_tensor().to_dtype(self.compute)?;
            a = a.matmul(&w.t()?)?.broadcast_add(&b)?;
            if i + 1 < layers {
                a = a.relu()?;
            }
        }
        Ok(a.to_dtype(DType::F32)?)
    }

    /// The same update as `Optimizer::step`, in tensor ops.
    fn update(&mut self, i: usize, p: &Tensor, g: &Tensor, opt: &Optimizer) -> Result<Tensor> {
        let (lr, wd) = (f64::from(opt.lr), f64::from(opt.weight_decay));
        match opt.kind {
            OptimizerKind::Sgd => Ok((p - ((g + p.affine(wd, 0.0)?)? * lr)?)?),
            OptimizerKind::Adamw => {
                let t = opt.step as i32;
                let bias1 = 1.0 - 0.9f64.powi(t);
                let bias2_sqrt = (1.0 - 0.999f64.powi(t)).sqrt();
                let decayed = p.affine(1.0 - lr * wd, 0.0)?;
                let m = ((&self.m[i] * 0.9)? + (g * 0.1)?)?;
                let v = ((&self.v[i] * 0.999)? + (g.sqr()? * 0.001)?)?;
                let denom = v.sqrt()?.affine(1.0 / bias2_sqrt, 1e-8)?;
                let next = (decayed - (m.broadcast_div(&denom)? * (lr / bias1))?)?;
                self.m[i] = m;
                self.v[i] = v;
                Ok(next)
            }
        }
    }

    /// Copy parameters and moments back into the flat buffers.
    pub fn download(&self, mlp: &mut Mlp, opt: &mut Optimizer) -> Result<()> {
        let ranges = mlp.named_ranges();
        for (i, (_, _, range)) in ranges.iter().enumerate() {
            let copy = |t: &Tensor, into: &mut Vec<f32>| -> Result<()> {
                let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
                if let Some(dst) = into.get_mut(range.clone()) {
                    dst.copy_from_slice(&values);
                }
                Ok(())
            };
            copy(self.params[i].as_tensor(), &mut mlp.params)?;
            if let (Some(m), Some(v)) = (self.m.get(i), self.v.get(i)) {
                copy(m, &mut opt.m)?;
                copy(v, &mut opt.v)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::net::Workspace;
    use rand::Rng as _;

    #[test]
    fn candle_engine_takes_the_same_steps_as_the_fused_engine() {
        let mut rng = crate::rng::stream(1, "test", 0);
        let x = Matrix {
            rows: 40,
            cols: 5,
            data: (0..200).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
        };
        let y: Vec<f32> = (0..40).map(|i| f32::from(u8::from(i % 3 == 0))).collect();
        let w: Vec<f32> = (0..40)
            .map(|i| if i % 3 == 0 { 1.5 } else { 0.75 })
            .collect();
        let perm: Vec<usize> = (0..40).rev().collect();
        for kind in [OptimizerKind::Adamw, OptimizerKind::Sgd] {
            let start = Mlp::init(5, &[6, 4], 2);
            // Fused: three batches of 16, 16 and 8.
            let mut fused = start.clone();
            let mut opt_f = Optimizer::new(kind, 0.01, 0.01, fused.params.len());
            let mut ws = Workspace::new(&fused, 16);
            let mut fused_loss = 0.0;
            for rows in perm.chunks(16) {
                ws.load_rows(&x, rows);
                let yb: Vec<f32> = rows.iter().map(|&r| y[r]).collect();
                let wb: Vec<f32> = rows.iter().map(|&r| w[r]).collect();
                fused_loss += f64::from(ws.forward_backward(&fused, rows.len(), &yb, &wb))
                    * rows.len() as f64;
                opt_f.step(&mut fused.params, &ws.grads);
            }
            // Candle, same batches.
            let mut cand = start.clone();
            let mut opt_c = Optimizer::new(kind, 0.01, 0.01, cand.params.len());
            let mut engine = CandleEngine::new(Device::Cpu, &x, &y, &w, &cand, &opt_c).unwrap();
            let candle_loss = engine.epoch(&perm, 16, &mut opt_c).unwrap();
            engine.download(&mut cand, &mut opt_c).unwrap();
            assert!(
                (fused_loss - candle_loss).abs() < 1e-4,
                "{fused_loss} vs {candle_loss}"
            );
            assert_eq!(opt_f.step, opt_c.step);
            for (a, b) in fused.params.iter().zip(&cand.params) {
                assert!((a - b).abs() < 1e-5, "{kind:?}: {a} vs {b}");
            }
            for (a, b) in opt_f.m.iter().zip(&opt_c.m) {
                assert!((a - b).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn bf16_compute_learns_like_f32_and_keeps_f32_weights() {
        let mut rng = crate::rng::stream(3, "test", 0);
        let (rows, cols) = (512, 8);
        let data: Vec<f32> = (0..rows * cols)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        // A learnable label: the sign of the first two features' sum.
        let y: Vec<f32> = (0..rows)
            .map(|r| f32::from(u8::from(data[r * cols] + data[r * cols + 1] > 0.0)))
            .collect();
        let x = Matrix { rows, cols, data };
        let w = vec![1.0f32; rows];
        let perm: Vec<usize> = (0..rows).collect();
        let start = Mlp::init(cols, &[16], 4);
        let mut losses = Vec::new();
        for dtype in [DType::F32, DType::BF16] {
            let mut mlp = start.clone();
            let mut opt = Optimizer::new(OptimizerKind::Adamw, 0.01, 0.0, mlp.params.len());
            let mut engine = CandleEngine::new(Device::Cpu, &x, &y, &w, &mlp, &opt)
                .unwrap()
                .with_compute(dtype)
                .unwrap();
            let first = engine.epoch(&perm, 64, &mut opt).unwrap() / rows as f64;
            let mut last = first;
            for _ in 0..15 {
                last = engine.epoch(&perm, 64, &mut opt).unwrap() / rows as f64;
            }
            engine.download(&mut mlp, &mut opt).unwrap();
            assert!(last < 0.5 * first, "{dtype:?}: loss {first} -> {last}");
            assert!(mlp.params.iter().all(|p| p.is_finite()));
            losses.push(last);
        }
        // bf16 keeps ~3 significant digits: the same road, not the same steps.
        assert!((losses[0] - losses[1]).abs() < 0.05, "{losses:?}");
        assert!(CandleEngine::new(
            Device::Cpu,
            &x,
            &y,
            &w,
            &start,
            &Optimizer::new(OptimizerKind::Sgd, 0.1, 0.0, start.params.len())
        )
        .unwrap()
        .with_compute(DType::F16)
        .is_err());
    }
}
