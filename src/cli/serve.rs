//! `carelab serve`: run the inference service (HTTP or HTTPS), or hash a
//! token for its tokens file; and `carelab bench serve`, its load test.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use carelab::deid::pseudonym::Pseudonymizer;
use carelab::error::{Error, IoContext, Result};
use carelab::serve::server::{reload_on_sighup, shutdown_signal, Loader};
use carelab::serve::{
    hash_token, load_model_from, serve, serve_tls, Recorder, ServeConfig, Service, Tokens,
};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The model: a run directory, a model file, or NAME@stage, NAME@VERSION
    /// or NAME@ALIAS from the registry.
    #[arg(long, required_unless_present_any = ["hash_token", "ehr_keygen", "sign_jwt", "hook_request"])]
    model: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Tokens file (TOML: name, sha256, roles for each caller).
    #[arg(long, required_unless_present_any = ["hash_token", "demo", "ehr_keygen", "sign_jwt", "hook_request"])]
    tokens: Option<PathBuf>,
    /// Append a hash-chained audit record for every request here.
    #[arg(long)]
    audit: Option<PathBuf>,
    /// Append every prediction here (JSON Lines) for `carelab monitor`.
    #[arg(long)]
    prediction_log: Option<PathBuf>,
    /// Pseudonym key: patient and stay ids are logged only as keyed
    /// pseudonyms, and not at all without a key.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Risk at or above which a patient is flagged.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Most instances in one batch request.
    #[arg(long, default_value_t = 256)]
    max_batch: usize,
    /// Most requests in flight; more are answered 503 at once.
    #[arg(long, default_value_t = 64)]
    max_concurrency: usize,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Longest a request may take, in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout_secs: f64,
    /// Worker threads (default: one a core).
    #[arg(long)]
    threads: Option<usize>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); needs --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The registry NAME@stage (or @VERSION, @ALIAS) is looked up in.
    #[arg(long, env = "CARELAB_REGISTRY")]
    registry: Option<PathBuf>,
    /// The address callers reach this service at (https://cds.example.org):
    /// the aud a CDS Hooks JWT must carry and the base of card links.
    #[arg(long)]
    public_url: Option<String>,
    /// CDS Hooks trust: the issuers file (TOML: iss, name, jwks for each
    /// EHR). With it, /cds-services routes take the EHR's signed JWT
    /// (ES384/RS384) instead of a bearer token; needs --public-url.
    #[arg(long, requires = "public_url")]
    cds_issuers: Option<PathBuf>,
    /// Try the model instead of serving it: serve in process on a loopback
    /// port, call it with named features, with the first FHIR Bundles of
    /// this NDJSON file and with a bad request, load it briefly, then stop.
    #[arg(long, value_name = "BUNDLES_NDJSON")]
    demo: Option<PathBuf>,
    /// Requests in the demo's load test.
    #[arg(long, default_value_t = 2000)]
    demo_requests: u64,
    /// Where the demo writes its audit and prediction logs.
    #[arg(long, default_value = "carelab-serve-demo")]
    demo_out: PathBuf,
    /// Read a token on stdin and print the SHA-256 hex the tokens file stores.
    #[arg(long)]
    hash_token: bool,
    /// Play the EHR (labs, tests): write a P-384 signing key (ehr-key.p8,
    /// keep private), its public ehr-jwks.json and a cds-issuers.toml
    /// naming --ehr-iss into this directory.
    #[arg(long, value_name = "DIR")]
    ehr_keygen: Option<PathBuf>,
    /// Play the EHR: print an ES384 JWT for a CDS Hooks call to this URL
    /// (the aud), signed with --ehr-key, five minutes to live.
    #[arg(long, value_name = "AUD", requires = "ehr_key")]
    sign_jwt: Option<String>,
    /// The key --ehr-keygen wrote, for --sign-jwt.
    #[arg(long)]
    ehr_key: Option<PathBuf>,
    /// The issuer (iss) the play EHR names itself.
    #[arg(long, default_value = "https://ehr.example.org")]
    ehr_iss: String,
    /// Play the EHR: print the CDS Hooks request (context and prefetch) an
    /// EHR would send for a patient, its prefetch answered from their record:
    /// a FHIR Bundle, or bundles.ndjson and --patient.
    #[arg(long, value_name = "BUNDLE_JSON")]
    hook_request: Option<PathBuf>,
    /// The hook of --hook-request: encounter-discharge or patient-view.
    #[arg(long, default_value = "encounter-discharge", requires = "hook_request")]
    hook: String,
    /// The patient of --hook-request (default: the Bundle's one Patient).
    #[arg(long, requires = "hook_request")]
    patient: Option<String>,
    /// The stay of an encounter-discharge --hook-request (default: the
    /// Bundle's latest stay that has ended).
    #[arg(long, requires = "hook_request")]
    encounter: Option<String>,
}

