//! The lock file of a provision (`--lock FILE` writes it, `--locked FILE` reproduces it): the
//! profile's sha256, the device it was resolved for, the base image by digest, and every download
//! by URL, size and sha256. Another robot provisioned `--locked` gets exactly these inputs or
//! stops, naming each difference.
//!
//! A locally built image's own ID is recorded too, but it is not reproducible bit for bit
//! (Docker's classic builder stamps creation times into each layer's config): what a lock
//! guarantees is the same base digest, the same bytes of every download and the same profile,
//! which the built image carries in its labels (`io.jetdoc.lock.sha256`).

use serde::{Deserialize, Serialize};

/// The lock's layout version.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub schema: u32,
    /// The jetdoc version that wrote it.
    pub jetdoc: String,
    pub profile: LockProfile,
    pub device: LockDevice,
    pub base: LockBase,
    pub image: LockImage,
    #[serde(default)]
    pub artifacts: Vec<LockArtifact>,
    #[serde(default)]
    pub wheels: Vec<LockWheel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockProfile {
    pub name: String,
    pub sha256: String,
}

/// What the lock was resolved for: another robot must match on all of it but the L4T patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockDevice {
    /// `jetson` or `x86_64`.
    pub platform: String,
    pub arch: Option<String>,
    pub l4t: Option<String>,
    pub jetpack: Option<String>,
    pub cuda: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockBase {
    pub reference: String,
    /// `sha256:...` of the manifest (a registry's `RepoDigest`), pulled by it on `--locked`.
    pub digest: String,
    pub python: Option<String>,
    pub layers: Option<usize>,
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockImage {
    pub tag: String,
    /// The image ID built on the robot that wrote the lock (informational: see the module doc).
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockArtifact {
    /// `zed-installer`, `pyzed`.
    pub kind: String,
    pub url: String,
    /// The file name the server gave it (the redirect's target for the ZED SDK).
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockWheel {
    pub name: String,
    pub version: String,
    pub file_name: String,
    pub url: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read lock file {path}: {source}\n  pass the lock file another robot wrote with `jetdoc provision PROFILE --lock FILE`")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}\n  the lock file is damaged or from another jetdoc version: write it again with --lock")]
    Parse { path: String, line: usize, column: usize, message: String },
    #[error("{path}: lock schema {found}, this jetdoc reads schema {SCHEMA}: write it again with this version's --lock")]
    Schema { path: String, found: u32 },
}

impl Lock {
    pub fn parse(text: &str, origin: &str) -> Result<Lock, LockError> {
        let lock: Lock = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| super::locate::line_col(text, s.start)).unwrap_or((1, 1));
            LockError::Parse {
                path: origin.into(),
                line,
                column,
                message: e.message().trim().replace('\n', "; "),
            }
        })?;
        if lock.schema != SCHEMA {
            return Err(LockError::Schema { path: origin.into(), found: lock.schema });
        }
        Ok(lock)
    }

    pub fn read(path: &std::path::Path) -> Result<Lock, LockError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| LockError::Read { path: path.display().to_string(), source })?;
        Lock::parse(&text, &path.display().to_string())
    }

    /// The file's text: TOML, stable key order, with a header saying what it is.
    pub fn to_text(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# jetdoc provision lock: `jetdoc provision {} --locked THIS_FILE` reproduces these inputs\n# on another robot, or stops naming each difference. Do not edit by hand.\n{body}",
            self.profile.name
        )
    }

    /// SHA-256 of the file's text (the `io.jetdoc.lock.sha256` label of the image).
    pub fn sha256(&self) -> String {
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(self.to_text().as_bytes()))
    }

    /// Every way `now` (what this robot resolved) differs from the lock. Empty: they match.
    pub fn differences(
        &self,
        now: &LockProfile,
        device: &LockDevice,
        artifact_urls: &[(&str, &str)],
    ) -> Vec<String> {
        let mut out = Vec::new();
        if self.profile.name != now.name {
            out.push(format!(
                "profile: the lock is for `{}`, this provision is `{}`",
                self.profile.name, now.name
            ));
        } else if self.profile.sha256 != now.sha256 {
            out.push(format!(
                "profile `{}` changed since the lock was written (sha256 {} in the lock, {} now)",
                now.name,
                short(&self.profile.sha256),
                short(&now.sha256)
            ));
        }
        let d = &self.device;
        if d.platform != device.platform {
            out.push(format!("platform: the lock is for {}, this device is {}", d.platform, device.platform));
        }
        if d.arch != device.arch {
            out.push(format!(
                "architecture: the lock is for {}, this device is {}",
                or_unknown(&d.arch),
                or_unknown(&device.arch)
            ));
        }
        // L4T releases of one major.minor run the same images and take the same ZED build.
        let mm = |v: &Option<String>| v.as_ref().map(|s| s.split('.').take(2).collect::<Vec<_>>().join("."));
        if mm(&d.l4t) != mm(&device.l4t) {
            out.push(format!(
                "L4T: the lock is for {}, this device runs {}",
                or_unknown(&d.l4t),
                or_unknown(&device.l4t)
            ));
        }
        let cuda_mm = |v: &Option<String>| v.as_deref().and_then(crate::container::rules::cuda_major_minor);
        if cuda_mm(&d.cuda) != cuda_mm(&device.cuda) {
            out.push(format!(
                "CUDA: the lock is for {}, this device has {}",
                or_unknown(&d.cuda),
                or_unknown(&device.cuda)
            ));
        }
        for (kind, url) in artifact_urls {
            match self.artifacts.iter().find(|a| a.kind == *kind) {
                Some(a) if a.url != *url => {
                    out.push(format!("{kind}: the lock downloads {}, this device resolves {url}", a.url))
                }
                None => out.push(format!("{kind}: not in the lock, but this device needs {url}")),
                Some(_) => {}
            }
        }
        for a in &self.artifacts {
            if !artifact_urls.iter().any(|(k, _)| *k == a.kind) {
                out.push(format!("{}: in the lock ({}), but this device does not need it", a.kind, a.url));
            }
        }
        out
    }
}

