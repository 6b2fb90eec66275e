//! Reads an image's layers statically from a `docker save` stream: never by running the image
//! (under the NVIDIA runtime a bind mount would hide exactly what is looked for).
//!
//! Finds zero-byte files at NVIDIA library paths, the placeholders that CSV-mode bind mounts
//! leave in a layer when an image was built or committed under the NVIDIA runtime
//! ("libcuda.so.1: file too short"), and reads the release files that tell L4T and CUDA. Layer
//! order, whiteouts (`.wh.NAME`) and opaque directories (`.wh..wh..opq`) are applied, so a
//! placeholder a later layer replaced or deleted is not reported.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use super::save::{self, BlobKind};

/// Reading layers from a `docker save` archive fails the ways reading the archive does: one
/// error type for both, so the doctor and the flattener say the same thing about the same archive.
pub use super::save::SaveError as LayerError;

/// A zero-byte regular file at a path where a real NVIDIA library or tool belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZeroByteFile {
    /// Absolute path inside the image.
    pub path: String,
    /// 1-based index of the layer that put it there.
    pub layer: usize,
    /// That layer's file in the archive.
    pub layer_blob: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SaveScan {
    pub layers: usize,
    pub zero_byte: Vec<ZeroByteFile>,
    /// Contents of `/etc/nv_tegra_release` in the final filesystem.
    pub nv_tegra_release: Option<String>,
    /// `/usr/local/cuda-X.Y/version.json` contents, by path.
    pub cuda_version_json: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    layers: Vec<String>,
}

#[derive(Debug, Clone)]
enum Record {
    File {
        path: String,
        size: u64,
        content: Option<String>,
    },
    /// Anything else at a watched path (symlink, directory, hard link): not a placeholder.
    Other {
        path: String,
    },
    Whiteout {
        path: String,
    },
    Opaque {
        dir: String,
    },
}

/// Small text files worth keeping.
const MAX_KEPT_BYTES: u64 = 64 * 1024;

/// Scans the tar stream `docker save` writes (legacy `<id>/layer.tar` or OCI `blobs/sha256/..`
/// layout; gzip-compressed layers are read too).
pub fn scan_save<R: Read>(reader: R) -> Result<SaveScan, LayerError> {
    let mut archive = tar::Archive::new(reader);
    let mut blobs: HashMap<String, Vec<Record>> = HashMap::new();
    let mut manifest: Option<String> = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
        if name == "manifest.json" {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            manifest = Some(text);
            continue;
        }
        if !(name.ends_with("layer.tar") || name.starts_with("blobs/")) {
            continue;
        }
        let (kind, blob) = save::peek(&mut entry)?;
        let records = match kind {
            BlobKind::Gzip => read_layer(flate2::read::MultiGzDecoder::new(blob))?,
            BlobKind::Tar => read_layer(blob)?,
            BlobKind::Zstd => return Err(LayerError::Zstd(name)),
            BlobKind::Json | BlobKind::Other => continue,
        };
        blobs.insert(name, records);
    }
    let manifest = manifest.ok_or(LayerError::NoManifest)?;
    let entries: Vec<ManifestEntry> =
        serde_json::from_str(&manifest).map_err(|e| LayerError::BadManifest(e.to_string()))?;
    let layers =
        entries.into_iter().next().ok_or_else(|| LayerError::BadManifest("no image in it".into()))?.layers;
    resolve(&layers, &blobs)
}

fn read_layer<R: Read>(reader: R) -> Result<Vec<Record>, LayerError> {
    let mut archive = tar::Archive::new(reader);
    let mut records = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = normalize(&entry.path()?.to_string_lossy());
        let (dir, base) = match path.rsplit_once('/') {
            Some((d, b)) => (d.to_string(), b.to_string()),
            None => (String::new(), path.clone()),
        };
        if base == ".wh..wh..opq" {
            records.push(Record::Opaque { dir });
            continue;
        }
        if let Some(hidden) = base.strip_prefix(".wh.") {
            let p = if dir.is_empty() { hidden.to_string() } else { format!("{dir}/{hidden}") };
            records.push(Record::Whiteout { path: p });
            continue;
        }
        let keep_text = is_kept_text(&path);
        if !keep_text && !is_nvidia_path(&path) {
            continue;
        }
        if entry.header().entry_type() == tar::EntryType::Regular {
            let size = entry.header().size()?;
            let content = if keep_text && size <= MAX_KEPT_BYTES {
                let mut s = String::new();
                entry.read_to_string(&mut s).ok().map(|_| s)
            } else {
                None
            };
            records.push(Record::File { path, size, content });
        } else {
            records.push(Record::Other { path });
        }
    }
    Ok(records)
}

