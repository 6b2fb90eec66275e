//! `jetdoc provision PROFILE --dry-run` for every built-in profile on every fixture root, human
//! and JSON, pinned as insta snapshots (a refusal is pinned like a plan). No network and no
//! Docker: a `--root` plan asks nothing of this machine. Adding a fixture directory or a
//! built-in profile adds cases.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

use std::path::{Path, PathBuf};
use support::{jetdoc, run, stderr, stdout};

const PROFILES: [&str; 4] = ["locomotion", "testing-arm", "testing-x86", "isaacsim"];

fn fixtures() -> Vec<PathBuf> {
    let dir = support::fixtures_dir().join("sysroots");
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 10, "expected the fixture roots, found {}", cases.len());
    cases
}

fn dry_run(root: &Path, profile: &str, format: &str, cache: &Path) -> (i32, String, String) {
    let mut cmd = jetdoc();
    cmd.arg("--root").arg(root).args(["provision", profile, "--dry-run", "--format", format]);
    cmd.arg("--cache-dir").arg(cache);
    cmd.env_remove("JETDOC_PROFILES_DIR").env("JETDOC_PROFILES_DIR", "/nonexistent/jetdoc-profiles");
    let commands = root.join("commands.toml");
    if commands.exists() {
        cmd.arg("--commands").arg(commands);
    }
    let out = run(&mut cmd);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

/// One profile over every fixture: every mismatch is collected before the test fails, so one
/// changed fixture does not hide the others.
fn pin(profile: &str) {
    let cache = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for root in fixtures() {
        let name = root.file_name().unwrap().to_string_lossy().into_owned();
        let (code, human, err) = dry_run(&root, profile, "human", cache.path());
        assert!(!err.contains("panicked"), "{name}: {err}");
        let (json_code, json, _) = dry_run(&root, profile, "json", cache.path());
        assert_eq!(code, json_code, "{profile} on {name}: exit code differs between formats");
        assert!(code == 0 || code == 1, "{profile} on {name}: exit {code}: {err}");
        let parsed: serde_json::Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{profile} on {name}: bad JSON: {e}\n{json}"));
        assert_eq!(parsed["schema"], 1);
        // A plan (exit 0 or 1) or a refusal (exit 1), never both, never neither.
        assert!(
            parsed.get("refused").is_some() != parsed.get("base").is_some(),
            "{profile} on {name}: {json}"
        );
        assert_eq!(
            parsed.get("refused").is_none() && parsed["blocked_by"].as_array().is_some_and(|b| b.is_empty()),
            code == 0,
            "{profile} on {name}: exit {code} but {json}"
        );
        let result = std::panic::catch_unwind(|| {
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path("snapshots/provision");
            settings.set_prepend_module_to_snapshot(false);
            settings.bind(|| {
                insta::assert_snapshot!(
                    format!("{profile}@{name}.human"),
                    format!("exit code: {code}\n\n{human}")
                );
                insta::assert_snapshot!(format!("{profile}@{name}.json"), json);
            });
        });
        if result.is_err() {
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "{profile}: snapshots differ for {failures:?} (cargo insta review)");
}

#[test]
fn locomotion_plans() {
    pin("locomotion");
}

#[test]
fn testing_arm_plans() {
    pin("testing-arm");
}

#[test]
fn testing_x86_plans() {
    pin("testing-x86");
}

#[test]
fn isaacsim_plans() {
    pin("isaacsim");
}

#[test]
fn a_dry_run_on_a_jetpack_6_2_root_needs_no_network_and_exits_0() {
    // The "done when": a JetPack 6.2 fixture, no network (nothing listens for it: a
    // request would fail and the plan would say so), exit 0, registry facts unverified.
    let root = support::fixtures_dir().join("sysroots/agx-orin-r36.4.3");
    let cache = tempfile::tempdir().unwrap();
    let (code, text, err) = dry_run(&root, "locomotion", "human", cache.path());
    assert_eq!(code, 0, "{text}{err}");
    assert!(text.contains("JetPack 6.2") && text.contains("registry  offline"), "{text}");
    assert!(text.contains("(unverified)") && text.contains("sha256 ?: not downloaded yet"), "{text}");
    assert!(text.contains("https://download.stereolabs.com/zedsdk/5.4/l4t36.4/jetsons"), "{text}");
    assert!(text.contains("ready: nothing stops this provision"), "{text}");
}

#[test]
fn profiles_list_and_show() {
    let out = run(jetdoc()
        .env("JETDOC_PROFILES_DIR", "/nonexistent")
        .args(["profiles", "list", "--format", "json"]));
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let names: Vec<&str> =
        v["profiles"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, PROFILES);

    let root = support::fixtures_dir().join("sysroots/zed2i-usb3");
    let out = run(jetdoc().arg("--root").arg(&root).args(["profiles", "show", "locomotion"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("device /dev/video0") && text.contains("ZED 2i"), "{text}");
    let out =
        run(jetdoc().arg("--root").arg(&root).args(["profiles", "show", "locomotion", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["device"]["module_part"], "p3767-0005");
    assert_eq!(v["zed"]["token"], "l4t36.4");
    assert_eq!(v["run"]["runtime"], "nvidia");

    // Refused: exit 1 and the reason.
    let out = run(jetdoc().arg("--root").arg(&root).args(["profiles", "show", "isaacsim"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("Isaac Sim runs on x86_64"), "{}", stdout(&out));

    // The profile file itself.
    let out = run(jetdoc().args(["profiles", "show", "testing-x86", "--source"]));
    assert!(stdout(&out).starts_with("# The locomotion Python dependencies on an x86_64 workstation"));
}

#[test]
fn bad_profiles_and_locks_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let root = support::fixtures_dir().join("sysroots/agx-orin-r36.4.3");
    let p = dir.path().join("robot.toml");
    std::fs::write(&p, "name = \"robot\"\n[platforms.jetson]\njetpack = \">= six\"\n").unwrap();
    let out = run(jetdoc().arg("--root").arg(&root).args(["provision"]).arg(&p).arg("--dry-run"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{}:3:11: `>= six` is not a version range", p.display())),
        "{}",
        stderr(&out)
    );

    let out =
        run(jetdoc().env("JETDOC_PROFILES_DIR", "/nonexistent").args(["provision", "pytorch", "--dry-run"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown profile `pytorch`; profiles: locomotion, testing-arm"),
        "{}",
        stderr(&out)
    );

    let lock = dir.path().join("robot.lock");
    std::fs::write(&lock, "schema = 1\njetdoc = \"0.1.0\"\n[profile]\nname = 3\n").unwrap();
    let out = run(jetdoc()
        .arg("--root")
        .arg(&root)
        .args(["provision", "locomotion", "--dry-run", "--locked"])
        .arg(&lock));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("{}:4:8:", lock.display())), "{}", stderr(&out));
}

#[test]
fn a_vendor_jetpack_newer_than_the_l4t_row_wins() {
    // A vendor image: L4T 36.4.0 (JetPack 6.1 by the table) carrying nvidia-jetpack 6.2.1.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    support::copy_tree(&support::fixtures_dir().join("sysroots/agx-orin-r36.4.3"), &root);
    std::fs::write(
        root.join("etc/nv_tegra_release"),
        "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13 04:36:44 UTC 2024\n",
    )
    .unwrap();
    let status = root.join("var/lib/dpkg/status");
    let mut text = std::fs::read_to_string(&status).unwrap();
    text.push_str("\nPackage: nvidia-jetpack\nStatus: install ok installed\nPriority: standard\nSection: metapackages\nArchitecture: arm64\nVersion: 6.2.1+b38\nDescription: NVIDIA Jetpack Meta Package\n");
    std::fs::write(&status, text).unwrap();
    let out = run(jetdoc().arg("--root").arg(&root).args(["check", "--format", "json", "--only", "l4t"]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["device"]["l4t"], "36.4.0");
    assert_eq!(v["device"]["jetpack"], "6.2.1");
    assert_eq!(v["device"]["module_part"], "p3701-0005");
}

#[test]
fn fix_runs_the_fixes_through_the_executor_and_a_check_that_still_fails_stops_the_provision() {
    // A Jetson whose Docker does not list the nvidia runtime even after daemon.json registers it:
    // --fix writes the file, restarts Docker (fake commands), verifies, fails, rolls back, all
    // journaled as `jetdoc fix` does; the provision then stops on the check that still fails.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    support::copy_tree(&support::fixtures_dir().join("runtime/jetson-base"), &root);
    support::copy_tree(&support::fixtures_dir().join("runtime/jetson-fix-not-listed"), &root);
    let before = std::fs::read(root.join("etc/docker/daemon.json")).unwrap();
    let out = run(jetdoc()
        .env("JETDOC_PROFILES_DIR", "/nonexistent")
        .arg("--root")
        .arg(&root)
        .arg("--commands")
        .arg(root.join("commands.toml"))
        .args(["provision", "testing-arm", "--fix", "--yes", "--cache-dir"])
        .arg(tmp.path().join("cache")));
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("stopped after --fix")
            && text.contains("✘ fix gpu-runtime: Docker came back but does not list the nvidia runtime"),
        "{text}"
    );
    assert!(text.contains("- check docker.nvidia-runtime failed"), "{text}");
    let journal = std::fs::read_to_string(root.join("var/lib/jetdoc/journal.jsonl")).unwrap();
    let actions: Vec<String> = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|r| format!("{} {}", r["fix"].as_str().unwrap(), r["action"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, ["gpu-runtime apply", "gpu-runtime rolled-back"]);
    assert_eq!(
        std::fs::read(root.join("etc/docker/daemon.json")).unwrap(),
        before,
        "rolled back byte for byte"
    );
    assert!(!root.join("var/lib/jetdoc/state.json").exists(), "nothing provisioned, nothing recorded");
}
