//! `install.sh --textfile DIR` and the systemd units it installs: the real install.sh (with a
//! stand-in for `cargo build`, which the other tests already did) into a staging prefix, the
//! units checked by Debian's `systemd-analyze verify`, and the service's command line run as the
//! timer would run it. Nothing is enabled: the prefix is not on systemd's unit path.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(
    install_sh_textfile_installs_units_that_systemd_analyze_accepts,
    install_sh_refuses_a_textfile_dir_that_units_cannot_hold_before_building,
);

use std::path::PathBuf;
use std::process::{Command, Output};

const UNITS: [&str; 2] = ["jetdoc-textfile.service", "jetdoc-textfile.timer"];

/// A copy of what install.sh needs from the repository, with the test binary as the build
/// output and a `cargo` on PATH that does nothing.
struct Staging {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    bin: PathBuf,
    prefix: PathBuf,
    textfile: PathBuf,
}

fn stage() -> Staging {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, bin) = support::stage_install_repo(tmp.path());
    let prefix = tmp.path().join("prefix");
    let textfile = tmp.path().join("node-exporter");
    std::fs::create_dir(&textfile).unwrap();
    Staging { repo, bin, prefix, textfile, _tmp: tmp }
}

fn install(s: &Staging, args: &[&str]) -> Output {
    let path = format!("{}:{}", s.bin.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("bash")
        .arg(s.repo.join("install.sh"))
        .args(args)
        .env("PATH", path)
        .output()
        .expect("run install.sh")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn systemd_analyze_available() -> bool {
    Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn install_sh_textfile_installs_units_that_systemd_analyze_accepts() {
    support::require(systemd_analyze_available(), "systemd-analyze (Debian package systemd)");
    let s = stage();
    let (prefix, textfile) = (s.prefix.to_str().unwrap(), s.textfile.to_str().unwrap());
    let out = install(&s, &["--prefix", prefix, "--textfile", textfile]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("not enabled"), "a staging prefix is never enabled: {}", text(&out));
    let unitdir = s.prefix.join("lib/systemd/system");
    let service = std::fs::read_to_string(unitdir.join(UNITS[0])).unwrap();
    let exec = service.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    assert_eq!(
        exec,
        format!("{prefix}/bin/jetdoc check --quiet --color never --textfile {textfile}"),
        "install.sh fills in the binary and the directory"
    );
    assert!(!unitdir.join(format!(".{}.tmp", UNITS[0])).exists());

    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(UNITS.map(|u| unitdir.join(u)))
        .output()
        .unwrap();
    // verify exits 0 even for unknown keys and unparsable values; it must say nothing at all.
    assert!(verify.status.success() && text(&verify).trim().is_empty(), "{}", text(&verify));

    // The unit's command line, run as the timer runs it (on this machine: the live host).
    let argv: Vec<&str> = exec.split(' ').collect();
    let run = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
    let code = run.status.code();
    // SuccessExitStatus=1: a failing check is what the metrics report, not a unit failure.
    assert!(code == Some(0) || code == Some(1), "{code:?}: {}", text(&run));
    assert!(service.contains("SuccessExitStatus=1"));
    let prom = std::fs::read_to_string(s.textfile.join("jetdoc.prom")).unwrap();
    assert!(prom.contains("jetdoc_device_info{") && prom.contains("jetdoc_check_timestamp_seconds "));

    // A second install replaces the units in place (idempotent).
    let again = install(&s, &["--prefix", prefix, "--textfile", textfile]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(std::fs::read_to_string(unitdir.join(UNITS[0])).unwrap(), service);
}

fn install_sh_refuses_a_textfile_dir_that_units_cannot_hold_before_building() {
    let s = stage();
    let prefix = s.prefix.to_str().unwrap().to_string();
    for bad in ["relative/dir", "/var/lib/with space", "/var/lib/50%", "/var/lib/quo\"te"] {
        let out = install(&s, &["--prefix", &prefix, "--textfile", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(text(&out).contains("--textfile"), "{}", text(&out));
        assert!(!s.prefix.exists(), "{bad}: nothing installed");
    }
    let out = install(&s, &["--textfile"]);
    assert_eq!(out.status.code(), Some(2));
}
