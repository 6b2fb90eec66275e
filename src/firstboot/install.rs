//! `jetdoc first-boot install`: the plan that puts first boot into a root filesystem (a mounted
//! SD card, an `l4t_flash` rootfs) — the binary, the lock or the bundle, the unit and its
//! enablement link — as steps of the one executor, so `--dry-run`, the journal and undo come with
//! it. Planning reads only; a second install of the same files plans nothing.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::record::MARKER;
use super::unit::{Source, UnitSpec, BUNDLE_DIR, LOCK_DIR, UNIT_PATH, WANTS_LINK};
use crate::host::Host;
use crate::steps::{CopyFile, Plan, Symlink, WriteFile};

/// The plan's name, in the journal (`fix`) and the outcome.
pub const PLAN: &str = "first-boot";

/// What to install.
#[derive(Debug, Clone)]
pub struct Request {
    pub profile: String,
    /// A lock file on this machine (`--lock`).
    pub lock: Option<PathBuf>,
    /// A bundle on this machine (`--bundle`).
    pub bundle: Option<PathBuf>,
    /// The jetdoc binary to install (this machine's path).
    pub binary: PathBuf,
    /// Where the binary goes on the robot.
    pub target_binary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Unit(#[from] super::unit::UnitError),
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("{binary} is a program for {binary_arch}, but the root at {root} is {root_arch}: pass --binary with a jetdoc built for {root_arch} (scripts/ builds one for aarch64)")]
    Arch { binary: String, binary_arch: String, root: String, root_arch: String },
    #[error(transparent)]
    Host(#[from] crate::host::HostError),
}

fn input(path: &Path, message: impl Into<String>) -> InstallError {
    InstallError::Input { path: path.display().to_string(), message: message.into() }
}

/// The architecture an ELF file is for, from its header's `e_machine`; `None` for anything that
/// is not an ELF file.
pub fn elf_arch(header: &[u8]) -> Option<&'static str> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return None;
    }
    // e_machine is at offset 18, in the file's byte order (EI_DATA: 1 little, 2 big endian).
    let m = if header[5] == 2 {
        u16::from_be_bytes([header[18], header[19]])
    } else {
        u16::from_le_bytes([header[18], header[19]])
    };
    Some(match m {
        0x3e => "x86_64",
        0xb7 => "aarch64",
        0x28 => "arm",
        0x03 => "i386",
        0xf3 => "riscv64",
        _ => "another architecture",
    })
}

/// The first bytes of a file (on this machine).
fn header_of(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(64);
    std::fs::File::open(path)?.take(64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The architecture of the root's programs, from the shell every root has (`None` when the root
/// has none: a fixture, a partial image).
fn root_arch(host: &Host) -> Option<&'static str> {
    ["/bin/sh", "/usr/bin/sh", "/usr/bin/env"].iter().find_map(|p| {
        let (file, _) = host.open_file(p).ok()??;
        let mut buf = Vec::with_capacity(64);
        file.take(64).read_to_end(&mut buf).ok()?;
        elf_arch(&buf)
    })
}

/// The lock's profile name, when the file says (`[profile] name = ...`). The lock's layout is
/// provision's; only this one field is looked at here, to catch a lock for another profile.
fn lock_profile(text: &str) -> Result<Option<String>, String> {
    let value: toml::Table = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
    Ok(value.get("profile").and_then(|p| p.get("name")).and_then(|n| n.as_str()).map(str::to_string))
}

/// A file's name, for its path on the robot.
fn file_name(path: &Path) -> Result<String, InstallError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| input(path, "has no file name"))
}

