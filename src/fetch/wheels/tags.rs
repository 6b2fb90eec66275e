//! Wheel file names (PEP 427) and the tags a target interpreter accepts, in pip's order of
//! preference (`packaging.tags`): `cp310-cp310-*`, `cp310-abi3-*`, `cp3x-abi3-*`,
//! `py3-none-*` ... `py3-none-any`, with platforms `manylinux_2_NN_aarch64` from the target's glibc
//! down to 2.17, then `linux_aarch64` (the Jetson wheels' tag).

use pep440_rs::Version;
use std::collections::HashMap;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq)]
pub struct WheelName {
    /// Normalised (PEP 503: lower case, runs of `-_.` as `-`).
    pub name: String,
    pub version: Version,
    pub python: Vec<String>,
    pub abi: Vec<String>,
    pub platform: Vec<String>,
}

impl WheelName {
    /// `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`
    pub fn parse(file: &str) -> Option<WheelName> {
        let stem = file.strip_suffix(".whl")?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, tags) = match parts.len() {
            5 => (parts[0], parts[1], &parts[2..]),
            6 => (parts[0], parts[1], &parts[3..]),
            _ => return None,
        };
        let split = |s: &str| s.split('.').map(|t| t.to_ascii_lowercase()).collect::<Vec<_>>();
        Some(WheelName {
            name: normalize(name),
            version: Version::from_str(version).ok()?,
            python: split(tags[0]),
            abi: split(tags[1]),
            platform: split(tags[2]),
        })
    }

    pub fn is_pure(&self) -> bool {
        self.abi.iter().all(|a| a == "none") && self.platform.iter().all(|p| p == "any")
    }
}

/// PEP 503 name normalisation.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The interpreter and platform wheels are chosen for.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub python: (u32, u32),
    /// `linux_aarch64`, `linux_x86_64`.
    pub platform: String,
    /// glibc of the target's Ubuntu, for `manylinux_2_NN` tags; `None` accepts only `linux_*`/`any`.
    pub glibc: Option<(u32, u32)>,
}

impl Target {
    pub fn arch(&self) -> &str {
        self.platform.strip_prefix("linux_").unwrap_or(&self.platform)
    }

    fn platforms(&self) -> Vec<String> {
        let arch = self.arch();
        let mut out = Vec::new();
        if let (Some((2, minor)), true) = (self.glibc, self.platform.starts_with("linux_")) {
            for m in (0..=minor).rev() {
                out.push(format!("manylinux_2_{m}_{arch}"));
                // Legacy aliases (PEP 599/571/513) sit at their glibc.
                let legacy = match (m, arch) {
                    (17, "x86_64" | "aarch64" | "i686" | "ppc64le" | "s390x" | "armv7l") => {
                        Some("manylinux2014")
                    }
                    (12, "x86_64" | "i686") => Some("manylinux2010"),
                    (5, "x86_64" | "i686") => Some("manylinux1"),
                    _ => None,
                };
                if let Some(l) = legacy {
                    out.push(format!("{l}_{arch}"));
                }
            }
        }
        out.push(self.platform.clone());
        out
    }

    /// Every (python, abi, platform) tag the target accepts, best first.
    pub fn tags(&self) -> Vec<(String, String, String)> {
        let (major, minor) = self.python;
        let cp = format!("cp{major}{minor}");
        let plats = self.platforms();
        let mut out = Vec::new();
        for p in &plats {
            out.push((cp.clone(), cp.clone(), p.clone()));
        }
        for p in &plats {
            out.push((cp.clone(), "abi3".into(), p.clone()));
        }
        for p in &plats {
            out.push((cp.clone(), "none".into(), p.clone()));
        }
        for older in (2..minor).rev() {
            for p in &plats {
                out.push((format!("cp{major}{older}"), "abi3".into(), p.clone()));
            }
        }
        let py_versions: Vec<String> = std::iter::once(format!("py{major}{minor}"))
            .chain(std::iter::once(format!("py{major}")))
            .chain((0..minor).rev().map(|m| format!("py{major}{m}")))
            .collect();
        for py in &py_versions {
            for p in &plats {
                out.push((py.clone(), "none".into(), p.clone()));
            }
        }
        out.push((cp.clone(), "none".into(), "any".into()));
        for py in &py_versions {
            out.push((py.clone(), "none".into(), "any".into()));
        }
        out
    }

