//! Writes (and the strict reads that go with them) under the root: the primitives of the one
//! executor of host changes (`crate::steps`).
//!
//! Probes read the way the device would (`Host::read`). Writing is where a hostile or merely odd
//! root could hurt the machine jetdoc runs on, as root: with `R/var/lib/jetdoc -> /etc` a naive
//! `R.join("var/lib/jetdoc/backups/...")` lands in the host's `/etc`. Every primitive here
//! therefore
//! 1. resolves the path inside the root (symlinks followed as the device would follow them,
//!    absolute targets taken from the root, `..` clamped at the root; uncached, as the tree may
//!    just have changed),
//! 2. walks the resolved directories down from a file descriptor of the root with `O_NOFOLLOW`,
//!    creating what is missing (`mkdirat`), and
//! 3. acts relative to the last directory's descriptor (`openat`, `renameat`, `unlinkat`).
//!
//! A symlink met on that walk was swapped in after the resolution: it is refused, never followed.
//! So nothing a root holds, and no race against it, makes jetdoc create, write, rename or delete a
//! file outside the root. Only regular files are opened: a FIFO, a socket or a device node is
//! refused by `stat` before any `open` (opening a device can have side effects; a FIFO would block).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::{components, Host, MAX_FILE_BYTES};

/// Why a write-side operation under the root failed. The path is the one jetdoc was asked for,
/// shown as it is on this machine (`/mnt/sd/var/lib/jetdoc/journal.jsonl` under `--root /mnt/sd`).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("{path}: {what}: {source}")]
    Io {
        path: String,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {why}")]
    Refused { path: String, why: String },
}

impl HostError {
    pub fn path(&self) -> &str {
        match self {
            HostError::Io { path, .. } | HostError::Refused { path, .. } => path,
        }
    }
}

/// A regular file as read by `Host::read_file`: its bytes and what a rewrite must keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub bytes: Vec<u8>,
    /// Permission bits, setuid/setgid/sticky included (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The kind of a directory entry, for `Host::list_dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device node.
    Other,
}

/// What the walk down to a directory found.
enum Walk {
    Dir(OwnedFd),
    /// A component is missing (and was not to be created).
    Missing,
}

/// Removes a half-written temp file unless the rename consumed it.
struct TempFile<'a> {
    dir: &'a OwnedFd,
    name: String,
    armed: bool,
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = rfs::unlinkat(self.dir, self.name.as_str(), AtFlags::empty());
        }
    }
}

/// Prefix of every temp file the executor writes; a crash can leave one behind, and the next run
/// removes it (`crate::steps` recovery).
pub const TEMP_PREFIX: &str = ".jetdoc-";

const DIR_FLAGS: OFlags =
    OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);
/// How deep `remove_tree` goes: backups mirror paths such as `etc/docker/daemon.json`.
const MAX_TREE_DEPTH: usize = 32;

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// What a file type is, for a refusal.
pub(crate) fn kind_name(ft: FileType) -> &'static str {
    match ft {
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symlink",
        _ => "not a regular file",
    }
}

impl Host {
    /// The path as it is on this machine, for messages.
    pub fn shown(&self, path: &str) -> String {
        if self.is_live() {
            path.to_string()
        } else {
            self.root().join(path.trim_start_matches('/')).display().to_string()
        }
    }

