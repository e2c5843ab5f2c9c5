//! `carelab workshop serve`: the class server on the instructor's laptop,
//! and the client side every learner's `lab` command uses to post to it.
//!
//! Routes: `POST /events` (bearer class token; one [`ClassEvent`]),
//! `GET /state.json` (the [`ClassState`]) and `GET /` (the instructor's
//! page: inline CSS and JS that polls `/state.json`, nothing fetched from
//! elsewhere, so it works in a room without internet). Every refusal is a
//! 4xx with `{"error": CODE, "message": ...}` and changes nothing.
//!
//! The client never makes a learner's command fail or wait long: one POST
//! under a short overall timeout, and any problem comes back as a sentence
//! the caller prints as one warning.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, IoContext, Result};

use super::class::{too_large, ClassEvent, ClassRoom, Refused, MAX_EVENT_BYTES};

/// The instructor's page (inline CSS and JS only).
pub const PAGE: &str = include_str!("class_page.html");

/// The server's shared state: the room, the class token, and the event log.
pub struct ClassServer {
    room: Mutex<ClassRoom>,
    token: String,
    /// Every accepted event, one JSON line each with the server time it
    /// arrived (`--events`), so a restarted server shows the room again.
    log: Option<Mutex<std::fs::File>>,
    /// Told about each refused post and each event the log could not
    /// keep, as one sentence (the instructor's terminal).
    warn: Box<dyn Fn(String) + Send + Sync>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ClassServer {
    pub fn new(
        room: ClassRoom,
        token: String,
        warn: impl Fn(String) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(ClassServer {
            room: Mutex::new(room),
            token,
            log: None,
            warn: Box::new(warn),
        })
    }

    /// `new`, keeping the events in `path`: the events already there are
    /// played into the room first (returns how many were, and how many the
    /// room now refuses, e.g. for a learner taken off the roster), then each
    /// accepted event is appended.
    pub fn with_log(
        mut room: ClassRoom,
        token: String,
        path: &Path,
        warn: impl Fn(String) + Send + Sync + 'static,
    ) -> Result<(Arc<Self>, usize, usize)> {
        let (mut replayed, mut refused) = (0, 0);
        if path.exists() {
            let text = std::fs::read_to_string(path).at(path)?;
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let logged: Logged = serde_json::from_str(line).map_err(|e| {
                    Error::bad_input(
                        path.display(),
                        Some(format!("line {}", i + 1)),
                        "an event line written by workshop serve",
                        e.to_string(),
                    )
                })?;
                let body = serde_json::to_vec(&logged.event)?;
                match room.accept(&body, logged.at) {
                    Ok(_) => replayed += 1,
                    Err(_) => refused += 1,
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .at(path)?;
        let server = Arc::new(ClassServer {
            room: Mutex::new(room),
            token,
            log: Some(Mutex::new(file)),
            warn: Box::new(warn),
        });
        Ok((server, replayed, refused))
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/", get(page))
            .route("/state.json", get(state))
            .route("/events", post(events))
            .fallback(not_found)
            .with_state(Arc::clone(self))
    }

    fn room(&self) -> std::sync::MutexGuard<'_, ClassRoom> {
        // A panic while holding the lock leaves a room still worth showing.
        self.room.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn refusal(r: &Refused) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        Json(json!({ "error": r.code, "message": r.message })),
    )
        .into_response();
    if r.status == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"carelab-class\""),
        );
    }
    response
}

/// One line of the event log.
#[derive(Debug, Serialize, Deserialize)]
struct Logged {
    /// Server time the event arrived (Unix seconds).
    at: u64,
    event: ClassEvent,
}

async fn page() -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(PAGE.to_string()),
    )
        .into_response()
}

async fn state(State(server): State<Arc<ClassServer>>) -> Response {
    let state = server.room().state(now());
    ([(header::CACHE_CONTROL, "no-store")], Json(state)).into_response()
}

async fn not_found() -> Response {
    refusal(&Refused {
        status: 404,
        code: "not_found",
        message: "the class server has GET /, GET /state.json and POST /events".into(),
    })
}

