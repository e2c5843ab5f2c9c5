//! Training the learned detector with candle on the generator's notes.
//!
//! The generator writes every note together with the exact byte spans of
//! the PHI it put there (discharge summaries, then nursing, progress,
//! social work and telephone entries naming relatives, clinicians,
//! employers and facilities, with many date and phone shapes). Each token
//! is labelled with the kind of the span it lies in, or "no PHI". Training
//! patients and validation patients are different people (different
//! indices of the same population). Notes written by hand with their PHI
//! annotated (`--notes DIR`, the development sets in `tests/data/deid-dev*`)
//! join the generator's, each `notes_weight` times an epoch, so the model
//! also learns how people write PHI; a folder marked held out (the corpus
//! in `tests/data/deid-notes`) is refused (see `corpus`).
//!
//! The loop is plain candle: gather the embedding rows of a batch's
//! features, sum them, two layers, cross-entropy, AdamW.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom as _;
use rand::Rng as _;
use serde::Serialize;

use super::corpus::{score_notes, AnnotatedNote, NotesScore};
use super::detector::{
    Detector, Featurizer, CLASSES, FEATURES, KINDS, NEIGHBOUR_WORD_SLOTS, OWN_WORD_SLOTS,
};
use super::scrub::{KindScore, Scorer};
use crate::clinical::{Note, PhiSpan};
use crate::error::{Error, Result};
use crate::rng;
use crate::synth::{Population, Scenario};
use crate::ui::Ui;

/// What to train on and how.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Generated patients whose notes are the training set.
    pub patients: u64,
    /// Further patients, other people, whose notes measure the model.
    pub validation_patients: u64,
    pub seed: u64,
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    /// Rows of the embedding table (hashed features share them).
    pub buckets: usize,
    pub dim: usize,
    pub hidden: usize,
    /// Chance that a token's own-word features are hidden in training.
    pub word_dropout: f64,
    /// Hand-annotated notes trained on beside the generator's.
    pub notes: Vec<NoteSet>,
    /// Times each hand-annotated note is seen an epoch (the generator
    /// writes thousands of notes, a development set some twenty).
    pub notes_weight: usize,
    /// Hand-annotated notes the model is measured on after training, beside
    /// the shipped model (never trained on here unless also in `notes`).
    pub score: Vec<NoteSet>,
}

/// The notes of one folder of hand-annotated notes.
#[derive(Debug, Clone)]
pub struct NoteSet {
    pub dir: PathBuf,
    pub notes: Vec<AnnotatedNote>,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            patients: 2000,
            validation_patients: 300,
            seed: 19,
            epochs: 4,
            batch: 256,
            learning_rate: 0.01,
            buckets: 8192,
            dim: 16,
            hidden: 32,
            word_dropout: 0.25,
            notes: Vec::new(),
            notes_weight: 1,
            score: Vec::new(),
        }
    }
}

/// What training did, for the command's output.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// The generator's notes, their tokens and those in PHI.
    pub notes: usize,
    pub tokens: usize,
    pub phi_tokens: usize,
    /// Mean cross-entropy of each epoch.
    pub epoch_loss: Vec<f64>,
    pub validation_notes: usize,
    /// The model alone on the validation patients' notes, per PHI kind
    /// (every kind it learned; `deid` leaves e-mail, URL and IP to the
    /// patterns).
    pub validation: BTreeMap<String, KindScore>,
    pub parameters: usize,
    /// The hand-annotated note sets trained on.
    pub note_sets: Vec<NoteSetUsed>,
    /// The trained model on each `score` set, alone and with the rules.
    pub scored: Vec<NotesScore>,
    /// The shipped model on the same sets, the same ways.
    pub scored_shipped: Vec<NotesScore>,
}

/// One hand-annotated note set in training.
#[derive(Debug, Clone, Serialize)]
pub struct NoteSetUsed {
    pub dir: PathBuf,
    pub notes: usize,
    /// Tokens of its notes (once, before the weight) and those in PHI.
    pub tokens: usize,
    pub phi_tokens: usize,
    pub weight: usize,
}

