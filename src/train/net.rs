//! The network and its hand-written forward and backward passes on the CPU.
//!
//! A plain candle loop builds a graph of small tensors every step and spends
//! most of its time in `backward()`: strided matmuls for the weight
//! gradients, an allocation per op and rayon hand-offs on tensors too small
//! to split. This engine keeps every parameter, gradient, optimiser moment
//! and activation in flat `f32` buffers that are allocated once, writes the
//! bias into the output before a single matrix multiply (fused bias), applies
//! ReLU in place, and runs AdamW as one loop over the flat parameter vector.
//! The multiplies go to the `gemm` crate (the kernel candle itself uses on
//! the CPU) on one thread, which also makes every run bit-for-bit repeatable.
//!
//! Layout: layer `i` has `weight` [out, in] row-major and `bias` [out], the
//! same as PyTorch's `nn.Linear`, stored back to back in one vector.

use rand::Rng as _;

use crate::features::Matrix;
use crate::rng;

/// One linear layer's shape and where its parameters sit in the flat vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    pub inputs: usize,
    pub outputs: usize,
    /// Offset of the weight [outputs, inputs] in the flat vector.
    pub weight_at: usize,
    /// Offset of the bias [outputs].
    pub bias_at: usize,
}

impl LayerShape {
    pub fn weight_len(&self) -> usize {
        self.inputs * self.outputs
    }
}

/// A stack of linear layers with ReLU between them and one logit out.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub layers: Vec<LayerShape>,
    /// Every weight and bias, layer after layer.
    pub params: Vec<f32>,
}

impl Mlp {
    /// Shapes for `inputs -> hidden... -> 1`, parameters zeroed.
    pub fn zeros(inputs: usize, hidden: &[usize]) -> Mlp {
        let mut layers = Vec::new();
        let mut at = 0;
        let mut fan_in = inputs;
        for &out in hidden.iter().chain(std::iter::once(&1)) {
            let shape = LayerShape {
                inputs: fan_in,
                outputs: out,
                weight_at: at,
                bias_at: at + fan_in * out,
            };
            at = shape.bias_at + out;
            layers.push(shape);
            fan_in = out;
        }
        Mlp {
            layers,
            params: vec![0.0; at],
        }
    }

    /// PyTorch's `nn.Linear` initialisation, U(-1/sqrt(in), 1/sqrt(in)) for
    /// weights and biases, drawn from the named stream `init`, one per layer.
    pub fn init(inputs: usize, hidden: &[usize], seed: u64) -> Mlp {
        let mut mlp = Mlp::zeros(inputs, hidden);
        for (i, layer) in mlp.layers.clone().iter().enumerate() {
            let bound = 1.0 / (layer.inputs.max(1) as f32).sqrt();
            let mut rng = rng::stream(seed, "init", i as u64);
            let end = layer.bias_at + layer.outputs;
            for p in &mut mlp.params[layer.weight_at..end] {
                *p = rng.random_range(-bound..bound);
            }
        }
        mlp
    }

    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs)
    }

    /// Hidden sizes (every layer's output but the last).
    pub fn hidden(&self) -> Vec<usize> {
        let n = self.layers.len().saturating_sub(1);
        self.layers[..n].iter().map(|l| l.outputs).collect()
    }

    /// The PyTorch state_dict names and shapes: `layers.{i}.weight` [out, in]
    /// and `layers.{i}.bias` [out], with the flat range each occupies.
    pub fn named_ranges(&self) -> Vec<(String, Vec<usize>, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            out.push((
                format!("layers.{i}.weight"),
                vec![l.outputs, l.inputs],
                l.weight_at..l.weight_at + l.weight_len(),
            ));
            out.push((
                format!("layers.{i}.bias"),
                vec![l.outputs],
                l.bias_at..l.bias_at + l.outputs,
            ));
        }
        out
    }

    /// Probabilities for every row of `x`, in batches.
    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        const CHUNK: usize = 4096;
        let mut ws = Workspace::for_inference(self, CHUNK.min(x.rows.max(1)));
        let mut out = Vec::with_capacity(x.rows);
        let mut start = 0;
        while start < x.rows {
            let n = CHUNK.min(x.rows - start);
            ws.load_range(x, start, n);
            let logits = ws.forward(self, n);
            out.extend(logits.iter().map(|&z| f64::from(sigmoid(z))));
            start += n;
        }
        out
    }
}

pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Binary cross-entropy on a logit, in the numerically stable form.
pub fn bce_with_logit(z: f32, y: f32) -> f32 {
    z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
}

/// Buffers for one batch: activations of every layer and their gradients.
pub struct Workspace {
    capacity: usize,
    /// `acts[0]` is the input batch; `acts[i + 1]` the output of layer `i`.
    acts: Vec<Vec<f32>>,
    /// Gradient of the loss w.r.t. each layer's output (pre-activation).
    deltas: Vec<Vec<f32>>,
    /// Gradient of every parameter, laid out like `Mlp::params`.
    pub grads: Vec<f32>,
}

