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
//! Two shortcuts keep that sum. A row times 1 is the row itself, so the
//! embedding layer adds its rows without multiplying. And a dense layer
//! skips an input that is zero for every token of the batch (after the
//! ReLU, a fifth of the embedding's and half the hidden layer's are): its
//! terms are `w * 0`, a zero, and adding a zero leaves a sum as it was but
//! for the sign of a zero sum, which the bias row, added last, settles.
//!
//! Tokens go through in batches of BATCH. Two ways: on a processor with
//! AVX (detected at run time), a register of eight outputs of each token
//! of the batch is summed in registers over all the rows and stored once;
//! elsewhere, one float at a time.

use super::detector::{Detector, CLASSES, FEATURES};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_storeu_ps,
};

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
    /// A dense layer's inputs that are not zero for every token.
    live: Vec<usize>,
}

impl Scratch {
    pub(crate) fn new(net: &Net) -> Scratch {
        Scratch {
            e: vec![0.0; BATCH * net.dim_p],
            h: vec![0.0; BATCH * net.hidden_p],
            out: vec![0.0; BATCH * net.classes_p],
            live: Vec::with_capacity(net.dim.max(net.hidden)),
        }
    }

    /// How many inputs the last dense layer summed.
    #[cfg(test)]
    pub(crate) fn summed(&self) -> usize {
        self.live.len()
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
        k.embed(&mut s.e, &self.emb, &self.b1, feats);
        relu(&mut s.e);
        live_inputs(&s.e, self.dim, &mut s.live);
        k.dense(&mut s.h, &self.w2t, &self.b2, &s.e, &s.live);
        relu(&mut s.h);
        live_inputs(&s.h, self.hidden, &mut s.live);
        k.dense(&mut s.out, &self.w3t, &self.b3, &s.h, &s.live);
    }
}

/// The widest layer input whose zeros `live_inputs` looks for (wider ones,
/// which no shipped model has, are summed whole).
const LIVE: usize = 64;

/// Into `live`, in order, the first `inputs` inputs of a layer (of a row of
/// `input`, BATCH rows) but those that are zero for every token.
#[inline(always)]
fn live_inputs(input: &[f32], inputs: usize, live: &mut Vec<usize>) {
    live.clear();
    if inputs > LIVE {
        live.extend(0..inputs);
        return;
    }
    // each input's bits over the batch or-ed, a token's row at a time (in
    // registers): zero but for the sign where the input is a zero throughout
    let mut seen = [0u32; LIVE];
    for row in input.chunks_exact(input.len() / BATCH) {
        for (s, x) in seen.iter_mut().zip(&row[..inputs]) {
            *s |= x.to_bits();
        }
    }
    live.extend((0..inputs).filter(|&r| seen[r] << 1 != 0));
}

fn relu(v: &mut [f32]) {
    for a in v {
        *a = a.max(0.0);
    }
}

/// The two kinds of layer, for each token `b` of a batch into row `b` of
/// `out` (BATCH rows, each as wide as `bias`, a multiple of LANES); every
/// output is a sum from `-0.0`, in this order:
trait Sums: Copy {
    /// `bias`, then the rows of `table` that `feats[b]` names, each as it
    /// is (times 1).
    fn embed(self, out: &mut [f32], table: &[f32], bias: &[f32], feats: &[[u32; FEATURES]; BATCH]);

    /// Row `r` of `weights` times the token's input `r` (of its row of
    /// `input`, BATCH rows) for each `r` of `live`, then `bias` as it is.
    fn dense(self, out: &mut [f32], weights: &[f32], bias: &[f32], input: &[f32], live: &[usize]);
}

/// One float at a time.
#[derive(Clone, Copy)]
struct Plain;

impl Sums for Plain {
    #[inline(always)]
    fn embed(self, out: &mut [f32], table: &[f32], bias: &[f32], feats: &[[u32; FEATURES]; BATCH]) {
        let width = bias.len();
        for (out, feats) in out.chunks_exact_mut(width).zip(feats) {
            out.fill(-0.0);
            add_row(out, bias);
            for &f in feats {
                add_row(out, &table[f as usize * width..][..width]);
            }
        }
    }