/// The notes and PHI spans of patients `from..to` of the baseline
/// population, and for each patient one chart excerpt without PHI.
pub fn generated_notes(seed: u64, from: u64, to: u64) -> Result<(Vec<Note>, Vec<PhiSpan>)> {
    let scenario = Scenario::load("baseline")?;
    let pop = Population::new(&scenario, seed);
    let (mut notes, mut spans) = (Vec::new(), Vec::new());
    for i in from..to {
        let mut b = pop.patient(i);
        crate::synth::notes::add_notes(&pop, i, &mut b);
        let chart = chart_text(&b, &mut rng::stream(seed, "detector-chart", i));
        if let Some(p) = &b.patient {
            notes.push(Note {
                note_id: format!("chart-{i}"),
                patient_id: p.patient_id.clone(),
                encounter_id: String::new(),
                time: pop.data_end,
                text: chart,
            });
        }
        notes.extend(b.notes);
        spans.extend(b.phi_spans);
    }
    Ok((notes, spans))
}

/// Frequencies, routes and other chart words around doses.
const SIGS: [&str; 10] = [
    "PO daily",
    "PO BID",
    "PO TID",
    "q6h PRN",
    "IV q8h",
    "SC nightly",
    "PO qAM",
    "inhaled q4h PRN",
    "x 5 days",
    "for 2 weeks",
];

/// A chart excerpt without PHI: the patient's own conditions,
/// medications with doses, and observations with values, units and times
/// of day (a time of day is no Safe Harbor date element), and the words
/// of `datasets/names/not-names.txt` (eponyms such as Parkinson or Foley,
/// words that are names elsewhere) in clinical phrases. The generator's
/// notes name PHI in few sentences of chart text; these lines show the
/// model numbers, capitalised words and eponyms that are not PHI.
fn chart_text(b: &crate::clinical::PatientBundle, rng: &mut crate::rng::Rng) -> String {
    let mut t = String::with_capacity(1024);
    for c in &b.conditions {
        t.push_str(&format!("Hx: {}.\n", c.display));
    }
    for m in b.medications.iter().take(8) {
        let dose = [5, 10, 20, 25, 40, 50, 81, 100, 250, 500, 1000][rng.random_range(0..11)];
        let sig = SIGS[rng.random_range(0..SIGS.len())];
        t.push_str(&format!("{} {dose} mg {sig}\n", m.name));
    }
    for o in b.observations.iter().take(12) {
        let time = o
            .time
            .format(["%H:%M", "%H%M", "%-I:%M %p"][rng.random_range(0..3)]);
        let value = if o.value.fract() == 0.0 {
            format!("{}", o.value)
        } else {
            format!("{:.1}", o.value)
        };
        t.push_str(&format!("{} {value} {} at {time}; ", o.display, o.unit));
    }
    t.push('\n');
    // vital signs and scores as notes write them: numbers with slashes,
    // per cents and decimals that are no date, phone or identifier
    let n = |rng: &mut crate::rng::Rng, lo: u32, hi: u32| rng.random_range(lo..hi);
    t.push_str(&format!(
        "VS: BP {}/{}, HR {}, RR {}, SpO2 {}% on {} L, T {}.{} C, pain {}/10, I/O {}/{}\n",
        n(rng, 90, 190),
        n(rng, 50, 110),
        n(rng, 45, 140),
        n(rng, 10, 32),
        n(rng, 82, 101),
        n(rng, 1, 6),
        n(rng, 35, 40),
        n(rng, 0, 10),
        n(rng, 0, 11),
        n(rng, 200, 3000),
        n(rng, 200, 3000),
    ));
    let words = crate::deid::names::not_name_words();
    for _ in 0..6 {
        let w = words[rng.random_range(0..words.len())];
        let mut cap = w.to_string();
        if let Some(f) = cap.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        let line = [
            format!("Pt with {cap} noted, stable."),
            format!("{cap} reviewed with team."),
            format!("Plan: continue {cap} per protocol."),
        ][rng.random_range(0..3)]
        .clone();
        t.push_str(&line);
        t.push('\n');
    }
    t
}

