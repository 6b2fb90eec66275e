//! The command-line contract: exit codes, selection, JSON shape, and hostile input.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use support::{jetdoc, run, stderr, stdout};

fn sysroot(name: &str) -> std::path::PathBuf {
    support::fixtures_dir().join("sysroots").join(name)
}

#[test]
fn json_contract_fields_are_present() {
    let out = run(jetdoc().args(["check", "--format", "json", "--root"]).arg(sysroot("agx-orin-r36.4.3")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema"], 1);
    for key in [
        "jetson", "model", "module", "soc", "l4t", "jetpack", "cuda", "cudnn", "tensorrt", "ubuntu", "python",
    ] {
        assert!(v["device"].get(key).is_some(), "device.{key} missing");
    }
    assert_eq!(v["device"]["l4t"], "36.4.3");
    assert_eq!(v["device"]["jetpack"], "6.2");
    assert_eq!(v["device"]["soc"], "tegra234");
    let checks = v["checks"].as_array().unwrap();
    for c in checks {
        for key in ["id", "status", "summary", "hints", "fix"] {
            assert!(c.get(key).is_some(), "check.{key} missing in {c}");
        }
    }
    let total: u64 = v["summary"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(total as usize, checks.len());
}

#[test]
fn strict_turns_warnings_into_exit_1() {
    let root = sysroot("future-r36.9.0");
    let relaxed = run(jetdoc().args(["check", "--root"]).arg(&root));
    assert_eq!(relaxed.status.code(), Some(0));
    let strict = run(jetdoc().args(["check", "--strict", "--root"]).arg(&root));
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn only_and_skip_select_checks() {
    let out = run(jetdoc()
        .args(["check", "--format", "json", "--only", "l4t", "--skip", "l4t.lifecycle", "--root"])
        .arg(sysroot("thor-r38.2.0")));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["l4t.release", "l4t.jetpack", "l4t.consistency"]);
}

#[test]
fn own_errors_exit_2_with_a_next_step() {
    let out = run(jetdoc().args(["check", "--only", "no-such-check", "--root"]).arg(sysroot("thor-r38.2.0")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("jetdoc check --list"), "{}", stderr(&out));

    let out = run(jetdoc().args(["check", "--root", "/no/such/dir"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such/dir: missing"), "{}", stderr(&out));

    let bad_tables = tempfile::tempdir().unwrap();
    fs::write(bad_tables.path().join("local.toml"), "[[release]]\nl4t = 36\n").unwrap();
    let out = run(jetdoc()
        .args(["check", "--checks-dir"])
        .arg(bad_tables.path())
        .arg("--root")
        .arg(sysroot("thor-r38.2.0")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("local.toml: line 2"), "{}", stderr(&out));

    let out = run(jetdoc().args(["check", "--format", "yaml"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn list_names_every_check() {
    let out = run(jetdoc().args(["check", "--list"]));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for id in ["device.jetson", "l4t.release", "l4t.jetpack", "cuda.version", "gpu.driver"] {
        assert!(text.contains(id), "{id} not listed");
    }
}

#[test]
fn user_tables_teach_a_new_release_without_a_rebuild() {
    let tables = tempfile::tempdir().unwrap();
    fs::write(
        tables.path().join("2027.toml"),
        "[[release]]\nl4t = \"36.9.0\"\njetpack = \"6.3\"\ncuda = \"12.6\"\n",
    )
    .unwrap();
    let out = run(jetdoc()
        .args(["check", "--format", "json", "--checks-dir"])
        .arg(tables.path())
        .arg("--root")
        .arg(sysroot("future-r36.9.0")));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["device"]["jetpack"], "6.3");
    let jp = v["checks"].as_array().unwrap().iter().find(|c| c["id"] == "l4t.jetpack").unwrap();
    assert_eq!(jp["status"], "pass");
}

/// Garbage, binary, truncated and huge files, dangling and looping symlinks: every check still
/// produces a result and nothing panics.
#[test]
fn hostile_root_gives_reasons_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for d in
        ["etc", "usr/local", "usr/bin", "var/lib/dpkg", "proc/sys/kernel", "sys/firmware/devicetree/base"]
    {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::write(r.join("etc/nv_tegra_release"), [0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, b'\n']).unwrap();
    fs::write(r.join("etc/os-release"), "VERSION_ID=\"22.04\nID=ubu\0ntu\n=\n").unwrap();
    fs::write(r.join("sys/firmware/devicetree/base/model"), [0xff; 64]).unwrap();
    fs::write(r.join("sys/firmware/devicetree/base/compatible"), b"nvidia,p3701-").unwrap();
    symlink("/sys/firmware/devicetree/base", r.join("proc/device-tree")).unwrap();
    // A huge dpkg database (sparse, so the test stays cheap).
    let status = fs::File::create(r.join("var/lib/dpkg/status")).unwrap();
    status.set_len(80 * 1024 * 1024).unwrap();
    symlink("/usr/local/cuda-loop", r.join("usr/local/cuda")).unwrap();
    symlink("/usr/local/cuda", r.join("usr/local/cuda-loop")).unwrap();
    symlink("python3.99", r.join("usr/bin/python3")).unwrap();
    fs::create_dir_all(r.join("proc/sys/kernel/osrelease")).unwrap();

    for format in ["human", "json"] {
        let out = run(jetdoc().args(["check", "--format", format, "--root"]).arg(r));
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{err}");
        assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}: {err}", out.status.code());
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
            assert!(v["checks"].as_array().unwrap().iter().all(|c| c["status"] != "error"), "{v}");
            assert!(
                v["facts"]["l4t"]["absent"].as_str().unwrap().contains("malformed"),
                "{}",
                v["facts"]["l4t"]
            );
            assert!(v["facts"]["cuda"]["value"].is_null());
        }
    }
}
