//! `jetdoc check --format npd`, node-problem-detector's custom plugin protocol: one line of at
//! most 80 bytes and exit 0 (OK), 1 (problem) or 2 (unknown), on fixture roots; and the shipped
//! custom-plugin-monitor config, whose rules are run here as NPD would run them.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use support::{jetdoc, run, stderr, stdout};

const CONFIG: &str = "contrib/node-problem-detector/jetdoc.json";

fn fixture(name: &str) -> PathBuf {
    support::fixtures_dir().join("sysroots").join(name)
}

fn sysroots() -> Vec<PathBuf> {
    let dir = support::fixtures_dir().join("sysroots");
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    cases
}

/// Runs jetdoc with `args` against a fixture root (and its fake commands), as NPD runs a rule.
/// Returns the exit code and the one line it printed, after checking the protocol's shape.
fn plugin(root: &Path, args: &[String]) -> (i32, String) {
    let mut cmd = jetdoc();
    cmd.arg("--root").arg(root);
    if root.join("commands.toml").exists() {
        cmd.arg("--commands").arg(root.join("commands.toml"));
    }
    let out = run(cmd.args(args));
    let code = out.status.code().unwrap_or(-1);
    let text = stdout(&out);
    let what =
        format!("{} {args:?}: exit {code}, stdout {text:?}, stderr {:?}", root.display(), stderr(&out));
    assert!([0, 1, 2].contains(&code), "{what}");
    assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "exactly one line: {what}");
    let line = text.trim_end_matches('\n').to_string();
    assert!(!line.is_empty() && line.len() <= 80, "{} bytes: {what}", line.len());
    assert!(!line.chars().any(char::is_control), "{what}");
    (code, line)
}

fn npd(root: &Path, only: &str, extra: &[&str]) -> (i32, String) {
    let mut args: Vec<String> = ["check", "--only", only, "--format", "npd"].map(String::from).to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    plugin(root, &args)
}

#[test]
fn exit_code_and_line_for_each_status_on_fixture_roots() {
    // (fixture, check, extra args, exit code, status word in the line)
    let cases = [
        ("agx-orin-r36.4.3", "docker.default-runtime", &[][..], 0, "pass"),
        ("agx-orin-r36.4.3", "docker.cgroup-driver", &[][..], 0, "info"),
        ("orin-nano-r36.3.0", "docker.default-runtime", &[][..], 0, "warn"),
        ("orin-nano-r36.3.0", "docker.default-runtime", &["--strict"][..], 1, "warn"),
        ("orin-nano-r36.3.0", "docker.nvidia-runtime", &[][..], 1, "fail"),
        ("docker-on-emmc-idle-nvme", "storage.docker-root", &[][..], 0, "warn"),
        ("orin-nano-r36.3.0", "docker.storage-driver", &[][..], 2, "skip"),
        ("container-empty-release", "docker.daemon", &[][..], 2, "skip"),
        ("x86-workstation", "gpu.jetson-nodes", &[][..], 2, "skip"),
    ];
    for (name, id, extra, want, word) in cases {
        let (code, line) = npd(&fixture(name), id, extra);
        assert_eq!(code, want, "{name} {id} {extra:?}: {line}");
        assert!(line.starts_with(&format!("{id} {word}: ")), "{name} {id}: {line}");
    }
}

#[test]
fn every_check_on_every_fixture_root_keeps_the_protocol_and_agrees_with_the_report() {
    let ids: Vec<String> = stdout(&run(jetdoc().args(["check", "--list"])))
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 30);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for root in sysroots() {
        let mut cmd = jetdoc();
        cmd.arg("--root").arg(&root).args(["check", "--format", "json"]);
        if root.join("commands.toml").exists() {
            cmd.arg("--commands").arg(root.join("commands.toml"));
        }
        let report: serde_json::Value = serde_json::from_str(&stdout(&run(&mut cmd))).unwrap();
        let status: BTreeMap<&str, &str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].as_str().unwrap(), c["status"].as_str().unwrap()))
            .collect();
        for id in &ids {
            let (code, line) = npd(&root, id, &[]);
            let s = status[id.as_str()];
            let want = match s {
                "fail" | "error" => 1,
                "skip" => 2,
                _ => 0,
            };
            assert_eq!(code, want, "{} {id} ({s}): {line}", root.display());
            assert!(line.starts_with(&format!("{id} {s}")), "{line}");
            seen.insert(s.to_string());
            if line.ends_with("...") {
                seen.insert("cut to 80 bytes".to_string());
            }
        }
    }
    // The fixtures exercise every status but `error` (a crashed check: unit-tested in npd.rs),
    // and summaries long enough to be cut.
    for s in ["pass", "info", "warn", "fail", "skip", "cut to 80 bytes"] {
        assert!(seen.contains(s), "no fixture gave {s}: {seen:?}");
    }
}

