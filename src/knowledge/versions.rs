use serde::Serialize;
use std::fmt;

/// An L4T release number, `major.minor.patch` (`36.4.3`). Two-part forms (`32.5`) get patch 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct L4tVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl L4tVersion {
    pub fn new(major: u32, minor: u32, patch: u32) -> L4tVersion {
        L4tVersion { major, minor, patch }
    }

    /// Parses `36.4.3`, `36.4`, `R36.4.3` or `r36.4`. Anything else is `None`.
    pub fn parse(s: &str) -> Option<L4tVersion> {
        let s = s.trim().trim_start_matches(['R', 'r']);
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(L4tVersion { major, minor, patch })
    }
}

impl fmt::Display for L4tVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for L4tVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_seen_in_the_wild() {
        assert_eq!(L4tVersion::parse("36.4.3"), Some(L4tVersion::new(36, 4, 3)));
        assert_eq!(L4tVersion::parse("32.5"), Some(L4tVersion::new(32, 5, 0)));
        assert_eq!(L4tVersion::parse("r36.4"), Some(L4tVersion::new(36, 4, 0)));
        assert_eq!(L4tVersion::parse("36.4.3.1"), None);
        assert_eq!(L4tVersion::parse("36"), None);
        assert_eq!(L4tVersion::parse("x.y"), None);
        assert!(L4tVersion::new(36, 4, 3) > L4tVersion::new(36, 4, 2));
    }
}
