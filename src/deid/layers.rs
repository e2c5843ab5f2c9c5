//! The learned detector's network laid out for inference: the weights
//! transposed and padded once a model, and one token's forward pass.
//!
//! Every layer is the same operation: a sum of rows, each times a number,
//! from `-0.0`, added in the rows' order. The embedding layer is its bias
//! row and then one table row per feature, each times 1 (exact in IEEE);
//! the two dense layers are one weight row per input, times that input,
//! and then their bias row times 1. Each output therefore adds the same
//! terms in the same order as a dot product per output, so the scores are
//! the same to the bit whichever way the sums are computed (a test checks
//! both ways against a plain dot product). That is why no fused
//! multiply-add is used: it rounds once where a multiply and an add round
//! twice, and would change the scores' last bits and so, rarely, a span.
//!
//! Tokens go through in batches of BATCH. Two ways: on a processor with
//! AVX (detected at run time), a register of eight outputs of each token
//! of the batch is summed in registers over all the rows and stored once;
//! elsewhere, one float at a time.

use super::detector::{Detector, CLASSES, FEATURES};

/// Floats in one AVX register. Every vector of the layout is padded with
/// zeros to a multiple of this, so each layer works a register at a time;
/// the padding lanes are never read as inputs.
const LANES: usize = 8;

/// Tokens scored together. Their sums are independent, so a processor
/// works on one token's while another's wait for an addition: each
/// output's chain of additions (one a row, in order) is otherwise bound by
/// the latency of an addition, not by how many the processor can start.
/// Eight chains keep two adders busy through an addition's latency of
/// four cycles, with one register of outputs a token (eight of AVX's
/// sixteen registers, leaving room for the loads).
pub(crate) const BATCH: usize = 8;

fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// How the sums are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// One float at a time, on any processor.
    Plain,
    /// Eight floats a register, in registers (x86-64 with AVX only).
    Avx,
}

impl Kernel {
    /// The fastest this processor runs.
    pub(crate) fn detect() -> Kernel {
        *Kernel::available().last().expect("Plain runs everywhere")
    }

    /// Every way this processor runs, slowest first.
    pub(crate) fn available() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Plain];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            kernels.push(Kernel::Avx);
        }
        kernels
    }
}

/// The network laid out for inference, made once a model.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    dim: usize,
    hidden: usize,
    /// Padded widths of the embedding, the hidden layer and the classes.
    dim_p: usize,
    hidden_p: usize,
    classes_p: usize,
    /// [buckets, dim_p]
    emb: Vec<f32>,
    /// [dim_p]
    b1: Vec<f32>,
    /// [dim, hidden_p]
    w2t: Vec<f32>,
    /// [hidden_p]
    b2: Vec<f32>,
    /// [hidden, classes_p]
    w3t: Vec<f32>,
    /// [classes_p]
    b3: Vec<f32>,
    kernel: Kernel,
}

/// A batch's activations, one row of each layer a token, reused from
/// batch to batch.
pub(crate) struct Scratch {
    e: Vec<f32>,
    h: Vec<f32>,
    out: Vec<f32>,
}

impl Scratch {
    pub(crate) fn new(net: &Net) -> Scratch {
        Scratch {
            e: vec![0.0; BATCH * net.dim_p],
            h: vec![0.0; BATCH * net.hidden_p],
            out: vec![0.0; BATCH * net.classes_p],
        }
    }

    /// Sized for `net` (another model's scratch grows or shrinks; the
    /// sums write every float before any is read).
    pub(crate) fn fit(&mut self, net: &Net) {
        self.e.resize(BATCH * net.dim_p, 0.0);
        self.h.resize(BATCH * net.hidden_p, 0.0);
        self.out.resize(BATCH * net.classes_p, 0.0);
    }
}

impl Net {
    pub(crate) fn new(d: &Detector, kernel: Kernel) -> Net {
        let (dim_p, hidden_p, classes_p) = (padded(d.dim), padded(d.hidden), padded(CLASSES));
        Net {
            dim: d.dim,
            hidden: d.hidden,
            dim_p,
            hidden_p,
            classes_p,
            emb: pad_rows(&d.emb, d.dim, dim_p),
            b1: pad_rows(&d.b1, d.dim, dim_p),
            w2t: pad_rows(&transpose(&d.w2, d.hidden, d.dim), d.hidden, hidden_p),
            b2: pad_rows(&d.b2, d.hidden, hidden_p),
            w3t: pad_rows(&transpose(&d.w3, CLASSES, d.hidden), CLASSES, classes_p),
            b3: pad_rows(&d.b3, CLASSES, classes_p),
            kernel,
        }
    }

    /// Class scores (logits) of a batch of tokens' features, in order.
    pub(crate) fn scores(
        &self,
        feats: &[[u32; FEATURES]; BATCH],
        s: &mut Scratch,
    ) -> [[f32; CLASSES]; BATCH] {
        match self.kernel {
            // SAFETY: `Kernel::Avx` is chosen only where the processor has AVX.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx => unsafe { self.forward_avx(feats, s) },
            _ => self.forward(feats, s, Plain),
        }
        std::array::from_fn(|b| {
            let at = b * self.classes_p;
            s.out[at..at + CLASSES]
                .try_into()
                .expect("classes_p >= CLASSES")
        })
    }