    fn io_err(&self, path: &str, what: &'static str) -> impl FnOnce(Errno) -> HostError + '_ {
        let path = self.shown(path);
        move |e| HostError::Io { path, what, source: errno_io(e) }
    }

    fn refused(&self, path: &str, why: impl Into<String>) -> HostError {
        HostError::Refused { path: self.shown(path), why: why.into() }
    }

    /// The components of `path` resolved inside the root, uncached. `..` can survive only past a
    /// missing directory (the resolver keeps the rest verbatim there); a write never follows it.
    fn resolve_components(&self, path: &str) -> Result<Vec<String>, HostError> {
        let inside =
            self.resolve_inside_with(path, false).map_err(|a| self.refused(path, a.reason.to_string()))?;
        let parts = components(&inside);
        if parts.iter().any(|c| c == "..") {
            return Err(
                self.refused(path, "`..` after a missing directory: refusing to guess where it leads")
            );
        }
        Ok(parts)
    }

    /// `path` with every symlink resolved inside the root (uncached), as the executor will act on
    /// it: `/var/lib/jetdoc` -> `/data/jetdoc` when the state directory is a link.
    pub fn resolve_in_root(&self, path: &str) -> Result<String, HostError> {
        Ok(format!("/{}", self.resolve_components(path)?.join("/")))
    }

    fn open_root(&self) -> Result<OwnedFd, HostError> {
        rfs::open(self.root(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(self.io_err("/", "cannot open the root directory"))
    }

    /// Walks `dirs` (already resolved) down from the root without following any link.
    fn walk(&self, path: &str, dirs: &[String], create: bool) -> Result<Walk, HostError> {
        let mut fd = self.open_root()?;
        for c in dirs {
            let next = match rfs::openat(&fd, c.as_str(), DIR_FLAGS, Mode::empty()) {
                Ok(f) => f,
                Err(Errno::NOENT) if create => {
                    match rfs::mkdirat(&fd, c.as_str(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(self.io_err(path, "cannot create a directory on the way")(e)),
                    }
                    rfs::openat(&fd, c.as_str(), DIR_FLAGS, Mode::empty())
                        .map_err(|e| self.walk_error(path, c, e))?
                }
                Err(Errno::NOENT) => return Ok(Walk::Missing),
                Err(e) => return Err(self.walk_error(path, c, e)),
            };
            fd = next;
        }
        Ok(Walk::Dir(fd))
    }

    fn walk_error(&self, path: &str, component: &str, e: Errno) -> HostError {
        match e {
            Errno::LOOP | Errno::NOTDIR => self.refused(
                path,
                format!("`{component}` on the way is a symlink or not a directory (it changed while jetdoc worked?); jetdoc does not follow a link it did not resolve inside the root"),
            ),
            e => self.io_err(path, "cannot open a directory on the way")(e),
        }
    }

    /// The directory holding `path` (created when `create`), and the file name in it.
    fn parent_of(&self, path: &str, create: bool) -> Result<Option<(OwnedFd, String)>, HostError> {
        let mut parts = self.resolve_components(path)?;
        let Some(name) = parts.pop() else {
            return Err(self.refused(path, "is the root directory itself"));
        };
        match self.walk(path, &parts, create)? {
            Walk::Dir(fd) => Ok(Some((fd, name))),
            Walk::Missing => Ok(None),
        }
    }

    /// Creates a directory and its missing parents, inside the root.
    pub fn create_dir_all(&self, path: &str) -> Result<(), HostError> {
        let parts = self.resolve_components(path)?;
        self.walk(path, &parts, true).map(|_| ())
    }

    /// Reads a regular file strictly: `None` when it is missing; a symlink swapped in, a FIFO, a
    /// socket or a device node is refused without being opened; at most `MAX_FILE_BYTES`.
    pub fn read_file(&self, path: &str) -> Result<Option<FileState>, HostError> {
        let Some((file, meta)) = self.open_file(path)? else { return Ok(None) };
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| HostError::Io {
            path: self.shown(path),
            what: "cannot read",
            source: e,
        })?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(self.refused(path, format!("larger than {} MiB", MAX_FILE_BYTES >> 20)));
        }
        Ok(Some(FileState { bytes, ..meta }))
    }

    /// Replaces `path` atomically: a `.jetdoc-*` temp file beside it (created exclusively, never
    /// through a link), written, given `owner` then `mode`, fsynced, renamed over the target, and
    /// the directory fsynced. Missing directories are created. On failure the target is untouched
    /// and the temp file removed.
    pub fn write_atomic(
        &self,
        path: &str,
        bytes: &[u8],
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> Result<(), HostError> {
        self.write_atomic_with(path, mode, owner, &mut |file| file.write_all(bytes))
    }

    fn write_atomic_with(
        &self,
        path: &str,
        mode: u32,
        owner: Option<(u32, u32)>,
        fill: &mut dyn FnMut(&mut File) -> io::Result<()>,
    ) -> Result<(), HostError> {
        let Some((dir, name)) = self.parent_of(path, true)? else {
            return Err(self.refused(path, "its directory could not be created"));
        };
        let stem: String = name.chars().take(64).collect();
        let mut temp = TempFile {
            dir: &dir,
            name: format!("{TEMP_PREFIX}{stem}.{:016x}", fastrand::u64(..)),
            armed: false,
        };
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&dir, temp.name.as_str(), flags, Mode::from_raw_mode(0o600))
            .map_err(self.io_err(path, "cannot create a temp file beside it"))?;
        temp.armed = true;
        let io = |what: &'static str| {
            let shown = self.shown(path);
            move |source: io::Error| HostError::Io { path: shown, what, source }
        };
        let mut file = File::from(fd);
        fill(&mut file).map_err(io("cannot write"))?;
        if let Some((uid, gid)) = owner {
            let st = rfs::fstat(&file).map_err(self.io_err(path, "cannot stat"))?;
            // Only root can give a file away; a user keeping their own uid is the best there is.
            if (st.st_uid, st.st_gid) != (uid, gid) {
                rfs::fchown(
                    &file,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                )
                .map_err(self.io_err(path, "cannot set the owner"))?;
            }
        }
        // After the chown, which clears setuid/setgid.
        rfs::fchmod(&file, Mode::from_raw_mode(mode & 0o7777))
            .map_err(self.io_err(path, "cannot set the mode"))?;
        file.sync_all().map_err(io("cannot fsync"))?;
        rfs::renameat(&dir, temp.name.as_str(), &dir, name.as_str())
            .map_err(self.io_err(path, "cannot rename the temp file over it"))?;
        temp.armed = false;
        rfs::fsync(&dir).map_err(self.io_err(path, "cannot fsync its directory"))
    }

    /// Opens a regular file for reading, as `read_file` does (a FIFO, socket, device node or a
    /// link swapped in is refused, never opened), for files too big to hold in memory: a binary,
    /// a bundle. `None` when it is missing. The metadata's `bytes` is empty.
    pub fn open_file(&self, path: &str) -> Result<Option<(File, FileState)>, HostError> {
        let Some((dir, name)) = self.parent_of(path, false)? else { return Ok(None) };
        match rfs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {}
            Ok(st) => {
                let why = match FileType::from_raw_mode(st.st_mode) {
                    FileType::Directory => "is a directory, not a file".to_string(),
                    other => format!("is {}, not a regular file: jetdoc does not open it", kind_name(other)),
                };
                return Err(self.refused(path, why));
            }
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(self.io_err(path, "cannot stat")(e)),
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match rfs::openat(&dir, name.as_str(), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(self.io_err(path, "cannot open")(e)),
        };
        let st = rfs::fstat(&fd).map_err(self.io_err(path, "cannot stat"))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(self.refused(path, "is not a regular file (it changed while jetdoc read it)"));
        }
        let meta = FileState { bytes: Vec::new(), mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid };
        Ok(Some((File::from(fd), meta)))
    }

