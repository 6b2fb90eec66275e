//! Writing a bundle from its parts: the lock, the image as a `docker save` stream, and files
//! (the ZED SDK installer, wheels, their requirements.lock) already on disk.
//!
//! The manifest goes first but holds every member's sha256, so the image is compressed into a
//! temp file beside the output first (hashing it before and after compression); then the tar is
//! written to `.NAME.partial` — manifest, lock, image, files — fsynced and renamed to NAME. An
//! interrupted run leaves no half bundle under the name a robot reads. Memory stays at a few
//! buffers; the temp file costs the compressed image's size on disk until the rename.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::{
    plain_file_name, Compression, Image, Kind, Manifest, Member, MANIFEST, MAX_NAME, SCHEMA,
};
use super::BundleError;
use crate::digest::{HashingReader, HashingWriter};

/// A file to put in the bundle.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub kind: Kind,
    pub path: PathBuf,
    /// Its name on the robot (the wheel's, the installer's).
    pub file_name: String,
    /// Its sha256 as the lock pins it: the file must still hash to it.
    pub sha256: Option<String>,
}

/// The image to put in the bundle: a `docker save` stream and what Docker calls it.
pub struct ImagePart<'a> {
    pub save: &'a mut dyn Read,
    pub id: String,
    pub tag: String,
}

pub struct Parts<'a> {
    pub profile: String,
    pub device: String,
    pub lock: Vec<u8>,
    pub image: Option<ImagePart<'a>>,
    pub files: Vec<FilePart>,
    pub compression: Compression,
    /// zstd level (1-19) or gzip level (0-9).
    pub level: i32,
}

/// Removes a temp file unless it was kept.
struct Temp(Option<PathBuf>);

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn io_err(path: &Path, what: &'static str) -> impl FnOnce(io::Error) -> BundleError {
    let path = path.display().to_string();
    move |e| BundleError::Io { path, what, source: e }
}

/// The member name of a file: `DIR/NAME` when that is a plain, short name, else `DIR/<sha256>`
/// (the manifest keeps the real name): no member ever needs a GNU long name or a PAX header.
fn member_name(dir: &str, file_name: &str, sha: &str) -> String {
    let plain = format!("{dir}/{file_name}");
    if plain.len() <= MAX_NAME && plain_file_name(file_name) {
        plain
    } else {
        format!("{dir}/{sha}")
    }
}

