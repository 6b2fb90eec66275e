//! Using a bundle on the robot: two passes over the file. The first verifies every member
//! against the manifest and changes nothing, so a damaged or tampered bundle is refused before
//! anything happens. The second takes the members out: the lock into memory, the files into the
//! download cache as content-addressed blobs (where `provision --locked --offline` finds them
//! without a network), the image to the caller's loader (`docker load`), each checked again as
//! it streams, so a file swapped between the passes is caught too.
//!
//! Disk is checked before the second pass: the files that are not cached yet must fit in the
//! cache's filesystem. Nothing is ever written under a member's name: a blob's name is its
//! sha256, which the member's bytes are checked against before the rename that keeps it.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::manifest::{Kind, Manifest, Member};
use super::{read, BundleError};
use crate::fetch::Cache;

/// What the second pass took out.
#[derive(Debug)]
pub struct Unpacked {
    pub manifest: Manifest,
    /// `lock.toml`'s bytes.
    pub lock: Vec<u8>,
    /// Each file member and its blob in the cache.
    pub files: Vec<(Member, PathBuf)>,
    /// What the image loader returned (the loaded image's id).
    pub image: Option<String>,
    /// Bytes written to the cache (0 when every file was cached already).
    pub cached_bytes: u64,
}

/// Loads the image member: gets the manifest, the member and its bytes (checked as they are
/// read: feed them through `bundle::image_into`), returns the loaded image's id.
pub type ImageLoader<'a> = dyn FnMut(&Manifest, &Member, &mut dyn Read) -> Result<String, BundleError> + 'a;

/// The largest lock file a bundle may carry.
const MAX_LOCK_BYTES: u64 = 1 << 20;

fn avail_bytes(dir: &Path) -> Option<u64> {
    let mut p = dir;
    loop {
        match rustix::fs::statvfs(p) {
            Ok(s) => return Some(s.f_bavail.saturating_mul(s.f_frsize)),
            Err(rustix::io::Errno::NOENT) => p = p.parent()?,
            Err(_) => return None,
        }
    }
}

/// Verifies the bundle at `path`, then unpacks it: files into `cache`, the image to `load`
/// (when given; `None` leaves the image in the bundle). `check` sees the manifest after the
/// first pass and may refuse the bundle (another device, not enough space for the image).
pub fn unpack(
    path: &Path,
    cache: &Cache,
    check: &mut dyn FnMut(&Manifest) -> Result<(), BundleError>,
    load: Option<&mut ImageLoader<'_>>,
) -> Result<Unpacked, BundleError> {
    // 1. Verify: every byte against the manifest; nothing is written.
    let (manifest, _) = verify_with_lock(path)?;
    check(&manifest)?;
    take_out(path, &manifest, cache, load)
}

/// The first pass: every member against the manifest (the image decompressed and checked too),
/// nothing written. Returns the manifest and the lock's bytes.
pub fn verify_with_lock(path: &Path) -> Result<(Manifest, Vec<u8>), BundleError> {
    let (file, len) = super::open(path)?;
    let mut lock = Vec::new();
    let manifest = read::read(
        io::BufReader::with_capacity(1 << 20, file),
        Some(len),
        &mut |m| match m.members.iter().find(|m| m.kind == Kind::Lock) {
            Some(l) if l.size > MAX_LOCK_BYTES => Err(BundleError::Member {
                member: l.name.clone(),
                problem: format!("is larger than {MAX_LOCK_BYTES} bytes"),
            }),
            Some(_) => Ok(()),
            None => Err(BundleError::Manifest("lists no lock.toml".into())),
        },
        &mut |m, member, r| {
            match member.kind {
                Kind::Image => super::image_into(m, member, r, &mut io::sink())?,
                Kind::Lock => {
                    r.take(MAX_LOCK_BYTES).read_to_end(&mut lock).map_err(|e| read::member_io(member, e))?;
                }
                _ => {}
            }
            Ok(())
        },
    )?;
    Ok((manifest, lock))
}

