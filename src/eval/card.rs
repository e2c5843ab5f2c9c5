//! The model card: what the model is, what it is for, how it was trained and
//! judged, how it does for whom, and what to be careful about.
//!
//! Sections follow Mitchell et al., "Model Cards for Model Reporting" (2019),
//! and the items of TRIPOD+AI (2024) that a run can fill itself: source of
//! data, outcome, predictors, sample size, missing data handling is the
//! feature stage's, model type, performance with intervals (discrimination
//! and calibration), subgroup results, and limitations. The card is written
//! as JSON (for tools) and Markdown (for people) from the same struct.
//!
//! It also lists the source attributes the ONC HTI-1 rule (45 CFR
//! 170.315(b)(11)) asks a certified EHR to publish for a predictive
//! decision support intervention, each filled from the run where CareLab
//! knows it and marked for a person where it cannot (who made and paid for
//! it, the local population, external validation, the update schedule).

use serde::{Deserialize, Serialize};

use super::bootstrap::{Estimate, Resample, SubgroupRow};
use super::report::{EvalReport, RecalibrationReport, ThresholdRule};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub model_details: ModelDetails,
    pub intended_use: IntendedUse,
    pub data: DataSection,
    /// Headline metrics: name -> estimate with 95% bootstrap interval.
    pub metrics: Vec<(String, Estimate)>,
    /// How the intervals were made, in words.
    pub intervals: String,
    pub operating_point: String,
    pub calibration: String,
    /// Recalibration fitted on the calibration split, and the evaluated
    /// split's calibration before and after it.
    pub recalibration: Option<RecalibrationReport>,
    pub subgroups: Vec<SubgroupRow>,
    pub bayes_comparison: Option<String>,
    pub caveats: Vec<String>,
    /// ONC HTI-1 source attributes, in the rule's groups.
    #[serde(default)]
    pub source_attributes: Vec<SourceAttribute>,
}

/// One HTI-1 source attribute: what the run says, or what a person must
/// write (`filled_by` is "run" or "person").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceAttribute {
    pub group: String,
    pub attribute: String,
    pub value: String,
    pub filled_by: String,
}

const TO_FILL: &str = "TO FILL:";

/// The HTI-1 source attributes of this card, from what the run holds.
fn source_attributes(card: &ModelCard, r: &EvalReport) -> Vec<SourceAttribute> {
    let run = |group: &str, attribute: &str, value: String| SourceAttribute {
        group: group.into(),
        attribute: attribute.into(),
        value,
        filled_by: "run".into(),
    };
    let person = |group: &str, attribute: &str, what: &str| SourceAttribute {
        group: group.into(),
        attribute: attribute.into(),
        value: format!("{TO_FILL} {what}"),
        filled_by: "person".into(),
    };
    let op = &r.operating_point;
    let demographic: Vec<&str> = ["age", "sex", "race_ethnicity", "payer"]
        .into_iter()
        .filter(|f| r.model.features.iter().any(|x| x == f))
        .collect();
    let groups: Vec<String> = r
        .subgroups
        .iter()
        .filter(|s| s.attribute != "all")
        .map(|s| format!("{} {}: {} stays", s.attribute, s.group, s.n))
        .collect();
    let aurocs: Vec<f64> = r
        .subgroups
        .iter()
        .filter(|s| s.attribute != "all" && s.warning.is_none())
        .filter_map(|s| s.auroc.value)
        .collect();
    let spread = match (
        aurocs.iter().copied().reduce(f64::min),
        aurocs.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) => format!("subgroup AUROC from {lo:.3} to {hi:.3} among groups of at least 100 stays and 10 events (table: Subgroups)"),
        _ => "no subgroup large enough to judge (table: Subgroups)".into(),
    };
    let details = "Details and output";
    let development = "Development";
    let validation = "Validation and performance";
    vec![
        person(details, "Developer and contact", "the organisation that built and maintains the model, and how to reach it"),
        person(details, "Funding source", "who paid for its development"),
        run(details, "Output", format!("a risk from 0 to 1 of unplanned readmission within 30 days of discharge ({}); a flag at threshold {:.4}", card.model_details.kind, op.threshold)),
        run(details, "Intended use", card.intended_use.primary_use.clone()),
        run(details, "Intended users", card.intended_use.users.clone()),
        run(details, "Decision-making role", "informs: a person decides what to do with every flag; the model takes no action and replaces no judgement".into()),
        person(details, "Intended patient population", "the population at the deploying site it is meant for, checked against the training population below"),
        run("Cautions", "Out-of-scope uses", card.intended_use.out_of_scope.join(" ")),
        run("Cautions", "Known risks and limitations", card.caveats.join(" ")),
        run(development, "Training data", format!("{} (digest {})", card.data.source, card.data.data_digest)),
        run(development, "Demographic predictors used", if demographic.is_empty() { "none".into() } else { demographic.join(", ") }),
        run(development, "Demographic representativeness", format!("on the {} split: {}", r.split, groups.join("; "))),
        run(development, "Fairness approach", format!("performance reported per subgroup (sex, age band, race and ethnicity, payer) with patient-bootstrap intervals and small groups flagged; no mitigation applied by CareLab; {spread}")),
        person(development, "Relevance of the training data to the deployed setting", "how the training data (synthetic, from the CareLab generator) resembles the site's patients, and the local validation that shows it"),
        run(validation, "Internal validation", format!("{} split held out by patient: {} stays of {} patients, {} events; threshold {}", r.split, r.n, r.patients, r.events, r.threshold_source)),
        person(validation, "External validation", "the site, setting and party of any validation outside the development data (none was done by CareLab)"),
        run(validation, "Validity of prediction", card.metrics.iter().map(|(k, e)| format!("{k} {}", with_ci(e))).collect::<Vec<_>>().join("; ")),
        run(validation, "Fairness of prediction", spread.clone()),
        run(validation, "Net benefit at the threshold", num(net_benefit_at(op.tp, op.fp, r.n, op.threshold))),
        run("Ongoing maintenance", "Monitoring", "input drift, data quality and (once labels arrive) performance with `carelab monitor`, thresholds in thresholds.toml".into()),
        person("Ongoing maintenance", "Update and revalidation schedule", "how often the model is monitored on local data, retrained and revalidated, and who decides"),
    ]
}