/// `./usr/lib/x/` -> `usr/lib/x`.
fn normalize(p: &str) -> String {
    p.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/').to_string()
}

fn is_kept_text(path: &str) -> bool {
    path == "etc/nv_tegra_release"
        || (path.starts_with("usr/local/cuda")
            && path.ends_with("/version.json")
            && path.matches('/').count() == 3)
}

/// Paths where the NVIDIA runtime's CSV mounts land (container-runtime facts §10) and where a
/// zero-byte file is always wrong.
pub fn is_nvidia_path(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "usr/lib/aarch64-linux-gnu/nvidia/",
        "usr/lib/aarch64-linux-gnu/tegra/",
        "usr/lib/aarch64-linux-gnu/tegra-egl/",
        "lib/firmware/tegra",
    ];
    const LIB_PREFIXES: &[&str] = &[
        "libcuda",
        "libnvinfer",
        "libnvonnxparser",
        "libcudnn",
        "libcublas",
        "libnvrm",
        "libnvidia",
        "libnvcuvid",
        "libnvos",
    ];
    const TOOLS: &[&str] = &["usr/sbin/nvidia-smi", "usr/bin/nvidia-smi", "usr/bin/tegrastats"];
    if DIRS.iter().any(|d| path.starts_with(d)) || TOOLS.contains(&path) {
        return true;
    }
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if matches!(dir, "usr/lib/aarch64-linux-gnu" | "usr/lib/x86_64-linux-gnu" | "lib/aarch64-linux-gnu")
        && LIB_PREFIXES.iter().any(|p| name.starts_with(p))
    {
        return true;
    }
    // /usr/local/cuda*/lib*, /usr/local/cuda*/targets/*/lib
    if let Some(rest) = path.strip_prefix("usr/local/") {
        let mut parts = rest.split('/');
        if parts.next().is_some_and(|d| d.starts_with("cuda")) && parts.any(|c| c.starts_with("lib")) {
            return true;
        }
    }
    // Any zero-byte shared object under the library trees is wrong.
    (path.starts_with("usr/lib/") || path.starts_with("lib/") || path.starts_with("usr/local/"))
        && is_shared_object(name)
}

fn is_shared_object(name: &str) -> bool {
    name.ends_with(".so") || name.contains(".so.")
}

#[derive(Debug, Clone)]
struct Live {
    size: u64,
    regular: bool,
    layer: usize,
    content: Option<String>,
}

/// Applies the layers in order: each layer's whiteouts hide what lower layers put there, then
/// its entries are added.
fn resolve(layers: &[String], blobs: &HashMap<String, Vec<Record>>) -> Result<SaveScan, LayerError> {
    let mut fs: BTreeMap<String, Live> = BTreeMap::new();
    for (i, blob) in layers.iter().enumerate() {
        let records =
            blobs.get(blob.trim_start_matches("./")).ok_or_else(|| LayerError::MissingLayer(blob.clone()))?;
        for r in records {
            match r {
                Record::Whiteout { path } => remove_tree(&mut fs, path),
                Record::Opaque { dir } => remove_children(&mut fs, dir),
                _ => {}
            }
        }
        for r in records {
            match r {
                Record::File { path, size, content } => {
                    // A file replacing a directory hides everything under it.
                    remove_children(&mut fs, path);
                    fs.insert(
                        path.clone(),
                        Live { size: *size, regular: true, layer: i + 1, content: content.clone() },
                    );
                }
                Record::Other { path } => {
                    fs.insert(path.clone(), Live { size: 0, regular: false, layer: i + 1, content: None });
                }
                _ => {}
            }
        }
    }
    let mut scan = SaveScan { layers: layers.len(), ..Default::default() };
    for (path, live) in &fs {
        if live.regular && live.size == 0 && is_nvidia_path(path) {
            scan.zero_byte.push(ZeroByteFile {
                path: format!("/{path}"),
                layer: live.layer,
                layer_blob: layers[live.layer - 1].clone(),
            });
        }
        if let Some(text) = &live.content {
            if path == "etc/nv_tegra_release" {
                scan.nv_tegra_release = Some(text.clone());
            } else {
                scan.cuda_version_json.insert(format!("/{path}"), text.clone());
            }
        }
    }
    Ok(scan)
}

