//! First boot without a running systemd: `install.sh --first-boot` into a staging `--destdir`
//! (idempotent), the staged unit checked by Debian's `systemd-analyze verify` inside that tree,
//! `jetdoc first-boot install --root` writing the same files through the executor (dry run,
//! second run, undo, hostile roots), and `first-boot status`, `record` and `backoff` on a fixture
//! root as the unit runs them. `first_boot_systemd.rs` boots the staged unit under a real systemd.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(
    install_sh_first_boot_stages_a_destdir_idempotently_and_systemd_analyze_accepts_it,
    install_sh_refuses_what_a_unit_cannot_hold_before_building,
    jetdoc_first_boot_install_writes_what_install_sh_stages,
    first_boot_install_plans_applies_once_and_undoes,
    first_boot_install_refuses_hostile_roots_and_wrong_inputs_changing_nothing,
    record_and_backoff_as_the_unit_runs_them,
    first_boot_install_with_a_bundle_verifies_it_first_and_points_the_unit_at_it,
    install_sh_stages_an_image_of_another_architecture_with_its_binary,
);

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{jetdoc, run, stderr, stdout};

const UNIT: &str = "etc/systemd/system/jetdoc-provision.service";
const LINK: &str = "etc/systemd/system/multi-user.target.wants/jetdoc-provision.service";

fn lock_text(profile: &str) -> String {
    format!("# jetdoc provision lock\nschema = 1\njetdoc = \"0.1.0\"\n\n[profile]\nname = \"{profile}\"\nsha256 = \"{}\"\n", "a".repeat(64))
}

/// A copy of what install.sh needs, the test binary as the build output, a `cargo` that does
/// nothing, and a lock file.
struct Staging {
    tmp: tempfile::TempDir,
    repo: PathBuf,
    bin: PathBuf,
    lock: PathBuf,
}

fn stage() -> Staging {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, bin) = support::stage_install_repo(tmp.path());
    let lock = tmp.path().join("locomotion.lock");
    std::fs::write(&lock, lock_text("locomotion")).unwrap();
    Staging { tmp, repo, bin, lock }
}