/// Equal without stopping at the first differing byte.
fn same_token(given: &str, token: &str) -> bool {
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn events(
    State(server): State<Arc<ClassServer>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let answer = accept(&server, &headers, body).await;
    match answer {
        Ok(event) => {
            let notice = server.room().notice(&event);
            Json(json!({ "accepted": event.kind, "learner": event.learner, "notice": notice }))
                .into_response()
        }
        Err(r) => {
            (server.warn)(format!("refused an event ({}): {}", r.status, r.message));
            refusal(&r)
        }
    }
}

async fn accept(
    server: &ClassServer,
    headers: &HeaderMap,
    body: Body,
) -> std::result::Result<ClassEvent, Refused> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => {
            return Err(Refused {
                status: 401,
                code: "missing_token",
                message: "an event needs `Authorization: Bearer CLASS_TOKEN` (CARELAB_CLASS_TOKEN)"
                    .into(),
            })
        }
        Some(t) if !same_token(t.trim(), &server.token) => return Err(Refused {
            status: 401,
            code: "wrong_token",
            message:
                "the class token is not this class's (check CARELAB_CLASS_TOKEN on your seed slip)"
                    .into(),
        }),
        Some(_) => {}
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared.filter(|n| *n > MAX_EVENT_BYTES) {
        return Err(too_large(len));
    }
    let bytes = axum::body::to_bytes(body, MAX_EVENT_BYTES)
        .await
        .map_err(|_| too_large(MAX_EVENT_BYTES + 1))?;
    let at = now();
    let mut room = server.room();
    let event = room.accept(&bytes, at)?;
    if let Some(log) = &server.log {
        // Written under the room's lock, so the log's order is the room's.
        use std::io::Write as _;
        let line = serde_json::to_string(&Logged {
            at,
            event: event.clone(),
        })
        .unwrap_or_default();
        let mut file = log.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = writeln!(file, "{line}") {
            (server.warn)(format!(
                "an event from {} was taken but not written to the event log: {e}",
                event.learner
            ));
        }
    }
    Ok(event)
}

/// Serve the class on `listener` until `shutdown` resolves.
pub async fn serve(
    server: Arc<ClassServer>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, server.router())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::failure(format!("the class server stopped: {e}")))
}

/// Read the class token from `path`, or make a new one there if the file
/// does not exist. Returns the token and whether it was made.
pub fn class_token(path: &Path) -> Result<(String, bool)> {
    if path.exists() {
        let text = std::fs::read_to_string(path).at(path)?;
        let token = text.trim().to_string();
        if token.len() < 8 || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::bad_input(
                path.display(),
                None,
                "a class token of at least 8 characters on one line, no spaces",
                format!("{} characters", token.chars().count()),
            ));
        }
        return Ok((token, false));
    }
    use rand::Rng as _;
    let mut rng = rand::rng();
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let token: String = (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    crate::artifact::write_atomic(path, format!("{token}\n").as_bytes())?;
    Ok((token, true))
}

/// Where a learner's commands post: the class server and the class token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassLink {
    pub url: String,
    pub token: String,
}

/// The file in the workspace that remembers the link (`lab start` writes it
/// when `CARELAB_CLASS` is set, so a new terminal still reaches the class).
pub const LINK_FILE: &str = "class.json";

impl ClassLink {
    /// From `CARELAB_CLASS` and `CARELAB_CLASS_TOKEN`; `None` when
    /// `CARELAB_CLASS` is unset or empty. A URL without a token is an error
    /// sentence (the caller warns; the learner's command goes on).
    pub fn from_env() -> std::result::Result<Option<ClassLink>, String> {
        let url = std::env::var("CARELAB_CLASS").unwrap_or_default();
        if url.trim().is_empty() {
            return Ok(None);
        }
        let token = std::env::var("CARELAB_CLASS_TOKEN").unwrap_or_default();
        if token.trim().is_empty() {
            return Err(format!(
                "CARELAB_CLASS is set ({url}) but CARELAB_CLASS_TOKEN is not; set both from your seed slip"
            ));
        }
        Ok(Some(ClassLink {
            url: url.trim().to_string(),
            token: token.trim().to_string(),
        }))
    }