/// Writes the bundle to `out`. Returns its manifest.
pub fn write(out: &Path, parts: Parts<'_>, now: &str) -> Result<Manifest, BundleError> {
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle".into());
    std::fs::create_dir_all(dir).map_err(io_err(dir, "cannot create the directory"))?;

    let mut members = Vec::new();
    members.push(Member {
        name: "lock.toml".into(),
        kind: Kind::Lock,
        file_name: None,
        size: parts.lock.len() as u64,
        sha256: hex::encode(Sha256::digest(&parts.lock)),
    });

    // 1. The image, compressed into a temp file, hashed on both sides.
    let mut image_temp = Temp(None);
    let mut image = None;
    if let Some(img) = parts.image {
        let member = format!("image.tar{}", parts.compression.extension());
        let temp = dir.join(format!(".{name}.image.partial"));
        let file = File::create(&temp).map_err(io_err(&temp, "cannot create a temp file"))?;
        image_temp.0 = Some(temp.clone());
        let mut sink = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        let mut source = HashingReader::new(img.save);
        let copied = match parts.compression {
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(&mut sink, parts.level)
                    .map_err(io_err(&temp, "cannot start zstd"))?;
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
                // Several threads for a multi-GB image; an error here only means no threads.
                let _ = enc.multithread(threads);
                io::copy(&mut source, &mut enc).and_then(|_| enc.finish().map(|_| ()))
            }
            Compression::Gzip => {
                let level = flate2::Compression::new(parts.level.clamp(0, 9) as u32);
                let mut enc = flate2::write::GzEncoder::new(&mut sink, level);
                io::copy(&mut source, &mut enc).and_then(|_| enc.finish().map(|_| ()))
            }
            Compression::None => io::copy(&mut source, &mut sink).map(|_| ()),
        };
        copied.map_err(|e| {
            BundleError::Image(format!("reading `docker save` of {} or compressing it: {e}", img.tag))
        })?;
        sink.flush().map_err(io_err(&temp, "cannot write"))?;
        sink.inner.get_ref().sync_all().map_err(io_err(&temp, "cannot fsync"))?;
        members.push(Member {
            name: member.clone(),
            kind: Kind::Image,
            file_name: None,
            size: sink.len,
            sha256: sink.hex(),
        });
        image = Some(Image {
            member,
            id: img.id,
            tag: img.tag,
            compression: parts.compression,
            uncompressed_size: source.len,
            uncompressed_sha256: source.hex(),
        });
    }

    // 2. The files: hashed (and checked against the lock's pins) before the manifest is written.
    let mut files = Vec::new();
    for f in &parts.files {
        let mut r = HashingReader::new(File::open(&f.path).map_err(io_err(&f.path, "cannot open"))?);
        io::copy(&mut r, &mut io::sink()).map_err(io_err(&f.path, "cannot read"))?;
        let sha = r.hex();
        if let Some(want) = &f.sha256 {
            if *want != sha {
                return Err(BundleError::Input(format!(
                    "{} hashes to {sha}, but the lock pins {want}: the cache holds another file than the one the lock names; fetch it again",
                    f.path.display()
                )));
            }
        }
        if !plain_file_name(&f.file_name) {
            return Err(BundleError::Input(format!("{:?} is not a plain file name", f.file_name)));
        }
        let dir = if matches!(f.kind, Kind::Wheel | Kind::RequirementsLock) { "wheels" } else { "artifacts" };
        let name = member_name(dir, &f.file_name, &sha);
        let file_name = (name.rsplit('/').next() != Some(f.file_name.as_str())).then(|| f.file_name.clone());
        if members.iter().any(|m: &Member| m.name == name) {
            continue; // the same file twice (a wheel two requirements share)
        }
        members.push(Member { name, kind: f.kind, file_name, size: r.len, sha256: sha });
        files.push(f.path.clone());
    }

    let manifest = Manifest {
        schema: SCHEMA,
        jetdoc: env!("CARGO_PKG_VERSION").into(),
        created: now.into(),
        profile: parts.profile,
        device: parts.device,
        image,
        members,
    };
    let manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BundleError::Manifest(e.to_string()))?;

    // 3. The tar, manifest first, into a temp file renamed over `out` at the end.
    let partial = dir.join(format!(".{name}.partial"));
    let _partial_guard = Temp(Some(partial.clone()));
    let file = File::create(&partial).map_err(io_err(&partial, "cannot create"))?;
    let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, file));
    let append = |tar: &mut tar::Builder<BufWriter<File>>, name: &str, size: u64, data: &mut dyn Read| {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, data)
    };
    append(&mut tar, MANIFEST, manifest_bytes.len() as u64, &mut &manifest_bytes[..])
        .map_err(io_err(&partial, "cannot write"))?;
    append(&mut tar, "lock.toml", parts.lock.len() as u64, &mut &parts.lock[..])
        .map_err(io_err(&partial, "cannot write"))?;
    let mut rest = manifest.members.iter().filter(|m| !matches!(m.kind, Kind::Lock));
    // Each file is copied as hashed: one changed since (a cache being pruned, an editor) is an
    // error, never a bundle whose manifest lies.
    let copy =
        |tar: &mut tar::Builder<BufWriter<File>>, m: &Member, path: &Path| -> Result<(), BundleError> {
            let f = File::open(path).map_err(io_err(path, "cannot open"))?;
            let mut r = HashingReader::new(f.take(m.size));
            append(tar, &m.name, m.size, &mut r).map_err(io_err(&partial, "cannot write"))?;
            if r.len != m.size || r.hex() != m.sha256 {
                return Err(BundleError::Input(format!(
                    "{} changed while it was bundled; make the bundle again",
                    path.display()
                )));
            }
            Ok(())
        };
    if let (Some(temp), Some(_)) = (&image_temp.0, &manifest.image) {
        let m = rest.next().ok_or_else(|| BundleError::Image("lost the image member".into()))?;
        copy(&mut tar, m, temp)?;
    }
    for (m, path) in rest.zip(&files) {
        copy(&mut tar, m, path)?;
    }
    let mut w = tar.into_inner().map_err(io_err(&partial, "cannot write"))?;
    w.flush().map_err(io_err(&partial, "cannot write"))?;
    w.get_ref().sync_all().map_err(io_err(&partial, "cannot fsync"))?;
    drop(w);
    std::fs::rename(&partial, out).map_err(io_err(out, "cannot rename the finished bundle into place"))?;
    Ok(manifest)
}