#[test]
fn jetdocs_own_errors_are_unknown_with_a_line_on_stdout() {
    let (code, line) = npd(&fixture("agx-orin-r36.4.3"), "no-such.check", &[]);
    assert_eq!(code, 2);
    assert!(line.starts_with("jetdoc: no check matches no-such.check"), "{line}");
    let (code, line) = npd(Path::new("/nonexistent/jetdoc-root"), "docker.daemon", &[]);
    assert_eq!(code, 2);
    assert!(line.contains("/nonexistent/jetdoc-root"), "{line}");
}

fn config() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CONFIG);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{CONFIG} is not JSON: {e}"))
}

/// Go's `time.ParseDuration` for the forms the config uses (`15s`, `1m`, `1m30s`).
fn go_duration_secs(s: &str) -> u64 {
    let mut total = 0;
    let mut num = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => num.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = num.parse().unwrap_or_else(|_| panic!("bad duration {s:?}"));
                total +=
                    n * [("h", 3600), ("m", 60), ("s", 1)].iter().find(|(u, _)| u.starts_with(c)).unwrap().1;
                num.clear();
            }
            _ => panic!("unsupported duration {s:?}"),
        }
    }
    assert!(num.is_empty(), "duration {s:?} without a unit");
    total
}

#[test]
fn the_shipped_config_is_a_valid_custom_plugin_monitor_of_real_check_ids() {
    let c = config();
    // What NPD's CustomPluginConfig.Validate and ApplyConfiguration demand.
    assert_eq!(c["plugin"], "custom");
    let global = &c["pluginConfig"];
    assert_eq!(global["max_output_length"], 80);
    let timeout = go_duration_secs(global["timeout"].as_str().unwrap());
    go_duration_secs(global["invoke_interval"].as_str().unwrap());
    // jetdoc's own command timeout is 10 s: NPD must not kill it before a hung `docker info` is
    // reported as a result.
    assert!(timeout > 10, "global timeout {timeout}s");
    assert!(!c["source"].as_str().unwrap().is_empty());

    let defaults: BTreeSet<&str> =
        c["conditions"].as_array().unwrap().iter().map(|d| d["type"].as_str().unwrap()).collect();
    let ids: BTreeSet<String> = stdout(&run(jetdoc().args(["check", "--list"])))
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let rules = c["rules"].as_array().unwrap();
    let mut covered = BTreeSet::new();
    for rule in rules {
        let ty = rule["type"].as_str().unwrap();
        assert!(ty == "permanent" || ty == "temporary", "{rule}");
        if ty == "permanent" {
            let cond = rule["condition"].as_str().unwrap();
            assert!(defaults.contains(cond), "{cond} has no default condition");
        }
        assert!(!rule["reason"].as_str().unwrap().is_empty());
        if let Some(t) = rule["timeout"].as_str() {
            assert!(go_duration_secs(t) <= timeout, "{rule}: a rule timeout above the global one");
        }
        // install.sh's path as root.
        assert_eq!(rule["path"], "/usr/local/bin/jetdoc");
        let args: Vec<String> =
            rule["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        assert_eq!(args[0], "check");
        let format = args.iter().position(|a| a == "--format").expect("--format");
        assert_eq!(args[format + 1], "npd");
        let only = args.iter().position(|a| a == "--only").expect("--only");
        for id in args[only + 1].split(',') {
            assert!(ids.contains(id), "{id} in {CONFIG} is not a check id (jetdoc check --list)");
            covered.insert(id.to_string());
        }
    }
    // The checks that matter on a Jetson node.
    for id in [
        "docker.nvidia-runtime",
        "docker.default-runtime",
        "docker.storage-driver",
        "storage.root-free",
        "storage.docker-root",
    ] {
        assert!(covered.contains(id), "no rule runs {id}");
    }
}

#[test]
fn every_rule_of_the_shipped_config_runs_on_every_fixture_root() {
    let c = config();
    let mut codes = BTreeSet::new();
    for root in sysroots() {
        for rule in c["rules"].as_array().unwrap() {
            let args: Vec<String> =
                rule["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
            let (code, _) = plugin(&root, &args);
            codes.insert(code);
        }
    }
    assert_eq!(codes, BTreeSet::from([0, 1, 2]), "the fixtures reach OK, problem and unknown");
    // A healthy Orin is healthy for every rule.
    for rule in c["rules"].as_array().unwrap() {
        let args: Vec<String> =
            rule["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        let (code, line) = plugin(&fixture("agx-orin-r36.4.3"), &args);
        assert_eq!(code, 0, "{args:?}: {line}");
    }
}
