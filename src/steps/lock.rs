//! The exclusive lock on the state directory: two jetdoc runs never change one host at once, and
//! journal ids are chosen under it. `flock(2)` through `File::try_lock`: the kernel drops it when
//! the process dies, so a crash never leaves a stale lock.

use std::fs::File;
use std::time::{Duration, Instant};

use super::Reporter;
use crate::host::{Host, HostError};

pub const LOCK: &str = "/var/lib/jetdoc/lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("{path}: another jetdoc has been changing this host for {waited}s and still holds the lock; wait for it to finish (or find it with `fuser {path}`) and run again")]
    Busy { path: String, waited: u64 },
    #[error("{path}: cannot lock: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Held while it lives.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock, waiting up to `wait` while another process holds it.
    pub fn acquire(host: &Host, wait: Duration, rep: &dyn Reporter) -> Result<StateLock, LockError> {
        let file = host.open_rw(LOCK, 0o600)?;
        let shown = host.shown(LOCK);
        let start = Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StateLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(LockError::Io { path: shown, source })
                }
            }
            if start.elapsed() >= wait {
                return Err(LockError::Busy { path: shown, waited: start.elapsed().as_secs() });
            }
            if !told {
                rep.step(&format!("waiting for another jetdoc to finish (it holds {shown})"));
                told = true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{EnvSource, OfflineRunner};
    use crate::steps::Silent;

    #[test]
    fn a_second_holder_waits_then_gives_up() {
        let root = tempfile::tempdir().unwrap();
        let host = Host::with_root(root.path(), Box::new(OfflineRunner), EnvSource::Map(Default::default()))
            .unwrap();
        let first = StateLock::acquire(&host, Duration::ZERO, &Silent).unwrap();
        let e = StateLock::acquire(&host, Duration::from_millis(300), &Silent).unwrap_err();
        assert!(matches!(e, LockError::Busy { .. }), "{e}");
        assert!(e.to_string().contains("holds the lock"), "{e}");
        drop(first);
        StateLock::acquire(&host, Duration::ZERO, &Silent).unwrap();
    }
}