    /// The SHA-256 (hex) of a regular file, read in a stream; `None` when it is missing.
    pub fn sha256_file(&self, path: &str) -> Result<Option<String>, HostError> {
        let Some((file, _)) = self.open_file(path)? else { return Ok(None) };
        let mut hashing = crate::digest::HashingReader::new(file);
        io::copy(&mut hashing, &mut io::sink()).map_err(|source| HostError::Io {
            path: self.shown(path),
            what: "cannot read",
            source,
        })?;
        Ok(Some(hashing.hex()))
    }

    /// `write_atomic` fed from a reader (a file too big to hold in memory): the same temp file,
    /// owner, mode, fsync and rename; on any error, the reader's included, the target is
    /// untouched. Returns the number of bytes written.
    pub fn write_atomic_from(
        &self,
        path: &str,
        from: &mut dyn Read,
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> Result<u64, HostError> {
        let mut written = 0;
        self.write_atomic_with(path, mode, owner, &mut |file| {
            written = io::copy(from, file)?;
            Ok(())
        })?;
        Ok(written)
    }

    /// Creates (or replaces) the symlink `path` -> `target`. Only `path`'s directories are
    /// resolved; the link itself is never followed, and a directory at `path` is refused. The
    /// target is stored as given: a link's target is read on the device, inside its own root.
    pub fn symlink(&self, path: &str, target: &str) -> Result<(), HostError> {
        let Some((dir, name)) = self.link_parent(path, true)? else {
            return Err(self.refused(path, "its directory could not be created"));
        };
        if let Ok(st) = rfs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                return Err(self.refused(path, "is a directory, not a link"));
            }
        }
        let temp =
            format!("{TEMP_PREFIX}{}.{:016x}", name.chars().take(64).collect::<String>(), fastrand::u64(..));
        rfs::symlinkat(target, &dir, temp.as_str())
            .map_err(self.io_err(path, "cannot create a symlink beside it"))?;
        if let Err(e) = rfs::renameat(&dir, temp.as_str(), &dir, name.as_str()) {
            let _ = rfs::unlinkat(&dir, temp.as_str(), AtFlags::empty());
            return Err(self.io_err(path, "cannot rename the new link over it")(e));
        }
        rfs::fsync(&dir).map_err(self.io_err(path, "cannot fsync its directory"))
    }

    /// What `path` is, without following it when it is a link: `None` missing, `Some(Ok(target))`
    /// a symlink, `Some(Err(kind))` anything else (`a directory`, `a regular file`, ...).
    pub fn link_at(&self, path: &str) -> Result<Option<Result<String, &'static str>>, HostError> {
        let Some((dir, name)) = self.link_parent(path, false)? else { return Ok(None) };
        match rfs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => {
                    let target = rfs::readlinkat(&dir, name.as_str(), Vec::new())
                        .map_err(self.io_err(path, "cannot read the link"))?;
                    Ok(Some(Ok(target.to_string_lossy().into_owned())))
                }
                FileType::RegularFile => Ok(Some(Err("a regular file"))),
                other => Ok(Some(Err(kind_name(other)))),
            },
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(self.io_err(path, "cannot stat")(e)),
        }
    }

    /// Removes the symlink `path` (never what it points to). `false` when there was none; a
    /// file or directory there is refused.
    pub fn remove_link(&self, path: &str) -> Result<bool, HostError> {
        let Some((dir, name)) = self.link_parent(path, false)? else { return Ok(false) };
        match rfs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {}
            Ok(st) => {
                let kind = kind_name(FileType::from_raw_mode(st.st_mode));
                return Err(self.refused(path, format!("is {kind}, not a link: jetdoc leaves it alone")));
            }
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(self.io_err(path, "cannot stat")(e)),
        }
        rfs::unlinkat(&dir, name.as_str(), AtFlags::empty()).map_err(self.io_err(path, "cannot remove"))?;
        rfs::fsync(&dir).map_err(self.io_err(path, "cannot fsync its directory"))?;
        Ok(true)
    }

    /// The directory of `path` resolved inside the root, and the last component as it is (a
    /// link there is the object of the operation, not a way to somewhere else).
    fn link_parent(&self, path: &str, create: bool) -> Result<Option<(OwnedFd, String)>, HostError> {
        let mut parts = components(path);
        let Some(name) = parts.pop().filter(|n| n != "..") else {
            return Err(self.refused(path, "names no link (the root, or ends in `..`)"));
        };
        let dir = format!("/{}", parts.join("/"));
        let dirs = self.resolve_components(&dir)?;
        match self.walk(path, &dirs, create)? {
            Walk::Dir(fd) => Ok(Some((fd, name))),
            Walk::Missing => Ok(None),
        }
    }

    /// Renames `from` to `to` (both inside the root; `to` is replaced). Never follows a link.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), HostError> {
        let Some((from_dir, from_name)) = self.parent_of(from, false)? else {
            return Err(self.refused(from, "missing"));
        };
        let Some((to_dir, to_name)) = self.parent_of(to, true)? else {
            return Err(self.refused(to, "its directory could not be created"));
        };
        rfs::renameat(&from_dir, from_name.as_str(), &to_dir, to_name.as_str())
            .map_err(self.io_err(from, "cannot rename"))?;
        rfs::fsync(&to_dir).map_err(self.io_err(to, "cannot fsync its directory"))
    }

    /// Removes a file (or symlink: the link, not its target). `false` when it was not there.
    pub fn remove_file(&self, path: &str) -> Result<bool, HostError> {
        let Some((dir, name)) = self.parent_of(path, false)? else { return Ok(false) };
        match rfs::unlinkat(&dir, name.as_str(), AtFlags::empty()) {
            Ok(()) => {
                rfs::fsync(&dir).map_err(self.io_err(path, "cannot fsync its directory"))?;
                Ok(true)
            }
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(self.io_err(path, "cannot remove")(e)),
        }
    }

    /// Removes a directory and everything in it, links removed as links (never followed).
    pub fn remove_tree(&self, path: &str) -> Result<bool, HostError> {
        let Some((parent, name)) = self.parent_of(path, false)? else { return Ok(false) };
        let dir = match rfs::openat(&parent, name.as_str(), DIR_FLAGS, Mode::empty()) {
            Ok(d) => d,
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(self.walk_error(path, &name, e)),
        };
        self.empty_dir(path, &dir, 0)?;
        rfs::unlinkat(&parent, name.as_str(), AtFlags::REMOVEDIR)
            .map_err(self.io_err(path, "cannot remove"))?;
        Ok(true)
    }

    fn empty_dir(&self, path: &str, dir: &OwnedFd, depth: usize) -> Result<(), HostError> {
        if depth > MAX_TREE_DEPTH {
            return Err(self.refused(path, format!("nested deeper than {MAX_TREE_DEPTH} directories")));
        }
        for (name, kind) in read_entries(dir).map_err(self.io_err(path, "cannot list"))? {
            if kind == EntryKind::Dir {
                let sub = rfs::openat(dir, name.as_str(), DIR_FLAGS, Mode::empty())
                    .map_err(|e| self.walk_error(path, &name, e))?;
                self.empty_dir(path, &sub, depth + 1)?;
                rfs::unlinkat(dir, name.as_str(), AtFlags::REMOVEDIR)
            } else {
                rfs::unlinkat(dir, name.as_str(), AtFlags::empty())
            }
            .map_err(self.io_err(path, "cannot remove an entry"))?;
        }
        Ok(())
    }

    /// The entries of a directory with their kinds (links not followed), sorted; empty when the
    /// directory is missing.
    pub fn list_dir(&self, path: &str) -> Result<Vec<(String, EntryKind)>, HostError> {
        let parts = self.resolve_components(path)?;
        match self.walk(path, &parts, false)? {
            Walk::Missing => Ok(Vec::new()),
            Walk::Dir(fd) => {
                let mut entries = read_entries(&fd).map_err(self.io_err(path, "cannot list"))?;
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(entries)
            }
        }
    }

    /// Opens a regular file for appending (created with `mode` when missing, directories too).
    pub fn open_append(&self, path: &str, mode: u32) -> Result<File, HostError> {
        self.open_regular(path, OFlags::WRONLY | OFlags::APPEND, mode)
    }

    /// Opens (creating) a regular file for reading and writing: a lock file.
    pub fn open_rw(&self, path: &str, mode: u32) -> Result<File, HostError> {
        self.open_regular(path, OFlags::RDWR, mode)
    }

    fn open_regular(&self, path: &str, access: OFlags, mode: u32) -> Result<File, HostError> {
        let Some((dir, name)) = self.parent_of(path, true)? else {
            return Err(self.refused(path, "its directory could not be created"));
        };
        match rfs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                let kind = kind_name(FileType::from_raw_mode(st.st_mode));
                return Err(self.refused(path, format!("is {kind}, not a regular file")));
            }
            Ok(_) | Err(Errno::NOENT) => {}
            Err(e) => return Err(self.io_err(path, "cannot stat")(e)),
        }
        let flags =
            access | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = rfs::openat(&dir, name.as_str(), flags, Mode::from_raw_mode(mode))
            .map_err(self.io_err(path, "cannot open"))?;
        let st = rfs::fstat(&fd).map_err(self.io_err(path, "cannot stat"))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(self.refused(path, "is not a regular file"));
        }
        Ok(File::from(fd))
    }
}

