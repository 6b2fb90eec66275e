//! Shared test support. Each integration test file includes it with `mod support;`.
#![allow(dead_code)]

pub mod dockerd;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The jetdoc binary under test.
pub fn jetdoc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jetdoc"));
    // Tests must not pick up the developer's settings.
    for var in ["JETDOC_ROOT", "JETDOC_CHECKS_DIR", "JETDOC_COMMANDS", "JETDOC_LIVE_COMMANDS", "NO_COLOR"] {
        c.env_remove(var);
    }
    c.env("NO_COLOR", "1");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn jetdoc")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Call at the top of a test that needs a tool or service this machine may lack: locally the
/// test is skipped with the reason printed; in CI (CI=true) a missing requirement fails it.
pub fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if in_ci() {
        panic!("CI requires {what}, but it is not available: .ci/run must install and start it");
    }
    eprintln!("SKIPPED: {what} is not available on this machine (runs in CI)");
    false
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copies a directory tree, keeping symlinks as symlinks (fixture roots are full of them).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let ft = entry.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if ft.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
