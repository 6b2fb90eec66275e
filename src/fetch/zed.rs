//! Which ZED SDK installer fits an L4T release, from `checks/zed.toml`. Pure: no network here;
//! the command fetches the URL through the engine, which follows the redirect to the versioned
//! installer and records its sha256.

use serde::Serialize;

use crate::knowledge::Knowledge;

#[derive(Debug, Clone, Serialize)]
pub struct ZedChoice {
    /// SDK `major.minor` in the URL.
    pub sdk: String,
    /// A full version the user asked for (`5.0.2`); the server only serves the latest patch.
    pub wanted: Option<String>,
    /// `l4t36.4` or `cu12/ubuntu22`.
    pub token: String,
    pub url: String,
    /// Why a neighbouring build was chosen, when it was.
    pub note: Option<String>,
    /// (variant, installer flags) for container builds.
    pub flags: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ZedError {
    #[error("no ZED SDK build for L4T {l4t}: Stereolabs builds for L4T {}\n  upgrade the device to a supported L4T, or pass --l4t X.Y to fetch another build (for an image)", supported.join(", "))]
    NoBuild { l4t: String, supported: Vec<String> },
    #[error("ZED SDK {sdk} has no build for {token}; available there: {}\n  pass one of those with --version", available.join(", "))]
    NoVersion { sdk: String, token: String, available: Vec<String> },
    #[error("bad --version `{0}`: expected MAJOR.MINOR or MAJOR.MINOR.PATCH such as 5.0 or 5.0.2")]
    BadVersion(String),
    #[error("no ZED SDK URL pattern for platform {0} in the tables (checks/zed.toml [[zed_url]])")]
    NoPattern(String),
}

/// Splits `5.0.2` into (`5.0`, Some(`5.0.2`)) and `5.0` into (`5.0`, None).
fn split_version(v: &str) -> Result<(String, Option<String>), ZedError> {
    let parts: Vec<&str> = v.trim().trim_start_matches('v').split('.').collect();
    if !(2..=3).contains(&parts.len())
        || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ZedError::BadVersion(v.to_string()));
    }
    Ok((format!("{}.{}", parts[0], parts[1]), (parts.len() == 3).then(|| parts.join("."))))
}

fn flags(k: &Knowledge, x86: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for f in &k.zed_flags {
        if f.variant.starts_with("x86") != x86 {
            continue;
        }
        out.retain(|(v, _)| *v != f.variant);
        out.push((f.variant.clone(), f.flags.clone()));
    }
    out
}

fn pattern<'a>(k: &'a Knowledge, platform: &str) -> Result<&'a str, ZedError> {
    k.zed_url
        .iter()
        .rev()
        .find(|u| u.platform == platform)
        .map(|u| u.pattern.as_str())
        .ok_or_else(|| ZedError::NoPattern(platform.into()))
}

