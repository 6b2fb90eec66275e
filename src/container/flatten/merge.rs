//! Merging an image's layers into one, as the overlay filesystem would show them.
//!
//! Two passes over the spooled layers, bottom to top. The first builds an index of paths (the
//! only state kept in memory): for each path, which entry of which layer is visible at the top.
//! The OCI rules decide it: an entry replaces the one below at its path (a directory over a
//! directory keeps the children; anything else hides them); `.wh.NAME` deletes NAME and what is
//! under it, and `.wh..wh..opq` empties its directory, both for the layers *below* only. The
//! second pass writes each visible entry once, in layer order, so a directory's parents and a
//! hard link's target are always written before it.
//!
//! Hard links need care: a link names a path, but it shares the data of the entry that path
//! held when the link was made. When a later layer replaced or deleted that entry, the link
//! still holds the old data; then the first surviving link is written as a regular file with
//! that data (at the position of the original entry, which precedes every link to it) and the
//! other links point to it.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::tarball::{Entry, TarWriter};
use super::FlattenError;

/// Which entry: the layer (0 = bottom) and the entry's position in that layer's tar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct At {
    layer: u32,
    entry: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    /// A regular file; `empty` when it has no data.
    File {
        empty: bool,
    },
    /// A hard link, and the entry that holds its data.
    Link {
        source: At,
    },
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    at: At,
    kind: Kind,
}

/// What the second pass writes.
pub struct Plan {
    index: BTreeMap<Vec<u8>, Node>,
    /// A data source whose own path did not survive, and the link path that carries its data.
    carriers: HashMap<At, Vec<u8>>,
    /// Each visible hard link: the path it links to, or `None` when it is a carrier.
    links: HashMap<At, Option<Vec<u8>>>,
    /// Paths left out on request (zero-byte placeholders).
    pub dropped: Vec<String>,
    /// Visible entries (what the merged layer holds).
    pub entries: usize,
    /// Hard links written as files because their target was replaced or deleted above them.
    pub materialised_links: usize,
}

/// The entry's path as the merged layer names it: no `./`, no leading or trailing `/`, no empty
/// or `.` components. `..` is refused: a layer from the daemon never has one.
fn normalize(raw: &[u8], layer: usize) -> Result<Vec<u8>, FlattenError> {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                return Err(FlattenError::UnsafePath {
                    layer: layer + 1,
                    path: String::from_utf8_lossy(raw).into_owned(),
                })
            }
            p => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(p);
            }
        }
    }
    Ok(out)
}

fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|b| *b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if !p.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// Removes what is under `dir` (not `dir` itself), only entries of layers below `below` when
/// given.
fn remove_children(index: &mut BTreeMap<Vec<u8>, Node>, dir: &[u8], below: Option<u32>) {
    let mut prefix = dir.to_vec();
    if !prefix.is_empty() {
        prefix.push(b'/');
    }
    let doomed: Vec<Vec<u8>> = index
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(_, n)| below.is_none_or(|b| n.at.layer < b))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        index.remove(&k);
    }
}

/// A buffered layer file whose relative seeks stay inside the buffer when they can. The tar
/// reader skips an entry's data with `SeekFrom::Current`, and `BufReader::seek` would drop its
/// buffer on each one: a layer of 200,000 small files would be read 200,000 times over.
struct LayerFile(BufReader<std::fs::File>);

impl Read for LayerFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Seek for LayerFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match pos {
            SeekFrom::Current(n) => {
                self.0.seek_relative(n)?;
                self.0.stream_position()
            }
            other => self.0.seek(other),
        }
    }
}

/// An opened layer: entries are read in order, data the pass does not need is skipped.
fn open(path: &Path) -> io::Result<tar::Archive<LayerFile>> {
    Ok(tar::Archive::new(LayerFile(BufReader::with_capacity(256 * 1024, std::fs::File::open(path)?))))
}

/// Kinds of entries that carry no file: they are neither indexed nor written.
fn is_meta(kind: tar::EntryType) -> bool {
    matches!(
        kind,
        tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink
    )
}