    pub fn scorer(&self) -> TagScorer {
        TagScorer { rank: self.tags().into_iter().enumerate().map(|(i, t)| (t, i)).collect() }
    }

    /// The glibc of an Ubuntu release, from the `[[glibc]]` rows.
    pub fn glibc_of(ubuntu: &str, rows: &[crate::knowledge::Glibc]) -> Option<(u32, u32)> {
        let row = rows.iter().rev().find(|r| r.ubuntu == ubuntu)?;
        let (a, b) = row.version.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    }
}

pub struct TagScorer {
    rank: HashMap<(String, String, String), usize>,
}

impl TagScorer {
    /// Lower is better; `None` when the wheel cannot be installed on the target.
    pub fn score(&self, w: &WheelName) -> Option<usize> {
        let mut best = None;
        for py in &w.python {
            for abi in &w.abi {
                for plat in &w.platform {
                    if let Some(&r) = self.rank.get(&(py.clone(), abi.clone(), plat.clone())) {
                        best = Some(best.map_or(r, |b: usize| b.min(r)));
                    }
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jetson() -> Target {
        Target { python: (3, 10), platform: "linux_aarch64".into(), glibc: Some((2, 35)) }
    }

    #[test]
    fn parses_real_wheel_names() {
        let w = WheelName::parse("torch-2.5.0a0+872d972e41.nv24.08.17622132-cp310-cp310-linux_aarch64.whl")
            .unwrap();
        assert_eq!(w.name, "torch");
        assert_eq!(w.version.to_string(), "2.5.0a0+872d972e41.nv24.8.17622132");
        let w = WheelName::parse("numpy-1.26.4-cp310-cp310-manylinux_2_17_aarch64.manylinux2014_aarch64.whl")
            .unwrap();
        assert_eq!(w.platform.len(), 2);
        let w = WheelName::parse("Typing_Extensions-4.12.2-1-py3-none-any.whl").unwrap();
        assert_eq!((w.name.as_str(), w.is_pure()), ("typing-extensions", true));
        assert!(WheelName::parse("foo-1.0.tar.gz").is_none());
        assert!(WheelName::parse("foo-1.0-py3.whl").is_none());
    }

    #[test]
    fn jetson_target_accepts_the_right_wheels_in_pips_order() {
        let s = jetson().scorer();
        let score = |f: &str| s.score(&WheelName::parse(f).unwrap());
        let native = score("torch-2.5.0-cp310-cp310-linux_aarch64.whl").unwrap();
        let many =
            score("numpy-1.26.4-cp310-cp310-manylinux_2_17_aarch64.manylinux2014_aarch64.whl").unwrap();
        let many_new = score("x-1-cp310-cp310-manylinux_2_35_aarch64.whl").unwrap();
        let abi3 = score("cryptography-43.0.0-cp39-abi3-manylinux_2_28_aarch64.whl").unwrap();
        let pure = score("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert!(many_new < many && many < native && native < abi3 && abi3 < pure);
        // Wrong Python, wrong arch, too new a glibc (Ubuntu 22.04 has 2.35), Windows: refused.
        assert_eq!(score("torch-2.5.0-cp311-cp311-linux_aarch64.whl"), None);
        assert_eq!(score("torch-2.5.0-cp310-cp310-manylinux_2_17_x86_64.whl"), None);
        assert_eq!(score("x-1-cp310-cp310-manylinux_2_39_aarch64.whl"), None);
        assert_eq!(score("x-1-cp310-cp310-win_amd64.whl"), None);
        assert_eq!(score("x-1-cp312-abi3-linux_aarch64.whl"), None);
    }

    #[test]
    fn without_glibc_only_plain_linux_tags() {
        let t = Target { glibc: None, ..jetson() };
        let s = t.scorer();
        assert!(s.score(&WheelName::parse("x-1-cp310-cp310-manylinux_2_17_aarch64.whl").unwrap()).is_none());
        assert!(s.score(&WheelName::parse("x-1-cp310-cp310-linux_aarch64.whl").unwrap()).is_some());
    }

    #[test]
    fn normalises_names() {
        assert_eq!(normalize("Foo__Bar.baz"), "foo-bar-baz");
        assert_eq!(normalize("onnxruntime_gpu"), "onnxruntime-gpu");
    }
}