    /// The environment's link, else the one the workspace at `root` remembers.
    pub fn find(root: &Path) -> std::result::Result<Option<ClassLink>, String> {
        if let Some(link) = Self::from_env()? {
            return Ok(Some(link));
        }
        let file = root.join(LINK_FILE);
        if !file.is_file() {
            return Ok(None);
        }
        crate::artifact::read_json(&file)
            .map(Some)
            .map_err(|e| format!("{e}"))
    }

    /// Remember this link in the workspace at `root`.
    pub fn save(&self, root: &Path) -> Result<PathBuf> {
        let file = root.join(LINK_FILE);
        crate::artifact::write_json(&file, self)?;
        Ok(file)
    }

    /// Post one event; the server's notice for the learner, if any (a seed
    /// that is not the roster's). An error is a sentence for one warning
    /// line. Waits at most `limit` in all (connecting included).
    pub fn post(
        &self,
        event: &ClassEvent,
        limit: Duration,
    ) -> std::result::Result<Option<String>, String> {
        use crate::infra::load::{parse_url, post_request, Connection};
        let base = self.url.trim_end_matches('/');
        let url = parse_url(&format!("{base}/events"))
            .map_err(|_| format!("CARELAB_CLASS is '{}', not http://HOST:PORT", self.url))?;
        let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        let request = post_request(&url, Some(&self.token), &body);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let answer = runtime.block_on(async {
            tokio::time::timeout(limit, async {
                let mut c = Connection::connect(url.addr).await?;
                c.send(&request).await
            })
            .await
        });
        let answer = match answer {
            Err(_) => {
                return Err(format!(
                    "the class server at {base} did not answer within {} s",
                    limit.as_secs_f64()
                ))
            }
            Ok(Err(e)) => return Err(format!("the class server at {base} is not reachable ({e})")),
            Ok(Ok(a)) => a,
        };
        if (200..300).contains(&answer.status) {
            let notice = serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v["notice"].as_str().map(str::to_string));
            return Ok(notice);
        }
        let said = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).trim().to_string());
        Err(format!(
            "the class server at {base} refused the event ({}): {said}",
            answer.status
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::workshop::Learner;
    use crate::labs::Catalog;

    fn room() -> ClassRoom {
        let ana = Learner {
            id: "ana".into(),
            name: String::new(),
            seed: Some(7),
            solve_policy: None,
        };
        ClassRoom::new(vec![ana], None, &Catalog::builtin().unwrap())
    }

    #[test]
    fn a_damaged_event_log_is_named_by_line_and_others_replay() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let good = r#"{"at":60,"event":{"learner":"ana","seed":7,"lab":"00-setup","kind":"help","time":1}}"#;
        // ben was on yesterday's roster: left out, counted, not an error.
        let gone = good.replace("\"ana\"", "\"ben\"");
        std::fs::write(&log, format!("{good}\n{gone}\n")).unwrap();
        let (server, replayed, refused) =
            ClassServer::with_log(room(), "t".repeat(20), &log, |_| {}).unwrap();
        assert_eq!((replayed, refused), (1, 1));
        assert_eq!(server.room().state(120).asking_for_help, vec!["ana"]);
        std::fs::write(&log, format!("{good}\n{{\"at\": 1, \"event\"\n")).unwrap();
        let e = ClassServer::with_log(room(), "t".repeat(20), &log, |_| {})
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("line 2") && e.contains("events.jsonl"), "{e}");
    }

    #[test]
    fn class_tokens_are_made_once_and_short_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("class.token");
        let (made, new) = class_token(&file).unwrap();
        assert!(new && made.len() == 20);
        assert_eq!(class_token(&file).unwrap(), (made, false));
        std::fs::write(&file, "abc\n").unwrap();
        let e = class_token(&file).unwrap_err().to_string();
        assert!(e.contains("at least 8 characters"), "{e}");
    }
}
