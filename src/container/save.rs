//! Reading the archive `docker save` writes: the legacy layout (`<id>/layer.tar`, `<id>.json`,
//! `manifest.json`) and the OCI one Docker 25+ writes (`blobs/sha256/<digest>` beside
//! `index.json`, with a `manifest.json` for compatibility). Blobs are told apart by their first
//! bytes: a tar (`ustar` at 257, or the zero blocks of an empty layer), gzip (`1f 8b`), zstd
//! (`28 b5 2f fd`, which jetdoc does not read and says so), or a JSON document (configs and
//! manifests, kept in memory up to a cap).
//!
//! The layers arrive in the archive's order, not the image's (that is in `manifest.json`, which
//! may come last): `spool` writes each layer, uncompressed, to a file of a work directory so
//! the image's layers can then be read in order, as often as needed, with bounded memory.

use std::collections::HashMap;
use std::io::{self, BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};

/// Config and manifest documents are small; anything bigger is not one.
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("reading the image archive: {0}")]
    Io(#[from] io::Error),
    #[error("the image archive has no manifest.json: is it the output of `docker save`?")]
    NoManifest,
    #[error("manifest.json of the image archive is malformed: {0}")]
    BadManifest(String),
    #[error("layer {0} named by manifest.json is missing from the archive")]
    MissingLayer(String),
    #[error("the config {0} named by manifest.json is missing from the archive")]
    MissingConfig(String),
    #[error("layer {0} is zstd-compressed: jetdoc reads uncompressed and gzip layers only; export the image with gzip layers (`docker save` of the classic image store writes uncompressed ones) or rebuild it without `compression=zstd`")]
    Zstd(String),
    #[error(
        "{name} in the image archive is larger than {MAX_DOCUMENT_BYTES} bytes: not a config or manifest"
    )]
    TooLarge { name: String },
}

/// What a blob is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    Tar,
    Gzip,
    Zstd,
    /// A config, manifest or index document.
    Json,
    Other,
}

/// Classifies a blob by its first bytes (up to 512).
pub fn classify(head: &[u8]) -> BlobKind {
    if head.starts_with(&[0x1f, 0x8b]) {
        BlobKind::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        BlobKind::Zstd
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        BlobKind::Tar
    } else if !head.is_empty() && head.iter().all(|b| *b == 0) {
        // An empty layer is a tar of zero blocks only.
        BlobKind::Tar
    } else if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        BlobKind::Json
    } else {
        BlobKind::Other
    }
}

/// Reads up to `buf.len()` bytes (less only at the end of the stream).
pub fn read_up_to<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A blob's first 512 bytes and a reader that yields the whole blob again.
pub fn peek<R: Read>(mut r: R) -> io::Result<(BlobKind, impl Read)> {
    let mut head = vec![0u8; 512];
    let n = read_up_to(&mut r, &mut head)?;
    head.truncate(n);
    Ok((classify(&head), Cursor::new(head).chain(r)))
}

/// `./blobs/sha256/x` -> `blobs/sha256/x`.
pub fn entry_name(path: &[u8]) -> String {
    let s = String::from_utf8_lossy(path);
    s.trim_start_matches("./").trim_start_matches('/').to_string()
}

/// The first image of `manifest.json`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestEntry {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

pub fn parse_manifest(text: &[u8]) -> Result<ManifestEntry, SaveError> {
    let entries: Vec<ManifestEntry> =
        serde_json::from_slice(text).map_err(|e| SaveError::BadManifest(e.to_string()))?;
    entries.into_iter().next().ok_or_else(|| SaveError::BadManifest("no image in it".into()))
}

/// An image spooled to a work directory: its config document, and its layers in order as
/// uncompressed tar files.
#[derive(Debug)]
pub struct Spooled {
    pub config: Vec<u8>,
    pub config_name: String,
    pub layers: Vec<PathBuf>,
    pub repo_tags: Vec<String>,
    /// Bytes of uncompressed layers written.
    pub spooled_bytes: u64,
}

enum Held {
    Layer(PathBuf),
    Zstd,
    /// A legacy `layer.tar` that is a symlink to another layer's file.
    Alias(String),
}