/// Plans the install into `host`'s root. Reads only.
pub fn plan(host: &Host, req: &Request) -> Result<Plan, InstallError> {
    let mut plan = Plan::new(PLAN);
    let bin_header = header_of(&req.binary).map_err(|e| input(&req.binary, format!("cannot read: {e}")))?;
    let Some(bin_arch) = elf_arch(&bin_header) else {
        return Err(input(
            &req.binary,
            "is not a program (no ELF header): pass --binary with the jetdoc binary",
        ));
    };
    match root_arch(host) {
        Some(arch) if arch != bin_arch => {
            return Err(InstallError::Arch {
                binary: req.binary.display().to_string(),
                binary_arch: bin_arch.into(),
                root: host.root().display().to_string(),
                root_arch: arch.into(),
            })
        }
        Some(_) => {}
        None => plan.notes.push(format!(
            "{} has no /bin/sh to tell its architecture by: make sure {} ({bin_arch}) runs there",
            host.root().display(),
            req.binary.display()
        )),
    }

    let source = match (&req.lock, &req.bundle) {
        (Some(lock), None) => {
            let name = file_name(lock)?;
            let text = std::fs::read_to_string(lock).map_err(|e| input(lock, format!("cannot read: {e}")))?;
            match lock_profile(&text) {
                Err(e) => return Err(input(lock, format!("is not a lock file (TOML: {e}); write one with `jetdoc provision PROFILE --lock FILE`"))),
                Ok(Some(p)) if p != req.profile => {
                    return Err(input(lock, format!("is the lock of profile `{p}`, not `{}`", req.profile)))
                }
                Ok(_) => {}
            }
            Source::Lock(format!("{LOCK_DIR}/{name}"))
        }
        (None, Some(bundle)) => {
            // A bundle damaged on its way to this machine is found now, not on the robot.
            let manifest = crate::bundle::verify(bundle).map_err(|e| input(bundle, e.to_string()))?;
            if manifest.profile != req.profile {
                return Err(input(
                    bundle,
                    format!("is a bundle of profile `{}`, not `{}`", manifest.profile, req.profile),
                ));
            }
            plan.notes.push(format!(
                "{} verified: every member matches its manifest (profile {}, for {})",
                bundle.display(),
                manifest.profile,
                manifest.device
            ));
            Source::Bundle(format!("{BUNDLE_DIR}/{}", file_name(bundle)?))
        }
        (None, None) => Source::Profile,
        (Some(_), Some(_)) => {
            return Err(InstallError::Input {
                path: "--lock/--bundle".into(),
                message: "give one: a bundle carries its own lock".into(),
            })
        }
    };
    let spec =
        UnitSpec { binary: req.target_binary.clone(), profile: req.profile.clone(), source: source.clone() };
    let unit = spec.render()?;

    // The binary first and the link last: at no point is a unit enabled whose program is missing.
    let copy = |src: &Path, to: &str, mode: u32, why: &str| -> Result<Option<CopyFile>, InstallError> {
        let before = host.sha256_file(to)?;
        let step = CopyFile::plan(src.to_path_buf(), to, mode, before, why)
            .map_err(|e| input(src, format!("cannot read: {e}")))?;
        Ok((!step.is_noop()).then_some(step))
    };
    if let Some(step) = copy(&req.binary, &req.target_binary, 0o755, "the jetdoc the unit runs")? {
        plan.push(step);
    }
    match (&source, &req.lock, &req.bundle) {
        (Source::Lock(to), Some(lock), _) => {
            let bytes = std::fs::read(lock).map_err(|e| input(lock, format!("cannot read: {e}")))?;
            let before = host.read_file(to)?.map(|f| f.bytes);
            if before.as_deref() != Some(&bytes[..]) {
                plan.push(WriteFile::new(to, before, bytes, "the lock the robot provisions from"));
            }
        }
        (Source::Bundle(to), _, Some(bundle)) => {
            if let Some(step) = copy(bundle, to, 0o644, "everything the provision needs, for a robot without network")? {
                plan.push(step);
            }
        }
        _ => plan.notes.push(format!(
            "no lock: the robot resolves profile `{}` itself at first boot (robots flashed on different days may get different images); `--lock FILE` pins them",
            req.profile
        )),
    }
    let before = host.read_file(UNIT_PATH)?.map(|f| f.bytes);
    if before.as_deref() != Some(unit.as_bytes()) {
        plan.push(WriteFile::new(
            UNIT_PATH,
            before,
            unit.into_bytes(),
            "runs the provision at first boot until it succeeds",
        ));
    }
    match host.link_at(WANTS_LINK)? {
        Some(Ok(t)) if t == UNIT_PATH => {}
        Some(Ok(t)) => {
            plan.push(Symlink::new(WANTS_LINK, UNIT_PATH, Some(t), "enable it (systemctl enable)"))
        }
        None => plan.push(Symlink::new(WANTS_LINK, UNIT_PATH, None, "enable it (systemctl enable)")),
        Some(Err(kind)) => {
            return Err(InstallError::Input {
                path: host.shown(WANTS_LINK),
                message: format!("is {kind}, not a link: move it away, then install again"),
            })
        }
    }
    if host.read_file(MARKER)?.is_some() {
        plan.notes.push(format!(
            "{} exists: first boot already succeeded on this root, so the unit will not run; remove that file to provision again at the next boot",
            host.shown(MARKER)
        ));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_headers_name_their_architecture() {
        let mut h = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec();
        h.extend_from_slice(&[0xb7, 0]);
        assert_eq!(elf_arch(&h), Some("aarch64"));
        h[18] = 0x3e;
        assert_eq!(elf_arch(&h), Some("x86_64"));
        assert_eq!(elf_arch(b"#!/bin/sh\necho not elf at all\n"), None);
        assert_eq!(elf_arch(b"\x7fELF"), None, "too short");
        let this = header_of(Path::new("/proc/self/exe")).unwrap();
        assert_eq!(elf_arch(&this), Some(std::env::consts::ARCH));
    }

    #[test]
    fn the_lock_profile_is_read_without_the_rest_of_the_format() {
        assert_eq!(lock_profile("schema = 1\n[profile]\nname = \"x\"\n").unwrap().as_deref(), Some("x"));
        assert_eq!(lock_profile("schema = 1\n").unwrap(), None);
        assert!(lock_profile("{}").is_err());
    }
}
