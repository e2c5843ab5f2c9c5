//! Prometheus metrics: requests and latency by route and status, the
//! distribution of predicted risks, and which model version is live.
//!
//! Kept in memory behind one short-held lock; `/metrics` renders the text
//! exposition format (version 0.0.4) that Prometheus scrapes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];
/// Upper bounds of the risk-score buckets.
pub const SCORE_BUCKETS: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket, plus one for +Inf.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], x: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len() + 1];
        }
        let i = bounds.iter().position(|b| x <= *b).unwrap_or(bounds.len());
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += x;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, b) in bounds.iter().enumerate() {
            cumulative += self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), Histogram>,
    scores: Histogram,
    model: (String, String),
    reloads: u64,
    /// CDS Hooks cards shown, by service and indicator (`none`: no card).
    cds_cards: BTreeMap<(&'static str, &'static str), u64>,
    /// CDS Hooks feedback, by service and outcome.
    cds_feedback: BTreeMap<(&'static str, &'static str), u64>,
    /// Override reasons, by service and reason code (bounded: the codes the
    /// cards offer, and `other`).
    cds_overrides: BTreeMap<(&'static str, &'static str), u64>,
}

/// The service's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Count one finished request.
    pub fn request(&self, route: &'static str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.inner.lock() {
            m.requests
                .entry((route, status))
                .or_default()
                .observe(&LATENCY_BUCKETS, seconds);
        }
    }

    /// Count predicted risks.
    pub fn scores(&self, scores: &[f64]) {
        if let Ok(mut m) = self.inner.lock() {
            for s in scores {
                m.scores.observe(&SCORE_BUCKETS, *s);
            }
        }
    }

    /// Record which model is live; `reload` counts a swap.
    pub fn model(&self, name: &str, version: &str, reload: bool) {
        if let Ok(mut m) = self.inner.lock() {
            m.model = (name.to_string(), version.to_string());
            m.reloads += u64::from(reload);
        }
    }

    /// Count one CDS Hooks answer: its card's indicator, or `none`.
    pub fn cds_card(&self, service: &'static str, indicator: &'static str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.cds_cards.entry((service, indicator)).or_default() += 1;
        }
    }

    /// Count one CDS Hooks feedback outcome and its override reason.
    pub fn cds_feedback(
        &self,
        service: &'static str,
        accepted: bool,
        reason: Option<&'static str>,
    ) {
        if let Ok(mut m) = self.inner.lock() {
            let outcome = if accepted { "accepted" } else { "overridden" };
            *m.cds_feedback.entry((service, outcome)).or_default() += 1;
            if let Some(r) = reason {
                *m.cds_overrides.entry((service, r)).or_default() += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        out.push_str("# HELP carelab_requests_total Requests by route and HTTP status.\n");
        out.push_str("# TYPE carelab_requests_total counter\n");
        for ((route, status), h) in &m.requests {
            let _ = writeln!(
                out,
                "carelab_requests_total{{route=\"{route}\",status=\"{status}\"}} {}",
                h.count
            );
        }
        out.push_str(
            "# HELP carelab_request_duration_seconds Request latency by route and status.\n",
        );
        out.push_str("# TYPE carelab_request_duration_seconds histogram\n");
        for ((route, status), h) in &m.requests {
            let labels = format!("route=\"{route}\",status=\"{status}\"");
            h.render(
                &mut out,
                "carelab_request_duration_seconds",
                &labels,
                &LATENCY_BUCKETS,
            );
        }
        out.push_str("# HELP carelab_prediction_score Predicted 30-day readmission risk.\n");
        out.push_str("# TYPE carelab_prediction_score histogram\n");
        let mut scores = m.scores.clone();
        if scores.counts.is_empty() {
            scores.counts = vec![0; SCORE_BUCKETS.len() + 1];
        }
        scores.render(&mut out, "carelab_prediction_score", "", &SCORE_BUCKETS);
        out.push_str("# HELP carelab_model_info The model being served.\n");
        out.push_str("# TYPE carelab_model_info gauge\n");
        let _ = writeln!(
            out,
            "carelab_model_info{{name=\"{}\",version=\"{}\"}} 1",
            escape(&m.model.0),
            escape(&m.model.1)
        );
        out.push_str("# HELP carelab_model_reloads_total Successful model reloads.\n");
        out.push_str("# TYPE carelab_model_reloads_total counter\n");
        let _ = writeln!(out, "carelab_model_reloads_total {}", m.reloads);
        out.push_str("# HELP carelab_cds_cards_total CDS Hooks answers by service and card indicator (none: no card).\n");
        out.push_str("# TYPE carelab_cds_cards_total counter\n");
        for ((service, indicator), n) in &m.cds_cards {
            let _ = writeln!(
                out,
                "carelab_cds_cards_total{{service=\"{service}\",indicator=\"{indicator}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP carelab_cds_feedback_total CDS Hooks card feedback by service and outcome.\n",
        );
        out.push_str("# TYPE carelab_cds_feedback_total counter\n");
        for ((service, outcome), n) in &m.cds_feedback {
            let _ = writeln!(
                out,
                "carelab_cds_feedback_total{{service=\"{service}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP carelab_cds_override_rate Share of CDS Hooks card feedback that overrode the card.\n");
        out.push_str("# TYPE carelab_cds_override_rate gauge\n");
        let services: std::collections::BTreeSet<&str> =
            m.cds_feedback.keys().map(|(s, _)| *s).collect();
        for service in services {
            let n = |o| m.cds_feedback.get(&(service, o)).copied().unwrap_or(0);
            let (acc, over) = (n("accepted"), n("overridden"));
            let rate = over as f64 / (acc + over).max(1) as f64;
            let _ = writeln!(
                out,
                "carelab_cds_override_rate{{service=\"{service}\"}} {rate}"
            );
        }
        out.push_str(
            "# HELP carelab_cds_override_reasons_total CDS Hooks overrides by reason code.\n",
        );
        out.push_str("# TYPE carelab_cds_override_reasons_total counter\n");
        for ((service, reason), n) in &m.cds_overrides {
            let _ = writeln!(
                out,
                "carelab_cds_override_reasons_total{{service=\"{service}\",reason=\"{reason}\"}} {n}"
            );
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets() {
        let m = Metrics::default();
        m.model("readmit", "7", false);
        m.request("/v1/predict", 200, 0.0003);
        m.request("/v1/predict", 200, 0.002);
        m.request("/v1/predict", 422, 0.0001);
        m.scores(&[0.05, 0.55, 0.95]);
        let text = m.render();
        assert!(text.contains("carelab_requests_total{route=\"/v1/predict\",status=\"200\"} 2"));
        assert!(text.contains("carelab_requests_total{route=\"/v1/predict\",status=\"422\"} 1"));
        assert!(text.contains(
            "carelab_request_duration_seconds_bucket{route=\"/v1/predict\",status=\"200\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "carelab_request_duration_seconds_bucket{route=\"/v1/predict\",status=\"200\",le=\"0.0025\"} 2"
        ));
        assert!(text.contains("carelab_prediction_score_bucket{le=\"0.1\"} 1"));
        assert!(text.contains("carelab_prediction_score_bucket{le=\"0.6\"} 2"));
        assert!(text.contains("carelab_prediction_score_count 3"));
        assert!(text.contains("carelab_model_info{name=\"readmit\",version=\"7\"} 1"));
    }
}
