//! Bundles that lie, checked by the real binary (`jetdoc bundle --verify`): every kind of damage
//! or hostility a bundle can carry is refused with the member named, in bounded memory, without
//! reading what it need not read. The bundles are made with jetdoc's own writer, then edited
//! byte by byte or rebuilt with raw tar headers.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(
    a_good_bundle_verifies_with_every_compression_and_says_what_it_holds,
    one_byte_changed_anywhere_in_a_member_is_named,
    hostile_member_names_links_and_headers_are_refused_before_their_data_is_read,
    lying_sizes_endless_members_and_huge_manifests_are_refused_in_bounded_memory,
    missing_extra_repeated_and_reordered_members_are_named,
);

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jetdoc::bundle::manifest::{Compression, Kind, Manifest};
use jetdoc::bundle::write::{self, FilePart, ImagePart, Parts};
use support::{jetdoc, stderr, stdout};

/// Bytes that compress like an image layer does (some structure, some noise).
fn image_tar(len: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let data: Vec<u8> = (0..len)
        .map(|i| if i % 7 == 0 { (i as u32).wrapping_mul(2654435761) as u8 } else { b'a' + (i % 13) as u8 })
        .collect();
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "layer/layer.tar", &data[..]).unwrap();
    b.into_inner().unwrap()
}

const LOCK: &str = "schema = 1\n[profile]\nname = \"testing-arm\"\n";

/// A good bundle: lock, image, a ZED stand-in and a wheel. Returns its path and manifest.
fn good(dir: &Path, compression: Compression) -> (PathBuf, Manifest) {
    let zed = dir.join("ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run");
    std::fs::write(&zed, "#!/bin/sh\necho zed\n".repeat(100)).unwrap();
    let wheel = dir.join("pyzmq-26.2.0-py3-none-any.whl");
    std::fs::write(&wheel, b"PK\x03\x04 not really a wheel".repeat(50)).unwrap();
    let image = image_tar(300_000);
    let out = dir.join("robot.bundle");
    let m = write::write(
        &out,
        Parts {
            profile: "testing-arm".into(),
            device: "L4T 36.4.3 (JetPack 6.2), arm64".into(),
            lock: LOCK.as_bytes().to_vec(),
            image: Some(ImagePart {
                save: &mut &image[..],
                id: format!("sha256:{}", "c".repeat(64)),
                tag: "jetdoc/testing-arm:abc".into(),
            }),
            files: vec![
                FilePart {
                    kind: Kind::ZedInstaller,
                    path: zed.clone(),
                    file_name: "ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run".into(),
                    sha256: None,
                },
                FilePart {
                    kind: Kind::Wheel,
                    path: wheel,
                    file_name: "pyzmq-26.2.0-py3-none-any.whl".into(),
                    sha256: None,
                },
            ],
            compression,
            level: 3,
        },
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    (out, m)
}

fn verify(path: &Path) -> Output {
    jetdoc().args(["bundle", "--verify"]).arg(path).output().unwrap()
}

fn refused(path: &Path, want: &str) {
    let out = verify(path);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains(want), "want {want:?} in: {}", stderr(&out));
}

/// One raw ustar entry: header (name written byte for byte, size as given) and `data` padded.
fn raw_entry(name: &[u8], kind: tar::EntryType, header_size: u64, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_size(header_size);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    if kind == tar::EntryType::Symlink {
        h.set_link_name("/etc/shadow").unwrap();
    }
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// The members of a bundle as (name, bytes), read with the tar crate (trusted input).
fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(std::fs::File::open(path).unwrap());
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            (e.path().unwrap().display().to_string(), v)
        })
        .collect()
}

/// Writes a bundle from raw entries and the end-of-archive blocks, padded with zeros to 1 MiB:
/// a hostile bundle is as long as its manifest needs, so the checks after the length's are met.
fn assemble(path: &Path, entries: &[Vec<u8>]) {
    let mut f = std::fs::File::create(path).unwrap();
    for e in entries {
        f.write_all(e).unwrap();
    }
    f.write_all(&[0u8; 1024]).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len.max(1 << 20)).unwrap();
}

fn regular(name: &str, data: &[u8]) -> Vec<u8> {
    raw_entry(name.as_bytes(), tar::EntryType::Regular, data.len() as u64, data)
}

