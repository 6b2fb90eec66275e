//! `jetdoc image flatten`: an image's layers merged into one, its config kept exactly, the way
//! `crane flatten` (go-containerregistry `pkg/v1/mutate`) does it, without a Dockerfile.
//!
//! 1. `docker save IMAGE` is read as a stream; each layer is written, uncompressed, to a work
//!    directory (`save::spool`): the archive holds the layers in its own order, not the image's.
//! 2. The layers are merged bottom to top into one layer tar (`merge`): whiteouts and opaque
//!    directories applied, hard links, symlinks, modes, owners, times, device numbers and PAX
//!    records (xattrs such as `security.capability`) kept. Only an index of paths is held in
//!    memory; data is streamed.
//! 3. The image's config document is written back with only `rootfs.diff_ids` (the one new
//!    layer) and `history` (one entry) replaced: every other byte of it, ENV, WORKDIR, USER,
//!    ENTRYPOINT, CMD, labels, ports, volumes, STOPSIGNAL, HEALTHCHECK, ONBUILD, is the
//!    original's, by construction. Nothing of it passes through a Dockerfile, so no value can
//!    become an instruction.
//! 4. The archive (layer, config, manifest) is streamed into `docker load`. Its size is known
//!    before the first byte: a counting pass over the layer headers (data skipped by seeking)
//!    computes it, so the merged layer is never written to disk.

pub mod merge;
pub mod tarball;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::registry::Reference;
use super::save::{self, SaveError};
use crate::host::docker::{Docker, DockerError, LoadSink, Progress};
use crate::units::human_bytes;
pub use merge::Drop;
use tarball::TarWriter;

/// Name of the merged layer inside the archive fed to `docker load`.
const LAYER_NAME: &str = "jetdoc-flattened/layer.tar";

#[derive(Debug, thiserror::Error)]
pub enum FlattenError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("reading `docker save {image}`: {source}")]
    Save { image: String, source: SaveError },
    #[error("the work directory {dir}: {error}\n  set TMPDIR to a writable directory on a disk with room for the image")]
    WorkDir { dir: String, error: io::Error },
    #[error("flattening needs about {} free in {dir} to stage the image's layers, and {} are free\n  set TMPDIR to a directory on a larger disk", human_bytes(*need), human_bytes(*free))]
    NoSpace { dir: String, need: u64, free: u64 },
    #[error("reading layer {layer} of the image: {error}")]
    Layer { layer: usize, error: io::Error },
    #[error("layer {layer} holds the unsafe path {path:?} (`..`): refusing to merge it")]
    UnsafePath { layer: usize, path: String },
    #[error("layer {layer}: the hard link {path:?} points to {target:?}, which no layer holds")]
    BrokenLink { layer: usize, path: String, target: String },
    #[error(
        "layer {layer}: {path:?} is a sparse file, which jetdoc does not merge (Docker never writes one)"
    )]
    Sparse { layer: usize, path: String },
    #[error("the image's config document cannot be read ({0})")]
    Config(String),
    #[error("--tag {tag}: {why}")]
    BadTag { tag: String, why: String },
    #[error("writing the merged layer: {0}")]
    Write(#[from] io::Error),
    #[error("jetdoc planned a layer of {planned} bytes and wrote {written}: this is a jetdoc bug, please report it")]
    SizeMismatch { planned: u64, written: u64 },
}

