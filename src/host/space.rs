//! Free space of the filesystem holding a path, by `statvfs(3)`: only meaningful on the live
//! host. For a foreign root the machine jetdoc runs on would answer for its own disk, so probes
//! ask the command runner's `df` there instead (a fixture's `commands.toml` answers it).

use super::{Absence, Found, Host, Reason};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Space {
    pub total_bytes: u64,
    /// Available to unprivileged users (`f_bavail`), as `df` shows it.
    pub avail_bytes: u64,
}

impl Host {
    /// statvfs of `path`, or of its nearest existing ancestor (Docker's data-root may not exist
    /// yet; its parent's filesystem is where it will be created).
    pub fn statvfs(&self, path: &str) -> Found<Space> {
        if !self.is_live() {
            return Err(Absence::new(
                path,
                Reason::NotApplicable("statvfs measures this machine, not the inspected root".into()),
            ));
        }
        let mut p = std::path::Path::new(path);
        loop {
            match rustix::fs::statvfs(p) {
                Ok(s) => {
                    return Ok(Space {
                        total_bytes: s.f_blocks.saturating_mul(s.f_frsize),
                        avail_bytes: s.f_bavail.saturating_mul(s.f_frsize),
                    })
                }
                Err(e) if e == rustix::io::Errno::NOENT => match p.parent() {
                    Some(parent) => p = parent,
                    None => return Err(Absence::new(path, Reason::Missing)),
                },
                Err(e) => return Err(Absence::from_io(path, &std::io::Error::from(e))),
            }
        }
    }
}
