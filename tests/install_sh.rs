//! install.sh with a temporary --prefix: a prebuilt binary (given, or found beside the script) is
//! installed without cargo; a binary for another architecture, one that does not start and a
//! file that is no program are refused with nothing installed. The cargo path runs with a
//! stand-in `cargo` that checks its arguments and places the binary `cargo test` built (a real
//! release build would take minutes and prove nothing about install.sh).
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::stderr;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// install.sh with a PATH that has no cargo on it: a prebuilt install must not need one.
fn install_sh(script: &Path, args: &[&std::ffi::OsStr]) -> Output {
    Command::new("bash")
        .arg(script)
        .args(args)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap()
}

fn jetdoc_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_jetdoc"))
}

fn version_of(bin: &Path) -> String {
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The machine as install.sh sees it (`uname -m`). Not `std::env::consts::ARCH`: under qemu-user
/// (scripts/aarch64.sh test) this test is aarch64 while install.sh's shell is the x86_64 host's.
fn machine() -> String {
    let out = Command::new("uname").arg("-m").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The architecture an ELF file is built for, from its e_machine field.
fn elf_arch(path: &Path) -> &'static str {
    let bytes = std::fs::read(path).unwrap();
    match u16::from_le_bytes([bytes[18], bytes[19]]) {
        0x3e => "x86_64",
        0xb7 => "aarch64",
        _ => "other",
    }
}

/// Whether the jetdoc under test runs natively here; under qemu-user it is foreign to install.sh,
/// which must then refuse it (and that is asserted instead).
fn jetdoc_is_native() -> bool {
    elf_arch(jetdoc_bin()) == machine()
}

fn assert_refused_as_foreign(out: &Output) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    let expected = format!("is built for {}, but this machine is {}", elf_arch(jetdoc_bin()), machine());
    assert!(stderr(out).contains(&expected), "{}", stderr(out));
}

/// A 64-bit ELF header for the other architecture than this machine's (the e_machine field is
/// all install.sh reads), padded like a real file.
fn foreign_elf(path: &Path) -> &'static str {
    let (machine, name): (u16, &str) =
        if machine() == "aarch64" { (0x3e, "x86_64") } else { (0xb7, "aarch64") };
    let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    header.resize(16, 0);
    header.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
    header.extend_from_slice(&machine.to_le_bytes());
    header.resize(4096, 0);
    std::fs::write(path, header).unwrap();
    name
}

#[test]
fn given_binary_is_installed_without_building() {
    let prefix = tempfile::tempdir().unwrap();
    let out = install_sh(
        &repo().join("install.sh"),
        &["--prefix".as_ref(), prefix.path().as_os_str(), "--binary".as_ref(), jetdoc_bin().as_os_str()],
    );
    if !jetdoc_is_native() {
        return assert_refused_as_foreign(&out);
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let installed = prefix.path().join("bin/jetdoc");
    assert!(stderr(&out).contains("installed the prebuilt binary"), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was built"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&installed).unwrap(), std::fs::read(jetdoc_bin()).unwrap());
    assert_eq!(version_of(&installed), version_of(jetdoc_bin()));
    // no temporary file left beside it
    let left: Vec<_> =
        std::fs::read_dir(prefix.path().join("bin")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("jetdoc")]);
}

#[test]
fn binary_beside_install_sh_is_found_and_a_relative_prefix_is_the_callers() {
    let release = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("install.sh"), release.path().join("install.sh")).unwrap();
    let shipped = release.path().join(format!("jetdoc-{}", machine()));
    std::fs::copy(jetdoc_bin(), &shipped).unwrap();
    let caller = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(release.path().join("install.sh"))
        .args(["--prefix", "here"])
        .current_dir(caller.path())
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap();
    assert!(stderr(&out).contains("found a prebuilt binary beside install.sh"), "{}", stderr(&out));
    if !jetdoc_is_native() {
        return assert_refused_as_foreign(&out);
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(&shipped.display().to_string()), "{}", stderr(&out));
    let installed = caller.path().join("here/bin/jetdoc");
    assert_eq!(version_of(&installed), version_of(jetdoc_bin()));
}

