//! The Kubernetes manifests in deploy/, checked offline: no cluster, but a
//! renamed route, flag or port fails here instead of in a rollout.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use crate::container;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every manifest by kind. They are JSON, which is YAML too: kubectl reads
/// them and this test needs no YAML parser.
fn manifests() -> BTreeMap<String, Value> {
    let mut by_kind = BTreeMap::new();
    for entry in fs::read_dir(repo().join("deploy")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let value: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: not JSON-form YAML: {e}", path.display()));
            let kind = value["kind"].as_str().unwrap().to_string();
            let name = value["metadata"]["name"].as_str().unwrap();
            by_kind.insert(format!("{kind}/{name}"), value);
        }
    }
    by_kind
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The value after `flag` in an argument list.
fn arg<'a>(args: &'a [String], flag: &str) -> &'a str {
    let at = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    &args[at + 1]
}

/// The long flags `carelab SUBCOMMAND --help` lists.
fn flags_of(subcommand: &[&str]) -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(subcommand)
        .arg("--help")
        .output()
        .unwrap();
    let re = regex::Regex::new(r"--[a-z][a-z0-9-]*").unwrap();
    re.find_iter(&String::from_utf8(out.stdout).unwrap())
        .map(|m| m.as_str().to_string())
        .collect()
}

fn assert_flags_accepted(args: &[String], subcommand: &[&str]) {
    let known = flags_of(subcommand);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            known.contains(flag),
            "deploy/: `carelab {}` has no flag {flag}",
            subcommand.join(" ")
        );
    }
}

/// The routes the service's router declares.
fn routes() -> BTreeSet<String> {
    let server = fs::read_to_string(repo().join("src/serve/server.rs")).unwrap();
    let re = regex::Regex::new(r#"\.route\("([^"]+)""#).unwrap();
    re.captures_iter(&server)
        .map(|c| c[1].to_string())
        .collect()
}

/// Each volume mount's path by volume name, and the volumes' sources.
fn mounts(pod: &Value) -> BTreeMap<String, String> {
    pod["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["mountPath"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn volume<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no volume {name}"))
}

/// The image a manifest runs is the one the Dockerfile's header builds.
fn assert_dockerfile_image(container: &Value) {
    let dockerfile = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let tag = regex::Regex::new(r"docker build -t (\S+) \.")
        .unwrap()
        .captures(&dockerfile)
        .expect("the Dockerfile says how to build it")[1]
        .to_string();
    let image = container["image"].as_str().unwrap();
    assert_eq!(image.split(':').next().unwrap(), tag, "image {image}");
}

#[test]
fn the_generate_job_runs_one_shard_per_index_with_flags_the_cli_takes() {
    let all = manifests();
    let job = &all["Job/carelab-generate"];
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let shards = spec["completions"].as_u64().unwrap();
    assert!(shards > 1);
    assert_eq!(spec["parallelism"], spec["completions"]);
    let pod = &spec["template"]["spec"];
    let container = &pod["containers"][0];
    assert_dockerfile_image(container);
    assert_eq!(
        strings(&container["command"]),
        ["carelab", "data", "generate"]
    );
    let args = strings(&container["args"]);
    assert_flags_accepted(&args, &["data", "generate"]);
    // $(VAR) in args expands only from the container's env: the index comes
    // from the pod's annotation through the downward API.
    let env = &container["env"][0];
    assert_eq!(env["name"], "JOB_COMPLETION_INDEX");
    assert_eq!(
        env["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    assert_eq!(
        arg(&args, "--shard"),
        format!("$(JOB_COMPLETION_INDEX)/{shards}")
    );
    let out = arg(&args, "--out");
    assert!(
        out.contains("$(JOB_COMPLETION_INDEX)"),
        "each shard its own folder: {out}"
    );
    let data = &mounts(pod)["data"];
    assert!(
        out.starts_with(&format!("{data}/")),
        "--out {out} is on the data volume {data}"
    );
    let claim = volume(pod, "data")["persistentVolumeClaim"]["claimName"]
        .as_str()
        .unwrap();
    assert!(all.contains_key(&format!("PersistentVolumeClaim/{claim}")));
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert!(container["resources"]["requests"]["memory"].is_string());

    // Run the last shard as Kubernetes would, with a small population and a
    // local folder: the arguments are not only known flags but run.
    let dir = tempfile::tempdir().unwrap();
    let index = (shards - 1).to_string();
    let mut local: Vec<String> = args
        .iter()
        .map(|a| a.replace("$(JOB_COMPLETION_INDEX)", &index))
        .collect();
    let at = local.iter().position(|a| a == "--patients").unwrap();
    local[at + 1] = "40".into();
    let at = local.iter().position(|a| a == "--out").unwrap();
    local[at + 1] = dir
        .path()
        .join(format!("shard-{index}"))
        .display()
        .to_string();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["data", "generate"])
        .args(&local)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{local:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        dir.path()
            .join(format!("shard-{index}"))
            .read_dir()
            .unwrap()
            .count()
            > 0
    );
}

#[test]
fn the_service_probes_real_routes_on_the_dockerfiles_port() {
    let all = manifests();
    let deployment = &all["Deployment/carelab-serve"];
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_dockerfile_image(container);
    assert_eq!(strings(&container["command"]), ["carelab", "serve"]);
    let args = strings(&container["args"]);
    assert_flags_accepted(&args, &["serve"]);

    let port = container["ports"][0]["containerPort"].as_u64().unwrap() as u16;
    assert_eq!(port, container::serve_default_port());
    assert!(
        container::exposed_ports().contains(&port),
        "Dockerfile EXPOSEs {port}"
    );
    let addr = arg(&args, "--addr");
    assert_eq!(
        addr,
        format!("0.0.0.0:{port}"),
        "listens beyond loopback on its port"
    );

    let routes = routes();
    assert!(routes.len() >= 10, "read only {} routes", routes.len());
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert!(
            routes.contains(path),
            "{probe}: {path} is not a route of the service"
        );
        assert_eq!(get["port"].as_u64(), Some(port as u64), "{probe} port");
    }
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert!(container["resources"]["requests"]["memory"].is_string());

    // The tokens file comes from the Secret's mount.
    let tokens = arg(&args, "--tokens");
    let mounted = &mounts(pod)["tokens"];
    assert!(
        tokens.starts_with(&format!("{mounted}/")),
        "--tokens {tokens} under {mounted}"
    );
    assert!(volume(pod, "tokens")["secret"]["secretName"].is_string());
    let model = arg(&args, "--model");
    assert!(model.starts_with(&format!("{}/", mounts(pod)["models"])));

    // The Service and the autoscaler point at this Deployment.
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let service = &all["Service/carelab-serve"];
    assert_eq!(&service["spec"]["selector"], labels);
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(
        service["spec"]["ports"][0]["targetPort"].as_u64(),
        Some(port as u64)
    );
    let hpa = &all["HorizontalPodAutoscaler/carelab-serve"];
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    assert!(hpa["spec"]["minReplicas"].as_u64() <= hpa["spec"]["maxReplicas"].as_u64());
}
