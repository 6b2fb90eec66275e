//! What a bundle is made against, on a workstation: a scratch root that describes the robot
//! (its L4T release, device tree, dpkg status, CUDA and Python), so that `provision` resolves
//! the profile for the robot, not for the workstation, while it fetches and builds with the
//! workstation's network and Docker. The scratch root also takes the provision's state and
//! journal, and is thrown away with them: nothing is written into the robot's root.

use std::path::Path;

use super::write::FilePart;
use super::Kind;
use crate::fetch::Cache;
use crate::host::Host;
use crate::provision::lock::Lock;

/// The files of a root that describe the device (the probes' inputs that resolution reads).
const IDENTITY: &[&str] = &[
    "/etc/nv_tegra_release",
    "/etc/os-release",
    "/proc/device-tree/model",
    "/proc/device-tree/compatible",
    "/sys/firmware/devicetree/base/model",
    "/sys/firmware/devicetree/base/compatible",
    "/var/lib/dpkg/status",
];

fn put(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), String> {
    let p = dir.join(rel.trim_start_matches('/'));
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: cannot create: {e}", parent.display()))?;
    }
    std::fs::write(&p, bytes).map_err(|e| format!("{}: cannot write: {e}", p.display()))
}

/// A scratch root with the identity files of `root` (read through the Host: nothing outside
/// `root` is followed). Returns the files copied.
pub fn scratch_from_root(dir: &Path, root: &Host) -> Result<Vec<String>, String> {
    let mut copied = Vec::new();
    for rel in IDENTITY {
        if let Some(f) = root.read_file(rel).map_err(|e| e.to_string())? {
            put(dir, rel, &f.bytes)?;
            copied.push(rel.to_string());
        }
    }
    // CUDA's version file of each toolkit (`/usr/local/cuda-12.6/version.json`).
    if let Ok(entries) = root.read_dir("/usr/local") {
        for name in entries.iter().filter(|n| n.starts_with("cuda")) {
            let rel = format!("/usr/local/{name}/version.json");
            if let Some(f) = root.read_file(&rel).map_err(|e| e.to_string())? {
                put(dir, &rel, &f.bytes)?;
                copied.push(rel);
            }
        }
    }
    // The Python version is the interpreter's file name: the link and an empty file.
    if let Ok(real) = root.canonical("/usr/bin/python3") {
        if let Some(name) = real.rsplit('/').next().filter(|n| n.starts_with("python3.")) {
            put(dir, &format!("/usr/bin/{name}"), b"")?;
            let link = dir.join("usr/bin/python3");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(name, &link).map_err(|e| format!("{}: {e}", link.display()))?;
            copied.push("/usr/bin/python3".into());
        }
    }
    if !copied.iter().any(|c| c == "/etc/nv_tegra_release" || c == "/var/lib/dpkg/status") {
        return Err(format!(
            "{} has neither /etc/nv_tegra_release nor /var/lib/dpkg/status: not a Jetson's root filesystem (or not mounted); pass --l4t X.Y instead",
            root.root().display()
        ));
    }
    Ok(copied)
}

/// A scratch root for an L4T release (`36.4` or `36.4.3`): the release file and the
/// `nvidia-l4t-core` package of an arm64 Jetson. JetPack and CUDA follow from the release
/// table, as on a robot without a CUDA toolkit installed.
pub fn scratch_for_l4t(dir: &Path, l4t: &str) -> Result<(), String> {
    let parts: Vec<&str> = l4t.trim_start_matches(['R', 'r']).split('.').collect();
    let num = |s: &str| s.parse::<u32>().ok();
    let (major, minor, patch) = match parts[..] {
        [a, b] => (num(a), num(b), Some(0)),
        [a, b, c] => (num(a), num(b), num(c)),
        _ => (None, None, None),
    };
    let (Some(major), Some(minor), Some(patch)) = (major, minor, patch) else {
        return Err(format!("--l4t {l4t}: an L4T release is MAJOR.MINOR or MAJOR.MINOR.PATCH, like 36.4"));
    };
    put(
        dir,
        "/etc/nv_tegra_release",
        format!("# R{major} (release), REVISION: {minor}.{patch}, GCID: 0, BOARD: generic, EABI: aarch64, DATE: (jetdoc bundle --l4t {l4t})\n").as_bytes(),
    )?;
    put(
        dir,
        "/var/lib/dpkg/status",
        // `dpkg`'s own architecture is the machine's.
        format!("Package: dpkg\nStatus: install ok installed\nArchitecture: arm64\nVersion: 1.21.1ubuntu2\nDescription: dpkg (jetdoc bundle --l4t)\n\nPackage: nvidia-l4t-core\nStatus: install ok installed\nArchitecture: arm64\nVersion: {major}.{minor}.{patch}-0\nDescription: nvidia-l4t-core (jetdoc bundle --l4t)\n\n").as_bytes(),
    )?;
    Ok(())
}

/// The files a bundle carries for a lock: the ZED SDK installer and pyzed, and every wheel,
/// from the download cache (by sha256), or the provision's wheel directory.
pub fn files_for_lock(lock: &Lock, cache: &Cache) -> Result<Vec<FilePart>, String> {
    let find = |sha: &str, file_name: &str| {
        let blob = cache.blob(sha);
        if blob.is_file() {
            return Ok(blob);
        }
        let wheel = cache.root.join("provision-wheels").join(file_name);
        if wheel.is_file() {
            return Ok(wheel);
        }
        Err(format!(
            "{file_name} (sha256 {sha}) is not in the cache {}: the provision fetched it, so the cache was cleaned meanwhile; run `jetdoc bundle` again",
            cache.root.display()
        ))
    };
    let mut out = Vec::new();
    for a in &lock.artifacts {
        let kind = match a.kind.as_str() {
            "zed-installer" => Kind::ZedInstaller,
            "pyzed" => Kind::Pyzed,
            other => return Err(format!("the lock names an artifact of an unknown kind `{other}`")),
        };
        out.push(FilePart {
            kind,
            path: find(&a.sha256, &a.file_name)?,
            file_name: a.file_name.clone(),
            sha256: Some(a.sha256.clone()),
        });
    }
    for w in &lock.wheels {
        out.push(FilePart {
            kind: Kind::Wheel,
            path: find(&w.sha256, &w.file_name)?,
            file_name: w.file_name.clone(),
            sha256: Some(w.sha256.clone()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_l4t_release_makes_a_root_the_probes_read_as_that_jetson() {
        let dir = tempfile::tempdir().unwrap();
        scratch_for_l4t(dir.path(), "36.4").unwrap();
        let text = std::fs::read_to_string(dir.path().join("etc/nv_tegra_release")).unwrap();
        assert!(text.starts_with("# R36 (release), REVISION: 4.0,"), "{text}");
        let host = Host::with_root(
            dir.path(),
            Box::new(crate::host::OfflineRunner),
            crate::host::EnvSource::Map(Default::default()),
        )
        .unwrap();
        let ctx = crate::context::Context::new(host, crate::knowledge::Knowledge::load(None).unwrap());
        let d = crate::provision::device::Device::probe(&ctx);
        assert_eq!((d.jetson, d.arch.as_deref(), d.l4t.as_deref()), (true, Some("arm64"), Some("36.4.0")));
        assert_eq!(d.jetpack.as_deref(), Some("6.1"), "from the release table");
        assert!(scratch_for_l4t(dir.path(), "36").unwrap_err().contains("MAJOR.MINOR"));
        assert!(scratch_for_l4t(dir.path(), "36.x").is_err());
    }
}
