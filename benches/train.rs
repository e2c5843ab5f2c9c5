//! Training speed: CareLab's fused CPU trainer, a plain candle loop and the
//! PyTorch peer on the same model matrix, plus logistic regression against
//! scikit-learn (time to reach its test AUROC within 0.005).
//!
//! Run with `scripts/bench-train.sh` (or `cargo bench --bench train`).
//! Settings come from the environment: CARELAB_BENCH_ROWS (100000),
//! CARELAB_BENCH_EPOCHS (5), CARELAB_BENCH_BATCH (256), CARELAB_BENCH_HIDDEN
//! (64,32), CARELAB_BENCH_CANDLE_EPOCHS (1), PEERS_PYTHON (the python with
//! torch and scikit-learn; default `$PEERS_VENV/bin/python`, the venv
//! `../shared/peers/setup.sh` makes, `~/.cache/carelab-peers` unless
//! PEERS_VENV says otherwise), PEERS_DIR (the peer scripts; default
//! `../shared/peers` beside the project root).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::{Module, Optimizer as _, VarBuilder, VarMap};
use rand::Rng as _;

use carelab::features::{Matrix, Transform};
use carelab::train::config::OptimizerKind;
use carelab::train::metrics::auroc;
use carelab::train::net::{Mlp, Workspace};
use carelab::train::optim::Optimizer;
use carelab::train::toy::toy_table;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Rows of `x` as a new matrix.
fn take(x: &Matrix, rows: std::ops::Range<usize>) -> Matrix {
    Matrix {
        rows: rows.len(),
        cols: x.cols,
        data: x.data[rows.start * x.cols..rows.end * x.cols].to_vec(),
    }
}

struct Data {
    xt: Matrix,
    yt: Vec<f32>,
    xv: Matrix,
    yv: Vec<u8>,
}

