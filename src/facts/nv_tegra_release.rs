//! `/etc/nv_tegra_release`: `# R36 (release), REVISION: 4.3, GCID: ..., BOARD: generic, ...`.
//! Only line 1 carries the version; newer files add `# KERNEL_VARIANT: oot` and
//! `TARGET_USERSPACE_LIB_DIR=...` lines; ZED Dockerfiles write a stub with no GCID/BOARD/DATE.
//! The BOARD field is known to be wrong (`t186ref` on every board of a generation) and the DATE
//! format varies (12-hour clock on R39), so neither is interpreted.

use crate::knowledge::L4tVersion;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvTegraRelease {
    pub version: L4tVersion,
    pub board: Option<String>,
    pub kernel_variant: Option<String>,
    pub userspace_lib_dir: Option<String>,
}

pub fn parse(text: &str) -> Result<NvTegraRelease, String> {
    let first = text.lines().find(|l| !l.trim().is_empty()).ok_or("no release line")?;
    let rest = first
        .trim()
        .strip_prefix("# R")
        .ok_or_else(|| format!("line 1 does not start with \"# R\": {:?}", clip(first)))?;
    let (major, rest) =
        rest.split_once(' ').ok_or_else(|| format!("no release number on line 1: {:?}", clip(first)))?;
    let major: u32 = major.parse().map_err(|_| format!("release \"R{}\" is not a number", clip(major)))?;
    let revision =
        field(rest, "REVISION:").ok_or_else(|| format!("no REVISION on line 1: {:?}", clip(first)))?;
    let mut nums = revision.split('.');
    let minor =
        nums.next().and_then(|n| n.parse().ok()).ok_or_else(|| format!("bad REVISION {revision:?}"))?;
    let patch = match nums.next() {
        Some(p) => p.parse().map_err(|_| format!("bad REVISION {revision:?}"))?,
        None => 0,
    };
    let board = field(rest, "BOARD:").map(str::to_string);
    let mut kernel_variant = None;
    let mut userspace_lib_dir = None;
    for line in text.lines().skip(1) {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("# KERNEL_VARIANT:") {
            kernel_variant = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("TARGET_USERSPACE_LIB_DIR_PATH=") {
            userspace_lib_dir = Some(v.trim().to_string());
        }
    }
    Ok(NvTegraRelease {
        version: L4tVersion::new(major, minor, patch),
        board,
        kernel_variant,
        userspace_lib_dir,
    })
}

/// The value after `key` up to the next comma.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(key)? + key.len();
    let value = line[start..].split(',').next()?.trim();
    (!value.is_empty()).then_some(value)
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_release_lines() {
        let cases = [
            ("# R28 (release), REVISION: 2.1, GCID: 11272647, BOARD: t186ref, EABI: aarch64, DATE: Thu May 17 07:29:06 UTC 2018", "28.2.1"),
            ("# R32 (release), REVISION: 7.1, GCID: 29689809, BOARD: t186ref, EABI: aarch64, DATE: Wed Feb  2 21:33:23 UTC 2022", "32.7.1"),
            ("# R35 (release), REVISION: 3.1, GCID: 32827747, BOARD: t186ref, EABI: aarch64, DATE: Sun Mar 19 15:19:21 UTC 2023", "35.3.1"),
            ("# R36 (release), REVISION: 4.7, GCID: 42132812, BOARD: generic, EABI: aarch64, DATE: Thu Sep 18 22:54:44 UTC 2025", "36.4.7"),
            ("# R38 (release), REVISION: 2.0, GCID: 41844464, BOARD: generic, EABI: aarch64, DATE: Fri Aug 22 00:55:42 UTC 2025", "38.2.0"),
            ("# R39 (release), REVISION: 2.0, GCID: 45755727, BOARD: generic, EABI: aarch64, DATE: Mon Jun  1 09:28:48 PM UTC 2026", "39.2.0"),
            ("# R36 (release), REVISION: 4.0", "36.4.0"),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line).unwrap().version.to_string(), want, "{line}");
        }
    }

    #[test]
    fn extra_lines_of_newer_files() {
        let text = "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n# KERNEL_VARIANT: oot\nTARGET_USERSPACE_LIB_DIR=nvidia\nTARGET_USERSPACE_LIB_DIR_PATH=usr/lib/aarch64-linux-gnu/nvidia\n";
        let r = parse(text).unwrap();
        assert_eq!(r.board.as_deref(), Some("generic"));
        assert_eq!(r.kernel_variant.as_deref(), Some("oot"));
        assert_eq!(r.userspace_lib_dir.as_deref(), Some("usr/lib/aarch64-linux-gnu/nvidia"));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(parse("").is_err());
        assert!(parse("hello world").unwrap_err().contains("does not start"));
        assert!(parse("# Rxx (release), REVISION: 4.3").unwrap_err().contains("not a number"));
        assert!(parse("# R36 (release), GCID: 1").unwrap_err().contains("no REVISION"));
        assert!(parse("# R36 (release), REVISION: a.b").is_err());
    }
}