/// Token features and labels, appended to `x` and `y`: the class of a
/// token is the kind of the PHI span it overlaps, 0 where none does. A
/// note is `(id, text)`; the spans are those of the same notes.
fn examples<'a>(
    notes: impl IntoIterator<Item = (&'a str, &'a str)>,
    spans: impl IntoIterator<Item = &'a PhiSpan>,
    opts: &TrainOptions,
    rng: &mut rng::Rng,
    (x, y): (&mut Vec<u32>, &mut Vec<u32>),
) {
    let mut by_note: BTreeMap<&str, Vec<&PhiSpan>> = BTreeMap::new();
    for s in spans {
        by_note.entry(s.note_id.as_str()).or_default().push(s);
    }
    let mut feats = [0u32; FEATURES];
    for (id, text) in notes {
        let fz = Featurizer::new(text, opts.buckets);
        let phi = by_note.get(id).map_or(&[][..], Vec::as_slice);
        for (i, &(s, e)) in fz.tokens.iter().enumerate() {
            fz.token(i, &mut feats);
            if rng.random_bool(opts.word_dropout) {
                for slot in OWN_WORD_SLOTS {
                    feats[slot] = fz.dropped(slot);
                }
            }
            // and, less often, each neighbour's word: the generator's
            // sentences around PHI are few, notes people write are not
            for slot in NEIGHBOUR_WORD_SLOTS {
                if rng.random_bool(opts.word_dropout / 2.0) {
                    feats[slot] = fz.dropped(slot);
                }
            }
            x.extend_from_slice(&feats);
            let class = phi
                .iter()
                .find(|t| t.start < e && s < t.end)
                .and_then(|t| KINDS.iter().position(|k| *k == t.kind))
                .map_or(0, |k| k + 1);
            y.push(class as u32);
        }
    }
}

