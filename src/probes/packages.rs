use crate::context::{Context, Probe};
use crate::facts::dpkg_status::{self, DpkgStatus, Package};
use crate::host::Absence;

pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";

/// The dpkg database, or why it could not be read (not a Debian-family system, unreadable).
pub struct Packages {
    pub status: Result<DpkgStatus, Absence>,
}

impl Probe for Packages {
    fn probe(ctx: &Context) -> Self {
        Packages { status: ctx.host.read_text(DPKG_STATUS).map(|t| dpkg_status::parse(&t)) }
    }
}

impl Packages {
    pub fn installed(&self, name: &str) -> Option<&Package> {
        self.status.as_ref().ok()?.installed(name)
    }

    pub fn installed_matching(&self, pred: impl Fn(&str) -> bool) -> Vec<&Package> {
        match &self.status {
            Ok(s) => s.installed_matching(pred),
            Err(_) => Vec::new(),
        }
    }

    /// The machine's Debian architecture (`arm64`, `amd64`), from the `dpkg` package itself.
    pub fn architecture(&self) -> Option<&str> {
        self.installed("dpkg").and_then(|p| p.architecture.as_deref())
    }
}