fn read_entries(dir: &OwnedFd) -> Result<Vec<(String, EntryKind)>, Errno> {
    let mut out = Vec::new();
    for entry in rfs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            FileType::Unknown => match rfs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                    FileType::RegularFile => EntryKind::File,
                    FileType::Directory => EntryKind::Dir,
                    FileType::Symlink => EntryKind::Symlink,
                    _ => EntryKind::Other,
                },
                Err(_) => EntryKind::Other,
            },
            _ => EntryKind::Other,
        };
        out.push((name, kind));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{EnvSource, OfflineRunner};
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    use std::path::Path;

    fn host(root: &Path) -> Host {
        Host::with_root(root, Box::new(OfflineRunner), EnvSource::Map(Default::default())).unwrap()
    }

    #[test]
    fn writes_follow_links_inside_the_root_and_never_leave_it() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("var/lib")).unwrap();
        // An absolute link to a real directory outside: inside the root it means R/<that path>.
        symlink(outside.path(), root.path().join("var/lib/jetdoc")).unwrap();
        let h = host(root.path());
        h.write_atomic("/var/lib/jetdoc/journal.jsonl", b"x\n", 0o600, None).unwrap();
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing outside");
        let inside = root.path().join(outside.path().strip_prefix("/").unwrap()).join("journal.jsonl");
        assert_eq!(std::fs::read(&inside).unwrap(), b"x\n");
        assert_eq!(h.read_file("/var/lib/jetdoc/journal.jsonl").unwrap().unwrap().bytes, b"x\n");
        // A relative link climbing out is clamped at the root.
        symlink("../../../../../../../..", root.path().join("var/up")).unwrap();
        h.create_dir_all("/var/up/made").unwrap();
        assert!(root.path().join("made").is_dir());
    }

    #[test]
    fn atomic_write_keeps_mode_and_leaves_no_temp_file() {
        let root = tempfile::tempdir().unwrap();
        let h = host(root.path());
        h.write_atomic("/etc/docker/daemon.json", b"{}\n", 0o640, None).unwrap();
        let p = root.path().join("etc/docker/daemon.json");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        let st = h.read_file("/etc/docker/daemon.json").unwrap().unwrap();
        assert_eq!((st.mode, st.uid), (0o640, std::fs::metadata(&p).unwrap().uid()));
        assert!(h.read_file("/etc/docker/none.json").unwrap().is_none());
        assert!(h.read_file("/no/such/dir/file").unwrap().is_none());
    }

    #[test]
    fn special_files_are_refused_without_opening_them() {
        let root = tempfile::tempdir().unwrap();
        let fifo = root.path().join("fifo");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        let h = host(root.path());
        let e = h.read_file("/fifo").unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        assert!(h.open_append("/fifo", 0o600).is_err());
        std::fs::create_dir(root.path().join("dir")).unwrap();
        assert!(h.open_append("/dir", 0o600).unwrap_err().to_string().contains("directory"));
    }

    #[test]
    fn remove_tree_removes_links_not_their_targets() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "k").unwrap();
        std::fs::create_dir_all(root.path().join("b/x/y")).unwrap();
        std::fs::write(root.path().join("b/x/y/f"), "f").unwrap();
        symlink(outside.path(), root.path().join("b/x/link")).unwrap();
        let h = host(root.path());
        assert!(h.remove_tree("/b").unwrap());
        assert!(!root.path().join("b").exists());
        assert!(outside.path().join("keep").exists());
        assert!(!h.remove_tree("/b").unwrap());
    }
}