/// Net benefit of flagging at `pt` from the confusion matrix: TP/n - FP/n
/// * pt/(1 - pt) (Vickers and Elkin, 2006).
fn net_benefit_at(tp: u64, fp: u64, n: u64, pt: f64) -> Option<f64> {
    (n > 0 && pt < 1.0).then(|| (tp as f64 - fp as f64 * pt / (1.0 - pt)) / n as f64)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDetails {
    pub name: String,
    pub kind: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub features: Vec<String>,
    pub seed: Option<u64>,
    pub carelab_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntendedUse {
    pub primary_use: String,
    pub users: String,
    pub out_of_scope: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSection {
    pub source: String,
    pub data_digest: String,
    pub data_manifest_digest: String,
    pub outcome: String,
    pub evaluation_split: String,
    /// Stays, and the patients they belong to.
    pub n: u64,
    pub patients: u64,
    pub events: u64,
    pub prevalence: f64,
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into())
}

fn with_ci(e: &Estimate) -> String {
    match e.ci {
        Some(ci) => format!(
            "{} (95% CI {:.3} to {:.3})",
            num(e.value),
            ci.lower,
            ci.upper
        ),
        None => num(e.value),
    }
}

/// The before/after table of a recalibration, for the card.
fn recalibration_markdown(rc: &RecalibrationReport, split: &str) -> String {
    let same = if rc.fitted_on == split {
        " This is the split it was fitted on, so the mean risk matches the observed rate by construction; judge it on test."
    } else {
        ""
    };
    let mut md = format!(
        "Logistic recalibration fitted on the {} split ({} stays of {} patients, {} events): `logit(risk) = {:.4} + {:.4} · logit(score)`, intercept and slope applied together. On the {split} split:{same}\n\n| | mean risk | observed rate | calibration-in-the-large | slope | ECE | Brier |\n|---|---|---|---|---|---|---|\n",
        rc.fitted_on, rc.fit_stays, rc.fit_patients, rc.fit_events, rc.fit.intercept, rc.fit.slope
    );
    for (name, c) in [("before", &rc.before), ("after", &rc.after)] {
        md.push_str(&format!(
            "| {name} | {:.4} | {:.4} | {} | {} | {:.4} | {:.4} |\n",
            c.mean_score,
            c.observed_rate,
            num(c.calibration_in_the_large),
            num(c.calibration_slope),
            c.ece,
            c.brier
        ));
    }
    md.push('\n');
    md
}

impl ModelCard {
    pub fn from_report(r: &EvalReport) -> Self {
        let op = &r.operating_point;
        let rule = match r.threshold_rule {
            ThresholdRule::Fixed(_) => r.threshold_source.clone(),
            ThresholdRule::TargetSensitivity(_) => format!("chosen as {}", r.threshold_source),
        };
        let interval = |name: &str, scale: f64| {
            r.intervals
                .get(name)
                .and_then(|e| e.ci)
                .map(|c| format!(" (95% CI {:.1} to {:.1})", c.lower * scale, c.upper * scale))
                .unwrap_or_default()
        };
        let slope = r.metrics.calibration_slope;
        let mut caveats = vec![
            "Trained and evaluated on synthetic patients from the CareLab generator; performance on real patients is unknown and must be established by local validation.".to_string(),
            "Discrimination and calibration drift with case mix, coding practice and care pathways: monitor before and after deployment (`carelab monitor`).".to_string(),
        ];
        if slope.is_some_and(|s| s < 0.9) {
            caveats.push(format!("Calibration slope {} < 0.9: predicted risks are too extreme (overfitting); recalibrate before using them as probabilities.", num(slope)));
        }
        if slope.is_some_and(|s| s > 1.1) {
            caveats.push(format!(
                "Calibration slope {} > 1.1: predicted risks are too moderate.",
                num(slope)
            ));
        }
        caveats.extend(r.warnings.iter().cloned());
        let mut metrics: Vec<(String, Estimate)> =
            r.intervals.iter().map(|(k, v)| (k.clone(), *v)).collect();
        metrics.push((
            "log_loss".into(),
            Estimate {
                value: Some(r.metrics.log_loss),
                ci: None,
            },
        ));
        metrics.push((
            "calibration_slope".into(),
            Estimate {
                value: slope,
                ci: None,
            },
        ));
        metrics.push((
            "ece".into(),
            Estimate {
                value: Some(r.metrics.ece),
                ci: None,
            },
        ));
        let mut card = ModelCard {
            model_details: ModelDetails {
                name: r.run_name.clone(),
                kind: r.model.kind.clone(),
                params: r.model.params.clone(),
                features: r.model.features.clone(),
                seed: r.model.seed,
                carelab_version: r.model.carelab_version.clone(),
            },
            intended_use: IntendedUse {
                primary_use: "Estimate the risk of unplanned readmission within 30 days of an index discharge, to prioritise follow-up (e.g. a transition-of-care call) for high-risk patients.".into(),
                users: "Care coordination teams, supported by clinicians who review every flag; and learners in the CareLab sandbox.".into(),
                out_of_scope: vec![
                    "Denying or rationing care, or any decision without clinician review.".into(),
                    "Patients unlike the training population (paediatrics, obstetrics, other hospitals) without local validation.".into(),
                    "Use as a calibrated probability where the calibration section shows it is not.".into(),
                ],
            },
            data: DataSection {
                source: r.model.data_path.clone(),
                data_digest: r.model.data_digest.clone(),
                data_manifest_digest: r.model.data_manifest_digest.clone(),
                outcome: "readmit_30d: unplanned readmission within 30 days of discharge".into(),
                evaluation_split: r.split.clone(),
                n: r.n,
                patients: r.patients,
                events: r.events,
                prevalence: r.prevalence,
            },
            metrics,
            intervals: match r.bootstrap_resample {
                Resample::Patients => format!("Intervals are 95% percentile intervals of a bootstrap ({} replicates) that resamples patients (all of a patient's stays together), not stays.", r.bootstrap_replicates),
                Resample::Stays => format!("Intervals are 95% percentile intervals of a bootstrap ({} replicates) that resamples stays as if they were independent: too narrow when patients have several stays (evaluate with --resample patients for the honest intervals).", r.bootstrap_replicates),
            },
            operating_point: format!(
                "threshold {:.4}, {rule}. On the {} split: TP {}, FP {}, TN {}, FN {}; sensitivity {:.1}%{}, specificity {}, PPV {}, NPV {}; {:.1}% of stays flagged{}",
                op.threshold, r.split, op.tp, op.fp, op.tn, op.fn_,
                op.sensitivity.unwrap_or(f64::NAN) * 100.0, interval("sensitivity", 100.0),
                num(op.specificity), num(op.ppv), num(op.npv),
                op.flagged_rate * 100.0, interval("flagged_rate", 100.0)
            ),
            calibration: format!(
                "calibration-in-the-large {} (slope fixed at 1; 0 is ideal), calibration slope {} (1 is ideal), ECE {:.4} over {}; mean predicted risk {:.4} vs observed rate {:.4}",
                num(r.metrics.calibration_intercept), num(slope), r.metrics.ece, r.reliability_binning, r.metrics.mean_score, r.prevalence
            ),
            recalibration: r.recalibration.clone(),
            subgroups: r.subgroups.clone(),
            bayes_comparison: r.bayes.as_ref().map(|b| format!(
                "model AUROC {} vs Bayes-optimal AUROC {} (the generator's true risk) on the same {} stays",
                num(b.model_auroc), num(b.bayes_auroc), b.matched
            )),
            caveats,
            source_attributes: Vec::new(),
        };
        card.source_attributes = source_attributes(&card, r);
        card
    }

    pub fn to_markdown(&self) -> String {
        let d = &self.model_details;
        let mut md = format!("# Model card: {}\n\n", d.name);
        md.push_str("## Model details\n\n");
        md.push_str(&format!(
            "- Kind: {}\n- CareLab version: {}\n- Seed: {}\n",
            d.kind,
            d.carelab_version,
            d.seed
                .map(|s| s.to_string())
                .unwrap_or_else(|| "n/a".into())
        ));
        if !d.params.is_empty() {
            let params: Vec<String> = d.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            md.push_str(&format!("- Parameters: {}\n", params.join(", ")));
        }
        md.push_str(&format!(
            "- Predictors ({}): {}\n\n",
            d.features.len(),
            d.features.join(", ")
        ));
        md.push_str("## Intended use\n\n");
        md.push_str(&format!(
            "- Primary use: {}\n- Users: {}\n- Out of scope:\n",
            self.intended_use.primary_use, self.intended_use.users
        ));
        for o in &self.intended_use.out_of_scope {
            md.push_str(&format!("  - {o}\n"));
        }
        let data = &self.data;
        md.push_str("\n## Training and evaluation data\n\n");
        md.push_str(&format!(
            "- Source: {} (digest {}, data manifest {})\n- Outcome: {}\n- Evaluation split: {}, {} stays of {} patients, {} events (prevalence {:.4})\n\n",
            data.source, data.data_digest, if data.data_manifest_digest.is_empty() { "n/a" } else { data.data_manifest_digest.as_str() }, data.outcome, data.evaluation_split, data.n, data.patients, data.events, data.prevalence
        ));
        md.push_str(&format!(
            "## Metrics\n\n{}\n\n| metric | value |\n|---|---|\n",
            self.intervals
        ));
        for (name, e) in &self.metrics {
            md.push_str(&format!("| {name} | {} |\n", with_ci(e)));
        }
        md.push_str(&format!("\nOperating point: {}\n\n", self.operating_point));
        md.push_str(&format!("## Calibration\n\n{}\n\n", self.calibration));
        if let Some(rc) = &self.recalibration {
            md.push_str(&recalibration_markdown(rc, &self.data.evaluation_split));
        }
        if let Some(b) = &self.bayes_comparison {
            md.push_str(&format!("## Against the best possible\n\n{b}\n\n"));
        }
        md.push_str("## Subgroups\n\n| attribute | group | stays | patients | events | AUROC | calibration-in-the-large | sensitivity | note |\n|---|---|---|---|---|---|---|---|---|\n");
        for s in &self.subgroups {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                s.attribute,
                s.group,
                s.n,
                s.patients,
                s.events,
                with_ci(&s.auroc),
                with_ci(&s.calibration_in_the_large),
                with_ci(&s.sensitivity),
                if s.warning.is_some() {
                    "small group"
                } else {
                    ""
                }
            ));
        }
        md.push_str("\n## Caveats and recommendations\n\n");
        for c in &self.caveats {
            md.push_str(&format!("- {c}\n"));
        }
        md.push_str("\n## Source attributes (ONC HTI-1)\n\nWhat a certified EHR publishes for a predictive decision support intervention. Rows marked TO FILL are for the organisation that deploys the model: CareLab cannot know them.\n\n| group | attribute | value |\n|---|---|---|\n");
        for a in &self.source_attributes {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                a.group,
                a.attribute,
                a.value.replace('|', "\\|")
            ));
        }
        md
    }
}
