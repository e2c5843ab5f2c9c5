//! The instructor guide's agendas agree with the labs: a lab's minutes live
//! in its `lab.toml` only, and every table in the guide that times a lab is
//! checked against it, with the slack each slot states.

use std::collections::BTreeMap;
use std::path::Path;

use carelab::labs::Catalog;

fn guide() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/instructor/guide.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lab number -> `duration_minutes` from each lab's `lab.toml`.
fn durations() -> BTreeMap<u32, u32> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let catalog = Catalog::from_dir(&dir).unwrap();
    catalog
        .labs
        .iter()
        .map(|l| (l.spec.number(), l.spec.duration_minutes))
        .collect()
}

/// The cells of a Markdown table row, trimmed; None for other lines.
fn cells(line: &str) -> Option<Vec<&str>> {
    let line = line.trim();
    let inner = line.strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

fn minutes_of_day(time: &str) -> Option<u32> {
    let (h, m) = time.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
}

/// One timed slot of an agenda: its start, its text, and its length (until
/// the next row's time).
#[derive(Debug)]
struct Slot {
    line: usize,
    start: u32,
    what: String,
    length: u32,
}

/// Every `| HH:MM | what |` table of the guide, one list of slots each.
fn agendas(text: &str) -> Vec<Vec<Slot>> {
    let mut tables: Vec<Vec<(usize, u32, String)>> = Vec::new();
    let mut current: Vec<(usize, u32, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match cells(line).filter(|c| c.len() == 2) {
            Some(c) if minutes_of_day(c[0]).is_some() => {
                current.push((i + 1, minutes_of_day(c[0]).unwrap(), c[1].to_string()));
            }
            Some(_) => {} // header or separator row
            None if !current.is_empty() => tables.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        tables.push(current);
    }
    tables
        .into_iter()
        .map(|rows| {
            let last = rows.last().unwrap();
            assert_eq!(
                last.2, "End",
                "guide.md:{}: an agenda table must end with an `End` row, so its last slot has a length",
                last.0
            );
            rows.windows(2)
                .map(|w| {
                    assert!(
                        w[1].1 > w[0].1,
                        "guide.md:{}: {} comes after a later time",
                        w[1].0,
                        w[1].2
                    );
                    Slot { line: w[0].0, start: w[0].1, what: w[0].2.clone(), length: w[1].1 - w[0].1 }
                })
                .collect()
        })
        .collect()
}

/// `Lab NN — ... (D min + S slack...)`: the lab number, D and S.
fn lab_slot(what: &str) -> Option<(u32, u32, u32)> {
    let rest = what.strip_prefix("Lab ")?;
    let number: u32 = rest.get(..2)?.parse().ok()?;
    let open = rest.find('(')?;
    let timing = &rest[open + 1..];
    let (minutes, rest) = timing.split_once(" min + ")?;
    let (slack, _) = rest.split_once(" slack")?;
    Some((number, minutes.parse().ok()?, slack.parse().ok()?))
}

#[test]
fn the_guides_timings_are_the_labs_own() {
    let durations = durations();
    assert_eq!(durations.len(), 12, "labs 00-11: {durations:?}");
    let text = guide();

    // The overview table: one row per lab, its minutes from lab.toml.
    let mut seen = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some(c) = cells(line).filter(|c| c.len() == 3) else {
            continue;
        };
        let Some(number) = c[0].get(..2).and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let minutes: u32 = c[1]
            .parse()
            .unwrap_or_else(|_| panic!("guide.md:{}: minutes `{}` is not a number", i + 1, c[1]));
        assert_eq!(
            Some(&minutes),
            durations.get(&number),
            "guide.md:{}: lab {number:02} is given {minutes} minutes; its lab.toml says otherwise",
            i + 1
        );
        seen.insert(number, minutes);
    }
    assert_eq!(seen, durations, "the overview table must list every lab");

    let agendas = agendas(&text);
    assert_eq!(agendas.len(), 4, "the one-day agenda and the three days");
    let mut in_three_days = Vec::new();
    for (n, agenda) in agendas.iter().enumerate() {
        let (mut lab_minutes, mut slack_minutes) = (0, 0);
        assert!(
            agenda.iter().any(|s| s.what.starts_with("Break")),
            "guide.md:{}: an agenda without a break",
            agenda[0].line
        );
        for slot in agenda {
            // A lab named anywhere in an agenda is timed, in the one format.
            if !slot.what.contains("Lab ") {
                continue;
            }
            let (number, minutes, slack) = lab_slot(&slot.what).unwrap_or_else(|| {
                panic!(
                    "guide.md:{}: `{}`: a lab's slot reads `Lab NN — title (D min + S slack)`",
                    slot.line, slot.what
                )
            });
            let own = durations[&number];
            assert_eq!(
                minutes, own,
                "guide.md:{}: lab {number:02} is given {minutes} minutes; its lab.toml says {own}",
                slot.line
            );
            assert_eq!(
                slot.length,
                minutes + slack,
                "guide.md:{}: the slot at {:02}:{:02} lasts {} minutes, not the {minutes} + {slack} it states",
                slot.line,
                slot.start / 60,
                slot.start % 60,
                slot.length
            );
            assert!(
                slack >= 5,
                "guide.md:{}: lab {number:02} has {slack} minutes of slack; every lab gets at least 5",
                slot.line
            );
            lab_minutes += minutes;
            slack_minutes += slack;
            if n > 0 {
                in_three_days.push(number);
            }
        }
        assert!(
            lab_minutes > 0,
            "guide.md:{}: an agenda with no lab",
            agenda[0].line
        );
        let share = f64::from(slack_minutes) / f64::from(lab_minutes);
        assert!(
            (0.10..=0.15).contains(&share),
            "guide.md:{}: this agenda's slack is {:.1}% of its {lab_minutes} lab minutes, not 10-15%",
            agenda[0].line,
            share * 100.0
        );
    }
    in_three_days.sort_unstable();
    assert_eq!(
        in_three_days,
        durations.keys().copied().collect::<Vec<_>>(),
        "the three days hold every lab, once"
    );
}