fn install_sh(s: &Staging, args: &[&str]) -> Output {
    let path = format!("{}:{}", s.bin.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("bash").arg(s.repo.join("install.sh")).args(args).env("PATH", path).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

fn systemd_analyze_available() -> bool {
    Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `systemd-analyze verify` of the unit as the robot will see it: `--root` is the staged tree,
/// which gets this machine's system units (targets, docker.service) so its dependencies load.
fn verify_in(root: &Path, unit: &str) -> Output {
    let units = Path::new("/usr/lib/systemd/system");
    if !root.join("usr/lib/systemd/system").exists() {
        support::copy_tree(units, &root.join("usr/lib/systemd/system"));
    }
    Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", root.display()))
        .arg(unit)
        .output()
        .unwrap()
}

fn jetdoc_in(root: &Path) -> Command {
    let mut c = jetdoc();
    c.arg("--root").arg(root);
    c
}

fn install_sh_first_boot_stages_a_destdir_idempotently_and_systemd_analyze_accepts_it() {
    let s = stage();
    let dest = s.tmp.path().join("sd");
    let args = [
        "--first-boot",
        "locomotion",
        "--lock",
        s.lock.to_str().unwrap(),
        "--destdir",
        dest.to_str().unwrap(),
    ];
    let out = install_sh(&s, &args);
    assert!(out.status.success(), "{}", text(&out));

    let unit = std::fs::read_to_string(dest.join(UNIT)).unwrap();
    let exec = |key: &str| unit.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_default().to_string();
    assert_eq!(
        exec("ExecStart="),
        "/usr/local/bin/jetdoc provision locomotion --yes --locked /etc/jetdoc/locomotion.lock"
    );
    assert_eq!(exec("ExecStopPost="), "-/usr/local/bin/jetdoc first-boot record locomotion");
    assert_eq!(
        exec("ExecStartPre="),
        "-/usr/local/bin/jetdoc first-boot backoff --restart-sec 30 --max-sec 900"
    );
    assert_eq!(
        std::fs::read_link(dest.join(LINK)).unwrap(),
        Path::new("/etc/systemd/system/jetdoc-provision.service")
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("etc/jetdoc/locomotion.lock")).unwrap(),
        lock_text("locomotion")
    );
    let bin = dest.join("usr/local/bin/jetdoc");
    assert_eq!(std::fs::metadata(&bin).unwrap().permissions().mode() & 0o777, 0o755);
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(env!("CARGO_BIN_EXE_jetdoc")).unwrap());
    let leftovers: Vec<_> = walk(&dest)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A second run: the same tree, the unit and lock not even rewritten.
    let before: Vec<(PathBuf, u64, i64, i64)> = walk(&dest)
        .into_iter()
        .filter(|p| !p.ends_with("jetdoc"))
        .map(|p| {
            let m = std::fs::symlink_metadata(&p).unwrap();
            (p, m.ino(), m.mtime(), m.mtime_nsec())
        })
        .collect();
    let again = install_sh(&s, &args);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains(&format!("unchanged {}", dest.join(UNIT).display())), "{}", text(&again));
    let after: Vec<(PathBuf, u64, i64, i64)> = walk(&dest)
        .into_iter()
        .filter(|p| !p.ends_with("jetdoc"))
        .map(|p| {
            let m = std::fs::symlink_metadata(&p).unwrap();
            (p, m.ino(), m.mtime(), m.mtime_nsec())
        })
        .collect();
    let files = |v: &[(PathBuf, u64, i64, i64)]| -> Vec<(PathBuf, u64, i64, i64)> {
        v.iter().filter(|e| !e.0.is_dir()).cloned().collect()
    };
    assert_eq!(files(&after), files(&before), "nothing rewritten");
    assert_eq!(std::fs::read_to_string(dest.join(UNIT)).unwrap(), unit);

    support::require(systemd_analyze_available(), "systemd-analyze (Debian package systemd)");
    let v = verify_in(&dest, "/etc/systemd/system/jetdoc-provision.service");
    // verify exits 0 even for unknown keys; it must say nothing at all.
    assert!(v.status.success() && text(&v).trim().is_empty(), "{}", text(&v));
    // ...and it does speak up: the same tree with one key misspelt.
    std::fs::write(dest.join(UNIT), unit.replace("Restart=on-failure", "Restart=on-failur")).unwrap();
    let v = verify_in(&dest, "/etc/systemd/system/jetdoc-provision.service");
    assert!(text(&v).contains("on-failur"), "the verifier must notice: {}", text(&v));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        }
    }
    out.sort();
    out
}

fn install_sh_refuses_what_a_unit_cannot_hold_before_building() {
    let s = stage();
    let dest = s.tmp.path().join("sd");
    let d = dest.to_str().unwrap();
    for (args, want) in [
        (vec!["--first-boot", "my robot", "--destdir", d], "only letters"),
        (vec!["--first-boot", "50%", "--destdir", d], "only letters"),
        (vec!["--first-boot", "--yes", "--destdir", d], "only letters"),
        (vec!["--first-boot", "p", "--destdir", d, "--prefix", "rel/ative"], "absolute"),
        (vec!["--lock", "x.lock", "--destdir", d], "--lock goes with --first-boot"),
        (vec!["--first-boot"], "needs a profile"),
    ] {
        let out = install_sh(&s, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(want), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("building"), "refused before building: {}", text(&out));
        assert!(!dest.exists(), "{args:?}: nothing staged");
    }
    let out = install_sh(&s, &["--first-boot", "p", "--lock", "/nonexistent.lock", "--destdir", d]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("/nonexistent.lock: no such file"), "{}", text(&out));
}