impl Workspace {
    pub fn new(mlp: &Mlp, capacity: usize) -> Workspace {
        let mut acts = vec![vec![0.0; capacity * mlp.inputs()]];
        let mut deltas = Vec::new();
        for l in &mlp.layers {
            acts.push(vec![0.0; capacity * l.outputs]);
            deltas.push(vec![0.0; capacity * l.outputs]);
        }
        Workspace {
            capacity,
            acts,
            deltas,
            grads: vec![0.0; mlp.params.len()],
        }
    }

    /// Buffers for `forward` only: the activations, without the gradient
    /// and delta buffers training needs (the server scores one row a
    /// request, and allocating a gradient for every parameter each time was
    /// most of the cost of scoring it).
    pub fn for_inference(mlp: &Mlp, capacity: usize) -> Workspace {
        let mut acts = vec![vec![0.0; capacity * mlp.inputs()]];
        for l in &mlp.layers {
            acts.push(vec![0.0; capacity * l.outputs]);
        }
        Workspace {
            capacity,
            acts,
            deltas: Vec::new(),
            grads: Vec::new(),
        }
    }

    /// Copy the chosen rows of `x` into the input buffer (a contiguous batch).
    pub fn load_rows(&mut self, x: &Matrix, rows: &[usize]) {
        assert!(
            rows.len() <= self.capacity,
            "batch larger than the workspace"
        );
        let cols = x.cols;
        let input = &mut self.acts[0];
        for (b, &r) in rows.iter().enumerate() {
            input[b * cols..(b + 1) * cols].copy_from_slice(&x.data[r * cols..(r + 1) * cols]);
        }
    }

    /// Copy `n` consecutive rows of `x` from `start` into the input buffer.
    fn load_range(&mut self, x: &Matrix, start: usize, n: usize) {
        assert!(n <= self.capacity, "batch larger than the workspace");
        let cols = x.cols;
        self.acts[0][..n * cols].copy_from_slice(&x.data[start * cols..(start + n) * cols]);
    }

    /// Forward the first `n` rows of the input buffer; returns the logits.
    pub fn forward(&mut self, mlp: &Mlp, n: usize) -> &[f32] {
        let last = mlp.layers.len() - 1;
        for (i, l) in mlp.layers.iter().enumerate() {
            let (before, after) = self.acts.split_at_mut(i + 1);
            let input = &before[i][..n * l.inputs];
            let out = &mut after[0][..n * l.outputs];
            let bias = &mlp.params[l.bias_at..l.bias_at + l.outputs];
            for row in out.chunks_exact_mut(l.outputs) {
                row.copy_from_slice(bias);
            }
            // out[n, o] += input[n, k] . weight[o, k]^T
            let w = &mlp.params[l.weight_at..l.weight_at + l.weight_len()];
            matmul(
                n,
                l.outputs,
                l.inputs,
                out,
                true,
                View::row_major(input, l.inputs),
                View::transposed(w, l.inputs),
            );
            if i < last {
                for v in out.iter_mut() {
                    *v = v.max(0.0);
                }
            }
        }
        &self.acts[last + 1][..n]
    }

    /// Forward and backward for a batch of the first `n` input rows with
    /// labels `y` and row weights `w`; fills `grads` and returns the mean
    /// weighted loss (the mean over rows of `w * bce`, as PyTorch's
    /// `BCEWithLogitsLoss(weight=w)`).
    pub fn forward_backward(&mut self, mlp: &Mlp, n: usize, y: &[f32], w: &[f32]) -> f32 {
        self.forward(mlp, n);
        let last = mlp.layers.len() - 1;
        let inv_n = 1.0 / n as f32;
        let mut loss = 0.0f32;
        {
            let logits = &self.acts[last + 1][..n];
            let delta = &mut self.deltas[last][..n];
            for b in 0..n {
                loss += w[b] * bce_with_logit(logits[b], y[b]);
                delta[b] = w[b] * (sigmoid(logits[b]) - y[b]) * inv_n;
            }
        }
        for i in (0..=last).rev() {
            let l = mlp.layers[i];
            let (lower, upper) = self.deltas.split_at_mut(i);
            let delta = &upper[0][..n * l.outputs];
            let input = &self.acts[i][..n * l.inputs];
            // dW[o, k] = sum_n delta[n, o] * input[n, k]
            let gw = &mut self.grads[l.weight_at..l.weight_at + l.weight_len()];
            matmul(
                l.outputs,
                l.inputs,
                n,
                gw,
                false,
                View::transposed(delta, l.outputs),
                View::row_major(input, l.inputs),
            );
            let gb = &mut self.grads[l.bias_at..l.bias_at + l.outputs];
            gb.fill(0.0);
            for row in delta.chunks_exact(l.outputs) {
                for (g, d) in gb.iter_mut().zip(row) {
                    *g += d;
                }
            }
            if i > 0 {
                // delta_prev[n, k] = (delta[n, o] . W[o, k]) * relu'(input)
                let prev = &mut lower[i - 1][..n * l.inputs];
                let wt = &mlp.params[l.weight_at..l.weight_at + l.weight_len()];
                matmul(
                    n,
                    l.inputs,
                    l.outputs,
                    prev,
                    false,
                    View::row_major(delta, l.outputs),
                    View::row_major(wt, l.inputs),
                );
                for (d, a) in prev.iter_mut().zip(input) {
                    if *a <= 0.0 {
                        *d = 0.0;
                    }
                }
            }
        }
        loss * inv_n
    }
}