#[test]
fn binary_for_another_architecture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("jetdoc-foreign");
    let arch = foreign_elf(&foreign);
    let prefix = dir.path().join("prefix");
    let out = install_sh(
        &repo().join("install.sh"),
        &["--prefix".as_ref(), prefix.as_os_str(), "--binary".as_ref(), foreign.as_os_str()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(msg.contains(&format!("is built for {arch}, but this machine is {}", machine())), "{msg}");
    assert!(msg.contains("nothing installed"), "{msg}");
    assert!(!prefix.join("bin/jetdoc").exists());
}

#[test]
fn binary_that_does_not_start_is_refused_and_nothing_is_left() {
    // /bin/false is a program of this architecture that fails, as one linked against a newer
    // glibc than the system's fails to start.
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("prefix");
    let out = install_sh(
        &repo().join("install.sh"),
        &["--prefix".as_ref(), prefix.as_os_str(), "--binary".as_ref(), "/bin/false".as_ref()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not run on this machine"), "{}", stderr(&out));
    assert!(!prefix.join("bin/jetdoc").exists());
    assert_eq!(std::fs::read_dir(prefix.join("bin")).unwrap().count(), 0, "the temporary copy is removed");
}

#[test]
fn a_file_that_is_no_program_or_missing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("jetdoc");
    std::fs::write(&script, "#!/bin/sh\necho jetdoc 9.9\n").unwrap();
    let prefix = dir.path().join("prefix");
    let out = install_sh(
        &repo().join("install.sh"),
        &["--prefix".as_ref(), prefix.as_os_str(), "--binary".as_ref(), script.as_os_str()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("is not a program (no ELF executable)"), "{}", stderr(&out));
    let missing = dir.path().join("nope");
    let out = install_sh(
        &repo().join("install.sh"),
        &["--prefix".as_ref(), prefix.as_os_str(), "--binary".as_ref(), missing.as_os_str()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));
    assert!(!prefix.join("bin/jetdoc").exists());
}

#[test]
fn without_a_binary_or_cargo_it_says_how_to_get_either() {
    // A copy of install.sh alone (nothing beside it) on a PATH without cargo.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("install.sh"), dir.path().join("install.sh")).unwrap();
    let out =
        install_sh(&dir.path().join("install.sh"), &["--prefix".as_ref(), dir.path().join("p").as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(msg.contains("cargo (the Rust toolchain) is not installed"), "{msg}");
    assert!(msg.contains(&format!("--binary jetdoc-{}", machine())), "{msg}");
}

#[test]
fn without_a_binary_it_builds_with_cargo_and_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("install.sh"), dir.path().join("install.sh")).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // The stand-in refuses anything but the build install.sh promises (release, locked).
    let cargo = format!(
        "#!/bin/sh\n[ \"$*\" = 'build --release --locked --quiet' ] || {{ echo \"unexpected: cargo $*\" >&2; exit 3; }}\n\
         mkdir -p \"$CARGO_TARGET_DIR/release\" && cp '{}' \"$CARGO_TARGET_DIR/release/jetdoc\"\n",
        jetdoc_bin().display()
    );
    std::fs::write(bin.join("cargo"), cargo).unwrap();
    std::fs::set_permissions(bin.join("cargo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let prefix = dir.path().join("prefix");
    let out = Command::new("bash")
        .arg(dir.path().join("install.sh"))
        .args(["--prefix".as_ref(), prefix.as_os_str()])
        .env("PATH", format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bin.display()))
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(
        msg.contains(&format!("built with cargo and installed {}/bin/jetdoc", prefix.display())),
        "{msg}"
    );
    assert!(!msg.contains("prebuilt"), "{msg}");
    if jetdoc_is_native() {
        assert_eq!(version_of(&prefix.join("bin/jetdoc")), version_of(jetdoc_bin()));
    }
}
