//! Every fixture root under tests/fixtures/sysroots/ is a test: its human and JSON reports and
//! its exit code are pinned as insta snapshots. Adding a directory adds a case.

mod support;

use std::path::Path;
use support::{jetdoc, run, stdout};

fn check(root: &Path, format: &str) -> (i32, String) {
    let mut cmd = jetdoc();
    cmd.args(["check", "--format", format, "--root"]).arg(root);
    let commands = root.join("commands.toml");
    if commands.exists() {
        cmd.arg("--commands").arg(commands);
    }
    let out = run(&mut cmd);
    assert!(!support::stderr(&out).contains("panicked"), "{}", support::stderr(&out));
    (out.status.code().unwrap_or(-1), stdout(&out))
}

#[test]
fn every_sysroot_fixture_matches_its_snapshots() {
    let dir = support::fixtures_dir().join("sysroots");
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 10, "expected the ten base fixture roots, found {}", cases.len());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/sysroots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for case in &cases {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            let (code, human) = check(case, "human");
            let (json_code, json) = check(case, "json");
            assert_eq!(code, json_code, "{name}: exit code differs between formats");
            let parsed: serde_json::Value =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}: bad JSON: {e}"));
            assert_eq!(parsed["schema"], 1);
            insta::assert_snapshot!(format!("{name}.human"), format!("exit code: {code}\n\n{human}"));
            insta::assert_snapshot!(format!("{name}.json"), json);
        }
    });
}