/// A matrix operand: a slice read with a row stride and a column stride.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix with `cols` columns.
    fn row_major(data: &'a [f32], cols: usize) -> View<'a> {
        View {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix that has `cols` columns.
    fn transposed(data: &'a [f32], cols: usize) -> View<'a> {
        View {
            data,
            row_stride: 1,
            col_stride: cols,
        }
    }

    fn covers(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst[m, n] = (accumulate ? dst : 0) + lhs[m, k] . rhs[k, n]`, dst row-major.
fn matmul(m: usize, n: usize, k: usize, dst: &mut [f32], accumulate: bool, lhs: View, rhs: View) {
    // The bounds checks make the raw-pointer call below sound.
    assert!(dst.len() >= m * n && lhs.covers(m, k) && rhs.covers(k, n));
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    // SAFETY: every index gemm touches lies inside the slices (checked
    // above), and `dst` does not alias `lhs` or `rhs` (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: usize, cols: usize, seed: u64) -> Matrix {
        let mut rng = rng::stream(seed, "test-x", 0);
        let data = (0..rows * cols)
            .map(|_| rng.random_range(-2.0f32..2.0))
            .collect();
        Matrix { rows, cols, data }
    }

    fn loss_of(mlp: &Mlp, x: &Matrix, y: &[f32], w: &[f32]) -> f64 {
        let mut ws = Workspace::new(mlp, x.rows);
        ws.load_rows(x, &(0..x.rows).collect::<Vec<_>>());
        let z = ws.forward(mlp, x.rows).to_vec();
        let s: f64 = (0..x.rows)
            .map(|i| f64::from(w[i] * bce_with_logit(z[i], y[i])))
            .sum();
        s / x.rows as f64
    }

    #[test]
    fn forward_matches_a_naive_loop() {
        let mlp = Mlp::init(5, &[4, 3], 1);
        let x = matrix(7, 5, 2);
        let p = mlp.predict(&x);
        for (r, pr) in p.iter().enumerate() {
            let mut a: Vec<f32> = x.row(r).to_vec();
            for (i, l) in mlp.layers.iter().enumerate() {
                let mut next = vec![0.0f32; l.outputs];
                for (o, v) in next.iter_mut().enumerate() {
                    *v = mlp.params[l.bias_at + o];
                    for (k, ak) in a.iter().enumerate() {
                        *v += mlp.params[l.weight_at + o * l.inputs + k] * ak;
                    }
                    if i + 1 < mlp.layers.len() {
                        *v = v.max(0.0);
                    }
                }
                a = next;
            }
            assert!((pr - f64::from(sigmoid(a[0]))).abs() < 1e-6);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut mlp = Mlp::init(4, &[6, 3], 3);
        let x = matrix(9, 4, 4);
        let y: Vec<f32> = (0..9).map(|i| (i % 2) as f32).collect();
        let w: Vec<f32> = (0..9).map(|i| if i % 3 == 0 { 2.0 } else { 1.0 }).collect();
        let mut ws = Workspace::new(&mlp, 9);
        ws.load_rows(&x, &(0..9).collect::<Vec<_>>());
        let loss = ws.forward_backward(&mlp, 9, &y, &w);
        assert!((f64::from(loss) - loss_of(&mlp, &x, &y, &w)).abs() < 1e-5);
        let grads = ws.grads.clone();
        let eps = 1e-3f32;
        for (p, &analytic) in grads.iter().enumerate() {
            let orig = mlp.params[p];
            mlp.params[p] = orig + eps;
            let up = loss_of(&mlp, &x, &y, &w);
            mlp.params[p] = orig - eps;
            let down = loss_of(&mlp, &x, &y, &w);
            mlp.params[p] = orig;
            let numeric = (up - down) / (2.0 * f64::from(eps));
            assert!(
                (numeric - f64::from(analytic)).abs() < 2e-3,
                "param {p}: numeric {numeric} analytic {analytic}"
            );
        }
    }

    #[test]
    fn names_follow_the_pytorch_state_dict() {
        let mlp = Mlp::zeros(10, &[8]);
        let names: Vec<_> = mlp
            .named_ranges()
            .into_iter()
            .map(|(n, s, r)| (n, s, r.len()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("layers.0.weight".to_string(), vec![8, 10], 80),
                ("layers.0.bias".to_string(), vec![8], 8),
                ("layers.1.weight".to_string(), vec![1, 8], 8),
                ("layers.1.bias".to_string(), vec![1], 1),
            ]
        );
        assert_eq!(mlp.params.len(), 97);
        assert_eq!(mlp.hidden(), vec![8]);
    }
}
