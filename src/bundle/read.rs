//! Reading a bundle: one pass over the tar stream, the manifest first, then each member in the
//! manifest's order, hashed while it is read. A member is handed to the caller through a reader
//! that fails at its end when the bytes are not the manifest's (so a caller that copies it into a
//! temp file and keeps it only after a clean end never keeps a tampered file), and any of it the
//! caller leaves unread is read and checked before the next member.
//!
//! What a hostile bundle can try, and what it meets:
//! - a member name with `..`, an absolute path, a link, a device, a directory, a GNU long name or
//!   a PAX header (whose data a tar reader would hold in memory): only regular files with the
//!   plain names the manifest lists are accepted, checked from the raw header before any data is
//!   read; nothing is ever written by its name (callers write under names they choose);
//! - a manifest that is huge, lists thousands of members or sizes past the bundle's length:
//!   refused before anything else is read ([`Manifest::parse`]);
//! - a member whose header size differs from the manifest's: refused before it is read;
//! - a member longer than it claims ("endless"): the tar header bounds what is read, and the
//!   header must match the manifest;
//! - members missing, extra, repeated or out of order: named.
//!
//! Memory stays at a few buffers whatever the bundle holds.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, Member, MANIFEST, MAX_MANIFEST_BYTES};
use super::BundleError;

/// What a caller does with each member as it streams by.
pub type Visit<'a> = dyn FnMut(&Manifest, &Member, &mut dyn Read) -> Result<(), BundleError> + 'a;

/// Reads a bundle from `input` (of `len` bytes when known). `on_manifest` sees the manifest
/// before any member is read (to refuse a bundle for another device, or one that needs more
/// disk than there is); `visit` gets each member's bytes as they stream by.
pub fn read<R: Read>(
    input: R,
    len: Option<u64>,
    on_manifest: &mut dyn FnMut(&Manifest) -> Result<(), BundleError>,
    visit: &mut Visit<'_>,
) -> Result<Manifest, BundleError> {
    let mut archive = tar::Archive::new(input);
    let entries = archive.entries().map_err(|e| BundleError::NotABundle(e.to_string()))?;
    // Raw: GNU long names and PAX headers are not interpreted (their data would be read into
    // memory whatever its size); they are refused like any other entry that is not a plain file.
    let mut entries = entries.raw(true);

    let mut first = match entries.next() {
        Some(Ok(e)) => e,
        Some(Err(e)) => return Err(BundleError::NotABundle(e.to_string())),
        None => return Err(BundleError::NotABundle("it is an empty tar archive".into())),
    };
    let name = header_name(&first);
    if name != MANIFEST || !is_regular(&first) {
        return Err(BundleError::NotABundle(format!(
            "its first member is {name:?}, not {MANIFEST} (a jetdoc bundle starts with its manifest)"
        )));
    }
    let size = first.header().size().map_err(|e| BundleError::NotABundle(e.to_string()))?;
    if size > MAX_MANIFEST_BYTES {
        return Err(BundleError::Manifest(format!(
            "is {size} bytes; a manifest is at most {MAX_MANIFEST_BYTES} bytes"
        )));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    (&mut first)
        .take(MAX_MANIFEST_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::Truncated { member: MANIFEST.into(), why: e.to_string() })?;
    if bytes.len() as u64 != size {
        return Err(BundleError::Truncated {
            member: MANIFEST.into(),
            why: "the file ends inside it".into(),
        });
    }
    drop(first);
    let manifest = Manifest::parse(&bytes, len)?;
    on_manifest(&manifest)?;

    for want in &manifest.members {
        let mut entry = match entries.next() {
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                return Err(BundleError::Truncated { member: want.name.clone(), why: e.to_string() })
            }
            None => return Err(BundleError::Missing { member: want.name.clone() }),
        };
        let name = header_name(&entry);
        if name != want.name {
            return Err(if manifest.members.iter().any(|m| m.name == name) {
                BundleError::Member {
                    member: name,
                    problem: format!(
                        "comes where the manifest lists {} (out of order, or repeated)",
                        want.name
                    ),
                }
            } else if is_regular(&entry) {
                BundleError::Unexpected { member: name }
            } else {
                BundleError::Member {
                    member: name,
                    problem: format!("is {}, not a file the manifest lists", kind_of(&entry)),
                }
            });
        }
        if !is_regular(&entry) {
            return Err(BundleError::Member {
                member: name,
                problem: format!("is {}, not a regular file", kind_of(&entry)),
            });
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| BundleError::Member { member: name.clone(), problem: e.to_string() })?;
        if size != want.size {
            return Err(BundleError::Member {
                member: name,
                problem: format!("is {size} bytes in the archive, {} in the manifest", want.size),
            });
        }
        let mut checked = Checked { inner: &mut entry, hasher: Sha256::new(), read: 0, member: want };
        visit(&manifest, want, &mut checked)?;
        // What the caller left unread is checked all the same.
        io::copy(&mut checked, &mut io::sink()).map_err(|e| member_io(want, e))?;
    }
    match entries.next() {
        None => Ok(manifest),
        Some(Ok(e)) => Err(BundleError::Unexpected { member: header_name(&e) }),
        Some(Err(e)) => {
            Err(BundleError::Truncated { member: "(after the last member)".into(), why: e.to_string() })
        }
    }
}

