use serde::Serialize;
use std::fmt;
use std::io;

/// Why a fact could not be read. Probes return this as data; it is never a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum Reason {
    Missing,
    Empty,
    /// Permission denied while not root: running with sudo would read it.
    NeedsRoot,
    Unreadable(String),
    TooLarge(u64),
    SymlinkLoop,
    NotAFile,
    /// A FIFO, socket or device node where a file was expected: never opened.
    NotRegular(String),
    NotADirectory,
    /// The content is there but is not in the expected format.
    Malformed(String),
    /// The source does not apply here (not a Jetson, foreign root, no driver, ...).
    NotApplicable(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Missing => write!(f, "missing"),
            Reason::Empty => write!(f, "empty"),
            Reason::NeedsRoot => write!(f, "permission denied (run as root to read it)"),
            Reason::Unreadable(e) => write!(f, "unreadable: {e}"),
            Reason::TooLarge(limit) => {
                write!(f, "larger than {} MiB, not the expected file", limit / (1024 * 1024))
            }
            Reason::SymlinkLoop => write!(f, "symlink loop"),
            Reason::NotAFile => write!(f, "is a directory, not a file"),
            Reason::NotRegular(kind) => write!(f, "is {kind}, not a regular file (not opened)"),
            Reason::NotADirectory => write!(f, "not a directory"),
            Reason::Malformed(e) => write!(f, "malformed: {e}"),
            Reason::NotApplicable(e) => write!(f, "{e}"),
        }
    }
}

/// A path (or other source) and the reason nothing usable came out of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Absence {
    pub source: String,
    pub reason: Reason,
}

impl Absence {
    pub fn new(source: &str, reason: Reason) -> Absence {
        Absence { source: source.to_string(), reason }
    }

    pub fn malformed(source: &str, why: impl Into<String>) -> Absence {
        Absence::new(source, Reason::Malformed(why.into()))
    }

    pub fn from_io(source: &str, err: &io::Error) -> Absence {
        let reason = match err.kind() {
            io::ErrorKind::NotFound => Reason::Missing,
            io::ErrorKind::PermissionDenied => {
                if is_root() {
                    Reason::Unreadable(err.to_string())
                } else {
                    Reason::NeedsRoot
                }
            }
            io::ErrorKind::IsADirectory => Reason::NotAFile,
            io::ErrorKind::NotADirectory => Reason::Missing,
            _ if err.raw_os_error() == Some(40) => Reason::SymlinkLoop, // ELOOP
            _ => Reason::Unreadable(err.to_string()),
        };
        Absence::new(source, reason)
    }
}

impl fmt::Display for Absence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.reason)
    }
}

impl std::error::Error for Absence {}

/// Whether jetdoc runs with effective uid 0.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