fn main() {
    let rows: usize = env("CARELAB_BENCH_ROWS", 100_000);
    let epochs: usize = env("CARELAB_BENCH_EPOCHS", 5);
    let batch: usize = env("CARELAB_BENCH_BATCH", 256);
    let candle_epochs: usize = env("CARELAB_BENCH_CANDLE_EPOCHS", 1);
    let hidden_text: String = env("CARELAB_BENCH_HIDDEN", "64,32".to_string());
    let hidden: Vec<usize> = hidden_text
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let lr = 1e-3;

    // The same matrix for everyone: the toy table through the transform,
    // first 20% of rows test and the rest train, as the peer script splits.
    let table = toy_table(rows, 7);
    let transform = Transform::fit(&table, &[]).expect("transform");
    let x = transform.apply(&table);
    let y: Vec<u8> = table.iter().map(|r| r.readmit_30d).collect();
    let n_test = rows / 5;
    let data = Data {
        xt: take(&x, n_test..rows),
        yt: y[n_test..].iter().map(|&v| f32::from(v)).collect(),
        xv: take(&x, 0..n_test),
        yv: y[..n_test].to_vec(),
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-train");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let csv = dir.join("matrix.csv");
    write_matrix_csv(&csv, &x, &y, &transform.columns);
    println!(
        "table: {rows} rows, {} columns, {} train / {n_test} test; MLP {}->{}->1, batch {batch}, AdamW lr {lr}",
        x.cols,
        data.xt.rows,
        x.cols,
        hidden_text
    );

    let (fused_sps, fused_auc) = fused(&data, &hidden, epochs, batch, lr);
    println!("carelab fused  samples_per_s={fused_sps:.0} test_auroc={fused_auc:.4} threads=1 epochs={epochs}");
    let (candle_sps, candle_auc) =
        candle_plain(&data, &hidden, candle_epochs, batch, lr).expect("candle loop");
    println!(
        "candle plain   samples_per_s={candle_sps:.0} test_auroc={candle_auc:.4} epochs={candle_epochs} (autograd, candle_nn::AdamW)"
    );

    let venv = std::env::var("PEERS_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/carelab-peers",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let python: String = env("PEERS_PYTHON", format!("{venv}/bin/python"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let peers: String = env(
        "PEERS_DIR",
        root.join("../shared/peers").display().to_string(),
    );
    // PyTorch as the peer script runs it (all threads torch picks), and on
    // one thread like CareLab's trainer: on a small shared machine OpenMP's
    // spinning threads can make the default far slower. The faster counts.
    let mut best_torch: Option<f64> = None;
    for threads in [None, Some("1")] {
        let mut cmd = Command::new(&python);
        cmd.arg(Path::new(&peers).join("train_mlp.py"))
            .args([
                "--csv",
                csv.to_str().unwrap_or_default(),
                "--label",
                "readmit_30d",
            ])
            .args(["--hidden", &hidden_text, "--epochs", &epochs.to_string()])
            .args(["--batch-size", &batch.to_string(), "--lr", &lr.to_string()]);
        if let Some(t) = threads {
            cmd.env("OMP_NUM_THREADS", t);
        }
        match cmd.output() {
            Ok(out) if out.status.success() => {
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                print!("{text}");
                if let Some(sps) = field(&text, "samples_per_s=") {
                    best_torch = Some(best_torch.map_or(sps, |b: f64| b.max(sps)));
                }
            }
            Ok(out) => println!(
                "pytorch peer failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => println!("pytorch peer not run ({python}: {e}); set PEERS_PYTHON"),
        }
    }
    if let Some(torch_sps) = best_torch {
        println!(
            "ratio carelab/pytorch(best) samples/s = {:.2}x (candle plain/pytorch = {:.2}x)",
            fused_sps / torch_sps,
            candle_sps / torch_sps
        );
    }
    logreg_vs_sklearn(&data, &csv, &python, n_test);
}

fn field(text: &str, key: &str) -> Option<f64> {
    let start = text.find(key)? + key.len();
    text[start..].split_whitespace().next()?.parse().ok()
}

fn write_matrix_csv(path: &Path, x: &Matrix, y: &[u8], columns: &[String]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    let header: Vec<String> = (0..columns.len()).map(|i| format!("x{i}")).collect();
    writeln!(out, "{},readmit_30d", header.join(",")).expect("csv");
    for (r, label) in y.iter().enumerate() {
        let row: Vec<String> = x.row(r).iter().map(|v| v.to_string()).collect();
        writeln!(out, "{},{label}", row.join(",")).expect("csv");
    }
}

/// CareLab's trainer inner loop (what `carelab train` runs each epoch).
fn fused(d: &Data, hidden: &[usize], epochs: usize, batch: usize, lr: f64) -> (f64, f64) {
    let mut mlp = Mlp::init(d.xt.cols, hidden, 0);
    let mut opt = Optimizer::new(OptimizerKind::Adamw, lr, 0.01, mlp.params.len());
    let mut ws = Workspace::new(&mlp, batch);
    let (mut yb, wb) = (vec![0.0f32; batch], vec![1.0f32; batch]);
    let start = Instant::now();
    for epoch in 0..epochs {
        let perm = perm(d.xt.rows, epoch as u64);
        for rows in perm.chunks(batch) {
            ws.load_rows(&d.xt, rows);
            for (b, &r) in rows.iter().enumerate() {
                yb[b] = d.yt[r];
            }
            ws.forward_backward(&mlp, rows.len(), &yb, &wb);
            opt.step(&mut mlp.params, &ws.grads);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let auc = auroc(&mlp.predict(&d.xv), &d.yv).unwrap_or(f64::NAN);
    ((epochs * d.xt.rows) as f64 / secs, auc)
}

fn perm(n: usize, epoch: u64) -> Vec<usize> {
    let mut rng = carelab::rng::stream(0, "bench-shuffle", epoch);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        p.swap(i, rng.random_range(0..=i));
    }
    p
}

/// The plain candle loop a tutorial would write: autograd and candle_nn's AdamW.
fn candle_plain(
    d: &Data,
    hidden: &[usize],
    epochs: usize,
    batch: usize,
    lr: f64,
) -> candle_core::Result<(f64, f64)> {
    let dev = Device::Cpu;
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &dev);
    let mut layers = Vec::new();
    let mut fan_in = d.xt.cols;
    for (i, &h) in hidden.iter().chain(std::iter::once(&1)).enumerate() {
        layers.push(candle_nn::linear(fan_in, h, vb.pp(format!("layers.{i}")))?);
        fan_in = h;
    }
    let forward = |x: &Tensor| -> candle_core::Result<Tensor> {
        let mut a = x.clone();
        for (i, l) in layers.iter().enumerate() {
            a = l.forward(&a)?;
            if i + 1 < layers.len() {
                a = a.relu()?;
            }
        }
        Ok(a)
    };
    let xt = Tensor::from_slice(&d.xt.data, (d.xt.rows, d.xt.cols), &dev)?;
    let yt = Tensor::from_slice(&d.yt, (d.xt.rows, 1), &dev)?;
    let params = candle_nn::ParamsAdamW {
        lr,
        ..Default::default()
    };
    let mut opt = candle_nn::AdamW::new(vm.all_vars(), params)?;
    let start = Instant::now();
    for epoch in 0..epochs {
        let perm: Vec<u32> = perm(d.xt.rows, epoch as u64)
            .iter()
            .map(|&i| i as u32)
            .collect();
        for idx in perm.chunks(batch) {
            let idx = Tensor::from_slice(idx, idx.len(), &dev)?;
            let xb = xt.index_select(&idx, 0)?;
            let yb = yt.index_select(&idx, 0)?;
            let loss = candle_nn::loss::binary_cross_entropy_with_logit(&forward(&xb)?, &yb)?;
            opt.backward_step(&loss)?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let xv = Tensor::from_slice(&d.xv.data, (d.xv.rows, d.xv.cols), &dev)?;
    let scores: Vec<f64> = candle_nn::ops::sigmoid(&forward(&xv)?)?
        .squeeze(D::Minus1)?
        .to_dtype(DType::F64)?
        .to_vec1()?;
    Ok((
        (epochs * d.xt.rows) as f64 / secs,
        auroc(&scores, &d.yv).unwrap_or(f64::NAN),
    ))
}

/// Logistic regression: scikit-learn's fit time and test AUROC, then how
/// long CareLab's trainer takes to come within 0.005 of that AUROC (checked
/// every quarter epoch; the checks are not timed).
fn logreg_vs_sklearn(d: &Data, csv: &Path, python: &str, n_test: usize) {
    let code = format!(
        "import time,numpy as np,pandas as pd\n\
         from sklearn.linear_model import LogisticRegression\n\
         from sklearn.metrics import roc_auc_score\n\
         df=pd.read_csv('{}');y=df.pop('readmit_30d').to_numpy();x=df.to_numpy(np.float32)\n\
         n={n_test};t=time.perf_counter();m=LogisticRegression(max_iter=1000).fit(x[n:],y[n:]);s=time.perf_counter()-t\n\
         print(f'sklearn fit_seconds={{s:.4f}} test_auroc={{roc_auc_score(y[:n],m.decision_function(x[:n])):.4f}}')",
        csv.display()
    );
    let out = match Command::new(python).args(["-c", &code]).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).to_string(),
        Ok(o) => return println!("sklearn failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => return println!("sklearn not run ({python}: {e})"),
    };
    print!("{out}");
    let (Some(sk_secs), Some(sk_auc)) = (field(&out, "fit_seconds="), field(&out, "test_auroc="))
    else {
        return;
    };
    let batch = 256;
    let mut mlp = Mlp::init(d.xt.cols, &[], 0);
    let mut opt = Optimizer::new(OptimizerKind::Adamw, 0.01, 0.0, mlp.params.len());
    let mut ws = Workspace::new(&mlp, batch);
    let (mut yb, wb) = (vec![0.0f32; batch], vec![1.0f32; batch]);
    let quarter = d.xt.rows.div_ceil(4 * batch);
    let mut timed = 0.0;
    let mut best = 0.0;
    for epoch in 0..20u64 {
        let perm = perm(d.xt.rows, epoch);
        for (i, rows) in perm.chunks(batch).enumerate() {
            let t = Instant::now();
            ws.load_rows(&d.xt, rows);
            for (b, &r) in rows.iter().enumerate() {
                yb[b] = d.yt[r];
            }
            ws.forward_backward(&mlp, rows.len(), &yb, &wb);
            opt.step(&mut mlp.params, &ws.grads);
            timed += t.elapsed().as_secs_f64();
            if (i + 1) % quarter == 0 {
                let auc = auroc(&mlp.predict(&d.xv), &d.yv).unwrap_or(0.0);
                best = f64::max(best, auc);
                if auc >= sk_auc - 0.005 {
                    println!(
                        "carelab logreg reached test_auroc={auc:.4} in {timed:.4}s (epoch {:.2}); \
                         ratio sklearn_time/carelab_time = {:.2}x",
                        epoch as f64 + (i + 1) as f64 / perm.len().div_ceil(batch) as f64,
                        sk_secs / timed
                    );
                    return;
                }
            }
        }
    }
    println!("carelab logreg did not reach {sk_auc:.4} - 0.005 in 20 epochs (best {best:.4}, {timed:.2}s)");
}
