//! The drift statistics against scipy (tests/data/monitor/fixtures.json,
//! made by scripts/make-drift-fixtures.py).

use carelab::monitor::stats::{chi_squared, ks_two_sample};
use serde::Deserialize;

#[derive(Deserialize)]
struct KsCase {
    name: String,
    a: Vec<f64>,
    b: Vec<f64>,
    statistic: f64,
    p_value: f64,
}

#[derive(Deserialize)]
struct ChiCase {
    name: String,
    reference: Vec<f64>,
    current: Vec<f64>,
    statistic: f64,
    p_value: f64,
}

#[derive(Deserialize)]
struct Fixtures {
    ks: Vec<KsCase>,
    chi2: Vec<ChiCase>,
}

fn fixtures() -> Fixtures {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/monitor/fixtures.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Relative agreement, with an absolute floor for values near zero.
fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-300) || (got - want).abs() < 1e-15
}

#[test]
fn ks_statistic_and_p_value_match_scipy() {
    let f = fixtures();
    assert!(f.ks.len() >= 5);
    for c in &f.ks {
        let r = ks_two_sample(&c.a, &c.b).unwrap();
        assert!(
            (r.statistic - c.statistic).abs() < 1e-12,
            "{}: D {} vs {}",
            c.name,
            r.statistic,
            c.statistic
        );
        assert!(
            close(r.p_value, c.p_value, 1e-8),
            "{}: p {} vs {}",
            c.name,
            r.p_value,
            c.p_value
        );
    }
}

#[test]
fn chi_squared_statistic_and_p_value_match_scipy() {
    let f = fixtures();
    assert!(f.chi2.len() >= 4);
    for c in &f.chi2 {
        let r = chi_squared(&c.reference, &c.current).unwrap();
        assert!(
            close(r.statistic, c.statistic, 1e-10),
            "{}: X2 {} vs {}",
            c.name,
            r.statistic,
            c.statistic
        );
        assert!(
            close(r.p_value, c.p_value, 1e-8),
            "{}: p {} vs {}",
            c.name,
            r.p_value,
            c.p_value
        );
    }
}
