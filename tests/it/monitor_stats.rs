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

/// The scipy fixtures, read as `T` (each test takes the cases it needs).
fn load<T: serde::de::DeserializeOwned>() -> T {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/monitor/fixtures.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn fixtures() -> Fixtures {
    load()
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

#[derive(Deserialize)]
struct SampleDistance {
    name: String,
    a: Vec<f64>,
    b: Vec<f64>,
    distance: f64,
}

#[derive(Deserialize)]
struct CountDistance {
    name: String,
    reference: Vec<f64>,
    current: Vec<f64>,
    distance: f64,
}

#[derive(Deserialize)]
struct SizeAware {
    z: Vec<ChiCase>,
    wasserstein: Vec<SampleDistance>,
    jensenshannon: Vec<CountDistance>,
}

/// The tests and distances chosen by sample size (two-proportion z,
/// normalised Wasserstein, Jensen-Shannon) against scipy within 1e-9.
#[test]
fn size_aware_tests_and_distances_match_scipy() {
    use carelab::monitor::stats::{jensen_shannon, two_proportion_z, wasserstein_normed};
    let f: SizeAware = load();
    assert!(f.z.len() >= 3 && f.wasserstein.len() >= 4 && f.jensenshannon.len() >= 3);
    for c in &f.z {
        let r = two_proportion_z(
            [c.reference[0], c.reference[1]],
            [c.current[0], c.current[1]],
        )
        .unwrap();
        assert!(
            close(r.statistic, c.statistic, 1e-9),
            "{}: z {} vs {}",
            c.name,
            r.statistic,
            c.statistic
        );
        assert!(
            close(r.p_value, c.p_value, 1e-9),
            "{}: p {} vs {}",
            c.name,
            r.p_value,
            c.p_value
        );
    }
    for c in &f.wasserstein {
        let (mut a, mut b) = (c.a.clone(), c.b.clone());
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let d = wasserstein_normed(&a, &b).unwrap();
        assert!(
            close(d, c.distance, 1e-9),
            "{}: {d} vs {}",
            c.name,
            c.distance
        );
    }
    for c in &f.jensenshannon {
        let d = jensen_shannon(&c.reference, &c.current).unwrap();
        assert!(
            close(d, c.distance, 1e-9),
            "{}: {d} vs {}",
            c.name,
            c.distance
        );
    }
}

/// A sample of one numeric column (`age`) and one 0/1 column (`chf`).
fn sample(ages: Vec<f64>, chf: Vec<bool>) -> carelab::monitor::Sample {
    use carelab::clinical::analysis::FeatureKind;
    use carelab::monitor::profile::Column;
    let rows = ages.len();
    let mut columns = std::collections::BTreeMap::new();
    columns.insert(
        "age".to_string(),
        (
            FeatureKind::Numeric,
            Column::Numeric(ages.into_iter().map(Some).collect()),
        ),
    );
    columns.insert(
        "chf".to_string(),
        (
            FeatureKind::Binary,
            Column::Categorical(
                chf.into_iter()
                    .map(|b| Some(u8::from(b).to_string()))
                    .collect(),
            ),
        ),
    );
    carelab::monitor::Sample {
        source: "test".into(),
        rows,
        columns,
        scores: None,
        labels: None,
        times: vec![None; rows],
        stays: vec![None; rows],
        codes: None,
    }
}

/// Evenly spread normal quantiles (mean 60, sd 15) moved by `shift`, and
/// a 0/1 column with `ones` in a thousand.
fn population(n: usize, shift: f64, ones: usize) -> carelab::monitor::Sample {
    // the inverse normal by bisection on the exact survival function
    let quantile = |p: f64| {
        let (mut lo, mut hi) = (-10.0f64, 10.0f64);
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            let cdf = if mid < 0.0 {
                carelab::monitor::stats::normal_two_sided(mid) / 2.0
            } else {
                1.0 - carelab::monitor::stats::normal_two_sided(mid) / 2.0
            };
            if cdf < p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo + hi) / 2.0
    };
    let ages = (0..n)
        .map(|i| 60.0 + shift + 15.0 * quantile((i as f64 + 0.5) / n as f64))
        .collect();
    let chf = (0..n).map(|i| i % 1000 < ones).collect();
    sample(ages, chf)
}

/// With 20,000 rows a one-year shift in age (a fifteenth of its spread)
/// has a KS p-value far below 0.01; the normalised Wasserstein distance
/// the size rule picks calls it no drift. Small samples get the tests, a
/// 0/1 feature the two-proportion z-test, and the data set's drift is the
/// share of drifted features.
#[test]
fn the_drift_test_fits_the_sample_size() {
    use carelab::monitor::{compare, Profile, Thresholds, WindowSpec};
    let t = Thresholds::default();
    let judge = |reference: &carelab::monitor::Sample,
                 current: &carelab::monitor::Sample,
                 t: &Thresholds| {
        let r = compare(
            &Profile::from_sample(reference, t.bins, None),
            current,
            t,
            WindowSpec::Month,
        );
        let get = |name: &str| r.features.iter().find(|f| f.name == name).unwrap().clone();
        (get("age"), get("chf"), r)
    };
    let (age, chf, r) = judge(
        &population(20_000, 0.0, 200),
        &population(20_000, 1.0, 200),
        &t,
    );
    assert_eq!(age.test.as_deref(), Some("wasserstein"));
    let d = age.statistic.unwrap();
    assert!((0.05..0.08).contains(&d), "{d}");
    assert_eq!((age.p_value, age.drifted), (None, Some(false)));
    assert_eq!(chf.test.as_deref(), Some("jensenshannon"));
    assert_eq!((r.drift_share, r.dataset_drift), (Some(0.0), false));
    // the same data judged by KS, as before the size rule: "significant"
    let every_row_tested = Thresholds {
        test_rows_max: 1_000_000,
        ..Thresholds::default()
    };
    let (age, chf, _) = judge(
        &population(20_000, 0.0, 200),
        &population(20_000, 1.0, 200),
        &every_row_tested,
    );
    assert_eq!(age.test.as_deref(), Some("ks"));
    assert!(age.p_value.unwrap() < 1e-4, "{:?}", age.p_value);
    assert_eq!(age.drifted, Some(true));
    assert_eq!((chf.test.as_deref(), chf.drifted), (Some("z"), Some(false)));
    // small samples: KS and z; heart failure from 20% to 40% drifts
    let (age, chf, r) = judge(&population(500, 0.0, 200), &population(400, 12.0, 400), &t);
    assert_eq!((age.test.as_deref(), age.drifted), (Some("ks"), Some(true)));
    assert_eq!((chf.test.as_deref(), chf.drifted), (Some("z"), Some(true)));
    assert!(chf.statistic.unwrap() > 5.0, "{:?}", chf.statistic);
    assert_eq!((r.drift_share, r.dataset_drift), (Some(1.0), true));
}