fn a_good_bundle_verifies_with_every_compression_and_says_what_it_holds() {
    for c in [Compression::Zstd, Compression::Gzip, Compression::None] {
        let dir = tempfile::tempdir().unwrap();
        let (path, m) = good(dir.path(), c);
        let out = verify(&path);
        assert!(out.status.success(), "{c:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("whole"), "{}", stdout(&out));
        assert!(stdout(&out).contains("zed-installer"), "{}", stdout(&out));
        let names: Vec<String> = members(&path).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "manifest.json", "the manifest first");
        assert_eq!(names[1..], m.members.iter().map(|m| m.name.clone()).collect::<Vec<_>>()[..]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

fn one_byte_changed_anywhere_in_a_member_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, m) = good(dir.path(), Compression::Zstd);
    let bytes = std::fs::read(&path).unwrap();
    for member in &m.members {
        // Find the member's data: its header's offset + 512.
        let at = find_member_data(&bytes, &member.name);
        for offset in [0, member.size as usize / 2, member.size as usize - 1] {
            let mut b = bytes.clone();
            b[at + offset] ^= 0x01;
            let p = dir.path().join("tampered.bundle");
            std::fs::write(&p, &b).unwrap();
            refused(&p, &format!("bundle member {} was changed", member.name));
        }
    }
}

fn find_member_data(bundle: &[u8], name: &str) -> usize {
    let mut at = 0;
    while at + 512 <= bundle.len() {
        let h = tar::Header::from_byte_slice(&bundle[at..at + 512]);
        let size = h.size().unwrap() as usize;
        if h.path_bytes().as_ref() == name.as_bytes() {
            return at + 512;
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    panic!("{name} not found");
}

fn hostile_member_names_links_and_headers_are_refused_before_their_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = good(dir.path(), Compression::Zstd);
    let mut ms = members(&path);
    let manifest = ms.remove(0).1;
    let lock = ms.remove(0).1;
    let p = dir.path().join("hostile.bundle");

    // A member named by a path that climbs out, in place of the lock.
    assemble(&p, &[regular("manifest.json", &manifest), regular("../../etc/cron.d/evil", &lock)]);
    refused(&p, "bundle member ../../etc/cron.d/evil is not listed in the manifest");
    assemble(&p, &[regular("manifest.json", &manifest), regular("/etc/passwd", &lock)]);
    refused(&p, "bundle member /etc/passwd is not listed");
    // The lock as a symlink to a secret, as a hard link, as a device.
    for (kind, what) in [
        (tar::EntryType::Symlink, "is a symlink"),
        (tar::EntryType::Link, "is a hard link"),
        (tar::EntryType::Char, "is a device node"),
        (tar::EntryType::Directory, "is a directory"),
    ] {
        assemble(&p, &[regular("manifest.json", &manifest), raw_entry(b"lock.toml", kind, 0, b"")]);
        refused(&p, &format!("bundle member lock.toml {what}"));
    }
    // A PAX header or a GNU long name claiming 4 GiB: refused at its header (a tar reader that
    // honoured it would read it all into memory). The file is sparse: the claim costs no disk.
    for kind in [tar::EntryType::XHeader, tar::EntryType::GNULongName] {
        let f = std::fs::File::create(&p).unwrap();
        let mut head = regular("manifest.json", &manifest);
        head.extend(raw_entry(b"././@LongLink", kind, 4 << 30, b""));
        (&f).write_all(&head).unwrap();
        f.set_len(head.len() as u64 + (4 << 30) + 1024).unwrap();
        let m = run_measured(jetdoc().args(["bundle", "--verify"]).arg(&p), Duration::from_secs(60));
        assert_eq!(m.out.status.code(), Some(1), "{}", stderr(&m.out));
        assert!(stderr(&m.out).contains("not a file the manifest lists"), "{}", stderr(&m.out));
        assert!(m.peak_rss_mib < 64, "peak RSS {} MiB", m.peak_rss_mib);
    }
    // The manifest itself as a link, or not first.
    assemble(&p, &[raw_entry(b"manifest.json", tar::EntryType::Symlink, 0, b"")]);
    refused(&p, "not a jetdoc bundle: its first member is \"manifest.json\", not manifest.json");
    assemble(&p, &[regular("lock.toml", &lock), regular("manifest.json", &manifest)]);
    refused(&p, "its first member is \"lock.toml\"");
}

fn lying_sizes_endless_members_and_huge_manifests_are_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (path, m) = good(dir.path(), Compression::Zstd);
    let ms = members(&path);
    let p = dir.path().join("lying.bundle");

    // The tar header and the manifest disagree on the lock's size.
    let lock = &ms[1].1;
    let mut entries = vec![regular("manifest.json", &ms[0].1)];
    entries.push(raw_entry(
        b"lock.toml",
        tar::EntryType::Regular,
        lock.len() as u64 + 512,
        &[lock.clone(), vec![b'#'; 512]].concat(),
    ));
    assemble(&p, &entries);
    refused(
        &p,
        &format!(
            "bundle member lock.toml is {} bytes in the archive, {} in the manifest",
            lock.len() + 512,
            lock.len()
        ),
    );

    // A manifest that claims an endless image (1 TiB): refused before anything after it is read.
    let mut lie = m.clone();
    lie.members[1].size = 1 << 40;
    assemble(&p, &[regular("manifest.json", &serde_json::to_vec(&lie).unwrap()), regular("lock.toml", lock)]);
    refused(&p, "bytes of members, but the bundle is 1048576 bytes long");
    // ...and an image of 2 GiB that the file does hold (sparse zeros): read through, in bounded
    // memory, and named for what it is.
    let mut lie = m.clone();
    lie.members[1].size = 2 << 30;
    let mut head = regular("manifest.json", &serde_json::to_vec(&lie).unwrap());
    head.extend(regular("lock.toml", lock));
    head.extend(raw_entry(lie.members[1].name.as_bytes(), tar::EntryType::Regular, 2 << 30, b""));
    let f = std::fs::File::create(&p).unwrap();
    (&f).write_all(&head).unwrap();
    f.set_len(head.len() as u64 + (2 << 30) + 1024).unwrap();
    let run = run_measured(jetdoc().args(["bundle", "--verify"]).arg(&p), Duration::from_secs(120));
    assert_eq!(run.out.status.code(), Some(1), "{}", stderr(&run.out));
    assert!(
        stderr(&run.out).contains(&format!("bundle member {} was changed", lie.members[1].name)),
        "{}",
        stderr(&run.out)
    );
    assert!(run.peak_rss_mib < 64, "peak RSS {} MiB", run.peak_rss_mib);

    // An image that decompresses to more than the manifest says: cut off there.
    let mut lie = m.clone();
    let img = lie.image.as_mut().unwrap();
    img.uncompressed_size = 1000;
    let mut entries = vec![regular("manifest.json", &serde_json::to_vec(&lie).unwrap())];
    entries.extend(ms[1..].iter().map(|(n, d)| regular(n, d)));
    assemble(&p, &entries);
    refused(&p, "the image decompresses to more than the 1000 bytes the manifest says: cut off");
    // ...or to another tar than the one it names.
    let mut lie = m.clone();
    lie.image.as_mut().unwrap().uncompressed_sha256 = "0".repeat(64);
    entries[0] = regular("manifest.json", &serde_json::to_vec(&lie).unwrap());
    assemble(&p, &entries);
    refused(&p, "decompresses to a tar whose sha256 is");

    // A 2 MiB manifest, a manifest of 5000 members: refused before they are parsed.
    assemble(&p, &[regular("manifest.json", &vec![b' '; 2 << 20])]);
    refused(&p, "is 2097152 bytes; a manifest is at most 1048576 bytes");
    let mut many = m.clone();
    many.members = vec![m.members[2].clone(); 5000];
    for (i, mm) in many.members.iter_mut().enumerate() {
        mm.name = format!("wheels/w{i}.whl");
    }
    assemble(&p, &[regular("manifest.json", &serde_json::to_vec(&many).unwrap())]);
    refused(&p, "lists 5000 members, more than the 4096");
    // A manifest that is not JSON, or not ours.
    assemble(&p, &[regular("manifest.json", b"{\"schema\": 1")]);
    refused(&p, "the bundle's manifest does not parse");
    // Not a tar at all; a FIFO; /dev/zero.
    std::fs::write(&p, b"GIF89a not a bundle at all").unwrap();
    let out = verify(&p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a jetdoc bundle"), "{}", stderr(&out));
    let fifo = dir.path().join("fifo.bundle");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    refused(&fifo, "is not a regular file");
    refused(Path::new("/dev/zero"), "is not a regular file");
}

fn missing_extra_repeated_and_reordered_members_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = good(dir.path(), Compression::Zstd);
    let ms: Vec<Vec<u8>> = members(&path).iter().map(|(n, d)| regular(n, d)).collect();
    let p = dir.path().join("edited.bundle");
    let names: Vec<String> = members(&path).into_iter().map(|(n, _)| n).collect();

    assemble(&p, &ms[..ms.len() - 1]);
    refused(&p, &format!("bundle member {} is listed in the manifest but missing", names[names.len() - 1]));
    let mut extra = ms.clone();
    extra.push(regular("wheels/extra-1.0-py3-none-any.whl", b"extra"));
    assemble(&p, &extra);
    refused(&p, "bundle member wheels/extra-1.0-py3-none-any.whl is not listed in the manifest");
    let mut swapped = ms.clone();
    swapped.swap(2, 3);
    assemble(&p, &swapped);
    refused(&p, &format!("bundle member {} comes where the manifest lists {}", names[3], names[2]));
    // Cut in the middle of the image.
    let bytes = std::fs::read(&path).unwrap();
    let at = find_member_data(&bytes, &names[2]);
    std::fs::write(&p, &bytes[..at + 100]).unwrap();
    refused(&p, "it is cut short or the manifest lies");
    // ...the same, padded to its length with zeros: the member itself is found short.
    let mut b = bytes[..at + 100].to_vec();
    b.resize(bytes.len(), 0);
    std::fs::write(&p, &b).unwrap();
    let out = verify(&p);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("bundle member {}", names[2])), "{}", stderr(&out));
}

/// A finished child, its peak resident memory (VmHWM, sampled).
struct Measured {
    out: Output,
    peak_rss_mib: u64,
}

fn run_measured(cmd: &mut Command, limit: Duration) -> Measured {
    let start = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok().and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let out = Output { status, stdout: t_out.join().unwrap(), stderr: t_err.join().unwrap() };
    Measured { out, peak_rss_mib: peak_kib / 1024 }
}