/// The first pass: the index of visible paths, the hard-link plan, and the dropped paths.
pub fn plan(layers: &[PathBuf], drop: &Drop, on_layer: &dyn Fn(usize)) -> Result<Plan, FlattenError> {
    let mut index: BTreeMap<Vec<u8>, Node> = BTreeMap::new();
    // Hard links in order: (entry, path, source entry).
    let mut link_list: Vec<(At, Vec<u8>, At)> = Vec::new();
    // Paths of the entries hard links take their data from.
    let mut source_paths: HashMap<At, Vec<u8>> = HashMap::new();
    for (li, file) in layers.iter().enumerate() {
        on_layer(li);
        let layer = li as u32;
        let mut archive = open(file)?;
        for (ei, entry) in archive.entries_with_seek()?.enumerate() {
            let entry = entry.map_err(|e| FlattenError::layer(li, e))?;
            let at = At { layer, entry: ei as u32 };
            let kind = entry.header().entry_type();
            if is_meta(kind) {
                continue;
            }
            if kind == tar::EntryType::GNUSparse {
                return Err(FlattenError::Sparse { layer: li + 1, path: entry_path(&entry) });
            }
            let path = normalize(&entry.path_bytes(), li)?;
            if path.is_empty() {
                continue; // the root directory itself
            }
            let (dir, name) = split(&path);
            if name == b".wh..wh..opq" {
                remove_children(&mut index, dir, Some(layer));
                continue;
            }
            if let Some(hidden) = name.strip_prefix(b".wh.") {
                let gone = join(dir, hidden);
                if index.get(&gone).is_some_and(|n| n.at.layer < layer) {
                    index.remove(&gone);
                }
                remove_children(&mut index, &gone, Some(layer));
                continue;
            }
            // A path under something that is not a directory: the layer made a directory there.
            let mut cut = 0;
            while let Some(i) = path[cut..].iter().position(|b| *b == b'/').map(|i| i + cut) {
                if index.get(&path[..i]).is_some_and(|n| n.kind != Kind::Dir) {
                    index.remove(&path[..i]);
                }
                cut = i + 1;
            }
            let node_kind = match kind {
                tar::EntryType::Directory => Kind::Dir,
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    Kind::File { empty: entry.size() == 0 }
                }
                tar::EntryType::Link => {
                    let target =
                        entry.link_name_bytes().map(|t| normalize(&t, li)).transpose()?.unwrap_or_default();
                    let source = match index.get(&target) {
                        Some(Node { kind: Kind::Link { source }, .. }) => *source,
                        Some(n) => {
                            source_paths.insert(n.at, target.clone());
                            n.at
                        }
                        None => {
                            return Err(FlattenError::BrokenLink {
                                layer: li + 1,
                                path: String::from_utf8_lossy(&path).into_owned(),
                                target: String::from_utf8_lossy(&target).into_owned(),
                            })
                        }
                    };
                    link_list.push((at, path.clone(), source));
                    Kind::Link { source }
                }
                _ => Kind::Other,
            };
            if node_kind != Kind::Dir {
                remove_children(&mut index, &path, None);
            }
            index.insert(path, Node { at, kind: node_kind });
        }
    }

    let mut dropped = Vec::new();
    if drop.zero_byte_nvidia || !drop.paths.is_empty() {
        let zero: Vec<Vec<u8>> = index
            .iter()
            .filter(|(p, n)| {
                drop.zero_byte_nvidia
                    && n.kind == Kind::File { empty: true }
                    && crate::container::layers::is_nvidia_path(&String::from_utf8_lossy(p))
            })
            .map(|(p, _)| p.clone())
            .collect();
        let asked = drop.paths.iter().map(|p| normalize(p.as_bytes(), 0)).collect::<Result<Vec<_>, _>>()?;
        for p in zero.into_iter().chain(asked) {
            if index.remove(&p).is_some() {
                dropped.push(format!("/{}", String::from_utf8_lossy(&p)));
            }
            remove_children(&mut index, &p, None);
        }
    }

    // Hard links: to their source where it is still visible, else to the first surviving link
    // of the same source, which carries the data.
    let mut carriers: HashMap<At, Vec<u8>> = HashMap::new();
    let mut links: HashMap<At, Option<Vec<u8>>> = HashMap::new();
    for (at, path, source) in link_list {
        if index.get(&path).map(|n| n.at) != Some(at) {
            continue;
        }
        let Some(source_path) = source_paths.get(&source) else { continue };
        if index.get(source_path).map(|n| n.at) == Some(source) {
            links.insert(at, Some(source_path.clone()));
        } else if let Some(carrier) = carriers.get(&source) {
            links.insert(at, Some(carrier.clone()));
        } else {
            carriers.insert(source, path);
            links.insert(at, None);
        }
    }
    let entries = index.len();
    let materialised_links = carriers.len();
    Ok(Plan { index, carriers, links, dropped, entries, materialised_links })
}

