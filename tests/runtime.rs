//! The containers checks and `jetdoc fix` on temp copies of fixture roots
//! (`tests/fixtures/runtime/jetson-base` with a case laid over it), commands answered by the
//! fixture's `commands.toml`. The real-daemon half is in `tests/runtime_docker.rs`.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;
use support::{copy_tree, fixtures_dir, jetdoc, run, stderr, stdout};

const CONFIG: &str = "etc/docker/daemon.json";

/// A temp root: `jetson-base` with `tests/fixtures/runtime/<case>/` laid over it (`x86-base`
/// stands alone).
fn root_for(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let base = fixtures_dir().join("runtime");
    if !case.starts_with("x86") {
        copy_tree(&base.join("jetson-base"), dir.path());
    }
    if case != "jetson-base" {
        copy_tree(&base.join(case), dir.path());
    }
    dir
}

fn jd(root: &Path, args: &[&str]) -> std::process::Output {
    run(jetdoc().arg("--root").arg(root).arg("--commands").arg(root.join("commands.toml")).args(args))
}

fn checks(root: &Path) -> (Option<i32>, Vec<Value>) {
    let out = jd(root, &["check", "--only", "containers", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    (out.status.code(), v["checks"].as_array().unwrap().clone())
}

fn find<'a>(checks: &'a [Value], id: &str) -> &'a Value {
    checks.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id}"))
}

fn read(root: &Path, path: &str) -> Vec<u8> {
    std::fs::read(root.join(path)).unwrap()
}

