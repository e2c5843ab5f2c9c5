//! The live class view end to end: `carelab workshop serve` on a free port,
//! three learners' real `lab` commands posting to it (one progressing, one
//! stuck who runs `lab help`, one who forgot `--seed`, one who catches up
//! with `lab solve --catch-up` and one who runs a plain `lab solve`), a
//! roster learner who never connects, the JSON state, bad posts refused without changing
//! anything, and the instructor's page rendered by a real browser.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const ANA: u64 = 31_001;
const BEN: u64 = 31_002;
const CLEO: u64 = 31_003;
const EVE: u64 = 31_005;
const FAY: u64 = 31_006;

/// Stops the server however the test ends.
struct Served(std::process::Child);
impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_carelab")
}

/// `carelab ARGS` in `dir`, in the class at `class` (URL, token) or none.
fn learner(dir: &Path, class: Option<(&str, &str)>, args: &[&str]) -> Output {
    std::fs::create_dir_all(dir).unwrap();
    let mut cmd = Command::new(exe());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("CARELAB_WORKSPACE")
        .env_remove("CARELAB_SEED")
        .env_remove("CARELAB_LEARNER")
        .env_remove("CARELAB_CLASS")
        .env_remove("CARELAB_CLASS_TOKEN")
        .env("NO_COLOR", "1");
    if let Some((url, token)) = class {
        cmd.env("CARELAB_CLASS", url)
            .env("CARELAB_CLASS_TOKEN", token);
    }
    cmd.output().unwrap()
}