/// Paths to leave out of the merged layer.
#[derive(Debug, Clone, Default)]
pub struct Drop {
    /// Zero-byte regular files at NVIDIA library paths (the placeholders `image doctor` finds).
    pub zero_byte_nvidia: bool,
    /// Absolute paths inside the image.
    pub paths: Vec<String>,
}

fn entry_path<R: Read>(e: &tar::Entry<R>) -> String {
    String::from_utf8_lossy(&e.path_bytes()).into_owned()
}

/// The second pass: writes the visible entries, in layer order, into `out`. The data of what is
/// not written is skipped by seeking; with a counting writer nothing but headers is read.
pub fn write<W: io::Write>(
    layers: &[PathBuf],
    plan: &Plan,
    out: &mut TarWriter<W>,
    on_layer: &dyn Fn(usize),
) -> Result<(), FlattenError> {
    for (li, file) in layers.iter().enumerate() {
        on_layer(li);
        let mut archive = open(file)?;
        write_layer(li, archive.entries_with_seek()?, plan, out)?;
    }
    out.finish()?;
    Ok(())
}

fn write_layer<'a, R: Read + 'a, W: io::Write>(
    li: usize,
    entries: tar::Entries<'a, R>,
    plan: &Plan,
    out: &mut TarWriter<W>,
) -> Result<(), FlattenError> {
    let layer = li as u32;
    for (ei, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| FlattenError::layer(li, e))?;
        let at = At { layer, entry: ei as u32 };
        let kind = entry.header().entry_type();
        if is_meta(kind) {
            continue;
        }
        let path = normalize(&entry.path_bytes(), li)?;
        if path.is_empty() {
            continue;
        }
        let carried = plan.carriers.get(&at);
        let visible = plan.index.get(&path).is_some_and(|n| n.at == at);
        if carried.is_none() && !visible {
            continue; // replaced, deleted, a whiteout marker, or dropped
        }
        let header = entry.header().clone();
        let pax: Vec<(Vec<u8>, Vec<u8>)> = match entry.pax_extensions() {
            Ok(Some(exts)) => exts
                .filter_map(Result::ok)
                .map(|x| (x.key_bytes().to_vec(), x.value_bytes().to_vec()))
                .collect(),
            _ => Vec::new(),
        };
        if pax.iter().any(|(k, _)| k.starts_with(b"GNU.sparse.")) {
            return Err(FlattenError::Sparse {
                layer: li + 1,
                path: String::from_utf8_lossy(&path).into_owned(),
            });
        }
        let uid = pax_number(&pax, b"uid").unwrap_or(header.uid().unwrap_or(0));
        let gid = pax_number(&pax, b"gid").unwrap_or(header.gid().unwrap_or(0));
        let size = entry.size();
        let link_name = entry.link_name_bytes().map(|l| l.into_owned());
        let mut e =
            Entry { header: &header, pax: &pax, path: &path, link: None, entry_type: None, size, uid, gid };
        if let Some(carrier) = carried {
            // The data of a replaced entry, under the name of the first link that kept it.
            e.path = carrier;
            e.link = link_name.as_deref().filter(|_| kind == tar::EntryType::Symlink);
            out.entry(&e, &mut entry)?;
            continue;
        }
        match kind {
            tar::EntryType::Link => {
                // A carrier (`Some(None)`) was written at its source's position.
                if let Some(Some(target)) = plan.links.get(&at) {
                    e.link = Some(target);
                    e.size = 0;
                    out.entry(&e, &mut io::empty())?;
                }
            }
            tar::EntryType::Symlink => {
                e.link = link_name.as_deref();
                out.entry(&e, &mut io::empty())?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => out.entry(&e, &mut entry)?,
            _ => {
                e.size = 0;
                out.entry(&e, &mut io::empty())?;
            }
        }
    }
    Ok(())
}

fn pax_number(pax: &[(Vec<u8>, Vec<u8>)], key: &[u8]) -> Option<u64> {
    pax.iter().find(|(k, _)| k == key).and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized_and_dotdot_refused() {
        assert_eq!(normalize(b"./usr//lib/./x/", 0).unwrap(), b"usr/lib/x");
        assert_eq!(normalize(b"/", 0).unwrap(), b"");
        assert!(matches!(normalize(b"a/../../etc", 2), Err(FlattenError::UnsafePath { layer: 3, .. })));
    }
}