/// Reads a `docker save` stream to its end, writing each layer blob (gunzipped) to `dir`.
/// Documents are kept in memory; anything else is skipped. `on_layer` hears of each layer
/// spooled (its name and size), for progress.
pub fn spool(reader: impl Read, dir: &Path, on_layer: &dyn Fn(&str, u64)) -> Result<Spooled, SaveError> {
    let mut archive = tar::Archive::new(reader);
    let mut held: HashMap<String, Held> = HashMap::new();
    let mut docs: HashMap<String, Vec<u8>> = HashMap::new();
    let mut spooled_bytes = 0;
    for (n, entry) in archive.entries()?.enumerate() {
        let entry = entry?;
        let name = entry_name(&entry.path_bytes());
        match entry.header().entry_type() {
            tar::EntryType::Regular => {}
            tar::EntryType::Symlink => {
                // Legacy layouts link a repeated layer to the first copy: `../<id>/layer.tar`.
                if let Some(target) = entry.link_name_bytes() {
                    let base = Path::new(&name).parent().unwrap_or(Path::new(""));
                    let joined = normalize_relative(&base.join(entry_name(&target)));
                    held.insert(name, Held::Alias(joined));
                }
                continue;
            }
            _ => continue,
        }
        let size = entry.header().size()?;
        let (kind, mut blob) = peek(entry)?;
        match kind {
            BlobKind::Json | BlobKind::Other if size <= MAX_DOCUMENT_BYTES => {
                let mut bytes = Vec::with_capacity(size as usize);
                blob.read_to_end(&mut bytes)?;
                docs.insert(name, bytes);
            }
            BlobKind::Json => return Err(SaveError::TooLarge { name }),
            BlobKind::Other => {
                io::copy(&mut blob, &mut io::sink())?;
            }
            BlobKind::Zstd => {
                io::copy(&mut blob, &mut io::sink())?;
                held.insert(name, Held::Zstd);
            }
            BlobKind::Tar | BlobKind::Gzip => {
                let path = dir.join(format!("layer-{n}.tar"));
                let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
                let bytes = if kind == BlobKind::Gzip {
                    io::copy(&mut flate2::read::MultiGzDecoder::new(blob), &mut out)?
                } else {
                    io::copy(&mut blob, &mut out)?
                };
                out.flush()?;
                spooled_bytes += bytes;
                on_layer(&name, bytes);
                held.insert(name, Held::Layer(path));
            }
        }
    }
    let manifest = parse_manifest(docs.get("manifest.json").ok_or(SaveError::NoManifest)?)?;
    let config_name = entry_name(manifest.config.as_bytes());
    let config = docs.remove(&config_name).ok_or_else(|| SaveError::MissingConfig(config_name.clone()))?;
    let mut layers = Vec::new();
    for layer in &manifest.layers {
        let mut name = entry_name(layer.as_bytes());
        for _ in 0..8 {
            match held.get(&name) {
                Some(Held::Alias(to)) => name = to.clone(),
                _ => break,
            }
        }
        match held.get(&name) {
            Some(Held::Layer(p)) => layers.push(p.clone()),
            Some(Held::Zstd) => return Err(SaveError::Zstd(layer.clone())),
            _ => return Err(SaveError::MissingLayer(layer.clone())),
        }
    }
    Ok(Spooled {
        config,
        config_name,
        layers,
        repo_tags: manifest.repo_tags.unwrap_or_default(),
        spooled_bytes,
    })
}

/// `a/../b/layer.tar` -> `b/layer.tar`.
fn normalize_relative(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_told_apart_by_their_first_bytes() {
        let mut tar_head = vec![0u8; 512];
        tar_head[257..262].copy_from_slice(b"ustar");
        tar_head[0] = b'a';
        assert_eq!(classify(&tar_head), BlobKind::Tar);
        assert_eq!(classify(&[0u8; 512]), BlobKind::Tar);
        assert_eq!(classify(&[0x1f, 0x8b, 8, 0]), BlobKind::Gzip);
        assert_eq!(classify(&[0x28, 0xb5, 0x2f, 0xfd, 1]), BlobKind::Zstd);
        assert_eq!(classify(b"  {\"architecture\":\"arm64\"}"), BlobKind::Json);
        assert_eq!(classify(b"1.0"), BlobKind::Other);
    }

    #[test]
    fn relative_aliases_resolve() {
        assert_eq!(normalize_relative(Path::new("abc/../def/layer.tar")), "def/layer.tar");
    }
}
