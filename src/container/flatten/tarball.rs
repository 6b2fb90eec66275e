//! A tar writer that keeps what a layer entry says: the type, mode, owner (ids and names),
//! times, device numbers, the symlink target byte for byte, and every PAX record of the source
//! (xattrs such as `security.capability` travel as `SCHILY.xattr.*`). Names and link targets
//! that do not fit the ustar fields go in PAX `path`/`linkpath` records (POSIX.1-2001, what Go's
//! archive/tar and so Docker read). With `count_only` nothing is read or written: the writer
//! only adds up the bytes, so the size of a layer is known before it is streamed.

use std::io::{self, Read, Write};

const BLOCK: u64 = 512;
/// ustar's octal fields: 11 digits for the size, 7 for ids.
const USTAR_MAX_SIZE: u64 = 0o77777777777;
const USTAR_MAX_ID: u64 = 0o7777777;

/// PAX records the writer sets itself (from the entry it writes), never copied from the source.
const OWN_RECORDS: [&[u8]; 5] = [b"path", b"linkpath", b"size", b"uid", b"gid"];

pub struct TarWriter<W: Write> {
    out: W,
    count_only: bool,
    written: u64,
}

/// One entry to write: the source's header and PAX records, and what changes.
pub struct Entry<'a> {
    pub header: &'a tar::Header,
    pub pax: &'a [(Vec<u8>, Vec<u8>)],
    /// The name in the merged layer (no leading `/`).
    pub path: &'a [u8],
    /// Hard link or symlink target.
    pub link: Option<&'a [u8]>,
    /// Overrides the source's type (a hard link written as `Link`).
    pub entry_type: Option<tar::EntryType>,
    pub size: u64,
    pub uid: u64,
    pub gid: u64,
}

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> TarWriter<W> {
        TarWriter { out, count_only: false, written: 0 }
    }

    /// A writer that only counts: data is not read and nothing is written.
    pub fn counting(out: W) -> TarWriter<W> {
        TarWriter { out, count_only: true, written: 0 }
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.count_only {
            self.out.write_all(bytes)?;
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rest = (BLOCK - len % BLOCK) % BLOCK;
        self.put(&[0u8; BLOCK as usize][..rest as usize])
    }

    pub fn entry(&mut self, e: &Entry, data: &mut dyn Read) -> io::Result<()> {
        let kind = e.entry_type.unwrap_or_else(|| e.header.entry_type());
        let is_dir = kind == tar::EntryType::Directory;
        let mut name = e.path.to_vec();
        if is_dir {
            name.push(b'/');
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(e.header.mode()?);
        h.set_mtime(e.header.mtime()?);
        let mut records: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        if e.size > USTAR_MAX_SIZE {
            records.push((b"size".to_vec(), e.size.to_string().into_bytes()));
        }
        h.set_size(e.size.min(USTAR_MAX_SIZE));
        for (key, id, set) in [
            (&b"uid"[..], e.uid, tar::Header::set_uid as fn(&mut tar::Header, u64)),
            (&b"gid"[..], e.gid, tar::Header::set_gid),
        ] {
            if id > USTAR_MAX_ID {
                records.push((key.to_vec(), id.to_string().into_bytes()));
            }
            set(&mut h, id.min(USTAR_MAX_ID));
        }
        {
            let u = h.as_ustar_mut().expect("a ustar header");
            copy_field(&mut u.uname, e.header.username_bytes().unwrap_or_default());
            copy_field(&mut u.gname, e.header.groupname_bytes().unwrap_or_default());
            if matches!(kind, tar::EntryType::Char | tar::EntryType::Block) {
                copy_field(&mut u.dev_major, &raw_device(e.header, true));
                copy_field(&mut u.dev_minor, &raw_device(e.header, false));
            }
            if !split_name(&name, &mut u.prefix, &mut u.name) {
                records.push((b"path".to_vec(), name.clone()));
                copy_field(&mut u.name, &truncated(&name, 100));
            }
            if let Some(link) = e.link {
                if link.len() <= 100 && link.iter().all(|b| *b != 0) {
                    copy_field(&mut u.linkname, link);
                } else {
                    records.push((b"linkpath".to_vec(), link.to_vec()));
                    copy_field(&mut u.linkname, &truncated(link, 100));
                }
            }
        }
        for (k, v) in e.pax {
            if !OWN_RECORDS.contains(&k.as_slice()) {
                records.push((k.clone(), v.clone()));
            }
        }
        if !records.is_empty() {
            self.pax_header(&records, &name, e.header)?;
        }
        h.set_cksum();
        self.put(h.as_bytes())?;
        if e.size > 0 {
            if self.count_only {
                self.written += e.size;
            } else {
                let copied = io::copy(&mut data.take(e.size), &mut self.out)?;
                if copied != e.size {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "{}: the layer holds {copied} of the {} bytes its header declares",
                            String::from_utf8_lossy(e.path),
                            e.size
                        ),
                    ));
                }
                self.written += copied;
            }
            self.pad(e.size)?;
        }
        Ok(())
    }

    fn pax_header(
        &mut self,
        records: &[(Vec<u8>, Vec<u8>)],
        name: &[u8],
        src: &tar::Header,
    ) -> io::Result<()> {
        let mut body = Vec::new();
        for (k, v) in records {
            body.extend_from_slice(&pax_record(k, v));
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_mode(0o644);
        h.set_mtime(src.mtime().unwrap_or(0));
        h.set_size(body.len() as u64);
        let base = name.rsplit(|b| *b == b'/').find(|s| !s.is_empty()).unwrap_or(b"entry");
        let mut pax_name = b"PaxHeaders/".to_vec();
        pax_name.extend_from_slice(&truncated(base, 80));
        copy_field(&mut h.as_ustar_mut().expect("a ustar header").name, &pax_name);
        h.set_cksum();
        self.put(h.as_bytes())?;
        self.put(&body)?;
        self.pad(body.len() as u64)
    }

    /// The end-of-archive marker: two zero blocks.
    pub fn finish(&mut self) -> io::Result<()> {
        self.put(&[0u8; 2 * BLOCK as usize])?;
        if !self.count_only {
            self.out.flush()?;
        }
        Ok(())
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// `"%d %s=%s\n"`, the length counting its own digits.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let base = key.len() + value.len() + 3;
    let mut len = base + base.to_string().len();
    if len.to_string().len() != base.to_string().len() {
        len = base + len.to_string().len();
    }
    let mut r = format!("{len} ").into_bytes();
    r.extend_from_slice(key);
    r.push(b'=');
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

fn copy_field(field: &mut [u8], value: &[u8]) {
    field.fill(0);
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

fn truncated(s: &[u8], max: usize) -> Vec<u8> {
    s[..s.len().min(max)].to_vec()
}

/// Puts a name into ustar's name (100 bytes) and prefix (155 bytes) split at a `/`; false when
/// it cannot fit (then a PAX `path` record carries it).
fn split_name(name: &[u8], prefix: &mut [u8; 155], field: &mut [u8; 100]) -> bool {
    if name.contains(&0) {
        return false;
    }
    if name.len() <= 100 {
        copy_field(field, name);
        return true;
    }
    // The last `/` that leaves at most 100 bytes after it and 155 before it.
    let cut = (0..name.len()).rev().find(|&i| name[i] == b'/' && name.len() - i - 1 <= 100 && i <= 155);
    match cut {
        Some(i) if i > 0 && i < name.len() - 1 => {
            copy_field(prefix, &name[..i]);
            copy_field(field, &name[i + 1..]);
            true
        }
        _ => false,
    }
}

/// The raw device-number field (octal text) of the source header.
fn raw_device(h: &tar::Header, major: bool) -> Vec<u8> {
    let n = if major { h.device_major() } else { h.device_minor() };
    match n {
        Ok(Some(n)) => format!("{n:07o}").into_bytes(),
        _ => b"0000000".to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(kind: tar::EntryType, path: &str) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(0o4750);
        h.set_uid(1234);
        h.set_gid(5678);
        h.set_mtime(1_700_000_000);
        h.set_username("robot").unwrap();
        h.set_path(path).unwrap();
        h
    }

    fn write(entries: &[(Entry, &[u8])]) -> Vec<u8> {
        let mut w = TarWriter::new(Vec::new());
        for (e, data) in entries {
            w.entry(e, &mut &data[..]).unwrap();
        }
        w.finish().unwrap();
        w.into_inner()
    }

    #[test]
    fn pax_record_lengths_count_their_own_digits() {
        assert_eq!(pax_record(b"path", b"a"), b"9 path=a\n");
        assert_eq!(pax_record(b"k", &[b'x'; 93]).len(), 99);
        let r = pax_record(b"k", &[b'x'; 94]);
        assert_eq!(r.len(), 101);
        assert!(r.starts_with(b"101 k="));
    }

    #[test]
    fn long_names_links_xattrs_and_owners_survive_a_read_back() {
        let long = format!("{}/file", "d".repeat(200));
        let target = format!("../{}", "t".repeat(150));
        let file = source(tar::EntryType::Regular, "x");
        let sym = source(tar::EntryType::Symlink, "y");
        let cap = vec![(b"SCHILY.xattr.security.capability".to_vec(), vec![1, 0, 0, 2, 0, 0x20, 0, 0])];
        let bytes = write(&[
            (
                Entry {
                    header: &file,
                    pax: &cap,
                    path: long.as_bytes(),
                    link: None,
                    entry_type: None,
                    size: 5,
                    uid: 1234,
                    gid: 5678,
                },
                b"hello",
            ),
            (
                Entry {
                    header: &sym,
                    pax: &[],
                    path: b"lib/link",
                    link: Some(target.as_bytes()),
                    entry_type: None,
                    size: 0,
                    uid: 3_000_000,
                    gid: 0,
                },
                b"",
            ),
        ]);
        assert_eq!(bytes.len() % 512, 0);
        // Counting the same entries gives the same size without reading any data.
        let mut counter = TarWriter::counting(io::sink());
        for (path, link, size, header, pax, uid) in [
            (long.as_bytes(), None, 5, &file, &cap[..], 1234),
            (&b"lib/link"[..], Some(target.as_bytes()), 0, &sym, &[][..], 3_000_000),
        ] {
            let e = Entry {
                header,
                pax,
                path,
                link,
                entry_type: None,
                size,
                uid,
                gid: if uid == 1234 { 5678 } else { 0 },
            };
            counter.entry(&e, &mut io::empty()).unwrap();
        }
        counter.finish().unwrap();
        assert_eq!(counter.written(), bytes.len() as u64);

        let mut a = tar::Archive::new(&bytes[..]);
        let mut entries = a.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path_bytes().as_ref(), long.as_bytes());
        assert_eq!((e.header().mode().unwrap(), e.header().uid().unwrap()), (0o4750, 1234));
        assert_eq!(e.header().username().unwrap(), Some("robot"));
        let xattr: Vec<_> = e
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|x| x.unwrap())
            .filter(|x| x.key_bytes().starts_with(b"SCHILY.xattr."))
            .map(|x| x.value_bytes().to_vec())
            .collect();
        assert_eq!(xattr, vec![vec![1, 0, 0, 2, 0, 0x20, 0, 0]]);
        let mut body = String::new();
        e.read_to_string(&mut body).unwrap();
        assert_eq!(body, "hello");
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.link_name_bytes().unwrap().as_ref(), target.as_bytes());
        assert_eq!(e.header().entry_type(), tar::EntryType::Symlink);
        let uid =
            e.pax_extensions().unwrap().unwrap().map(|x| x.unwrap()).find(|x| x.key() == Ok("uid")).unwrap();
        assert_eq!(uid.value(), Ok("3000000"));
        assert!(entries.next().is_none());
    }
}
