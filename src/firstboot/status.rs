//! `jetdoc first-boot status`: first boot as a root shows it — the unit (installed, enabled,
//! what it runs), the files it needs, the attempts recorded and the marker. Reads only.

use serde::Serialize;

use super::record::{self, FirstBoot, RecordError, MARKER};
use super::unit::{Source, UnitSpec, UNIT_PATH, WANTS_LINK};
use crate::host::Host;

/// Where first boot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// No unit.
    NotInstalled,
    /// Installed, not run yet (an image being prepared, or a robot before its first boot).
    Pending,
    /// Tried and not succeeded yet: the unit tries again.
    Retrying,
    /// A provision succeeded: the marker is there and the unit never runs again.
    Done,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub schema: u32,
    pub root: String,
    pub phase: Phase,
    pub unit: Option<String>,
    pub enabled: bool,
    /// What the unit runs, read back from its ExecStart.
    pub spec: Option<UnitSpec>,
    /// Files the unit needs that are missing in the root.
    pub missing: Vec<String>,
    /// The marker's text.
    pub marker: Option<String>,
    pub record: Option<FirstBoot>,
    pub problems: Vec<String>,
}

pub fn status(host: &Host) -> Result<Status, RecordError> {
    let unit = host.read_file(UNIT_PATH)?.map(|f| String::from_utf8_lossy(&f.bytes).into_owned());
    let enabled = matches!(host.link_at(WANTS_LINK)?, Some(Ok(t)) if t == UNIT_PATH || t.ends_with("/jetdoc-provision.service"));
    let spec = unit.as_deref().and_then(UnitSpec::parse);
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    if unit.is_some() && spec.is_none() {
        problems.push(format!("{}: its ExecStart is not a `jetdoc provision` line", host.shown(UNIT_PATH)));
    }
    if unit.is_some() && !enabled {
        problems.push(format!(
            "not enabled: {} is missing (`systemctl enable jetdoc-provision.service`, or install again)",
            host.shown(WANTS_LINK)
        ));
    }
    if let Some(s) = &spec {
        let mut needed = vec![s.binary.clone()];
        match &s.source {
            Source::Lock(p) | Source::Bundle(p) => needed.push(p.clone()),
            Source::Profile => {}
        }
        for p in needed {
            if !host.exists(&p) {
                problems.push(format!("{} is missing: the unit cannot run without it", host.shown(&p)));
                missing.push(p);
            }
        }
    }
    let marker = record::marker(host)?;
    let record = record::read(host)?;
    let phase = if marker.is_some() {
        Phase::Done
    } else if record.as_ref().is_some_and(|r| r.attempts > 0) {
        Phase::Retrying
    } else if unit.is_none() {
        Phase::NotInstalled
    } else {
        Phase::Pending
    };
    Ok(Status {
        schema: 1,
        root: host.root().display().to_string(),
        phase,
        unit: unit.map(|_| UNIT_PATH.to_string()),
        enabled,
        spec,
        missing,
        marker,
        record,
        problems,
    })
}

impl Status {
    /// The report for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = match self.phase {
            Phase::NotInstalled => format!(
                "first boot: not installed in {} (no {UNIT_PATH}); `jetdoc first-boot install PROFILE --root DIR` or `./install.sh --first-boot PROFILE` installs it\n",
                self.root
            ),
            Phase::Pending => "first boot: installed, not run yet (it runs at the next boot)\n".to_string(),
            Phase::Retrying => "first boot: not succeeded yet; the unit tries again (with backoff, and at every boot)\n".to_string(),
            Phase::Done => "first boot: done\n".to_string(),
        };
        out.push_str(&line);
        if let Some(s) = &self.spec {
            out.push_str(&format!("  runs      {}\n", s.exec_start()));
            out.push_str(&format!(
                "  unit      {UNIT_PATH} ({})\n",
                if self.enabled { "enabled" } else { "NOT enabled" }
            ));
        }
        if let Some(r) = &self.record {
            out.push_str(&format!(
                "  attempts  {} in {} boot(s), the first at {}\n",
                r.attempts,
                r.boots,
                r.first_attempt.as_deref().unwrap_or("?")
            ));
            if let Some(l) = &r.last {
                let how = match (l.exit_code.as_deref(), l.exit_status.as_deref()) {
                    (Some("exited"), Some(s)) => format!("exit status {s}"),
                    (Some(c), Some(s)) => format!("{c} {s}"),
                    _ => l.service_result.clone(),
                };
                let verdict = if l.success { "succeeded" } else { "failed" };
                out.push_str(&format!("  last      attempt {} at {}: {verdict} ({how})\n", l.number, l.time));
                if !l.success {
                    out.push_str("  logs      journalctl -u jetdoc-provision.service\n");
                }
            }
        }
        if let Some(m) = &self.marker {
            out.push_str(&format!("  marker    {MARKER}: {m}\n"));
        }
        for p in &self.problems {
            out.push_str(&format!("  problem   {p}\n"));
        }
        out
    }

    /// Whether something needs a person: failed attempts, a missing file, not installed.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty() || matches!(self.phase, Phase::NotInstalled | Phase::Retrying)
    }
}