impl FlattenError {
    fn layer(index: usize, error: io::Error) -> FlattenError {
        FlattenError::Layer { layer: index + 1, error }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// What to leave out of the merged layer.
    pub drop: Drop,
    /// Where the layers are staged (default: the system's temporary directory, `TMPDIR`).
    pub work_dir: Option<PathBuf>,
}

/// What a flatten made.
#[derive(Debug, Clone, Serialize)]
pub struct Flattened {
    pub image: String,
    pub source_layers: usize,
    /// The new image's id.
    pub id: String,
    pub tags: Vec<String>,
    /// Files, directories and links in the merged layer.
    pub entries: usize,
    /// Size of the merged layer (uncompressed).
    pub layer_bytes: u64,
    /// Hard links written as files because a later layer replaced or deleted their target.
    pub materialised_links: usize,
    /// Paths left out on request.
    pub dropped: Vec<String>,
}

/// Flattens `image` into a one-layer image tagged `tags` (`docker load` of the result).
pub fn flatten(
    docker: &dyn Docker,
    image: &str,
    tags: &[String],
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Flattened, FlattenError> {
    for tag in tags {
        Reference::parse(tag).map_err(|e| FlattenError::BadTag { tag: tag.clone(), why: e.to_string() })?;
    }
    let base = docker.inspect_one(image)?;
    let work = opts.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let shown = work.display().to_string();
    check_space(&work, base.size)?;
    let dir = tempfile::Builder::new()
        .prefix("jetdoc-flatten-")
        .tempdir_in(&work)
        .map_err(|error| FlattenError::WorkDir { dir: shown.clone(), error })?;

    progress.line(&format!("reading `docker save {image}` ({} layers)", base.layer_count()));
    let mut stream = docker.save(image)?;
    let reader = io::BufReader::with_capacity(1 << 20, &mut stream);
    let spooled = save::spool(reader, dir.path(), &|name, bytes| {
        progress.line(&format!("staged {name} ({})", human_bytes(bytes)))
    });
    // Docker's own failure explains a short stream: it is the error to report.
    stream.finish()?;
    let spooled = spooled.map_err(|source| match source {
        SaveError::Io(error) if error.kind() == io::ErrorKind::StorageFull => {
            FlattenError::WorkDir { dir: shown.clone(), error }
        }
        source => FlattenError::Save { image: image.to_string(), source },
    })?;
    let n = spooled.layers.len();

    let plan = merge::plan(&spooled.layers, &opts.drop, &|i| {
        progress.line(&format!("indexing layer {}/{n}", i + 1))
    })?;
    let mut counter = TarWriter::counting(io::sink());
    merge::write(&spooled.layers, &plan, &mut counter, &|_| {})?;
    let planned = counter.written();

    progress.line(&format!(
        "merging {n} layers into one ({} entries, {}) and loading it",
        plan.entries,
        human_bytes(planned)
    ));
    let mut load = docker.load()?;
    let written = write_archive(&mut load, &spooled, &plan, planned, image, tags, &|i| {
        progress.line(&format!("writing layer {}/{n}", i + 1))
    });
    let loaded = match written {
        Ok(()) => load.finish()?,
        // A write that failed because `docker load` ended: Docker's error is the one to report.
        Err(FlattenError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            load.finish()?;
            return Err(FlattenError::Write(e));
        }
        Err(e) => {
            load.abort();
            return Err(e);
        }
    };
    let id = match tags.first() {
        Some(tag) => docker.inspect_one(tag)?.id,
        None => loaded.images.iter().find(|i| i.starts_with("sha256:")).cloned().unwrap_or_default(),
    };
    Ok(Flattened {
        image: image.to_string(),
        source_layers: n,
        id,
        tags: tags.to_vec(),
        entries: plan.entries,
        layer_bytes: planned,
        materialised_links: plan.materialised_links,
        dropped: plan.dropped,
    })
}

/// Refuses to start when the work directory cannot hold the staged layers (the image's
/// uncompressed size): better than failing half-way through gigabytes.
fn check_space(dir: &Path, need: u64) -> Result<(), FlattenError> {
    // jetdoc's own scratch space on this machine, not a fact about an inspected root.
    let Ok(s) = rustix::fs::statvfs(dir) else { return Ok(()) };
    let free = s.f_bavail.saturating_mul(s.f_frsize);
    if free < need {
        return Err(FlattenError::NoSpace { dir: dir.display().to_string(), need, free });
    }
    Ok(())
}

/// Counts and hashes what passes through (the layer's diff id is the SHA-256 of its tar).
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The archive `docker load` reads (the layout `docker save` writes): the merged layer, the
/// config, and `manifest.json` naming both and the tags. The layer comes first, so its diff id is
/// known when the config is written.
fn write_archive(
    load: &mut Box<dyn LoadSink>,
    spooled: &save::Spooled,
    plan: &merge::Plan,
    planned: u64,
    image: &str,
    tags: &[String],
    on_layer: &dyn Fn(usize),
) -> Result<(), FlattenError> {
    let mut out = BufWriter::with_capacity(1 << 20, load);
    let mut h = tar::Header::new_ustar();
    h.set_path(LAYER_NAME)?;
    h.set_size(planned);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    out.write_all(h.as_bytes())?;
    let hashing = Hashing { inner: &mut out, hasher: Sha256::new(), bytes: 0 };
    let mut layer = TarWriter::new(hashing);
    merge::write(&spooled.layers, plan, &mut layer, on_layer)?;
    let hashing = layer.into_inner();
    if hashing.bytes != planned {
        return Err(FlattenError::SizeMismatch { planned, written: hashing.bytes });
    }
    let diff_id = format!("sha256:{}", hex::encode(hashing.hasher.finalize()));
    let pad = (512 - planned % 512) % 512;
    out.write_all(&vec![0u8; pad as usize])?;

    let config = rewrite_config(&spooled.config, &diff_id, image, spooled.layers.len())?;
    let config_name = format!("{}.json", hex::encode(Sha256::digest(&config)));
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name,
        "RepoTags": if tags.is_empty() { serde_json::Value::Null } else { serde_json::json!(tags) },
        "Layers": [LAYER_NAME],
    }]))
    .map_err(|e| FlattenError::Config(e.to_string()))?;
    let mut b = tar::Builder::new(&mut out);
    for (name, bytes) in [(config_name.as_str(), &config), ("manifest.json", &manifest)] {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, bytes.as_slice())?;
    }
    b.finish()?;
    drop(b);
    out.flush()?;
    Ok(())
}