fn remove_tree(fs: &mut BTreeMap<String, Live>, path: &str) {
    fs.remove(path);
    remove_children(fs, path);
}

fn remove_children(fs: &mut BTreeMap<String, Live>, dir: &str) {
    let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
    let doomed: Vec<String> = fs
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        fs.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn save(layers: &[Vec<u8>], gzip_first: bool) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut names = Vec::new();
        for (i, l) in layers.iter().enumerate() {
            let mut data = l.clone();
            if gzip_first && i == 0 {
                let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut enc, l).unwrap();
                data = enc.finish().unwrap();
            }
            let name = format!("blobs/sha256/{i:064}");
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, &name, data.as_slice()).unwrap();
            names.push(name);
        }
        let manifest = serde_json::json!([{ "Config": "c.json", "Layers": names }]).to_string();
        let mut h = tar::Header::new_gnu();
        h.set_size(manifest.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "manifest.json", manifest.as_bytes()).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn watched_paths() {
        assert!(is_nvidia_path("usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1"));
        assert!(is_nvidia_path("usr/lib/aarch64-linux-gnu/libnvinfer.so.8"));
        assert!(is_nvidia_path("usr/local/cuda-12.6/targets/aarch64-linux/lib/libcudart.so.12"));
        assert!(is_nvidia_path("usr/lib/python3/dist-packages/x.so"));
        assert!(!is_nvidia_path("usr/local/cuda-12.6/version.json"));
        assert!(!is_nvidia_path("etc/passwd"));
    }

    #[test]
    fn layers_are_applied_in_order_with_whiteouts() {
        let l1 = layer(&[
            ("usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1", b""),
            ("usr/lib/aarch64-linux-gnu/tegra/libnvrm_gpu.so", b""),
            ("usr/lib/aarch64-linux-gnu/tegra/libfixed.so", b""),
            ("usr/local/cuda-12.6/lib64/libcudart.so.12", b""),
            ("etc/nv_tegra_release", b"# R36 (release), REVISION: 4.3\n"),
        ]);
        let l2 = layer(&[
            ("usr/lib/aarch64-linux-gnu/tegra/libfixed.so", b"\x7fELF"),
            ("usr/local/cuda-12.6/lib64/.wh.libcudart.so.12", b""),
        ]);
        let scan = scan_save(Cursor::new(save(&[l1, l2], true))).unwrap();
        let paths: Vec<(&str, usize)> = scan.zero_byte.iter().map(|z| (z.path.as_str(), z.layer)).collect();
        assert_eq!(
            paths,
            vec![
                ("/usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1", 1),
                ("/usr/lib/aarch64-linux-gnu/tegra/libnvrm_gpu.so", 1)
            ]
        );
        assert_eq!(scan.layers, 2);
        assert!(scan.nv_tegra_release.unwrap().contains("R36"));
    }

    #[test]
    fn opaque_directories_hide_lower_layers() {
        let l1 = layer(&[("usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1", b"")]);
        let l2 = layer(&[
            ("usr/lib/aarch64-linux-gnu/nvidia/.wh..wh..opq", b""),
            ("usr/lib/aarch64-linux-gnu/nvidia/libnew.so", b"x"),
        ]);
        let scan = scan_save(Cursor::new(save(&[l1, l2], false))).unwrap();
        assert!(scan.zero_byte.is_empty(), "{:?}", scan.zero_byte);
    }

    #[test]
    fn not_a_save_archive() {
        let err = scan_save(Cursor::new(layer(&[("a", b"b")]))).unwrap_err();
        assert!(matches!(err, LayerError::NoManifest));
    }
}