pub fn run(args: ServeArgs, ui: &Ui) -> Result<u8> {
    if let Some(dir) = &args.ehr_keygen {
        let (pkcs8, jwks, issuers) =
            carelab::serve::jwt::ehr_keygen(&args.ehr_iss, "ehr-jwks.json")?;
        std::fs::create_dir_all(dir).at(dir)?;
        let key = dir.join("ehr-key.p8");
        carelab::artifact::write_atomic(&key, &pkcs8)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).at(&key)?;
        }
        carelab::artifact::write_json(dir.join("ehr-jwks.json"), &jwks)?;
        carelab::artifact::write_atomic(dir.join("cds-issuers.toml"), issuers.as_bytes())?;
        let report = serde_json::json!({
            "key": dir.join("ehr-key.p8"),
            "jwks": dir.join("ehr-jwks.json"),
            "issuers": dir.join("cds-issuers.toml"),
            "iss": args.ehr_iss,
        });
        ui.result(&report, || {
            format!(
                "play EHR key in {}: sign with --sign-jwt AUD --ehr-key {}; serve with --cds-issuers {}\n",
                dir.display(),
                dir.join("ehr-key.p8").display(),
                dir.join("cds-issuers.toml").display()
            )
        });
        return Ok(0);
    }
    if let (Some(aud), Some(key)) = (&args.sign_jwt, &args.ehr_key) {
        let pkcs8 = std::fs::read(key).at(key)?;
        let now = chrono::Utc::now().timestamp();
        let jwt = carelab::serve::jwt::sign_ehr_jwt(
            &pkcs8,
            &key.display().to_string(),
            &args.ehr_iss,
            aud,
            now,
        )?;
        ui.result(&serde_json::json!({ "jwt": jwt }), || format!("{jwt}\n"));
        return Ok(0);
    }
    if let Some(path) = &args.hook_request {
        let svc = carelab::serve::cds::SERVICES
            .iter()
            .find(|s| s.hook == args.hook)
            .ok_or_else(|| {
                let hooks: Vec<&str> = carelab::serve::cds::SERVICES
                    .iter()
                    .map(|s| s.hook)
                    .collect();
                Error::usage(format!(
                    "--hook: expected one of {}, found {:?}",
                    hooks.join(", "),
                    args.hook
                ))
            })?;
        let text = std::fs::read_to_string(path).at(path)?;
        let record = record_of(path, &text, args.patient.as_deref())?;
        let request = carelab::serve::cds::hook_request(
            svc,
            &record,
            args.patient.as_deref(),
            args.encounter.as_deref(),
            &carelab::serve::cds::new_uuid(),
        )
        .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
        // The request is the result, in either output mode.
        println!("{}", serde_json::to_string_pretty(&request)?);
        return Ok(0);
    }
    if args.hash_token {
        let mut token = String::new();
        std::io::stdin()
            .read_to_string(&mut token)
            .map_err(|e| Error::failure(format!("reading the token on stdin: {e}")))?;
        if token.trim().is_empty() {
            return Err(Error::usage(
                "--hash-token reads the token on stdin; it was empty",
            ));
        }
        let hash = hash_token(&token);
        ui.result(&serde_json::json!({ "sha256": hash }), || hash.clone());
        return Ok(0);
    }
    if let (Some(bundles), Some(spec)) = (&args.demo, &args.model) {
        let report = carelab::serve::demo::run(
            spec,
            args.registry.as_deref(),
            bundles,
            &args.demo_out,
            args.demo_requests,
            ui,
        )?;
        ui.result(&report, || {
            format!(
                "demo done: {} requests/s, p99 {:.2} ms; logs in {}\n",
                report.load.requests_per_sec.round(),
                report.load.latency_ms.p99,
                args.demo_out.display()
            )
        });
        let clean = report.audit_ok && report.load.server_errors == 0 && report.load.errors == 0;
        return Ok(if clean { 0 } else { 1 });
    }
    let (Some(spec), Some(tokens_path)) = (args.model.clone(), args.tokens.clone()) else {
        return Err(Error::usage("--model and --tokens are required"));
    };
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(Error::usage(format!(
            "--threshold must be within 0..1, found {}",
            args.threshold
        )));
    }
    if args.max_batch == 0 || args.max_concurrency == 0 || args.timeout_secs <= 0.0 {
        return Err(Error::usage(
            "--max-batch, --max-concurrency and --timeout-secs must be positive",
        ));
    }
    let tokens = Tokens::from_file(&tokens_path)?;
    let pseudonyms = args
        .key_file
        .as_ref()
        .map(Pseudonymizer::from_key_file)
        .transpose()?;
    if pseudonyms.is_none() {
        ui.warn("no --key-file: patient and stay ids in requests are not logged at all");
    }
    let recorder = Recorder::start(args.audit.as_deref(), args.prediction_log.as_deref())?;
    let config = ServeConfig {
        threshold: args.threshold,
        max_batch: args.max_batch,
        max_concurrency: args.max_concurrency,
        max_body_bytes: args.max_body_bytes,
        timeout: Duration::from_secs_f64(args.timeout_secs),
        public_url: args.public_url.clone(),
        cds_trust: args
            .cds_issuers
            .as_ref()
            .map(carelab::serve::jwt::JwtTrust::from_file)
            .transpose()?
            .map(Arc::new),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(carelab::serve::tls::server_config(cert, key)?),
        _ => None,
    };
    let registry = args.registry.clone();
    let loader: Loader = Box::new(move || load_model_from(&spec, registry.as_deref()));
    let service = Service::new(loader, tokens, pseudonyms, recorder, config)?;
    let info = service.model().info();

    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}")))?;
    let addr = args.addr;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .at(format!("listen address {addr}"))?;
        let local = listener.local_addr().at(format!("listen address {addr}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        ui.info(format!(
            "serving {} version {} on {scheme}://{local} (ctrl-c or SIGTERM drains and stops; SIGHUP reloads)",
            info.name, info.version
        ));
        let reload_ui = ui.clone();
        reload_on_sighup(Arc::clone(&service), move |r| match r {
            Ok(i) => reload_ui.info(format!("reloaded: {} version {}", i.name, i.version)),
            Err(e) => reload_ui.warn(format!("reload failed, the previous model keeps serving: {e}")),
        });
        match tls {
            Some(tls) => serve_tls(service, listener, tls, shutdown_signal()).await,
            None => serve(service, listener, shutdown_signal()).await,
        }
    })?;
    ui.info("stopped; logs written");
    Ok(0)
}