fn jetdoc_first_boot_install_writes_what_install_sh_stages() {
    let s = stage();
    let dest = s.tmp.path().join("staged");
    let out = install_sh(
        &s,
        &[
            "--first-boot",
            "locomotion",
            "--lock",
            s.lock.to_str().unwrap(),
            "--destdir",
            dest.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let root = s.tmp.path().join("sd");
    std::fs::create_dir(&root).unwrap();
    let out =
        run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--yes", "--lock"]).arg(&s.lock));
    assert!(out.status.success(), "{}", text(&out));
    for f in [UNIT, "etc/jetdoc/locomotion.lock", "usr/local/bin/jetdoc"] {
        assert_eq!(std::fs::read(root.join(f)).unwrap(), std::fs::read(dest.join(f)).unwrap(), "{f}");
    }
    assert_eq!(std::fs::read_link(root.join(LINK)).unwrap(), std::fs::read_link(dest.join(LINK)).unwrap());
    assert_eq!(
        std::fs::metadata(root.join("usr/local/bin/jetdoc")).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

fn first_boot_install_plans_applies_once_and_undoes() {
    let s = stage();
    let root = s.tmp.path().join("sd");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let install = |extra: &[&str]| {
        run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--lock"]).arg(&s.lock).args(extra))
    };

    let dry = install(&["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let plan = stdout(&dry);
    for line in [
        "  copy ",
        "  write /etc/jetdoc/locomotion.lock (the lock the robot provisions from)",
        "+ExecStart=/usr/local/bin/jetdoc provision locomotion --yes --locked /etc/jetdoc/locomotion.lock",
        "  link /etc/systemd/system/multi-user.target.wants/jetdoc-provision.service -> /etc/systemd/system/jetdoc-provision.service",
    ] {
        assert!(plan.contains(line), "{line:?} in\n{plan}");
    }
    assert_eq!(walk(&root), vec![root.join("etc")], "a dry run changes nothing");

    let json = run(jetdoc_in(&root)
        .args(["--format", "json", "first-boot", "install", "locomotion", "--dry-run", "--lock"])
        .arg(&s.lock));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let kinds: Vec<&str> =
        v["plan"]["steps"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["copy", "write", "write", "link"], "binary first, link last");

    let no = install(&[]);
    assert_eq!(no.status.code(), Some(1), "no terminal, no --yes: {}", text(&no));
    assert!(!root.join(UNIT).exists());

    let yes = install(&["--yes"]);
    assert!(yes.status.success(), "{}", text(&yes));
    assert!(
        stdout(&yes).contains("created /etc/systemd/system/multi-user.target.wants/jetdoc-provision.service")
    );
    let again = install(&["--yes"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(stdout(&again).contains("nothing to do"), "{}", text(&again));

    let st = run(jetdoc_in(&root).args(["--format", "json", "first-boot", "status"]));
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!((v["phase"].as_str(), v["enabled"].as_bool()), (Some("pending"), Some(true)));
    assert_eq!(
        v["spec"]["source"],
        serde_json::json!({"kind": "lock", "path": "/etc/jetdoc/locomotion.lock"})
    );

    // A newer lock: only the lock changes, and undo puts the old one back.
    std::fs::write(&s.lock, lock_text("locomotion").replace("0.1.0", "0.2.0")).unwrap();
    let newer = install(&["--yes", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&newer.stdout).unwrap();
    let kinds: Vec<&str> =
        v["plan"]["steps"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["write"], "{}", text(&newer));
    let undo = run(jetdoc_in(&root).args(["first-boot", "install", "--undo"]));
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(
        std::fs::read_to_string(root.join("etc/jetdoc/locomotion.lock")).unwrap(),
        lock_text("locomotion")
    );
    // The first install next: everything it created goes.
    let undo = run(jetdoc_in(&root).args(["first-boot", "install", "--undo"]));
    assert!(undo.status.success(), "{}", text(&undo));
    for f in [UNIT, LINK, "usr/local/bin/jetdoc", "etc/jetdoc/locomotion.lock"] {
        assert!(std::fs::symlink_metadata(root.join(f)).is_err(), "{f} removed");
    }
    let st = run(jetdoc_in(&root).args(["first-boot", "status"]));
    assert_eq!(st.status.code(), Some(1));
    assert!(stdout(&st).contains("not installed"), "{}", text(&st));
    let none = run(jetdoc_in(&root).args(["first-boot", "install", "--undo"]));
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("nothing to undo"), "{}", text(&none));
}

fn first_boot_install_refuses_hostile_roots_and_wrong_inputs_changing_nothing() {
    let s = stage();
    // A binary for another architecture than the root's programs.
    let root = s.tmp.path().join("arm-root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec();
    elf.extend_from_slice(&[if cfg!(target_arch = "aarch64") { 0x3e } else { 0xb7 }, 0, 1, 0, 0, 0]);
    std::fs::write(root.join("bin/sh"), &elf).unwrap();
    let out = run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--yes"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("pass --binary"), "{}", text(&out));
    assert_eq!(walk(&root), vec![root.join("bin"), root.join("bin/sh")]);

    // The lock of another profile; a file that is no lock.
    let root = s.tmp.path().join("sd");
    std::fs::create_dir(&root).unwrap();
    let other = s.tmp.path().join("other.lock");
    std::fs::write(&other, lock_text("isaacsim")).unwrap();
    let out =
        run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--yes", "--lock"]).arg(&other));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is the lock of profile `isaacsim`, not `locomotion`"), "{}", text(&out));
    std::fs::write(&other, "{ not toml").unwrap();
    let out =
        run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--yes", "--lock"]).arg(&other));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a lock file"), "{}", text(&out));
    let out = run(jetdoc_in(&root).args(["first-boot", "install", "my robot", "--yes"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot go into a systemd unit"), "{}", text(&out));
    assert!(walk(&root).is_empty(), "nothing written: {:?}", walk(&root));

    // A directory where the enablement link goes.
    std::fs::create_dir_all(root.join(LINK)).unwrap();
    let out = run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--yes"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("is a directory, not a link"), "{}", text(&out));
    assert!(!root.join(UNIT).exists());
    std::fs::remove_dir_all(root.join("etc")).unwrap();

    // The root's /etc/systemd/system is an absolute link: it means that path inside the root,
    // never this machine's.
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.join("etc/systemd")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("etc/systemd/system")).unwrap();
    let out = run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--yes"]));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing outside the root");
    let inside = root.join(outside.path().strip_prefix("/").unwrap());
    assert!(inside.join("jetdoc-provision.service").is_file());
    assert!(inside.join("multi-user.target.wants/jetdoc-provision.service").is_symlink());
}

/// What systemd passes to ExecStopPost after a run.
fn record(root: &Path, result: &str, code: &str, status: &str) -> Output {
    run(jetdoc_in(root)
        .args(["first-boot", "record", "locomotion"])
        .env("SERVICE_RESULT", result)
        .env("EXIT_CODE", code)
        .env("EXIT_STATUS", status))
}

fn record_and_backoff_as_the_unit_runs_them() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let boot = root.join("proc/sys/kernel/random");
    std::fs::create_dir_all(&boot).unwrap();
    std::fs::write(boot.join("boot_id"), "11111111-2222-3333-4444-555555555555\n").unwrap();
    // provision's own state is kept as it is.
    std::fs::create_dir_all(root.join("var/lib/jetdoc")).unwrap();
    std::fs::write(
        root.join("var/lib/jetdoc/state.json"),
        r#"{"schema":1,"profiles":{"locomotion":{"profile":"locomotion","source":"builtin:locomotion",
            "profile_sha256":"aa","result":"failed","started":"2026-11-29T23:56:53Z","finished":null,
            "image":null,"lock_sha256":null,"failed_step":"fetch","message":null,"resume":null,"x":1}}}"#,
    )
    .unwrap();

    let out = record(root, "exit-code", "exited", "1");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains(
            "attempt 1 of `jetdoc provision locomotion` failed (exit status 1); systemd starts it again"
        ),
        "{}",
        text(&out)
    );
    // The backoff after one failure is the unit's RestartSec alone: no extra wait.
    let t = std::time::Instant::now();
    let out = run(jetdoc_in(root).args(["first-boot", "backoff", "--restart-sec", "1", "--max-sec", "4"]));
    assert!(out.status.success() && stdout(&out).is_empty(), "{}", text(&out));
    assert!(t.elapsed().as_secs_f64() < 1.0);
    record(root, "exit-code", "exited", "1");
    let t = std::time::Instant::now();
    let out = run(jetdoc_in(root).args(["first-boot", "backoff", "--restart-sec", "1", "--max-sec", "4"]));
    assert!(stdout(&out).contains("2 failed attempt(s) in this boot; waiting 1 s more"), "{}", text(&out));
    assert!(t.elapsed().as_secs_f64() >= 1.0);

    let out = record(root, "exit-code", "exited", "2");
    assert!(stdout(&out).contains("not retried in this boot"), "{}", text(&out));
    let st = run(jetdoc_in(root).args(["first-boot", "status"]));
    assert_eq!(st.status.code(), Some(1), "failed attempts need a person: {}", text(&st));
    assert!(stdout(&st).contains("not succeeded yet"), "{}", text(&st));
    assert!(stdout(&st).contains("attempt 3 at "), "{}", text(&st));
    assert!(stdout(&st).contains(": failed (exit status 2)"), "{}", text(&st));
    // `jetdoc status` tells it too, beside what provision recorded.
    let st = run(jetdoc_in(root).args(["status"]));
    assert_eq!(st.status.code(), Some(1), "{}", text(&st));
    assert!(stdout(&st).contains("first boot: not succeeded yet"), "{}", text(&st));
    assert!(stdout(&st).contains("attempts  3 in 1 boot(s)"), "{}", text(&st));
    assert!(stdout(&st).contains("locomotion  failed"), "{}", text(&st));

    let out = record(root, "success", "exited", "0");
    assert!(stdout(&out).contains("succeeded (attempt 4)"), "{}", text(&out));
    assert!(root.join("var/lib/jetdoc/first-boot.done").is_file());
    let st = run(jetdoc_in(root).args(["--format", "json", "first-boot", "status"]));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["phase"], "done");
    assert_eq!(v["record"]["attempts"], 4);
    assert_eq!(v["record"]["last"]["success"], true);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("var/lib/jetdoc/state.json")).unwrap()).unwrap();
    assert_eq!(state["profiles"]["locomotion"]["x"], 1, "provision's members kept");
    assert_eq!(state["first_boot"]["boots"], 1);
    let st = run(jetdoc_in(root).args(["--format", "json", "status"]));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["first_boot"]["phase"], "done", "{v}");
    assert_eq!(v["first_boot"]["record"]["succeeded"], v["first_boot"]["record"]["last"]["time"]);
    assert_eq!(v["profiles"]["locomotion"]["result"], "failed");
    let st = run(jetdoc_in(root).args(["status"]));
    assert!(stdout(&st).contains("first boot: done"), "{}", text(&st));
    assert!(stdout(&st).contains(": succeeded (exit status 0)"), "{}", text(&st));
}

