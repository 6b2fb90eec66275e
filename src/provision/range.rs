//! Version ranges of a profile (`jetpack = ">=6.0, <7"`, `l4t = ">=36.4"`), in PEP 440 specifier
//! syntax: the comparison rules every Python user already knows, from a crate jetdoc already uses.

use pep440_rs::{Version, VersionSpecifiers};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    text: String,
    specs: VersionSpecifiers,
}

impl Range {
    pub fn parse(text: &str) -> Result<Range, String> {
        let specs = VersionSpecifiers::from_str(text).map_err(|e| {
            format!("`{text}` is not a version range ({e}); write for example \">=6.0, <7\" or \">=36.4\"")
        })?;
        if specs.iter().next().is_none() {
            return Err(format!(
                "`{text}` is an empty version range; leave the key out to accept every version"
            ));
        }
        Ok(Range { text: text.to_string(), specs })
    }

    /// Whether a version as jetdoc reports it holds: `6.2.1`, `36.4.3`, the family form `6.x`
    /// (taken as `6`: it is in `>=6.0, <7` and in `>=5`, not in `>=6.1`), `6.1 (rev1)`.
    pub fn contains(&self, version: &str) -> bool {
        match normalize(version) {
            Some(v) => self.specs.contains(&v),
            None => false,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn normalize(version: &str) -> Option<Version> {
    let first = version.split_whitespace().next()?;
    let numeric: Vec<&str> =
        first.split('.').take_while(|p| p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty()).collect();
    if numeric.is_empty() {
        return None;
    }
    Version::from_str(&numeric.join(".")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_the_versions_jetdoc_reports() {
        let jp6 = Range::parse(">=6.0, <7").unwrap();
        assert!(jp6.contains("6.2.1"));
        assert!(jp6.contains("6.x"));
        assert!(jp6.contains("6.1 (rev1)"));
        assert!(!jp6.contains("7.0"));
        assert!(!jp6.contains("5.1.2"));
        assert!(!jp6.contains("unknown"));
        assert!(!Range::parse(">=6.1").unwrap().contains("6.x"));
        assert!(Range::parse(">=36.4").unwrap().contains("36.4.3"));
        assert!(Range::parse("bogus").unwrap_err().contains("not a version range"));
        assert!(Range::parse("").is_err());
    }
}