fn journal(root: &Path) -> Vec<Value> {
    std::fs::read_to_string(root.join("var/lib/jetdoc/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ---- checks ------------------------------------------------------------------------------

#[test]
fn a_healthy_jetson_passes_every_containers_check() {
    let root = root_for("jetson-ok");
    let (code, checks) = checks(root.path());
    assert_eq!(code, Some(0));
    for c in &checks {
        assert!(["pass", "info", "skip"].contains(&c["status"].as_str().unwrap()), "{c}");
    }
    assert_eq!(find(&checks, "docker.default-runtime")["status"], "pass");
    assert_eq!(find(&checks, "docker.nvidia-runtime")["status"], "pass");
    assert!(find(&checks, "docker.daemon")["summary"].as_str().unwrap().contains("root dir /var/lib/docker"));
    assert!(find(&checks, "docker.iptables-raw")["summary"].as_str().unwrap().contains("loadable"));
    assert!(find(&checks, "toolkit.csv")["summary"].as_str().unwrap().contains("6 lib entries, all present"));
}

#[test]
fn a_broken_jetson_gets_each_problem_with_its_fix() {
    let root = root_for("jetson-broken");
    let (code, checks) = checks(root.path());
    assert_eq!(code, Some(1));
    let expect = [
        ("docker.nvidia-runtime", "fail", Some("gpu-runtime"), "not registered"),
        ("docker.default-runtime", "warn", Some("gpu-runtime"), "runc"),
        ("docker.daemon-json", "warn", None, "unknown keys default_runtime"),
        ("docker.storage-driver", "fail", None, "vfs"),
        ("docker.iptables-raw", "fail", Some("docker.iptables-raw"), "lacks"),
        ("docker.group", "warn", Some("docker.group"), "nvidia is not in the docker group"),
        ("toolkit.packages", "fail", None, "1.17.0"),
        ("toolkit.mode", "warn", None, "legacy"),
        ("toolkit.csv", "warn", None, "libnvcucompat.so"),
    ];
    for (id, status, fix, text) in expect {
        let c = find(&checks, id);
        assert_eq!(c["status"], status, "{c}");
        assert_eq!(c["fix"].as_str(), fix, "{c}");
        assert!(c["summary"].as_str().unwrap().contains(text), "{c}");
    }
    // The toolkit row of checks/toolkit.toml is named, and the iptables hint carries both remedies.
    assert!(find(&checks, "toolkit.packages")["summary"].as_str().unwrap().contains("jetson-containers#710"));
    let hints = find(&checks, "docker.iptables-raw")["hints"].to_string();
    assert!(hints.contains("DOCKER_INSECURE_NO_IPTABLES_RAW=1") && hints.contains("27.5"), "{hints}");
}

#[test]
fn daemon_json_parse_errors_name_line_and_column() {
    let root = root_for("jetson-base");
    std::fs::copy(fixtures_dir().join("runtime/daemon-json/trailing-comma.json"), root.path().join(CONFIG))
        .unwrap();
    let (_, checks) = checks(root.path());
    let c = find(&checks, "docker.daemon-json");
    assert_eq!(c["status"], "fail");
    let s = c["summary"].as_str().unwrap();
    assert!(s.contains("/etc/docker/daemon.json: line 5, column 3") && s.contains("trailing comma"), "{s}");
    assert_eq!(c["fix"], "gpu-runtime");
}

#[test]
fn the_daemon_down_and_permission_denied_are_told_apart() {
    let root = root_for("jetson-base");
    let down_json = fixtures_dir().join("runtime/docker-info/daemon-down.json");
    std::fs::copy(&down_json, root.path().join("docker-info/down.json")).unwrap();
    for (stderr_text, expect, hint) in [
        ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", "not running", "systemctl start docker"),
        ("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock", "permission denied", "usermod -aG docker"),
    ] {
        std::fs::write(
            root.path().join("commands.toml"),
            format!("[env]\nSUDO_USER = \"nvidia\"\n[[command]]\nrun = \"docker info --format {{{{json .}}}}\"\nexit = 1\nstdout_file = \"docker-info/down.json\"\nstderr = \"{stderr_text}\"\n"),
        )
        .unwrap();
        let (_, checks) = checks(root.path());
        let c = find(&checks, "docker.daemon");
        assert_eq!(c["status"], "fail");
        assert!(c["summary"].as_str().unwrap().contains(expect), "{c}");
        assert!(c["hints"].to_string().contains(hint), "{c}");
        // The client still answered: installed.
        assert_eq!(find(&checks, "docker.client")["status"], "pass");
    }
}

#[test]
fn an_x86_host_with_a_driver_but_no_toolkit() {
    let root = root_for("x86-base");
    let (code, checks) = checks(root.path());
    assert_eq!(code, Some(1));
    let gpus = find(&checks, "docker.gpus");
    assert_eq!(gpus["status"], "fail", "{gpus}");
    assert!(
        gpus["summary"].as_str().unwrap().contains("driver 550.54.14 but no nvidia-container-runtime-hook"),
        "{gpus}"
    );
    assert_eq!(find(&checks, "toolkit.packages")["status"], "fail");
    // On x86 the runtime and the default are not required for `--gpus all`.
    assert_eq!(find(&checks, "docker.nvidia-runtime")["status"], "fail", "runtime program missing too");
    assert_eq!(find(&checks, "docker.default-runtime")["status"], "info");
    assert_eq!(find(&checks, "toolkit.csv")["status"], "skip");
    assert_eq!(find(&checks, "docker.group")["status"], "pass");
    assert!(find(&checks, "docker.iptables-raw")["summary"].as_str().unwrap().contains("20.10.24"));

    let out = jd(root.path(), &["fix", "--gpu-runtime", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("dry_run_x86_no_toolkit", stdout(&out));
}

#[test]
fn without_yes_and_without_a_terminal_nothing_is_applied() {
    let root = root_for("jetson-fix");
    let before = read(root.path(), CONFIG);
    let out = run(jetdoc()
        .arg("--root")
        .arg(root.path())
        .arg("--commands")
        .arg(root.path().join("commands.toml"))
        .args(["fix", "--gpu-runtime"])
        .stdin(std::process::Stdio::null()));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("confirm with --yes"), "{}", stderr(&out));
    assert_eq!(read(root.path(), CONFIG), before);
}

// ---- jetdoc fix: plans --------------------------------------------------------------------

#[test]
fn dry_run_prints_the_diff_and_commands_and_changes_nothing() {
    let root = root_for("jetson-fix");
    let before = read(root.path(), CONFIG);
    let out = jd(root.path(), &["fix", "--gpu-runtime", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("dry_run_gpu_runtime", stdout(&out));
    assert_eq!(read(root.path(), CONFIG), before);
    assert!(!root.path().join("var/lib/jetdoc").exists(), "a dry run writes no state");
    // A check id picks the same fix.
    let by_check = jd(root.path(), &["fix", "docker.default-runtime", "--dry-run"]);
    assert_eq!(stdout(&by_check), stdout(&out));
}

#[test]
fn dry_run_installs_the_toolkit_first_when_it_is_missing() {
    let root = root_for("jetson-no-toolkit");
    // The overlay removed the packages from dpkg; their programs and daemon.json go too.
    for f in [
        "usr/bin/nvidia-ctk",
        "usr/bin/nvidia-container-runtime",
        "usr/bin/nvidia-container-runtime-hook",
        CONFIG,
    ] {
        std::fs::remove_file(root.path().join(f)).unwrap();
    }
    let out = jd(root.path(), &["fix", "--gpu-runtime", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("dry_run_no_toolkit", stdout(&out));
    // Applied (apt answered by the fake runner): the install runs before the file is written.
    let applied = jd(root.path(), &["fix", "--gpu-runtime", "--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let text = stdout(&applied);
    let install = text.find("ran: apt-get install -y nvidia-container").expect(&text);
    assert!(install < text.find("ran: systemctl restart docker").unwrap(), "{text}");
    assert!(text.contains("created /etc/docker/daemon.json"), "{text}");
}

#[test]
fn iptables_raw_fix_is_plan_only() {
    let root = root_for("jetson-base");
    let out = jd(root.path(), &["fix", "docker.iptables-raw", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("plan_only_iptables_raw", stdout(&out));
    assert!(!root.path().join("etc/systemd/system/docker.service.d").exists(), "nothing written");
    assert!(!root.path().join("var/lib/jetdoc").exists());
}

#[test]
fn unknown_fix_ids_are_argument_errors() {
    let root = root_for("jetson-base");
    let out = jd(root.path(), &["fix", "l4t.release"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no fix for `l4t.release`") && stderr(&out).contains("gpu-runtime"),
        "{}",
        stderr(&out)
    );
    let none = jd(root.path(), &["fix"]);
    assert_eq!(none.status.code(), Some(2));
}

// ---- jetdoc fix: apply, idempotence, undo ---------------------------------------------------

#[test]
fn apply_backs_up_writes_atomically_journals_and_a_second_run_does_nothing() {
    let root = root_for("jetson-fix");
    let r = root.path();
    let config = r.join(CONFIG);
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    let original = read(r, CONFIG);

    let out = jd(r, &["fix", "--gpu-runtime", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("ran: systemctl restart docker"), "{text}");

    // New content: the runtime and the default added, the user's keys and bytes kept.
    let new = read(r, CONFIG);
    let v: Value = serde_json::from_slice(&new).unwrap();
    assert_eq!(
        v["runtimes"]["nvidia"],
        serde_json::json!({"path": "nvidia-container-runtime", "runtimeArgs": []})
    );
    assert_eq!(v["default-runtime"], "nvidia");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "data-root",
            "log-driver",
            "log-opts",
            "features",
            "registry-mirrors",
            "runtimes",
            "default-runtime"
        ]
    );
    let kept = String::from_utf8(original.clone()).unwrap();
    let kept = kept.trim_end().trim_end_matches('}').trim_end();
    assert!(String::from_utf8_lossy(&new).starts_with(kept), "original bytes kept as a prefix");
    assert_eq!(std::fs::metadata(&config).unwrap().permissions().mode() & 0o777, 0o640, "mode kept");
    let leftovers: Vec<_> =
        std::fs::read_dir(r.join("etc/docker")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");

    // Backup and journal.
    let j = journal(r);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0]["action"], "apply");
    let id = j[0]["id"].as_str().unwrap().to_string();
    assert!(id.ends_with("-gpu-runtime"), "{id}");
    let backup = format!("var/lib/jetdoc/backups/{id}/etc/docker/daemon.json");
    assert_eq!(read(r, &backup), original);
    assert_eq!(j[0]["files"][0]["backup"], format!("backups/{id}/etc/docker/daemon.json"));
    assert_eq!(j[0]["files"][0]["mode"], 0o640);
    assert!(text.contains(&format!("undo with `sudo jetdoc fix --undo {id}`")), "{text}");

    // Idempotent: nothing planned, nothing written, nothing run, exit 0.
    let again = jd(r, &["fix", "--gpu-runtime", "--yes"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(stdout(&again), "gpu-runtime: nothing to do\n");
    assert_eq!(read(r, CONFIG), new);
    assert_eq!(journal(r).len(), 1);

    // The doctor is satisfied with the file now.
    let (_, checks) = checks(r);
    assert_eq!(find(&checks, "docker.default-runtime")["status"], "pass");
}

#[test]
fn undo_restores_the_original_and_refuses_after_a_later_edit() {
    let root = root_for("jetson-fix");
    let r = root.path();
    let original = read(r, CONFIG);
    assert_eq!(jd(r, &["fix", "--gpu-runtime", "--yes"]).status.code(), Some(0));
    let fixed = read(r, CONFIG);

    // Someone edits the file after jetdoc: undo leaves it alone without --force.
    std::fs::write(r.join(CONFIG), b"{\"debug\": true}\n").unwrap();
    let refused = jd(r, &["fix", "--undo"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("was changed after jetdoc wrote it"), "{}", stderr(&refused));
    assert_eq!(read(r, CONFIG), b"{\"debug\": true}\n");

    std::fs::write(r.join(CONFIG), &fixed).unwrap();
    let id = journal(r)[0]["id"].as_str().unwrap().to_string();
    let undo = jd(r, &["fix", "--undo", &id]);
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    assert!(stdout(&undo).contains("restored /etc/docker/daemon.json"), "{}", stdout(&undo));
    assert!(stdout(&undo).contains("ran: systemctl restart docker"), "{}", stdout(&undo));
    assert_eq!(read(r, CONFIG), original);
    let j = journal(r);
    assert_eq!(j.last().unwrap()["action"], "undo");
    assert_eq!(j.last().unwrap()["undoes"], id.as_str());

    let twice = jd(r, &["fix", "--undo"]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(stderr(&twice).contains("nothing to undo"), "{}", stderr(&twice));
}

#[test]
fn broken_daemon_json_files_are_refused_byte_for_byte() {
    for name in ["trailing-comma.json", "comments.json", "truncated.json", "binary.json"] {
        let root = root_for("jetson-fix");
        let r = root.path();
        let broken = std::fs::read(fixtures_dir().join("runtime/daemon-json").join(name)).unwrap();
        std::fs::write(r.join(CONFIG), &broken).unwrap();
        let out = jd(r, &["fix", "--gpu-runtime", "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("/etc/docker/daemon.json: line ") && err.contains("column"), "{name}: {err}");
        assert!(err.contains("refusing to edit") && err.contains("--force"), "{name}: {err}");
        assert_eq!(read(r, CONFIG), broken, "{name} changed");
        assert!(!r.join("var/lib/jetdoc").exists(), "{name}: no backup, no journal");
        let dry = jd(r, &["fix", "--gpu-runtime", "--dry-run"]);
        assert_eq!(dry.status.code(), Some(1), "{name}");
    }
}

#[test]
fn an_empty_daemon_json_counts_as_an_empty_object() {
    let root = root_for("jetson-fix");
    let r = root.path();
    std::fs::write(r.join(CONFIG), b"").unwrap();
    let out = jd(r, &["fix", "--gpu-runtime", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&read(r, CONFIG)).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"runtimes": {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}, "default-runtime": "nvidia"})
    );
    let id = journal(r)[0]["id"].as_str().unwrap().to_string();
    assert_eq!(read(r, &format!("var/lib/jetdoc/backups/{id}/etc/docker/daemon.json")), b"");
}

#[test]
fn force_replaces_a_broken_file_after_a_backup() {
    let root = root_for("jetson-fix");
    let r = root.path();
    let broken = std::fs::read(fixtures_dir().join("runtime/daemon-json/comments.json")).unwrap();
    std::fs::write(r.join(CONFIG), &broken).unwrap();
    let out = jd(r, &["fix", "--gpu-runtime", "--yes", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("--force replaces it"), "{}", stdout(&out));
    let v: Value = serde_json::from_slice(&read(r, CONFIG)).unwrap();
    assert_eq!(v["default-runtime"], "nvidia");
    let id = journal(r)[0]["id"].as_str().unwrap().to_string();
    assert_eq!(read(r, &format!("var/lib/jetdoc/backups/{id}/etc/docker/daemon.json")), broken);
}

#[test]
fn a_failed_restart_rolls_back_and_restarts_again() {
    for case in ["jetson-fix-restart-fails", "jetson-fix-not-listed"] {
        let root = root_for(case);
        let r = root.path();
        let original = read(r, CONFIG);
        let out = jd(r, &["fix", "--gpu-runtime", "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{case}: {}", stdout(&out));
        let text = stdout(&out);
        assert!(text.contains("rolled back to the original files"), "{case}: {text}");
        assert_eq!(
            text.matches("ran: systemctl restart docker").count(),
            2,
            "{case}: restart, then restart again: {text}"
        );
        assert_eq!(read(r, CONFIG), original, "{case}: restored byte for byte");
        // Journaled as applied before the restart (crash-safe), then cancelled under the same id.
        let j = journal(r);
        assert_eq!(j.len(), 2, "{case}");
        assert_eq!(
            (j[0]["action"].as_str(), j[1]["action"].as_str()),
            (Some("apply"), Some("rolled-back")),
            "{case}"
        );
        assert_eq!(j[0]["id"], j[1]["id"]);
        assert_eq!(j[0]["restart"], serde_json::json!(["systemctl", "restart", "docker"]));
        // A rolled-back change is not offered to --undo.
        assert_eq!(jd(r, &["fix", "--undo"]).status.code(), Some(1));
    }
}

#[test]
fn docker_group_fix_runs_usermod_once() {
    let root = root_for("jetson-base");
    let r = root.path();
    let out = jd(r, &["fix", "docker.group", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("ran: usermod -aG docker nvidia"), "{}", stdout(&out));
    assert!(stdout(&out).contains("log out and in"), "{}", stdout(&out));
    // With the user in the group (as usermod would leave /etc/group) there is nothing to do.
    let group =
        std::fs::read_to_string(r.join("etc/group")).unwrap().replace("docker:x:998:", "docker:x:998:nvidia");
    std::fs::write(r.join("etc/group"), group).unwrap();
    let again = jd(r, &["fix", "docker.group", "--yes"]);
    assert_eq!(stdout(&again), "docker.group: nothing to do\n");
}

#[test]
fn json_output_of_a_dry_run_carries_the_diff() {
    let root = root_for("jetson-fix");
    let out = jd(root.path(), &["fix", "--gpu-runtime", "--dry-run", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let fix = &v["fixes"][0];
    assert_eq!(fix["fix"], "gpu-runtime");
    assert!(fix["diffs"][0]["diff"].as_str().unwrap().contains("+  \"default-runtime\": \"nvidia\""));
    let kinds: Vec<&str> =
        fix["steps"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["write", "validate", "restart-docker", "verify-runtime"]);
}

#[test]
fn without_root_a_live_fix_says_so_before_doing_anything() {
    // As `nobody` on the live host: `nobody` is never in the docker group, so there is a plan.
    let as_nobody = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_jetdoc"));
        if support::is_root() {
            use std::os::unix::process::CommandExt;
            // std also drops the supplementary groups (setgroups) when root changes the uid.
            c.uid(65534).gid(65534);
        }
        for var in
            ["JETDOC_ROOT", "JETDOC_CHECKS_DIR", "JETDOC_COMMANDS", "JETDOC_LIVE_COMMANDS", "SUDO_USER"]
        {
            c.env_remove(var);
        }
        c.env("USER", "nobody").env("NO_COLOR", "1").args(args);
        run(&mut c)
    };
    let out = as_nobody(&["fix", "docker.group", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("jetdoc needs root to apply these fixes"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("ran:"), "nothing ran: {}", stdout(&out));
    let undo = as_nobody(&["fix", "--undo"]);
    assert_eq!(undo.status.code(), Some(1));
    assert!(stderr(&undo).contains("jetdoc needs root to undo"), "{}", stderr(&undo));
    // Looking is allowed.
    let dry = as_nobody(&["fix", "docker.group", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("usermod -aG docker nobody"), "{}", stdout(&dry));
}

#[test]
fn cdi_mode_drop_in_and_snap_variants() {
    let root = root_for("jetson-base");
    let r = root.path();
    // CDI mode without a spec fails; the CSV check steps aside.
    let cfg = std::fs::read_to_string(r.join("etc/nvidia-container-runtime/config.toml"))
        .unwrap()
        .replace("mode = \"auto\"", "mode = \"cdi\"");
    std::fs::write(r.join("etc/nvidia-container-runtime/config.toml"), cfg).unwrap();
    let (_, c) = checks(r);
    assert_eq!(find(&c, "toolkit.mode")["status"], "pass");
    assert_eq!(find(&c, "toolkit.cdi")["status"], "fail");
    assert!(find(&c, "toolkit.cdi")["hints"].to_string().contains("nvidia-ctk cdi generate"));
    assert_eq!(find(&c, "toolkit.csv")["status"], "skip");
    std::fs::create_dir_all(r.join("etc/cdi")).unwrap();
    std::fs::write(
        r.join("etc/cdi/nvidia.yaml"),
        "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: all\n",
    )
    .unwrap();
    let (_, c) = checks(r);
    assert_eq!(find(&c, "toolkit.cdi")["status"], "pass");

    // The raw-table opt-out already in a systemd drop-in satisfies docker.iptables-raw.
    assert_eq!(find(&c, "docker.iptables-raw")["status"], "fail");
    let dropin = r.join("etc/systemd/system/docker.service.d");
    std::fs::create_dir_all(&dropin).unwrap();
    std::fs::write(
        dropin.join("override.conf"),
        "[Service]\nEnvironment=DOCKER_INSECURE_NO_IPTABLES_RAW=1\n",
    )
    .unwrap();
    let (_, c) = checks(r);
    assert_eq!(find(&c, "docker.iptables-raw")["status"], "pass");
    let plan = jd(r, &["fix", "docker.iptables-raw"]);
    assert_eq!(stdout(&plan), "docker.iptables-raw: nothing to do\n");

    // A config.toml that does not parse names its line.
    std::fs::write(
        r.join("etc/nvidia-container-runtime/config.toml"),
        "[nvidia-container-runtime]\nmode = auto\n",
    )
    .unwrap();
    let (_, c) = checks(r);
    let mode = find(&c, "toolkit.mode");
    assert_eq!(mode["status"], "fail");
    assert!(mode["summary"].as_str().unwrap().contains("line 2"), "{mode}");

    // Docker from snap.
    std::fs::remove_file(r.join("usr/bin/docker")).unwrap();
    std::fs::create_dir_all(r.join("snap/bin")).unwrap();
    std::fs::write(r.join("snap/bin/docker"), "").unwrap();
    let (_, c) = checks(r);
    assert_eq!(find(&c, "docker.client")["status"], "warn");
    assert!(find(&c, "docker.client")["summary"].as_str().unwrap().contains("snap"));
}