    /// `forward` with the AVX sums, compiled for AVX so they are inlined.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn forward_avx(&self, feats: &[[u32; FEATURES]; BATCH], s: &mut Scratch) {
        self.forward(feats, s, Avx(()));
    }

    /// The three layers, each a sum of rows (see the module's comment).
    #[inline(always)]
    fn forward(&self, feats: &[[u32; FEATURES]; BATCH], s: &mut Scratch, k: impl Sums) {
        let dim_p = self.dim_p;
        k.sums(&mut s.e, FEATURES + 1, |b, r| match r {
            0 => (&self.b1[..], 1.0),
            _ => {
                let at = feats[b][r - 1] as usize * dim_p;
                (&self.emb[at..at + dim_p], 1.0)
            }
        });
        relu(&mut s.e);
        dense(k, &mut s.h, &self.w2t, &self.b2, &s.e, self.dim);
        relu(&mut s.h);
        dense(k, &mut s.out, &self.w3t, &self.b3, &s.h, self.hidden);
    }
}

/// A dense layer as a sum of rows: for each token of the batch, weight
/// row `r` (as wide as `bias`) times the token's input `r`, for the first
/// `inputs` inputs (of a row of `input`, BATCH rows), then `bias`.
#[inline(always)]
fn dense<'n>(
    k: impl Sums,
    out: &mut [f32],
    weights: &'n [f32],
    bias: &'n [f32],
    input: &[f32],
    inputs: usize,
) {
    let (width, in_width) = (bias.len(), input.len() / BATCH);
    k.sums(out, inputs + 1, |b, r| match r {
        r if r < inputs => (
            &weights[r * width..(r + 1) * width],
            input[b * in_width + r],
        ),
        _ => (bias, 1.0),
    });
}

fn relu(v: &mut [f32]) {
    for a in v {
        *a = a.max(0.0);
    }
}

/// One layer's sums for each token `b` of a batch: row `b` of `out`
/// (`out` holds BATCH rows), at `k`, is the sum over `r < n` of `w[k] * x`
/// where `(w, x) = row(b, r)`, from `-0.0`, in the order of `r`; every `w`
/// is as long as a row of `out`, a multiple of LANES.
trait Sums: Copy {
    fn sums<'n>(self, out: &mut [f32], n: usize, row: impl Fn(usize, usize) -> (&'n [f32], f32));
}

/// One float at a time.
#[derive(Clone, Copy)]
struct Plain;

impl Sums for Plain {
    #[inline(always)]
    fn sums<'n>(self, out: &mut [f32], n: usize, row: impl Fn(usize, usize) -> (&'n [f32], f32)) {
        out.fill(-0.0);
        let width = out.len() / BATCH;
        for (b, out) in out.chunks_exact_mut(width).enumerate() {
            for r in 0..n {
                let (w, x) = row(b, r);
                for (a, w) in out.iter_mut().zip(w) {
                    *a += w * x;
                }
            }
        }
    }
}

/// A register of outputs a token at a time. Made only in
/// `Net::forward_avx`, which runs only where the processor has AVX:
/// holding one is the proof.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx(());

#[cfg(target_arch = "x86_64")]
impl Sums for Avx {
    #[inline(always)]
    fn sums<'n>(self, out: &mut [f32], n: usize, row: impl Fn(usize, usize) -> (&'n [f32], f32)) {
        let width = out.len() / BATCH;
        for col in (0..width).step_by(LANES) {
            // SAFETY: an `Avx` exists only where the processor has AVX.
            unsafe { sums_avx(out, width, col, n, &row) };
        }
    }
}

/// The sums of the register of outputs from `col` of every token's row of
/// `out` (rows of `width`), kept in registers over all the rows of weights.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn sums_avx<'n>(
    out: &mut [f32],
    width: usize,
    col: usize,
    n: usize,
    row: &impl Fn(usize, usize) -> (&'n [f32], f32),
) {
    use std::arch::x86_64::{_mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps};
    use std::arch::x86_64::{_mm256_set1_ps, _mm256_storeu_ps};
    let mut acc = [_mm256_set1_ps(-0.0); BATCH];
    for r in 0..n {
        for (b, a) in acc.iter_mut().enumerate() {
            let (w, x) = row(b, r);
            let w = &w[col..col + LANES];
            // SAFETY: `w` holds LANES floats (an unaligned load).
            let w = unsafe { _mm256_loadu_ps(w.as_ptr()) };
            *a = _mm256_add_ps(*a, _mm256_mul_ps(w, _mm256_set1_ps(x)));
        }
    }
    for (b, a) in acc.iter().enumerate() {
        let out = &mut out[b * width + col..b * width + col + LANES];
        // SAFETY: `out` holds LANES floats (an unaligned store).
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), *a) };
    }
}

/// `m`'s rows of `cols` floats, each padded with zeros to `width`.
fn pad_rows(m: &[f32], cols: usize, width: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(m.len() / cols.max(1) * width);
    for row in m.chunks_exact(cols.max(1)) {
        out.extend_from_slice(row);
        out.resize(out.len() + width - cols, 0.0);
    }
    out
}

/// `m` ([rows, cols], row-major) as [cols, rows].
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}