/// Maps an error of a member's reader (a tampered or short member) to its `BundleError`.
pub fn member_io(m: &Member, e: io::Error) -> BundleError {
    match e.get_ref().and_then(|i| i.downcast_ref::<Mismatch>()) {
        Some(mm) => {
            BundleError::Tampered { member: m.name.clone(), want: m.sha256.clone(), got: mm.0.clone() }
        }
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            BundleError::Truncated { member: m.name.clone(), why: "the file ends inside it".into() }
        }
        None => BundleError::Truncated { member: m.name.clone(), why: e.to_string() },
    }
}

/// The sha256 a member had instead of the manifest's.
#[derive(Debug)]
pub struct Mismatch(pub String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256 {} differs from the manifest's", self.0)
    }
}

impl std::error::Error for Mismatch {}

/// A member's bytes, hashed; at the end an error unless they are the manifest's (and as many).
struct Checked<'a, R> {
    inner: &'a mut R,
    hasher: Sha256,
    read: u64,
    member: &'a Member,
}

impl<R: Read> Read for Checked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        if n == 0 && !buf.is_empty() {
            if self.read != self.member.size {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file ends inside the member"));
            }
            let got = hex::encode(self.hasher.clone().finalize());
            if got != self.member.sha256 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, Mismatch(got)));
            }
        }
        Ok(n)
    }
}

/// The name in the raw header (the ustar prefix joined when there is one), lossy: a name that is
/// not UTF-8 is shown, and never matches a manifest name.
fn header_name<R: Read>(e: &tar::Entry<'_, R>) -> String {
    String::from_utf8_lossy(&e.path_bytes()).into_owned()
}

fn is_regular<R: Read>(e: &tar::Entry<'_, R>) -> bool {
    matches!(e.header().entry_type(), tar::EntryType::Regular | tar::EntryType::Continuous)
}

fn kind_of<R: Read>(e: &tar::Entry<'_, R>) -> &'static str {
    use tar::EntryType as T;
    match e.header().entry_type() {
        T::Symlink => "a symlink",
        T::Link => "a hard link",
        T::Directory => "a directory",
        T::Char | T::Block => "a device node",
        T::Fifo => "a FIFO",
        T::GNULongName | T::GNULongLink => "a GNU long-name header",
        T::XHeader | T::XGlobalHeader => "a PAX header",
        T::GNUSparse => "a sparse file",
        _ => "an entry of an unknown type",
    }
}