/// Train a detector on generated notes; measure it on other generated patients.
pub fn train(opts: &TrainOptions, ui: &Ui) -> Result<(Detector, TrainReport)> {
    if opts.patients == 0 || opts.epochs == 0 || opts.batch == 0 || opts.buckets == 0 {
        return Err(Error::usage(
            "train-detector: --patients, --epochs, the batch and the buckets must be at least 1",
        ));
    }
    if opts.notes_weight == 0 {
        return Err(Error::usage(
            "train-detector: --notes-weight must be at least 1",
        ));
    }
    let (notes, spans) = generated_notes(opts.seed, 0, opts.patients)?;
    let mut dropout = rng::stream(opts.seed, "detector-dropout", 0);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    examples(
        notes.iter().map(|n| (n.note_id.as_str(), n.text.as_str())),
        &spans,
        opts,
        &mut dropout,
        (&mut x, &mut y),
    );
    let phi_count = |y: &[u32]| y.iter().filter(|c| **c != 0).count();
    let (generated_tokens, phi_tokens) = (y.len(), phi_count(&y));
    ui.info(format!(
        "train-detector: {} notes of {} generated patients, {generated_tokens} tokens ({phi_tokens} in PHI)",
        notes.len(),
        opts.patients,
    ));
    // each set apart: note ids (file stems) are unique only within a folder
    let mut note_sets = Vec::new();
    for set in &opts.notes {
        let first = y.len();
        for _ in 0..opts.notes_weight {
            examples(
                set.notes.iter().map(|n| (n.id.as_str(), n.text.as_str())),
                set.notes.iter().flat_map(|n| &n.spans),
                opts,
                &mut dropout,
                (&mut x, &mut y),
            );
        }
        let used = NoteSetUsed {
            dir: set.dir.clone(),
            notes: set.notes.len(),
            tokens: (y.len() - first) / opts.notes_weight,
            phi_tokens: phi_count(&y[first..]) / opts.notes_weight,
            weight: opts.notes_weight,
        };
        ui.info(format!(
            "train-detector: {} annotated notes of {}, {} tokens ({} in PHI), {} times an epoch",
            used.notes,
            used.dir.display(),
            used.tokens,
            used.phi_tokens,
            used.weight
        ));
        note_sets.push(used);
    }
    let rows = y.len();

    let dev = Device::Cpu;
    let mut init = rng::stream(opts.seed, "detector-init", 0);
    let mut uniform = |n: usize, bound: f32| -> Vec<f32> {
        (0..n).map(|_| init.random_range(-bound..bound)).collect()
    };
    let (b, d, h) = (opts.buckets, opts.dim, opts.hidden);
    let var = |values: Vec<f32>, shape: &[usize]| -> Result<Var> {
        Ok(Var::from_tensor(&Tensor::from_vec(values, shape, &dev)?)?)
    };
    let emb = var(uniform(b * d, 0.1), &[b, d])?;
    let b1 = var(vec![0.0; d], &[d])?;
    let w2 = var(uniform(h * d, 1.0 / (d as f32).sqrt()), &[h, d])?;
    let b2 = var(vec![0.0; h], &[h])?;
    let w3 = var(uniform(CLASSES * h, 1.0 / (h as f32).sqrt()), &[CLASSES, h])?;
    let b3 = var(vec![0.0; CLASSES], &[CLASSES])?;
    let mut opt = AdamW::new(
        vec![
            emb.clone(),
            b1.clone(),
            w2.clone(),
            b2.clone(),
            w3.clone(),
            b3.clone(),
        ],
        ParamsAdamW {
            lr: opts.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;

    let mut order: Vec<usize> = (0..rows).collect();
    let mut shuffle = rng::stream(opts.seed, "detector-shuffle", 0);
    let mut epoch_loss = Vec::new();
    for epoch in 0..opts.epochs {
        order.shuffle(&mut shuffle);
        let mut total = 0.0;
        for batch in order.chunks(opts.batch) {
            let n = batch.len();
            let mut idx = Vec::with_capacity(n * FEATURES);
            let mut labels = Vec::with_capacity(n);
            for &r in batch {
                idx.extend_from_slice(&x[r * FEATURES..(r + 1) * FEATURES]);
                labels.push(y[r]);
            }
            let idx = Tensor::from_vec(idx, n * FEATURES, &dev)?;
            let labels = Tensor::from_vec(labels, n, &dev)?;
            let e = emb
                .as_tensor()
                .index_select(&idx, 0)?
                .reshape((n, FEATURES, d))?
                .sum(1)?
                .broadcast_add(b1.as_tensor())?
                .relu()?;
            let hid = e
                .matmul(&w2.as_tensor().t()?)?
                .broadcast_add(b2.as_tensor())?
                .relu()?;
            let logits = hid
                .matmul(&w3.as_tensor().t()?)?
                .broadcast_add(b3.as_tensor())?;
            let loss = candle_nn::loss::cross_entropy(&logits, &labels)?;
            opt.backward_step(&loss)?;
            total += f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?) * n as f64;
        }
        let mean = total / rows as f64;
        ui.info(format!("epoch {}: loss {mean:.4}", epoch + 1));
        epoch_loss.push(mean);
    }

    let flat = |v: &Var| -> Result<Vec<f32>> { Ok(v.as_tensor().flatten_all()?.to_vec1::<f32>()?) };
    let detector = Detector {
        buckets: b,
        dim: d,
        hidden: h,
        emb: flat(&emb)?,
        b1: flat(&b1)?,
        w2: flat(&w2)?,
        b2: flat(&b2)?,
        w3: flat(&w3)?,
        b3: flat(&b3)?,
        net: Default::default(),
    };

    let (val_notes, val_spans) = generated_notes(
        opts.seed,
        opts.patients,
        opts.patients + opts.validation_patients,
    )?;
    let mut scorer = Scorer::new(val_spans);
    for n in &val_notes {
        let mut found = Vec::new();
        detector.find_every_kind(&n.text, &mut found);
        scorer.add_note(&n.note_id, &n.text, &super::patterns::merge(found));
    }
    let (mut scored, mut scored_shipped) = (Vec::new(), Vec::new());
    if !opts.score.is_empty() {
        let trained = Arc::new(detector.clone());
        let shipped = Detector::builtin()?;
        for set in &opts.score {
            scored.push(score_notes(&set.dir, &set.notes, &trained));
            scored_shipped.push(score_notes(&set.dir, &set.notes, &shipped));
        }
    }
    let report = TrainReport {
        notes: notes.len(),
        tokens: generated_tokens,
        phi_tokens,
        epoch_loss,
        validation_notes: val_notes.len(),
        validation: scorer.finish(),
        parameters: b * d + d + h * d + h + CLASSES * h + CLASSES,
        note_sets,
        scored,
        scored_shipped,
    };
    Ok((detector, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_training_run_learns_the_generators_phi() {
        let opts = TrainOptions {
            patients: 40,
            validation_patients: 20,
            epochs: 3,
            buckets: 2048,
            ..TrainOptions::default()
        };
        let (d, report) = train(&opts, &Ui::new(false, true, 0, true)).unwrap();
        assert!(report.phi_tokens > 0 && report.tokens > report.phi_tokens);
        let (first, last) = (report.epoch_loss[0], report.epoch_loss[opts.epochs - 1]);
        assert!(last < first, "loss {first} -> {last}");
        // other patients' names and dates are found
        for kind in ["name", "date"] {
            let s = &report.validation[kind];
            assert!(s.truth_spans > 0);
            assert!(s.recall > 0.5, "{kind}: {s:?}");
        }
        assert_eq!(d.emb.len(), 2048 * opts.dim);
    }

    #[test]
    fn annotated_notes_join_training_and_training_is_deterministic() {
        let raw = "patient_id: P1\n---\nHusband {{name|Imran Qureshi}} drove her in on {{date|04-02-2024}}.\n";
        let note = crate::deid::corpus::parse_note("n1", "n1.txt", raw).unwrap();
        let opts = TrainOptions {
            patients: 4,
            validation_patients: 1,
            epochs: 1,
            buckets: 512,
            ..TrainOptions::default()
        };
        let with_notes = TrainOptions {
            notes: vec![NoteSet {
                dir: PathBuf::from("dev"),
                notes: vec![note],
            }],
            notes_weight: 3,
            ..opts.clone()
        };
        let ui = Ui::new(false, true, 0, true);
        let (plain, plain_report) = train(&opts, &ui).unwrap();
        let (taught, report) = train(&with_notes, &ui).unwrap();
        assert!(plain_report.note_sets.is_empty());
        let used = &report.note_sets[0];
        // "Husband Imran Qureshi drove her in on 04-02-2024." in tokens,
        // of which the name's and the date's are PHI
        assert_eq!((used.notes, used.weight), (1, 3));
        assert!(
            used.phi_tokens >= 3 && used.tokens > used.phi_tokens,
            "{used:?}"
        );
        assert_eq!(report.tokens, plain_report.tokens);
        assert_ne!(plain.emb, taught.emb);
        // the same options give the same weights, bit for bit
        let (again, _) = train(&with_notes, &ui).unwrap();
        assert_eq!(again.emb, taught.emb);
        assert_eq!(again.w3, taught.w3);

        let none = TrainOptions {
            notes_weight: 0,
            ..with_notes
        };
        assert!(train(&none, &ui)
            .unwrap_err()
            .to_string()
            .contains("--notes-weight must be at least 1"));
    }
}
