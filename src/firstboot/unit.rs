//! The systemd unit `jetdoc-provision.service`: one template (`contrib/systemd/`, embedded here
//! and used as is by `install.sh --first-boot`), with the binary, the profile and the lock or
//! bundle filled into its three command lines; and the reverse, for `first-boot status`.

use serde::Serialize;

/// The unit as shipped: a real unit for the profile `locomotion` and `/etc/jetdoc/locomotion.lock`.
pub const TEMPLATE: &str = include_str!("../../contrib/systemd/jetdoc-provision.service");
pub const UNIT_NAME: &str = "jetdoc-provision.service";
/// An administrator's unit: always on systemd's unit path, whatever the binary's prefix.
pub const UNIT_PATH: &str = "/etc/systemd/system/jetdoc-provision.service";
/// What `systemctl enable` makes for `WantedBy=multi-user.target`.
pub const WANTS_LINK: &str = "/etc/systemd/system/multi-user.target.wants/jetdoc-provision.service";
pub const DEFAULT_BINARY: &str = "/usr/local/bin/jetdoc";
/// Where the lock file goes on the robot.
pub const LOCK_DIR: &str = "/etc/jetdoc";
/// Where a bundle goes on the robot (it is large: /var, not /etc).
pub const BUNDLE_DIR: &str = "/var/lib/jetdoc/bundles";

/// What the unit provisions from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "kebab-case")]
pub enum Source {
    /// `--locked FILE`: the same inputs as the robot that wrote the lock.
    Lock(String),
    /// `--bundle FILE`: everything from the bundle, no network.
    Bundle(String),
    /// The profile resolved on the robot itself.
    Profile,
}