/// `carelab bench serve`: drive a service with keep-alive connections.
#[derive(Debug, clap::Args)]
pub struct BenchServeArgs {
    /// A running service to drive, http://HOST:PORT/PATH (a bare host
    /// drives /v1/predict). Without it, the model is served in this process
    /// on a loopback port, with its audit and prediction logs on.
    #[arg(long)]
    pub url: Option<String>,
    /// Bearer token to send with --url.
    #[arg(long, env = "CARELAB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The model to serve in process: a run directory, a model file or
    /// NAME@stage (default: a small MLP trained here on the toy table).
    #[arg(long, conflicts_with = "url")]
    pub model: Option<String>,
    /// The registry NAME@stage (or @VERSION, @ALIAS) is looked up in.
    #[arg(long, env = "CARELAB_REGISTRY")]
    pub registry: Option<PathBuf>,
    /// Connections, each sending its next request when the last is answered.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Requests in all (default 20000 unless --duration is given).
    #[arg(long, conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Run for this many seconds instead of a number of requests.
    #[arg(long)]
    pub duration: Option<f64>,
    /// The JSON body to POST (default: an example prediction request).
    #[arg(long)]
    pub body: Option<PathBuf>,
    /// Worker threads of this process's runtime (default: one a core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seconds a request may take before it counts as an error.
    #[arg(long, default_value_t = 30.0)]
    pub timeout_secs: f64,
    /// Seed of the toy model's data and weights.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Timed runs of the load, each after the last: the figure is their
    /// median, with the slowest and fastest.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Requests sent before timing starts, not counted (0 for none).
    #[arg(long, default_value_t = 1000)]
    pub warmup: u64,
    /// Where bench-serve.json, the toy model and the in-process logs go.
    #[arg(long, default_value = "carelab-bench")]
    pub out: PathBuf,
}