    #[inline(always)]
    fn dense(self, out: &mut [f32], weights: &[f32], bias: &[f32], input: &[f32], live: &[usize]) {
        let width = bias.len();
        let in_width = input.len() / BATCH;
        for (out, input) in out
            .chunks_exact_mut(width)
            .zip(input.chunks_exact(in_width))
        {
            out.fill(-0.0);
            for &r in live {
                let x = input[r];
                for (a, w) in out.iter_mut().zip(&weights[r * width..][..width]) {
                    *a += w * x;
                }
            }
            add_row(out, bias);
        }
    }
}

fn add_row(out: &mut [f32], row: &[f32]) {
    for (a, w) in out.iter_mut().zip(row) {
        *a += w;
    }
}

/// A register of outputs a token at a time. Made only in
/// `Net::forward_avx`, which runs only where the processor has AVX:
/// holding one is the proof.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx(());

/// The AVX sums: for each register of outputs (LANES of them, from `col`),
/// every token's register summed in registers over all the rows and stored
/// once. The indices are checked once a layer, not once a load.
#[cfg(target_arch = "x86_64")]
impl Sums for Avx {
    #[inline(always)]
    fn embed(self, out: &mut [f32], table: &[f32], bias: &[f32], feats: &[[u32; FEATURES]; BATCH]) {
        let width = bias.len();
        assert!(width.is_multiple_of(LANES) && out.len() == BATCH * width);
        let rows = table.len() / width;
        assert!(feats.iter().flatten().all(|&f| (f as usize) < rows));
        for col in (0..width).step_by(LANES) {
            // SAFETY: an `Avx` exists only where the processor has AVX;
            // every row read is one of `table`'s (checked above) and `col`
            // is a register's first lane of a row (`width` is whole LANES).
            unsafe {
                let at = |row: &[f32], start: usize| row.as_ptr().add(start + col);
                let mut acc = [_mm256_set1_ps(-0.0); BATCH];
                for (a, feats) in acc.iter_mut().zip(feats) {
                    *a = _mm256_add_ps(*a, _mm256_loadu_ps(at(bias, 0)));
                    for &f in feats {
                        *a = _mm256_add_ps(*a, _mm256_loadu_ps(at(table, f as usize * width)));
                    }
                }
                store(out, width, col, &acc);
            }
        }
    }

    #[inline(always)]
    fn dense(self, out: &mut [f32], weights: &[f32], bias: &[f32], input: &[f32], live: &[usize]) {
        let width = bias.len();
        let in_width = input.len() / BATCH;
        assert!(width.is_multiple_of(LANES) && out.len() == BATCH * width);
        assert!(live
            .iter()
            .all(|&r| r < in_width && (r + 1) * width <= weights.len()));
        for col in (0..width).step_by(LANES) {
            // SAFETY: as in `embed`; every `r` of `live` is an input of
            // each token's row and a row of `weights` (checked above).
            unsafe {
                let mut acc = [_mm256_set1_ps(-0.0); BATCH];
                for &r in live {
                    let w = _mm256_loadu_ps(weights.as_ptr().add(r * width + col));
                    for (b, a) in acc.iter_mut().enumerate() {
                        let x = _mm256_set1_ps(*input.get_unchecked(b * in_width + r));
                        *a = _mm256_add_ps(*a, _mm256_mul_ps(w, x));
                    }
                }
                let bias = _mm256_loadu_ps(bias.as_ptr().add(col));
                for a in &mut acc {
                    *a = _mm256_add_ps(*a, bias);
                }
                store(out, width, col, &acc);
            }
        }
    }
}

/// Each token's register of outputs from `col` into its row of `out`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn store(out: &mut [f32], width: usize, col: usize, acc: &[__m256; BATCH]) {
    for (b, a) in acc.iter().enumerate() {
        let out = &mut out[b * width + col..][..LANES];
        // SAFETY: `out` holds LANES floats (an unaligned store); AVX is
        // there where an `__m256` is.
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