fn short(s: &str) -> &str {
    &s[..12.min(s.len())]
}

fn or_unknown(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Lock {
        Lock {
            schema: SCHEMA,
            jetdoc: "0.1.0".into(),
            profile: LockProfile { name: "locomotion".into(), sha256: "a".repeat(64) },
            device: LockDevice {
                platform: "jetson".into(),
                arch: Some("arm64".into()),
                l4t: Some("36.4.3".into()),
                jetpack: Some("6.2".into()),
                cuda: Some("12.6.68".into()),
            },
            base: LockBase {
                reference: "dustynv/l4t-pytorch:r36.4.0".into(),
                digest: format!("sha256:{}", "b".repeat(64)),
                python: Some("3.10".into()),
                layers: Some(40),
                size_bytes: Some(5_000_000_000),
            },
            image: LockImage {
                tag: "jetdoc/locomotion:aaaaaaaaaaaa".into(),
                id: format!("sha256:{}", "c".repeat(64)),
            },
            artifacts: vec![LockArtifact {
                kind: "zed-installer".into(),
                url: "https://download.stereolabs.com/zedsdk/5.4/l4t36.4/jetsons".into(),
                file_name: "ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run".into(),
                size: 1234,
                sha256: "d".repeat(64),
            }],
            wheels: vec![LockWheel {
                name: "pyzmq".into(),
                version: "26.2.0".into(),
                file_name: "pyzmq-26.2.0-cp310-cp310-manylinux_2_28_aarch64.whl".into(),
                url: "https://pypi.jetson-ai-lab.io/jp6/cu126/+f/pyzmq.whl".into(),
                size: 99,
                sha256: "e".repeat(64),
            }],
        }
    }

    #[test]
    fn round_trips_and_names_every_difference() {
        let l = sample();
        let text = l.to_text();
        assert!(text.starts_with("# jetdoc provision lock"));
        assert_eq!(Lock::parse(&text, "x.lock").unwrap(), l);
        let same = l.differences(
            &l.profile,
            &LockDevice { l4t: Some("36.4.7".into()), cuda: Some("12.6.10".into()), ..l.device.clone() },
            &[("zed-installer", "https://download.stereolabs.com/zedsdk/5.4/l4t36.4/jetsons")],
        );
        assert!(same.is_empty(), "{same:?}");
        let other = LockProfile { name: "locomotion".into(), sha256: "f".repeat(64) };
        let dev = LockDevice { l4t: Some("36.3.0".into()), cuda: Some("12.2".into()), ..l.device.clone() };
        let diff = l.differences(
            &other,
            &dev,
            &[("zed-installer", "https://download.stereolabs.com/zedsdk/5.2/l4t36.3/jetsons")],
        );
        assert_eq!(diff.len(), 4, "{diff:?}");
        assert!(diff[0].contains("changed since the lock"));
        assert!(diff.iter().any(|d| d.contains("L4T: the lock is for 36.4.3, this device runs 36.3.0")));
        assert!(diff.iter().any(|d| d.contains("l4t36.3")));
    }

    #[test]
    fn damaged_locks_say_where() {
        let text = sample().to_text().replace("schema = 1", "schema = 9");
        assert!(matches!(Lock::parse(&text, "x.lock"), Err(LockError::Schema { found: 9, .. })));
        let text = sample().to_text().replace("digest = ", "digestt = ");
        let e = Lock::parse(&text, "x.lock").unwrap_err().to_string();
        assert!(e.starts_with("x.lock:") && e.contains("unknown field `digestt`"), "{e}");
    }
}