/// What `bench serve` reports: the median run in full (its fields at the
/// top level, as one run's were), the spread over every run, and the
/// machine.
#[derive(Debug, serde::Serialize)]
struct BenchServeReport {
    /// `in-process` or `url`.
    target: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(flatten)]
    load: carelab::infra::load::LoadReport,
    spread: carelab::infra::load::Repeated,
    machine: carelab::infra::bench::Machine,
}

pub fn run_bench(args: BenchServeArgs, ui: &Ui) -> Result<u8> {
    use carelab::infra::load::{self, LoadOptions, Stop};
    let stop = match (args.requests, args.duration) {
        (_, Some(s)) if !(s > 0.0 && s.is_finite()) => {
            return Err(Error::usage(format!(
                "--duration must be positive, found {s}"
            )))
        }
        (_, Some(s)) => Stop::Duration(Duration::from_secs_f64(s)),
        (Some(n), None) => Stop::Requests(n),
        (None, None) => Stop::Requests(20_000),
    };
    if !(args.timeout_secs > 0.0 && args.timeout_secs.is_finite()) {
        return Err(Error::usage("--timeout-secs must be positive"));
    }
    if args.repeats == 0 {
        return Err(Error::usage("--repeats must be at least 1"));
    }
    let opts = LoadOptions {
        connections: args.connections,
        stop,
        timeout: Duration::from_secs_f64(args.timeout_secs),
    };
    let body = match &args.body {
        Some(p) => {
            let bytes = std::fs::read(p).at(p)?;
            serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| {
                Error::bad_input(
                    p.display(),
                    Some(format!("line {}", e.line())),
                    "a JSON request body",
                    "text that is not JSON",
                )
            })?;
            bytes
        }
        None => serde_json::to_vec(&carelab::serve::input::example_request())
            .map_err(|e| Error::failure(format!("encoding the example request: {e}")))?,
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}")))?;

    let report = match &args.url {
        Some(url) => {
            let mut url = load::parse_url(url)?;
            if url.path == "/" {
                url.path = "/v1/predict".into();
            }
            ui.info(format!(
                "driving {} with {} connection(s)",
                url.path, args.connections
            ));
            let request = load::post_request(&url, args.token.as_deref(), &body);
            let spread = runtime.block_on(load::repeated(
                &url,
                request,
                &opts,
                args.warmup,
                args.repeats,
            ))?;
            BenchServeReport {
                target: "url",
                model: None,
                load: spread.median_run().clone(),
                spread,
                machine: carelab::infra::bench::machine(),
            }
        }
        None => {
            let model = match &args.model {
                Some(m) => m.clone(),
                None => {
                    ui.info("no --model: training a small MLP on the toy table to serve");
                    let dir = carelab::serve::local::tiny_model(&args.out, args.seed)?;
                    dir.display().to_string()
                }
            };
            let config = ServeConfig {
                // Measure throughput, not load shedding: admit every connection.
                max_concurrency: ServeConfig::default().max_concurrency.max(args.connections),
                ..ServeConfig::default()
            };
            let logs = args.out.join("bench-serve-logs");
            let report = runtime.block_on(async {
                let server = carelab::serve::local::LocalServer::start(
                    &model,
                    args.registry.as_deref(),
                    &logs,
                    config,
                )
                .await?;
                let info = server.service.model().info();
                ui.info(format!(
                    "serving {} version {} in process on http://{}; {} connection(s)",
                    info.name, info.version, server.addr, args.connections
                ));
                let url = load::parse_url(&format!("http://{}/v1/predict", server.addr))?;
                let request = load::post_request(&url, Some(&server.token), &body);
                let report = load::repeated(&url, request, &opts, args.warmup, args.repeats).await;
                server.stop().await?;
                report
            })?;
            BenchServeReport {
                target: "in-process",
                model: Some(model),
                load: report.median_run().clone(),
                spread: report,
                machine: carelab::infra::bench::machine(),
            }
        }
    };
    carelab::artifact::write_json(args.out.join("bench-serve.json"), &report)?;
    ui.result(&report, || {
        let s = &report.spread;
        let m = &report.machine;
        let load = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"));
        format!(
            "the median of {} runs, after a warm-up of {} requests:\n{}\
             requests/s  median {:.0}  (min {:.0}, max {:.0})\n\
             p50 ms      median {:.3}  (min {:.3}, max {:.3})\n\
             p99 ms      median {:.3}  (min {:.3}, max {:.3})\n\
             load average {} before, {} after; {} on {}, {} core(s) of {} logical CPUs, {}\n",
            s.requests_per_sec.runs,
            s.warmup_requests,
            report.load.to_text(),
            s.requests_per_sec.median,
            s.requests_per_sec.min,
            s.requests_per_sec.max,
            s.p50_ms.median,
            s.p50_ms.min,
            s.p50_ms.max,
            s.p99_ms.median,
            s.p99_ms.min,
            s.p99_ms.max,
            load(s.load_before),
            load(s.load_after),
            if m.cpu.is_empty() {
                "a CPU the OS does not name"
            } else {
                m.cpu.as_str()
            },
            m.arch,
            m.cores,
            m.logical_cpus,
            m.os
        )
    });
    let (errors, server_errors) = report.spread.failures();
    if errors > 0 || server_errors > 0 {
        ui.warn(format!(
            "{errors} request(s) without an answer and {server_errors} answered 5xx, over {} runs",
            report.spread.runs.len()
        ));
        return Ok(1);
    }
    Ok(0)
}

