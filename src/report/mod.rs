//! The report model (data) and its renderers. A check result is data: status, summary, hints and
//! the id of the fix that repairs it.

pub mod human;
pub mod json;
pub mod npd;
pub mod prometheus;

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Info,
    Skip,
    Warn,
    Fail,
    /// The check itself crashed or could not run: a jetdoc bug or an unexpected host.
    Error,
}

impl Status {
    pub const ALL: [Status; 6] =
        [Status::Pass, Status::Info, Status::Warn, Status::Fail, Status::Error, Status::Skip];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Info => "info",
            Status::Skip => "skip",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

/// Report areas, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    Device,
    Software,
    Gpu,
    Containers,
    Cameras,
    Storage,
    System,
}

impl Area {
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Device => "device",
            Area::Software => "software",
            Area::Gpu => "gpu",
            Area::Containers => "containers",
            Area::Cameras => "cameras",
            Area::Storage => "storage",
            Area::System => "system",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub area: Area,
    pub status: Status,
    pub summary: String,
    pub hints: Vec<String>,
    /// The `jetdoc fix` id that repairs this, when one exists.
    pub fix: Option<String>,
}

/// The device header: the contract fields are strings or null.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceSummary {
    pub jetson: bool,
    pub model: Option<String>,
    pub module: Option<String>,
    /// The module's part number (`p3767-0005`), from the device tree.
    pub module_part: Option<String>,
    pub soc: Option<String>,
    pub l4t: Option<String>,
    pub jetpack: Option<String>,
    pub cuda: Option<String>,
    pub cudnn: Option<String>,
    pub tensorrt: Option<String>,
    pub ubuntu: Option<String>,
    /// `PRETTY_NAME` of `/etc/os-release` (also set on non-Ubuntu hosts).
    pub os: Option<String>,
    pub python: Option<String>,
    pub kernel: Option<String>,
    pub arch: Option<String>,
    pub container: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub device: DeviceSummary,
    /// Every fact with its source, or the reason it is absent.
    pub facts: BTreeMap<String, serde_json::Value>,
    pub checks: Vec<CheckResult>,
    pub summary: BTreeMap<&'static str, usize>,
}

impl Report {
    pub const SCHEMA: u32 = 1;

    pub fn new(
        device: DeviceSummary,
        facts: BTreeMap<String, serde_json::Value>,
        checks: Vec<CheckResult>,
    ) -> Report {
        let mut summary: BTreeMap<&'static str, usize> =
            Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for c in &checks {
            *summary.entry(c.status.as_str()).or_default() += 1;
        }
        Report { schema: Report::SCHEMA, device, facts, checks, summary }
    }

    pub fn count(&self, status: Status) -> usize {
        self.summary.get(status.as_str()).copied().unwrap_or(0)
    }

    /// Exit code of `jetdoc check`: 1 with any `fail` (or `error`), or any `warn` when strict.
    pub fn exit_code(&self, strict: bool) -> i32 {
        let bad = self.count(Status::Fail)
            + self.count(Status::Error)
            + if strict { self.count(Status::Warn) } else { 0 };
        i32::from(bad > 0)
    }
}