/// A small bundle of `profile` (lock and a wheel; no image), made with jetdoc's writer.
fn small_bundle(dir: &Path, profile: &str) -> PathBuf {
    use jetdoc::bundle::manifest::{Compression, Kind};
    use jetdoc::bundle::write::{self, FilePart, Parts};
    let wheel = dir.join("w-1.0-py3-none-any.whl");
    std::fs::write(&wheel, b"PK wheel bytes").unwrap();
    let out = dir.join("robot.bundle");
    write::write(
        &out,
        Parts {
            profile: profile.into(),
            device: "L4T 36.4.3".into(),
            lock: lock_text(profile).into_bytes(),
            image: None,
            files: vec![FilePart {
                kind: Kind::Wheel,
                path: wheel,
                file_name: "w-1.0-py3-none-any.whl".into(),
                sha256: None,
            }],
            compression: Compression::Zstd,
            level: 3,
        },
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    out
}

fn first_boot_install_with_a_bundle_verifies_it_first_and_points_the_unit_at_it() {
    let s = stage();
    let bundle = small_bundle(s.tmp.path(), "locomotion");
    let root = s.tmp.path().join("sd");
    std::fs::create_dir(&root).unwrap();

    // One byte changed: refused before anything is written, the member named.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.windows(8).position(|w| w == b"PK wheel").unwrap();
    bytes[at] ^= 1;
    let bad = s.tmp.path().join("bad.bundle");
    std::fs::write(&bad, &bytes).unwrap();
    let out =
        run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--yes", "--bundle"]).arg(&bad));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("bundle member wheels/w-1.0-py3-none-any.whl was changed"),
        "{}",
        text(&out)
    );
    assert!(walk(&root).is_empty());
    let out = run(jetdoc_in(&root)
        .args(["first-boot", "install", "testing-arm", "--yes", "--bundle"])
        .arg(&bundle));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is a bundle of profile `locomotion`, not `testing-arm`"),
        "{}",
        text(&out)
    );

    let out =
        run(jetdoc_in(&root).args(["first-boot", "install", "locomotion", "--yes", "--bundle"]).arg(&bundle));
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains("verified: every member matches its manifest"), "{}", text(&out));
    let unit = std::fs::read_to_string(root.join(UNIT)).unwrap();
    assert!(unit.contains("\nExecStart=/usr/local/bin/jetdoc provision locomotion --yes --bundle /var/lib/jetdoc/bundles/robot.bundle\n"), "{unit}");
    assert_eq!(
        std::fs::read(root.join("var/lib/jetdoc/bundles/robot.bundle")).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
    let st = run(jetdoc_in(&root).args(["first-boot", "status"]));
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
}