/// The patient's record for `--hook-request`: the file's one Bundle, or in
/// an NDJSON file of Bundles (one a patient) the line whose Patient is
/// `patient`.
fn record_of(
    path: &std::path::Path,
    text: &str,
    patient: Option<&str>,
) -> Result<serde_json::Value> {
    let parse = |line: usize, s: &str| -> Result<serde_json::Value> {
        serde_json::from_str(s).map_err(|e| {
            Error::failure(format!(
                "{}: line {}, column {}: expected a FHIR Bundle as JSON: {e}",
                path.display(),
                line + e.line(),
                e.column()
            ))
        })
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    // One Bundle, however it is laid out; NDJSON when it is not one value
    // but its first line is.
    let whole = parse(0, text);
    let ndjson = lines.len() > 1 && lines.first().is_some_and(|(_, l)| parse(0, l).is_ok());
    if whole.is_ok() || !ndjson {
        return whole;
    }
    let Some(patient) = patient else {
        return Err(Error::usage(format!(
            "{} holds {} Bundles (NDJSON): name the patient with --patient",
            path.display(),
            lines.len()
        )));
    };
    let id = format!("\"id\":\"{patient}\"");
    for (i, line) in lines {
        // Parsed only when the patient's id is on the line.
        if !line.contains(&id) {
            continue;
        }
        let bundle = parse(i, line)?;
        let holds = bundle["entry"].as_array().is_some_and(|es| {
            es.iter().any(|e| {
                e["resource"]["resourceType"] == "Patient" && e["resource"]["id"] == patient
            })
        });
        if holds {
            return Ok(bundle);
        }
    }
    Err(Error::failure(format!(
        "{}: no Bundle holds Patient {patient:?}",
        path.display()
    )))
}