/// The installer for a Jetson on L4T `major.minor`.
pub fn for_jetson(
    k: &Knowledge,
    major: u32,
    minor: u32,
    version: Option<&str>,
) -> Result<ZedChoice, ZedError> {
    let parse = |s: &str| -> Option<(u32, u32)> {
        let (a, b) = s.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    // The row for this minor, else the nearest lower minor of the same major.
    let row = k
        .zed
        .iter()
        .filter_map(|z| parse(&z.l4t).map(|v| (v, z)))
        .filter(|((ma, mi), _)| *ma == major && *mi <= minor)
        .max_by_key(|((_, mi), _)| *mi)
        .map(|(_, z)| z);
    let Some(row) = row else {
        let mut supported: Vec<String> = k.zed.iter().map(|z| z.l4t.clone()).collect();
        supported.sort_by_key(|s| parse(s));
        supported.dedup();
        return Err(ZedError::NoBuild { l4t: format!("{major}.{minor}"), supported });
    };
    let token = format!("l4t{}", row.l4t);
    let (sdk, wanted) = match version {
        Some(v) => split_version(v)?,
        None => (row.sdk.first().cloned().unwrap_or_default(), None),
    };
    if !row.sdk.contains(&sdk) {
        return Err(ZedError::NoVersion { sdk, token, available: row.sdk.clone() });
    }
    let note = (row.l4t != format!("{major}.{minor}")).then(|| {
        format!(
            "no build for L4T {major}.{minor}; using the L4T {} build (same major, nearest lower minor)",
            row.l4t
        )
    });
    let url = pattern(k, "jetson")?.replace("{sdk}", &sdk).replace("{l4t}", &row.l4t);
    Ok(ZedChoice { sdk, wanted, token, url, note, flags: flags(k, false) })
}

/// The installer for an x86_64 machine with CUDA `cuda_major` on Ubuntu `ubuntu_major`.
pub fn for_x86(
    k: &Knowledge,
    cuda_major: &str,
    ubuntu_major: &str,
    version: Option<&str>,
) -> Result<ZedChoice, ZedError> {
    let token = format!("cu{cuda_major}/ubuntu{ubuntu_major}");
    let Some(row) = k.zed_x86.iter().rev().find(|z| z.cuda == cuda_major && z.ubuntu == ubuntu_major) else {
        let supported = k.zed_x86.iter().map(|z| format!("cu{}/ubuntu{}", z.cuda, z.ubuntu)).collect();
        return Err(ZedError::NoBuild { l4t: token, supported });
    };
    let (sdk, wanted) = match version {
        Some(v) => split_version(v)?,
        None => (row.sdk.first().cloned().unwrap_or_default(), None),
    };
    if !row.sdk.contains(&sdk) {
        return Err(ZedError::NoVersion { sdk, token, available: row.sdk.clone() });
    }
    let url = pattern(k, "x86_64")?
        .replace("{sdk}", &sdk)
        .replace("{cuda}", cuda_major)
        .replace("{ubuntu}", ubuntu_major);
    Ok(ZedChoice { sdk, wanted, token, url, note: None, flags: flags(k, true) })
}

/// The SDK version in an installer name: `ZED_SDK_Tegra_L4T36.4_v5.1.1.zstd.run` -> `5.1.1`.
pub fn version_in_file_name(name: &str) -> Option<String> {
    let i = name.rfind("_v")?;
    let rest = &name[i + 2..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let v = rest[..end].trim_end_matches('.');
    (v.split('.').count() >= 2).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_build_for_the_l4t_or_the_nearest_lower_minor() {
        let k = Knowledge::builtin();
        let c = for_jetson(&k, 36, 4, None).unwrap();
        assert_eq!(c.url, "https://download.stereolabs.com/zedsdk/5.4/l4t36.4/jetsons");
        assert_eq!(c.note, None);
        assert!(c.flags.iter().any(|(v, f)| v == "devel" && f == "silent skip_tools skip_drivers"));
        assert!(c.flags.iter().any(|(v, f)| v == "runtime" && f.contains("runtime_only")));
        let c = for_jetson(&k, 35, 6, Some("5.0")).unwrap();
        assert_eq!(c.token, "l4t35.4");
        assert!(c.note.unwrap().contains("35.4"));
        let c = for_jetson(&k, 36, 4, Some("5.0.2")).unwrap();
        assert_eq!((c.sdk.as_str(), c.wanted.as_deref()), ("5.0", Some("5.0.2")));
    }

    #[test]
    fn unsupported_l4t_lists_the_supported_ones() {
        let k = Knowledge::builtin();
        let e = for_jetson(&k, 36, 2, None).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("L4T 36.2") && msg.contains("36.4") && msg.contains("35.4"), "{msg}");
        assert!(matches!(for_jetson(&k, 36, 4, Some("3.1")), Err(ZedError::NoVersion { .. })));
        assert!(matches!(for_jetson(&k, 36, 4, Some("five")), Err(ZedError::BadVersion(_))));
        // Never across a major: 37.x has no row and must not take 36.x.
        assert!(for_jetson(&k, 37, 0, None).is_err());
    }

    #[test]
    fn x86_and_file_names() {
        let k = Knowledge::builtin();
        assert_eq!(
            for_x86(&k, "12", "22", None).unwrap().url,
            "https://download.stereolabs.com/zedsdk/5.0/cu12/ubuntu22"
        );
        assert_eq!(version_in_file_name("ZED_SDK_Tegra_L4T36.4_v5.1.1.zstd.run").as_deref(), Some("5.1.1"));
        assert_eq!(
            version_in_file_name("ZED_SDK_Ubuntu22_cuda12.8_tensorrt10.9_v5.1.2.zstd.run").as_deref(),
            Some("5.1.2")
        );
        assert_eq!(version_in_file_name("jetsons"), None);
    }
}
