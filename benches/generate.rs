//! Generation speed and memory: patients/s and MB/s per format, and the
//! process's peak resident memory (VmHWM from /proc/self/status).
//!
//! Run: `cargo bench --bench generate` (release). Settings from the
//! environment: CARELAB_BENCH_PATIENTS (100000), CARELAB_BENCH_FORMATS
//! (csv; a comma list, each run on its own, in order), CARELAB_BENCH_SCENARIO
//! (baseline; legacy-messy for the `legacy` format), CARELAB_BENCH_OUT (a
//! temporary folder). Goals (issue 2): >= 20,000 patients/s to CSV on 2
//! cores, peak RSS < 500 MB at 1,000,000 patients. VmHWM only grows, so the
//! peak printed for a format includes every format run before it: put the
//! one you want to measure first.

use std::path::Path;
use std::time::Instant;

use carelab::synth::{generate, GenerateOptions, Scenario};
use carelab::ui::Ui;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size in MB (Linux), if known.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn bytes_under(dir: &Path) -> u64 {
    // list_files names files relative to `dir`
    carelab::artifact::list_files(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| std::fs::metadata(dir.join(p)).ok())
        .map(|m| m.len())
        .sum()
}

fn main() {
    let patients: u64 = env("CARELAB_BENCH_PATIENTS", 100_000);
    let formats: String = env("CARELAB_BENCH_FORMATS", "csv".to_string());
    let scenario_name: String = env("CARELAB_BENCH_SCENARIO", "baseline".to_string());
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let base = std::env::var("CARELAB_BENCH_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_path_buf());
    let scenario = Scenario::load(&scenario_name).expect("a scenario");
    let ui = Ui::new(false, true, 0, true);
    println!(
        "generate bench: {patients} patients, scenario {scenario_name}, {} threads",
        rayon::current_num_threads()
    );
    for format in formats.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let out = base.join(format);
        let opts = GenerateOptions {
            scenario: scenario.clone(),
            scenario_text: String::new(),
            patients,
            seed: 1,
            out: out.clone(),
            formats: vec![format.to_string()],
            shard: None,
        };
        let t = Instant::now();
        generate(&opts, &ui).expect("generation");
        let secs = t.elapsed().as_secs_f64();
        let mb = bytes_under(&out) as f64 / 1e6;
        println!(
            "{{\"format\":\"{format}\",\"patients\":{patients},\"seconds\":{secs:.2},\"patients_per_s\":{:.0},\"mb_written\":{mb:.1},\"mb_per_s\":{:.1},\"peak_rss_mb\":{}}}",
            patients as f64 / secs,
            mb / secs,
            peak_rss_mb().map(|m| format!("{m:.0}")).unwrap_or_else(|| "null".into())
        );
        let _ = std::fs::remove_dir_all(&out);
    }
}