/// Start `workshop serve` on a free port; the guard and the address.
fn serve_class(roster: &Path, token_file: &Path, events: &Path) -> (Served, SocketAddr) {
    let mut child = Command::new(exe())
        .args(["workshop", "serve", "--addr", "127.0.0.1:0", "--roster"])
        .arg(roster)
        .arg("--token-file")
        .arg(token_file)
        .arg("--events")
        .arg(events)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let served = Served(child);
    let addr: SocketAddr = loop {
        let line = lines
            .next()
            .expect("workshop serve said where it listens")
            .unwrap();
        if let Some(rest) = line.split("on http://").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    // The server warns about refused events on stderr; keep the pipe drained.
    std::thread::spawn(move || for _ in lines {});
    (served, addr)
}

/// One HTTP/1.1 request on a fresh connection: the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: class\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // An oversized body may be refused before it is all read.
    let _ = s.write_all(body);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

fn state(addr: SocketAddr) -> Value {
    let (status, body) = http(addr, "GET", "/state.json", None, b"");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The state without the clock: what an event may change.
fn without_clock(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("now");
                m.remove("minutes_idle");
                m.remove("minutes");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

fn learner_row<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {state}"))
}

fn titles(row: &Value) -> Vec<String> {
    row["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["lab"].as_str().unwrap(),
                f["title"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn class_view_shows_the_room_and_refuses_bad_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let roster = d.join("roster.csv");
    std::fs::write(
        &roster,
        format!("id,name,seed\nana,Ana,{ANA}\nben,Ben,{BEN}\ncleo,Cleo,{CLEO}\ndan,Dan,31004\neve,Eve,{EVE}\nfay,Fay,{FAY}\n"),
    )
    .unwrap();
    let token_file = d.join("class-token");
    let events = d.join("events.jsonl");
    let (served, addr) = serve_class(&roster, &token_file, &events);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.len() >= 16, "a new class token was made: {token}");
    let url = format!("http://{addr}");
    let class = Some((url.as_str(), token.as_str()));

    // Before anyone posts: everyone on the roster, nobody connected.
    let empty = state(addr);
    assert_eq!(
        empty["never_connected"],
        serde_json::json!(["ana", "ben", "cleo", "dan", "eve", "fay"])
    );
    assert!(empty["most_failing"].is_null());

    // ana does lab 00 herself, passes, and moves on to lab 01.
    let ana = d.join("ana");
    let start = learner(
        &ana,
        class,
        &[
            "lab",
            "start",
            "0",
            "--seed",
            &ANA.to_string(),
            "--learner",
            "ana",
        ],
    );
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    assert!(
        ana.join("carelab-work/class.json").is_file(),
        "lab start remembers the class view for later terminals"
    );
    let lab0 = ana.join("carelab-work/00-setup");
    let doctor = learner(&lab0, None, &["doctor", "--workspace", "..", "--json"]);
    std::fs::write(lab0.join("doctor.json"), &doctor.stdout).unwrap();
    let cores = serde_json::from_slice::<Value>(&doctor.stdout).unwrap()["cores"].clone();
    std::fs::write(
        lab0.join("answers.toml"),
        format!("seed = {ANA}\ncores = {cores}\n"),
    )
    .unwrap();
    // A later terminal without CARELAB_CLASS: the workspace's class.json is used.
    let check = learner(&lab0, None, &["lab", "check", "0"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(
        check.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(learner(&ana, class, &["lab", "start", "1"])
        .status
        .success());
    assert_eq!(
        learner(&ana, class, &["lab", "check", "1"]).status.code(),
        Some(1)
    );

    // ben is stuck in lab 00: failing checks, two hints, then `lab help`.
    let ben = d.join("ben");
    learner(
        &ben,
        class,
        &[
            "lab",
            "start",
            "0",
            "--seed",
            &BEN.to_string(),
            "--learner",
            "ben",
        ],
    );
    assert_eq!(
        learner(&ben, class, &["lab", "check", "0"]).status.code(),
        Some(1)
    );
    learner(&ben, class, &["lab", "hint", "0"]);
    learner(&ben, class, &["lab", "hint", "0"]);
    let help = learner(&ben, class, &["lab", "help", "0", "--json"]);
    assert!(help.status.success());
    let said: Value = serde_json::from_slice(&help.stdout).unwrap();
    assert_eq!(
        (said["class_view"].clone(), said["help_requests"].clone()),
        (Value::Bool(true), 1.into())
    );

    // cleo forgot --seed (so 42) and checks.
    let cleo = d.join("cleo");
    learner(&cleo, class, &["lab", "start", "0", "--learner", "cleo"]);
    let check = learner(&cleo, class, &["lab", "check", "0"]);
    assert_eq!(check.status.code(), Some(1));
    // She is told, without the roster's seed being shown.
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        err.contains("uses seed 42, not the one on your seed slip"),
        "{err}"
    );
    assert!(!err.contains(&CLEO.to_string()), "{err}");

    // eve's workshop allows catching up: she does not finish lab 00, runs
    // `lab solve 0 --catch-up`, checks (it passes, on the solution's work)
    // and starts lab 01. fay runs a plain `lab solve 0` (an open workshop).
    let eve = d.join("eve");
    let policy = format!(
        "catch-up:{}",
        carelab::labs::workspace::key_hash("the-instructors-key")
    );
    let eve_start = [
        "lab",
        "start",
        "0",
        "--seed",
        &EVE.to_string(),
        "--learner",
        "eve",
        "--solve-policy",
        &policy,
    ];
    assert!(learner(&eve, class, &eve_start).status.success());
    let caught = learner(&eve, class, &["lab", "solve", "0", "--catch-up"]);
    assert!(
        caught.status.success(),
        "{}",
        String::from_utf8_lossy(&caught.stderr)
    );
    let eve0 = eve.join("carelab-work/00-setup");
    assert_eq!(
        learner(&eve0, None, &["lab", "check", "0"]).status.code(),
        Some(0)
    );
    assert!(learner(&eve, class, &["lab", "start", "1"])
        .status
        .success());
    let fay = d.join("fay");
    let fay_start = [
        "lab",
        "start",
        "0",
        "--seed",
        &FAY.to_string(),
        "--learner",
        "fay",
    ];
    assert!(learner(&fay, class, &fay_start).status.success());
    assert!(learner(&fay, class, &["lab", "solve", "0"])
        .status
        .success());

    let s = state(addr);
    assert_eq!(s["never_connected"], serde_json::json!(["dan"]));
    assert_eq!(s["seed_mismatches"], serde_json::json!(["cleo"]));
    assert_eq!(s["asking_for_help"], serde_json::json!(["ben"]));

    let a = learner_row(&s, "ana");
    assert_eq!(a["current_lab"], "01-data");
    assert_eq!(a["completed"], serde_json::json!(["00-setup"]));
    assert_eq!(a["with_solution"], serde_json::json!([]));
    assert_eq!(a["seed"], ANA);
    assert_eq!(a["seed_mismatch"], false);
    assert!(titles(a).iter().all(|t| t.starts_with("01-data: ")), "{a}");
    assert!(!titles(a).is_empty());
    assert!(a["help_open"].is_null());

    let b = learner_row(&s, "ben");
    assert_eq!(b["current_lab"], "00-setup");
    assert_eq!(b["hints"], 2);
    assert_eq!(b["help_requests"], 1);
    assert_eq!(b["help_open"]["lab"], "00-setup");
    assert!(
        titles(b).contains(&"00-setup: answers.toml names your seed".to_string()),
        "{b}"
    );
    assert!(b["minutes_idle"].as_f64().is_some());

    let c = learner_row(&s, "cleo");
    assert_eq!(
        (c["seed"].clone(), c["roster_seed"].clone()),
        (42.into(), CLEO.into())
    );
    assert_eq!(c["seed_mismatch"], true);
    assert!(c["help_open"].is_null());

    // A catch-up and a plain solve are marked apart, and neither is a pass.
    let e = learner_row(&s, "eve");
    assert_eq!(e["current_lab"], "01-data");
    assert_eq!(e["caught_up"], serde_json::json!(["00-setup"]));
    assert_eq!(e["with_solution"], serde_json::json!([]));
    assert_eq!(e["completed"], serde_json::json!([]));
    assert!(!titles(e).iter().any(|t| t.starts_with("00-setup")), "{e}");
    let f = learner_row(&s, "fay");
    assert_eq!(f["with_solution"], serde_json::json!(["00-setup"]));
    assert_eq!(f["caught_up"], serde_json::json!([]));
    assert_eq!(f["completed"], serde_json::json!([]));
    assert_eq!(a["caught_up"], serde_json::json!([]));

    let dan = learner_row(&s, "dan");
    assert_eq!(dan["connected"], false);
    assert!(dan["current_lab"].is_null() && dan["minutes_idle"].is_null());

    // ben and cleo both fail lab 00's checks; ties go in the lab's order.
    assert_eq!(s["most_failing"]["lab"], "00-setup");
    assert_eq!(s["most_failing"]["check"], "doctor_json");
    assert_eq!(s["most_failing"]["learners"], 2);

    // Bad posts: a clear 4xx with a JSON error, and nothing changes.
    let before = without_clock(state(addr));
    let event = |learner: &str, lab: &str, checks: &str| {
        format!(
            r#"{{"learner":"{learner}","seed":1,"lab":"{lab}","kind":"check","checks":{checks},"time":1}}"#
        )
    };
    let good_shape = event("ben", "00-setup", r#"{"answer_seed":true}"#);
    let padded = format!("{}{}", " ".repeat(8 * 1024), good_shape);
    for (what, token, body, status, code) in [
        ("no token", None, good_shape.clone(), 401, "missing_token"),
        (
            "wrong token",
            Some("not-the-class-token"),
            good_shape.clone(),
            401,
            "wrong_token",
        ),
        (
            "unknown learner",
            Some(token.as_str()),
            event("zed", "00-setup", "{}"),
            404,
            "unknown_learner",
        ),
        ("oversized", Some(token.as_str()), padded, 413, "too_large"),
        (
            "malformed",
            Some(token.as_str()),
            "{\"learner\": ".to_string(),
            400,
            "malformed_json",
        ),
        (
            "not an event",
            Some(token.as_str()),
            r#"{"learner":"ben"}"#.to_string(),
            422,
            "invalid_event",
        ),
        (
            "unknown lab",
            Some(token.as_str()),
            event("ben", "99-none", "{}"),
            422,
            "unknown_lab",
        ),
        (
            "unknown check",
            Some(token.as_str()),
            event("ben", "00-setup", r#"{"nope":false}"#),
            422,
            "unknown_check",
        ),
    ] {
        let (got, body) = http(addr, "POST", "/events", token, body.as_bytes());
        assert_eq!(got, status, "{what}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(body["error"], code, "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    assert_eq!(
        without_clock(state(addr)),
        before,
        "refused events changed the state"
    );

    // A server that cannot be reached, one that takes the connection and
    // never answers, a URL without its token: each time the command's own
    // exit code and one warning line.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    for (url, token, says) in [
        ("http://127.0.0.1:1", token.as_str(), "is not reachable"),
        (silent_url.as_str(), token.as_str(), "did not answer within"),
        (url.as_str(), "", "CARELAB_CLASS_TOKEN is not"),
    ] {
        let lost = learner(&ben, Some((url, token)), &["lab", "check", "0"]);
        assert_eq!(lost.status.code(), Some(1));
        let err = String::from_utf8_lossy(&lost.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("warning: class view not told"), "{err}");
        assert!(err.contains(says), "{err}");
    }
    drop(silent);

    page_renders_in_a_browser(addr, d);

    // A restarted server with the same event log shows the same room.
    let before = without_clock(state(addr));
    drop(served);
    let (_served, addr) = serve_class(&roster, &token_file, &events);
    assert_eq!(without_clock(state(addr)), before);
}

/// The page's static HTML holds no learner; the rows appear only when its
/// JavaScript has fetched state.json and rendered it, so finding them in
/// what headless Chromium dumps proves the script works.
fn page_renders_in_a_browser(addr: SocketAddr, dir: &Path) {
    let (status, html) = http(addr, "GET", "/", None, b"");
    assert_eq!(status, 200);
    assert!(!html.contains("learner-ben"), "rows come from the script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched from elsewhere"
    );

    let url = format!("http://{addr}/");
    let Some(dom) = crate::cli_support::browser_dom(&url, dir, "the class page", Some(3000)) else {
        return;
    };
    for row in [
        r#"<tr id="learner-ana" class="">"#,
        r#"<tr id="learner-ben" class="help">"#,
        r#"<tr id="learner-cleo" class="mismatch">"#,
        r#"<tr id="learner-dan" class="never">"#,
        r#"<tr id="learner-eve" class="caught-up">"#,
        r#"<tr id="learner-fay" class="">"#,
    ] {
        assert!(dom.contains(row), "{row} not in the rendered page:\n{dom}");
    }
    assert!(dom.contains("STUCK in 00-setup"), "{dom}");
    assert!(dom.contains("answers.toml names your seed"), "{dom}");
    assert!(dom.contains("(roster: 31003)"), "{dom}");
    // ana's pass, eve's catch-up and fay's solve, each in its own words.
    assert!(dom.contains(r#"<td class="passed">00-setup</td>"#), "{dom}");
    assert!(
        dom.contains(r#"<span class="catchup">00-setup (catch-up)</span>"#),
        "{dom}"
    );
    assert!(
        dom.contains(r#"<span class="solve">00-setup (lab solve)</span>"#),
        "{dom}"
    );
}

/// The tables of a Markdown report: headings and rows of cells.
fn markdown_tables(md: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let mut tables: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    let mut title = String::new();
    let mut in_table = false;
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            title = h.to_string();
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        if line.starts_with("|---") {
            continue;
        }
        if !in_table {
            tables.push((std::mem::take(&mut title), Vec::new()));
            in_table = true;
        }
        let cells = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_string())
            .collect();
        tables.last_mut().unwrap().1.push(cells);
    }
    tables
}

/// The tables of an HTML report, the same way.
fn html_tables(html: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let mut tables = Vec::new();
    let mut title = String::new();
    for (i, part) in html.split("<table>").enumerate() {
        if i > 0 {
            let body = part.split("</table>").next().unwrap();
            let rows = body
                .split("<tr>")
                .skip(1)
                .map(|row| {
                    row.split(['<', '>'])
                        .collect::<Vec<_>>()
                        .windows(3)
                        .filter(|w| (w[0] == "td" || w[0] == "th") && w[2].starts_with("/t"))
                        .map(|w| {
                            w[1].replace("&amp;", "&")
                                .replace("&lt;", "<")
                                .replace("&gt;", ">")
                        })
                        .collect::<Vec<String>>()
                })
                .collect();
            tables.push((std::mem::take(&mut title), rows));
        }
        if let Some(h) = part.rsplit("<h2>").next().filter(|_| part.contains("<h2>")) {
            title = h.split("</h2>").next().unwrap().to_string();
        }
    }
    tables
}

/// `workshop report --roster`: who sent nothing, who is on another seed,
/// every failing lab of a learner (lab 00 left failing does not hide lab
/// 01), `lab solve` marked; the HTML holds the tables the Markdown holds.
#[test]
fn workshop_report_reads_the_roster() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("roster.csv"),
        format!("id,name,seed\nana,Ana,{ANA}\nben,Ben,{BEN}\ncleo,Cleo,{CLEO}\ndan,Dan,31004\n"),
    )
    .unwrap();
    let class = d.join("class");
    let ana = class.join("ana");
    let seed = ANA.to_string();
    learner(
        &ana,
        None,
        &[
            "lab",
            "start",
            "0",
            "--seed",
            &seed,
            "--learner",
            "ana",
            "--workspace",
            ".",
        ],
    );
    learner(&ana, None, &["lab", "check", "0"]);
    learner(&ana, None, &["lab", "start", "1"]);
    learner(&ana, None, &["lab", "check", "1"]);
    learner(&ana, None, &["lab", "help", "1"]);
    let ben = class.join("ben");
    let seed = BEN.to_string();
    learner(
        &ben,
        None,
        &[
            "lab",
            "start",
            "0",
            "--seed",
            &seed,
            "--learner",
            "ben",
            "--workspace",
            ".",
        ],
    );
    assert!(learner(&ben, None, &["lab", "solve", "0"]).status.success());
    let cleo = class.join("cleo");
    learner(
        &cleo,
        None,
        &["lab", "start", "0", "--learner", "cleo", "--workspace", "."],
    );
    // cleo does lab 00 herself, but on seed 42, not her roster seed
    let cleo0 = cleo.join("00-setup");
    let doctor = learner(&cleo0, None, &["doctor", "--workspace", "..", "--json"]);
    let cores = serde_json::from_slice::<Value>(&doctor.stdout).unwrap()["cores"].clone();
    std::fs::write(cleo0.join("doctor.json"), &doctor.stdout).unwrap();
    std::fs::write(
        cleo0.join("answers.toml"),
        format!("seed = 42\ncores = {cores}\n"),
    )
    .unwrap();
    assert_eq!(
        learner(&cleo0, None, &["lab", "check", "0"]).status.code(),
        Some(0)
    );
    // eve is not on the roster; she does lab 00 on her own work.
    let eve = class.join("eve");
    learner(
        &eve,
        None,
        &[
            "lab",
            "start",
            "0",
            "--seed",
            "5",
            "--learner",
            "eve",
            "--workspace",
            ".",
        ],
    );
    let lab0 = eve.join("00-setup");
    let doctor = learner(&lab0, None, &["doctor", "--workspace", "..", "--json"]);
    std::fs::write(lab0.join("doctor.json"), &doctor.stdout).unwrap();
    let cores = serde_json::from_slice::<Value>(&doctor.stdout).unwrap()["cores"].clone();
    std::fs::write(
        lab0.join("answers.toml"),
        format!("seed = 5\ncores = {cores}\n"),
    )
    .unwrap();
    assert_eq!(
        learner(&lab0, None, &["lab", "check", "0"]).status.code(),
        Some(0)
    );

    let report = learner(
        d,
        None,
        &[
            "workshop",
            "report",
            "class",
            "--roster",
            "roster.csv",
            "--json",
        ],
    );
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let r: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(r["roster"]["missing"][0]["id"], "dan");
    assert_eq!(r["roster"]["missing"].as_array().unwrap().len(), 1);
    assert_eq!(
        r["roster"]["seed_mismatches"],
        serde_json::json!([{ "learner": "cleo", "seed": 42, "roster_seed": CLEO }])
    );
    let a = &r["learners"][0];
    assert_eq!(a["learner"], "ana");
    assert_eq!(a["current"], "01-data");
    assert_eq!(a["help"], 1);
    let failing: Vec<&str> = a["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        failing.iter().any(|f| f.starts_with("00-setup/")),
        "{failing:?}"
    );
    assert!(
        failing.iter().any(|f| f.starts_with("01-data/")),
        "{failing:?}"
    );
    assert_eq!(
        r["learners"][1]["with_solution"],
        serde_json::json!(["00-setup"])
    );
    assert_eq!(r["roster"]["not_on_roster"], serde_json::json!(["eve"]));

    // Certificates: eve's own work, none for ben (lab solve), ana (failing)
    // or cleo (her own work, but on another seed than the roster's).
    let out = learner(
        d,
        None,
        &[
            "workshop",
            "report",
            "class",
            "--roster",
            "roster.csv",
            "--out",
            "report",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let certs: Vec<String> = std::fs::read_dir(d.join("report/certificates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(certs, ["eve.svg"]);
    let svg = std::fs::read_to_string(d.join("report/certificates/eve.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
    let text: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(text.contains(&"eve"), "{text:?}");
    assert!(text.iter().any(|t| t.starts_with("00-setup")), "{text:?}");

    let md = learner(
        d,
        None,
        &[
            "workshop",
            "report",
            "class",
            "--roster",
            "roster.csv",
            "--format",
            "markdown",
        ],
    );
    let html = learner(
        d,
        None,
        &[
            "workshop",
            "report",
            "class",
            "--roster",
            "roster.csv",
            "--format",
            "html",
        ],
    );
    let md = markdown_tables(&String::from_utf8_lossy(&md.stdout));
    let html = html_tables(&String::from_utf8_lossy(&html.stdout));
    let titles: Vec<&str> = md.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        titles,
        [
            "",
            "Missing: on the roster, no progress file",
            "Seed mismatches",
            "Not on the roster",
            "Labs",
            "Checks failing most"
        ]
    );
    assert_eq!(
        md, html,
        "the HTML report holds other tables than the Markdown"
    );
    assert_eq!(md[1].1[1], ["dan", "Dan"]);
    assert_eq!(md[2].1[1], ["cleo", "42", CLEO.to_string().as_str()]);
    assert!(
        md[0]
            .1
            .iter()
            .any(|row| row[0] == "ben" && row[2] == "00-setup"),
        "{:?}",
        md[0]
    );
}

/// `workshop slips`: one slip a learner with their seed, the setup line
/// with the class view in front, and their own block of the labs' ports.
#[test]
fn seed_slips_give_each_learner_seed_class_and_ports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("roster.csv"),
        "id,name\nana,Ana Silva\nben,Ben <Okafor>\n",
    )
    .unwrap();
    let out = learner(
        d,
        None,
        &[
            "workshop",
            "slips",
            "--roster",
            "roster.csv",
            "--seed",
            "2026",
            "--class-url",
            "http://10.0.0.5:7878",
            "--token-file",
            "tok",
            "--out",
            "slips",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = std::fs::read_to_string(d.join("tok"))
        .unwrap()
        .trim()
        .to_string();
    let slips = v["slips"].as_array().unwrap();
    assert_eq!(slips.len(), 2);
    let ben_seed = carelab::labs::workshop::learner_seed(2026, "ben");
    assert_eq!(slips[1]["seed"], ben_seed);
    assert_eq!(
        slips[1]["setup"],
        format!("CARELAB_CLASS=http://10.0.0.5:7878 CARELAB_CLASS_TOKEN={token} carelab lab start 0 --seed {ben_seed} --learner ben --workspace carelab-work")
    );
    // The labs declare an MLLP listener (lab 03) and model services (labs 09
    // and 11).
    let ports = |i: usize| -> Vec<(u64, u64)> {
        slips[i]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["default"].as_u64().unwrap(), p["port"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(ports(0), [(2575, 20000), (8099, 20001), (8111, 20002)]);
    assert_eq!(ports(1), [(2575, 20010), (8099, 20011), (8111, 20012)]);
    let html = std::fs::read_to_string(d.join("slips/slips.html")).unwrap();
    assert_eq!(html.matches("<section class=\"slip\"").count(), 2);
    assert!(html.contains("Ben &lt;Okafor&gt;"), "names are escaped");
    assert!(html.contains(&format!(
        "export CARELAB_CLASS=http://10.0.0.5:7878 CARELAB_CLASS_TOKEN={token}"
    )));
    assert!(html.contains("<strong>20011</strong>"));

    // Without seeds anywhere, slips cannot be made: say which learner.
    let bad = learner(
        d,
        None,
        &["workshop", "slips", "--roster", "roster.csv", "--out", "x"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("learner ana no seed"));
}
