//! `/var/lib/dpkg/status`: RFC-822-style stanzas separated by blank lines. Read directly instead
//! of spawning `dpkg-query`: faster, works on a mounted image, testable. Only packages whose
//! `Status:` is `install ok installed` count as installed.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub status: String,
    pub architecture: Option<String>,
}

impl Package {
    pub fn installed(&self) -> bool {
        self.status == "install ok installed"
    }
}

/// All packages, keyed by name. For multi-arch duplicates (`libc6:arm64` and `libc6:armhf`) the
/// installed one wins.
#[derive(Debug, Clone, Default)]
pub struct DpkgStatus {
    pub packages: HashMap<String, Package>,
}

impl DpkgStatus {
    /// The installed package of that exact name.
    pub fn installed(&self, name: &str) -> Option<&Package> {
        self.packages.get(name).filter(|p| p.installed())
    }

    /// Installed packages whose name satisfies `pred`, sorted by name.
    pub fn installed_matching(&self, pred: impl Fn(&str) -> bool) -> Vec<&Package> {
        let mut v: Vec<&Package> =
            self.packages.values().filter(|p| p.installed() && pred(&p.name)).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

pub fn parse(text: &str) -> DpkgStatus {
    let mut status = DpkgStatus::default();
    let mut cur: (Option<&str>, Option<&str>, Option<&str>, Option<&str>) = (None, None, None, None);
    let mut flush = |cur: &mut (Option<&str>, Option<&str>, Option<&str>, Option<&str>)| {
        if let (Some(name), Some(version)) = (cur.0, cur.2) {
            let pkg = Package {
                name: name.to_string(),
                version: version.to_string(),
                status: cur.1.unwrap_or("").to_string(),
                architecture: cur.3.map(str::to_string),
            };
            let keep_old = status.packages.get(name).is_some_and(|old| old.installed() && !pkg.installed());
            if !keep_old {
                status.packages.insert(pkg.name.clone(), pkg);
            }
        }
        *cur = (None, None, None, None);
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut cur);
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue; // continuation of a multi-line field (Description, Conffiles)
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match key {
            "Package" => cur.0 = Some(value),
            "Status" => cur.1 = Some(value),
            "Version" => cur.2 = Some(value),
            "Architecture" => cur.3 = Some(value),
            _ => {}
        }
    }
    flush(&mut cur);
    status
}

/// The upstream part of a Debian version: epoch, Debian revision and `+build` suffixes removed.
/// `1:4.5.4+dfsg-9ubuntu4` -> `4.5.4`, `10.3.0.30-1+cuda12.5` -> `10.3.0.30`,
/// `36.4.3-20250107174145` -> `36.4.3`, `6.2.1+b38` -> `6.2.1`.
pub fn upstream_version(v: &str) -> &str {
    let v = v.split_once(':').map(|(_, rest)| rest).unwrap_or(v);
    let end = v.find(['-', '+', '~']).unwrap_or(v.len());
    &v[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Package: nvidia-l4t-core
Status: install ok installed
Priority: standard
Section: admin
Installed-Size: 13385
Maintainer: NVIDIA Corporation
Architecture: arm64
Version: 36.4.3-20250107174145
Pre-Depends: dpkg (>= 1.19.0)
Description: NVIDIA Core Package
 Jetson Core Package

Package: nvidia-jetpack
Status: install ok installed
Architecture: arm64
Version: 6.2+b77
Depends: nvidia-jetpack-runtime (= 6.2+b77), nvidia-jetpack-dev (= 6.2+b77)
Description: NVIDIA Jetpack Meta Package

Package: libnvinfer10
Status: deinstall ok config-files
Architecture: arm64
Version: 10.3.0.30-1+cuda12.5
Description: TensorRT runtime libraries
";

    #[test]
    fn parses_real_stanzas() {
        let s = parse(SAMPLE);
        assert_eq!(s.installed("nvidia-l4t-core").unwrap().version, "36.4.3-20250107174145");
        assert_eq!(s.installed("nvidia-jetpack").unwrap().architecture.as_deref(), Some("arm64"));
        assert!(s.installed("libnvinfer10").is_none(), "config-files only is not installed");
        assert!(s.packages.contains_key("libnvinfer10"));
    }

    #[test]
    fn upstream_versions() {
        assert_eq!(upstream_version("36.4.3-20250107174145"), "36.4.3");
        assert_eq!(upstream_version("6.2.1+b38"), "6.2.1");
        assert_eq!(upstream_version("1:4.5.4+dfsg-9ubuntu4"), "4.5.4");
        assert_eq!(upstream_version("10.3.0.30-1+cuda12.5"), "10.3.0.30");
        assert_eq!(upstream_version("1.16.2-1"), "1.16.2");
    }

    #[test]
    fn garbage_yields_no_packages() {
        assert!(parse("\u{0}\u{1}binary garbage\n:::\nVersion\n").packages.is_empty());
        assert!(parse("Package: half\nVersion").packages.is_empty());
    }
}