/// The first 24 bytes of an ELF executable for `machine` (e_machine): enough for install.sh's
/// and jetdoc's architecture checks; it does not run.
fn elf(machine: u8) -> Vec<u8> {
    let mut h = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec();
    h.extend_from_slice(&[machine, 0, 1, 0, 0, 0]);
    h
}

fn install_sh_stages_an_image_of_another_architecture_with_its_binary() {
    let s = stage();
    let (other, other_name) =
        if cfg!(target_arch = "aarch64") { (0x3e, "x86_64") } else { (0xb7, "aarch64") };
    // A Jetson image: its shell (a link, as on Ubuntu) is for the other architecture.
    let sd = s.tmp.path().join("sd");
    std::fs::create_dir_all(sd.join("usr/bin")).unwrap();
    std::fs::write(sd.join("usr/bin/dash"), elf(other)).unwrap();
    std::fs::create_dir_all(sd.join("bin")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/dash", sd.join("bin/sh")).unwrap();
    let d = sd.to_str().unwrap();

    // cargo builds for this machine: refused, naming the binary to pass.
    let out = install_sh(&s, &["--first-boot", "locomotion", "--destdir", d]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&format!("pass --binary jetdoc-{other_name}")), "{}", text(&out));
    assert!(!sd.join("usr/local").exists(), "nothing staged");

    // A binary for the image's architecture: staged without being started here.
    let bin = s.tmp.path().join(format!("jetdoc-{other_name}"));
    std::fs::write(&bin, elf(other)).unwrap();
    let out =
        install_sh(&s, &["--first-boot", "locomotion", "--destdir", d, "--binary", bin.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("built for {other_name}; not started here")), "{}", text(&out));
    assert_eq!(std::fs::read(sd.join("usr/local/bin/jetdoc")).unwrap(), elf(other));
    assert!(sd.join(UNIT).is_file() && sd.join(LINK).is_symlink());
    // ...and this machine's binary is refused for that image.
    let out = install_sh(
        &s,
        &["--first-boot", "locomotion", "--destdir", d, "--binary", env!("CARGO_BIN_EXE_jetdoc")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&format!("but {d} is {other_name}")), "{}", text(&out));
    // jetdoc first-boot install says the same of this binary on that root.
    let out = run(jetdoc_in(&sd).args(["first-boot", "install", "locomotion", "--dry-run"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains(&format!("the root at {d} is {other_name}")), "{}", text(&out));
}