/// The values filled into the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitSpec {
    /// The jetdoc binary as the robot sees it.
    pub binary: String,
    pub profile: String,
    pub source: Source,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnitError {
    #[error("{what} `{value}` cannot go into a systemd unit: use only letters, digits and / . _ + @ : - (systemd gives spaces, quotes, `%` and `$` meanings of their own)")]
    Unsafe { what: &'static str, value: String },
    #[error("{what} `{value}` must be an absolute path on the robot")]
    Relative { what: &'static str, value: String },
    #[error("the unit template has no `{0}` line (contrib/systemd/jetdoc-provision.service was edited?)")]
    Template(&'static str),
}

/// Characters a value may hold in a unit's command line without quoting or escaping.
fn unit_safe(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._+@:-".contains(c))
}

fn check(what: &'static str, value: &str, absolute: bool) -> Result<(), UnitError> {
    if !unit_safe(value) || (!absolute && value.starts_with('-')) {
        return Err(UnitError::Unsafe { what, value: value.into() });
    }
    if absolute && !value.starts_with('/') {
        return Err(UnitError::Relative { what, value: value.into() });
    }
    Ok(())
}

impl UnitSpec {
    pub fn validate(&self) -> Result<(), UnitError> {
        check("the jetdoc binary", &self.binary, true)?;
        check("the profile name", &self.profile, false)?;
        match &self.source {
            Source::Lock(p) => check("the lock file", p, true),
            Source::Bundle(p) => check("the bundle", p, true),
            Source::Profile => Ok(()),
        }
    }

    /// `jetdoc provision ...`: the unit's ExecStart.
    pub fn exec_start(&self) -> String {
        let tail = match &self.source {
            Source::Lock(p) => format!(" --locked {p}"),
            Source::Bundle(p) => format!(" --bundle {p}"),
            Source::Profile => String::new(),
        };
        format!("{} provision {} --yes{tail}", self.binary, self.profile)
    }

    /// The unit's text: the template with the three command lines filled in.
    pub fn render(&self) -> Result<String, UnitError> {
        self.validate()?;
        let mut seen = [false; 3];
        let mut out = String::with_capacity(TEMPLATE.len() + 64);
        for line in TEMPLATE.lines() {
            if let Some(rest) = line.strip_prefix("ExecStartPre=-") {
                let args = rest.split_once(' ').map(|(_, a)| a).unwrap_or_default();
                out.push_str(&format!("ExecStartPre=-{} {args}", self.binary));
                seen[0] = true;
            } else if line.starts_with("ExecStart=") {
                out.push_str(&format!("ExecStart={}", self.exec_start()));
                seen[1] = true;
            } else if line.starts_with("ExecStopPost=-") {
                out.push_str(&format!("ExecStopPost=-{} first-boot record {}", self.binary, self.profile));
                seen[2] = true;
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        for (ok, key) in seen.iter().zip(["ExecStartPre=-", "ExecStart=", "ExecStopPost=-"]) {
            if !ok {
                return Err(UnitError::Template(key));
            }
        }
        Ok(out)
    }

    /// Reads the values back from an installed unit (for `first-boot status`). `None` when its
    /// ExecStart is not a `jetdoc provision` line.
    pub fn parse(unit: &str) -> Option<UnitSpec> {
        let exec = unit.lines().find_map(|l| l.trim().strip_prefix("ExecStart="))?;
        let argv: Vec<&str> = exec.split_whitespace().collect();
        let (binary, rest) = argv.split_first()?;
        let [cmd, profile, flags @ ..] = rest else { return None };
        if *cmd != "provision" {
            return None;
        }
        let value = |flag: &str| flags.iter().position(|a| *a == flag).and_then(|i| flags.get(i + 1));
        let source = match (value("--locked"), value("--bundle")) {
            (Some(l), _) => Source::Lock(l.to_string()),
            (None, Some(b)) => Source::Bundle(b.to_string()),
            (None, None) => Source::Profile,
        };
        Some(UnitSpec { binary: binary.to_string(), profile: profile.to_string(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> UnitSpec {
        UnitSpec {
            binary: DEFAULT_BINARY.into(),
            profile: "locomotion".into(),
            source: Source::Lock("/etc/jetdoc/locomotion.lock".into()),
        }
    }

    #[test]
    fn the_shipped_unit_is_the_template_filled_with_its_own_values() {
        assert_eq!(shipped().render().unwrap(), TEMPLATE);
        assert_eq!(UnitSpec::parse(TEMPLATE), Some(shipped()));
    }

    #[test]
    fn values_are_filled_in_and_read_back() {
        let spec = UnitSpec {
            binary: "/opt/jetdoc/bin/jetdoc".into(),
            profile: "testing-arm".into(),
            source: Source::Bundle("/var/lib/jetdoc/bundles/robot.bundle".into()),
        };
        let unit = spec.render().unwrap();
        assert!(unit.contains(
            "\nExecStart=/opt/jetdoc/bin/jetdoc provision testing-arm --yes --bundle /var/lib/jetdoc/bundles/robot.bundle\n"
        ));
        assert!(unit.contains(
            "\nExecStartPre=-/opt/jetdoc/bin/jetdoc first-boot backoff --restart-sec 30 --max-sec 900\n"
        ));
        assert!(unit.contains("\nExecStopPost=-/opt/jetdoc/bin/jetdoc first-boot record testing-arm\n"));
        assert!(!unit.contains("/usr/local/bin/jetdoc"));
        assert_eq!(UnitSpec::parse(&unit), Some(spec));
        let plain = UnitSpec { source: Source::Profile, ..shipped() };
        assert!(plain
            .render()
            .unwrap()
            .contains("\nExecStart=/usr/local/bin/jetdoc provision locomotion --yes\n"));
    }

    #[test]
    fn values_systemd_would_reinterpret_are_refused() {
        for bad in ["my robot", "50%", "$HOME", "a\"b", "-x", "", "a\nExecStart=/bin/sh"] {
            let spec = UnitSpec { profile: bad.into(), ..shipped() };
            assert!(matches!(spec.render(), Err(UnitError::Unsafe { .. })), "{bad:?}");
        }
        let spec = UnitSpec { source: Source::Lock("etc/x.lock".into()), ..shipped() };
        assert!(matches!(spec.render(), Err(UnitError::Relative { .. })));
        let spec = UnitSpec { binary: "/usr/local/bin/jet doc".into(), ..shipped() };
        assert!(spec
            .render()
            .unwrap_err()
            .to_string()
            .contains("the jetdoc binary `/usr/local/bin/jet doc`"));
    }
}