/// The second pass, after [`verify_with_lock`] passed: the members taken out, each checked
/// again as it streams (a file replaced between the passes is caught), the manifest compared
/// with the one verified.
pub fn take_out(
    path: &Path,
    manifest: &Manifest,
    cache: &Cache,
    mut load: Option<&mut ImageLoader<'_>>,
) -> Result<Unpacked, BundleError> {
    let manifest = manifest.clone();
    let wanted: u64 = manifest
        .members
        .iter()
        .filter(|m| !matches!(m.kind, Kind::Lock | Kind::Image) && !cache.has_blob(&m.sha256))
        .map(|m| m.size)
        .sum();
    if let Some(avail) = avail_bytes(&cache.root) {
        if wanted > avail {
            return Err(BundleError::Refused(format!(
                "the bundle's files need {wanted} bytes in the cache {}, which has {avail} free: free some space (or pass --cache-dir on a larger disk)",
                cache.root.display()
            )));
        }
    }

    // 2. Use, checking again as it streams.
    let (file, len) = super::open(path)?;
    let mut lock = Vec::new();
    let mut files = Vec::new();
    let mut image = None;
    let mut cached_bytes = 0;
    let blobs = cache.root.join("blobs/sha256");
    let partial = cache.root.join("partial");
    for dir in [&blobs, &partial] {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, "cannot create", e))?;
    }
    let again = read::read(
        io::BufReader::with_capacity(1 << 20, file),
        Some(len),
        &mut |m| {
            if *m != manifest {
                return Err(BundleError::Manifest(
                    "changed between the check and the use: the bundle file was replaced; run again".into(),
                ));
            }
            Ok(())
        },
        &mut |m, member, r| {
            match member.kind {
                Kind::Lock => {
                    r.take(MAX_LOCK_BYTES).read_to_end(&mut lock).map_err(|e| read::member_io(member, e))?;
                }
                Kind::Image => {
                    if let Some(load) = load.as_deref_mut() {
                        image = Some(load(m, member, r)?);
                    }
                }
                _ => {
                    let blob = cache.blob(&member.sha256);
                    if !blob.is_file() {
                        // Written under a name of ours, kept (renamed) only after a clean end:
                        // the reader fails at the end of a member whose bytes are not the manifest's.
                        let temp = partial.join(format!("bundle-{}.{}", member.sha256, std::process::id()));
                        let copied = (|| -> Result<u64, BundleError> {
                            let mut out = std::fs::File::create(&temp)
                                .map_err(|e| io_err(&temp, "cannot create", e))?;
                            let n = io::copy(r, &mut out).map_err(|e| {
                                if e.get_ref().is_some_and(|i| i.is::<read::Mismatch>())
                                    || e.kind() == io::ErrorKind::UnexpectedEof
                                {
                                    read::member_io(member, e)
                                } else {
                                    io_err(&temp, "cannot write", e)
                                }
                            })?;
                            out.flush()
                                .and_then(|_| out.sync_all())
                                .map_err(|e| io_err(&temp, "cannot fsync", e))?;
                            Ok(n)
                        })();
                        match copied {
                            Ok(n) => {
                                std::fs::rename(&temp, &blob)
                                    .map_err(|e| io_err(&blob, "cannot rename into the cache", e))?;
                                cached_bytes += n;
                            }
                            Err(e) => {
                                let _ = std::fs::remove_file(&temp);
                                return Err(e);
                            }
                        }
                    }
                    files.push((member.clone(), blob));
                }
            }
            Ok(())
        },
    )?;
    debug_assert_eq!(again, manifest);
    Ok(Unpacked { manifest, lock, files, image, cached_bytes })
}

fn io_err(path: &Path, what: &'static str, e: io::Error) -> BundleError {
    BundleError::Io { path: path.display().to_string(), what, source: e }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::manifest::Compression;
    use crate::bundle::write::{self, FilePart, ImagePart, Parts};

    fn bundle(dir: &Path) -> (PathBuf, Vec<u8>) {
        let wheel = dir.join("w-1.0-py3-none-any.whl");
        std::fs::write(&wheel, b"wheel bytes").unwrap();
        let zed = dir.join("zed.run");
        std::fs::write(&zed, b"#!/bin/sh\n").unwrap();
        let image: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let out = dir.join("r.bundle");
        write::write(
            &out,
            Parts {
                profile: "p".into(),
                device: "d".into(),
                lock: b"schema = 1\n".to_vec(),
                image: Some(ImagePart {
                    save: &mut &image[..],
                    id: format!("sha256:{}", "1".repeat(64)),
                    tag: "t:1".into(),
                }),
                files: vec![
                    FilePart {
                        kind: Kind::ZedInstaller,
                        path: zed,
                        file_name: "ZED_SDK_x.run".into(),
                        sha256: None,
                    },
                    FilePart {
                        kind: Kind::Wheel,
                        path: wheel,
                        file_name: "w-1.0-py3-none-any.whl".into(),
                        sha256: None,
                    },
                ],
                compression: Compression::Zstd,
                level: 3,
            },
            "now",
        )
        .unwrap();
        (out, image)
    }

    #[test]
    fn files_go_to_the_cache_and_the_image_to_the_loader_checked() {
        let dir = tempfile::tempdir().unwrap();
        let (path, image) = bundle(dir.path());
        let cache = Cache::new(dir.path().join("cache"));
        let mut loaded = Vec::new();
        let mut load = |m: &Manifest, member: &Member, r: &mut dyn Read| {
            crate::bundle::image_into(m, member, r, &mut loaded)?;
            Ok("sha256:loaded".to_string())
        };
        let u = unpack(&path, &cache, &mut |_| Ok(()), Some(&mut load)).unwrap();
        assert_eq!(loaded, image);
        assert_eq!(u.lock, b"schema = 1\n");
        assert_eq!(u.image.as_deref(), Some("sha256:loaded"));
        assert_eq!(u.files.len(), 2);
        assert_eq!(std::fs::read(&u.files[1].1).unwrap(), b"wheel bytes");
        assert_eq!(u.files[1].1, cache.blob(&u.files[1].0.sha256));
        assert_eq!(u.cached_bytes, 21);
        // Again: the blobs are there, nothing is written.
        let u = unpack(&path, &cache, &mut |_| Ok(()), None).unwrap();
        assert_eq!((u.cached_bytes, u.image), (0, None));
    }

    #[test]
    fn a_tampered_bundle_leaves_the_cache_and_the_loader_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = bundle(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.windows(11).position(|w| w == b"wheel bytes").unwrap();
        bytes[at] = b'W';
        std::fs::write(&path, &bytes).unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let mut called = false;
        let mut load = |_: &Manifest, _: &Member, _: &mut dyn Read| {
            called = true;
            Ok(String::new())
        };
        let e = unpack(&path, &cache, &mut |_| Ok(()), Some(&mut load)).unwrap_err();
        assert!(e.to_string().contains("bundle member wheels/w-1.0-py3-none-any.whl was changed"), "{e}");
        assert!(!called, "the image is not loaded from a bundle that failed its check");
        assert!(!cache.root.exists(), "nothing written");
        let e = unpack(&path, &cache, &mut |_| Err(BundleError::Refused("no".into())), None);
        assert!(e.is_err());
    }
}