/// The members of a JSON object in their order, each value as the exact text it had.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Members, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push((k, v));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// The config with `rootfs` naming the one merged layer and `history` holding one entry; every
/// other member is copied as the exact text it was.
fn rewrite_config(
    original: &[u8],
    diff_id: &str,
    image: &str,
    layers: usize,
) -> Result<Vec<u8>, FlattenError> {
    let Members(members) =
        serde_json::from_slice(original).map_err(|e| FlattenError::Config(e.to_string()))?;
    let created = members.iter().find(|(k, _)| k == "created").map(|(_, v)| v.get().to_string());
    let rootfs = serde_json::json!({ "type": "layers", "diff_ids": [diff_id] }).to_string();
    let mut entry = serde_json::Map::new();
    if let Some(c) = &created {
        entry.insert("created".into(), serde_json::from_str(c).unwrap_or(serde_json::Value::Null));
    }
    entry.insert(
        "created_by".into(),
        format!("jetdoc image flatten: the {layers} layers of {image} merged into one").into(),
    );
    entry.insert(
        "comment".into(),
        "whiteouts applied; the image config kept as it was (only rootfs and history changed)".into(),
    );
    let history = serde_json::Value::Array(vec![serde_json::Value::Object(entry)]).to_string();
    let mut out = String::from("{");
    let mut seen_rootfs = false;
    let mut seen_history = false;
    for (key, value) in &members {
        let text = match key.as_str() {
            "rootfs" => {
                seen_rootfs = true;
                rootfs.as_str()
            }
            "history" => {
                seen_history = true;
                history.as_str()
            }
            _ => value.get(),
        };
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).map_err(|e| FlattenError::Config(e.to_string()))?);
        out.push(':');
        out.push_str(text);
    }
    for (seen, key, text) in [(seen_rootfs, "rootfs", &rootfs), (seen_history, "history", &history)] {
        if !seen {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&format!("\"{key}\":{text}"));
        }
    }
    out.push('}');
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests;
