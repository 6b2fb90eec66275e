//! The flatten pipeline on hand-made `docker save` archives, through the fake engine: whiteouts,
//! opaque directories, hard links whose target a later layer replaced, symlinks, owners, modes,
//! xattrs, gzip layers, and a config that must come back byte for byte.

use super::*;
use crate::container::image_config::ImageInspect;
use crate::host::docker::{DockerCall, FakeDocker, Quiet};
use std::collections::BTreeMap;
use std::io::{Cursor, Read};

/// One layer, built entry by entry as moby's archive code writes them.
struct Layer(tar::Builder<Vec<u8>>);

impl Layer {
    fn new() -> Layer {
        Layer(tar::Builder::new(Vec::new()))
    }

    fn header(kind: tar::EntryType, mode: u32, uid: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(uid);
        h.set_mtime(1_700_000_000);
        h
    }

    fn dir(mut self, path: &str, mode: u32) -> Layer {
        let mut h = Self::header(tar::EntryType::Directory, mode, 0);
        h.set_size(0);
        self.0.append_data(&mut h, path, &[][..]).unwrap();
        self
    }

    fn file(mut self, path: &str, data: &[u8], mode: u32, uid: u64) -> Layer {
        let mut h = Self::header(tar::EntryType::Regular, mode, uid);
        h.set_size(data.len() as u64);
        self.0.append_data(&mut h, path, data).unwrap();
        self
    }

    fn xattr(mut self, key: &str, value: &[u8]) -> Layer {
        self.0.append_pax_extensions([(key, value)]).unwrap();
        self
    }

    /// Link targets as written, byte for byte (`append_link` would tidy `a/./b`).
    fn link(mut self, kind: tar::EntryType, path: &str, target: &str) -> Layer {
        let mut h = Self::header(kind, 0o777, 0);
        h.set_size(0);
        h.set_link_name_literal(target).unwrap();
        self.0.append_data(&mut h, path, &[][..]).unwrap();
        self
    }

    fn bytes(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, bytes).unwrap();
    enc.finish().unwrap()
}

/// A `docker save` archive (OCI-style blob names, layers stored in reverse order to show that
/// the archive's order is not the image's).
fn save_archive(config: &[u8], layers: &[Vec<u8>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut names = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        names.push(format!("blobs/sha256/{:064x}", i + 1));
        let _ = l;
    }
    for (i, l) in layers.iter().enumerate().rev() {
        let mut h = tar::Header::new_ustar();
        h.set_size(l.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, &names[i], l.as_slice()).unwrap();
    }
    let add = |b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    };
    add(&mut b, "blobs/sha256/cfg", config);
    let manifest =
        serde_json::json!([{"Config": "blobs/sha256/cfg", "RepoTags": ["src:1"], "Layers": names}]);
    add(&mut b, "manifest.json", manifest.to_string().as_bytes());
    b.into_inner().unwrap()
}

/// A config whose values would be instructions if they went through a Dockerfile, written as
/// Go writes JSON (`\u003c` escapes), with a member order jetdoc must keep.
const CONFIG: &str = r#"{"architecture":"arm64","config":{"User":"1000:1000","ExposedPorts":{"8888/tcp":{},"53/udp\nRUN touch /pwned":{}},"Env":["PATH=/bin","LABEL evil=1\nRUN x=a b","HTML=\u003cb\u003e\u0026"],"Cmd":["echo $HOME"],"Healthcheck":{"Test":["CMD-SHELL","curl -f http://x/ || exit 1\nRUN false"],"Interval":30000000000},"WorkingDir":"/work\nADD http://127.0.0.1:9/evil /evil","Entrypoint":["/bin/sh","-c"],"OnBuild":["RUN echo from-onbuild"],"Labels":{"a":"1\nLABEL b=2"},"StopSignal":"SIGINT\nRUN false"},"created":"2024-05-01T10:00:00.123456789Z","history":[{"created":"2024-05-01T10:00:00Z","created_by":"COPY a /"},{"created":"2024-05-01T10:00:01Z","created_by":"ENV X=1","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb","sha256:cc"]},"variant":"v8"}"#;

const CAP: [u8; 20] = [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn layers() -> Vec<Vec<u8>> {
    let l1 = Layer::new()
        .dir("data/", 0o755)
        .file("data/file", b"payload", 0o4750, 1234)
        .link(tar::EntryType::Link, "data/hardlink", "data/file")
        .link(tar::EntryType::Symlink, "data/symlink", "/data/file")
        .link(tar::EntryType::Symlink, "data/rel", "../data/./file")
        .file("data/old", b"deleted above", 0o644, 0)
        .dir("data/olddir/", 0o755)
        .file("data/olddir/inside", b"x", 0o644, 0)
        .dir("opaque/", 0o755)
        .file("opaque/a", b"a", 0o644, 0)
        .file("opaque/b", b"b", 0o644, 0)
        .dir("a/", 0o700)
        .file("a/src", b"v1", 0o640, 7)
        .link(tar::EntryType::Link, "a/link1", "a/src")
        .link(tar::EntryType::Link, "a/link2", "a/src")
        .xattr("SCHILY.xattr.security.capability", &CAP)
        .file("capfile", b"#!/bin/sh\n", 0o755, 0)
        .file("lib/replaced-by-dir", b"file", 0o644, 0)
        .bytes();
    let long = format!("deep/{}/name", "n".repeat(120));
    let l2 = Layer::new()
        .file("data/.wh.old", b"", 0o644, 0)
        .file("data/.wh.olddir", b"", 0o644, 0)
        .dir("opaque/", 0o750)
        .file("opaque/.wh..wh..opq", b"", 0o644, 0)
        .file("opaque/c", b"c", 0o644, 0)
        .file("a/src", b"v2", 0o600, 8)
        .dir("lib/replaced-by-dir/", 0o755)
        .file("lib/replaced-by-dir/child", b"child", 0o644, 0)
        .file("usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1", b"", 0o644, 0)
        .file(&long, b"long", 0o644, 0)
        .bytes();
    // The same path whited out and written again in a third layer comes back.
    let l3 = Layer::new().file("data/old", b"again", 0o600, 0).bytes();
    vec![l1, gzip(&l2), l3]
}

fn inspect() -> ImageInspect {
    ImageInspect {
        id: "sha256:src".into(),
        size: 4096,
        root_fs: crate::container::image_config::RootFs {
            kind: "layers".into(),
            layers: vec!["a".into(); 3],
        },
        ..Default::default()
    }
}

/// Name -> (type, mode, uid, link target, data, pax records) of a layer tar.
type Listing = BTreeMap<String, (tar::EntryType, u32, u64, Option<String>, Vec<u8>, Vec<(String, Vec<u8>)>)>;

fn listing(layer: &[u8]) -> (Listing, Vec<String>) {
    let mut out = Listing::new();
    let mut order = Vec::new();
    let mut a = tar::Archive::new(layer);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).trim_end_matches('/').to_string();
        let pax: Vec<(String, Vec<u8>)> = match e.pax_extensions().unwrap() {
            Some(x) => x
                .map(|p| p.unwrap())
                .map(|p| (p.key().unwrap().to_string(), p.value_bytes().to_vec()))
                .collect(),
            None => Vec::new(),
        };
        let link = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned());
        let h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        order.push(name.clone());
        out.insert(name, (h.entry_type(), h.mode().unwrap(), h.uid().unwrap(), link, data, pax));
    }
    (out, order)
}

/// The files of the archive `docker load` received.
fn loaded_files(fake: &FakeDocker) -> BTreeMap<String, Vec<u8>> {
    let loaded = fake.loaded();
    assert_eq!(loaded.len(), 1);
    let mut files = BTreeMap::new();
    let mut a = tar::Archive::new(Cursor::new(&loaded[0]));
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        files.insert(name, data);
    }
    files
}

fn run(fake: &FakeDocker, opts: &Options) -> Result<Flattened, FlattenError> {
    flatten(fake, "src:1", &["flat:1".to_string()], opts, &Quiet)
}

#[test]
fn layers_merge_with_whiteouts_links_owners_and_xattrs_and_the_config_is_kept() {
    let fake = FakeDocker::new()
        .with_image("src:1", inspect())
        .with_save("src:1", save_archive(CONFIG.as_bytes(), &layers()));
    let out = run(&fake, &Options::default()).unwrap();
    assert_eq!((out.source_layers, out.materialised_links), (3, 1));

    let files = loaded_files(&fake);
    let layer = &files[LAYER_NAME];
    let (ls, order) = listing(layer);
    let names: Vec<&str> = ls.keys().map(String::as_str).collect();
    // Whited out, emptied by the opaque directory, or replaced: gone. Re-added above: back.
    for gone in ["data/olddir", "data/olddir/inside", "opaque/a", "opaque/b"] {
        assert!(!names.contains(&gone), "{gone} in {names:?}");
    }
    assert_eq!(ls["data/old"].4, b"again");
    assert_eq!(ls["opaque/c"].4, b"c");
    assert_eq!(ls["opaque"].1, 0o750, "the upper directory's mode");
    assert_eq!(ls["lib/replaced-by-dir"].0, tar::EntryType::Directory);
    assert_eq!(ls["lib/replaced-by-dir/child"].4, b"child");
    // Owner and setuid mode; a hard link to a file that survived; symlink targets as written.
    assert_eq!(
        (ls["data/file"].1, ls["data/file"].2, &ls["data/file"].4[..]),
        (0o4750, 1234, &b"payload"[..])
    );
    assert_eq!(
        (ls["data/hardlink"].0, ls["data/hardlink"].3.as_deref()),
        (tar::EntryType::Link, Some("data/file"))
    );
    assert_eq!(ls["data/symlink"].3.as_deref(), Some("/data/file"));
    assert_eq!(ls["data/rel"].3.as_deref(), Some("../data/./file"));
    // a/src was replaced in layer 2, so its old links keep the old data: the first becomes a
    // file with v1 (and the old owner), the second links to it.
    assert_eq!((&ls["a/src"].4[..], ls["a/src"].2), (&b"v2"[..], 8));
    assert_eq!(
        (ls["a/link1"].0, &ls["a/link1"].4[..], ls["a/link1"].2),
        (tar::EntryType::Regular, &b"v1"[..], 7)
    );
    assert_eq!(ls["a/link2"].3.as_deref(), Some("a/link1"));
    let pos = |n: &str| order.iter().position(|o| o == n).unwrap();
    assert!(pos("a/link1") < pos("a/link2") && pos("data/file") < pos("data/hardlink"));
    // The capability travels as its PAX record; long names survive.
    assert_eq!(ls["capfile"].5, vec![("SCHILY.xattr.security.capability".to_string(), CAP.to_vec())]);
    assert!(names.iter().any(|n| n.ends_with("/name") && n.len() == 130));
    // No whiteout marker reaches the merged layer.
    assert!(!names.iter().any(|n| n.contains(".wh.")), "{names:?}");

    // The config: rootfs and history replaced, every other member the same text.
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest[0]["RepoTags"], serde_json::json!(["flat:1"]));
    let config = &files[manifest[0]["Config"].as_str().unwrap()];
    let text = String::from_utf8(config.clone()).unwrap();
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(layer)));
    assert!(text.contains(&format!(r#""rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}"#)), "{text}");
    let original = CONFIG;
    for member in [
        r#""config":{"User":"1000:1000","ExposedPorts":{"8888/tcp":{},"53/udp\nRUN touch /pwned":{}},"Env":["PATH=/bin","LABEL evil=1\nRUN x=a b","HTML=\u003cb\u003e\u0026"]"#,
        r#""WorkingDir":"/work\nADD http://127.0.0.1:9/evil /evil""#,
        r#""OnBuild":["RUN echo from-onbuild"],"Labels":{"a":"1\nLABEL b=2"},"StopSignal":"SIGINT\nRUN false"}"#,
        r#""created":"2024-05-01T10:00:00.123456789Z""#,
        r#""os":"linux""#,
        r#""variant":"v8"}"#,
    ] {
        assert!(original.contains(member) && text.contains(member), "{member} not kept in {text}");
    }
    let history: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(history["history"].as_array().unwrap().len(), 1);
    assert!(history["history"][0]["created_by"].as_str().unwrap().contains("3 layers of src:1"));
    // The result answers to its tag with one layer.
    assert_eq!(fake.calls().iter().filter(|c| matches!(c, DockerCall::Load { .. })).count(), 1);
    assert_eq!(out.id, format!("sha256:{}", hex::encode(Sha256::digest(config))));
}

#[test]
fn zero_byte_placeholders_can_be_left_out() {
    let fake = FakeDocker::new()
        .with_image("src:1", inspect())
        .with_save("src:1", save_archive(CONFIG.as_bytes(), &layers()));
    let opts = Options { drop: Drop { zero_byte_nvidia: true, paths: vec![] }, ..Options::default() };
    let out = run(&fake, &opts).unwrap();
    assert_eq!(out.dropped, vec!["/usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1"]);
    let (ls, _) = listing(&loaded_files(&fake)[LAYER_NAME]);
    assert!(!ls.contains_key("usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1"));
}

#[test]
fn a_failing_docker_save_is_reported_once_with_its_stderr() {
    let fake = FakeDocker::new().with_image("src:1", inspect()).failing(
        "save",
        "Error response from daemon: open /var/lib/docker/overlay2/x/diff: no such file or directory",
    );
    let err = run(&fake, &Options::default()).unwrap_err().to_string();
    assert_eq!(err.matches("no such file or directory").count(), 1, "{err}");
    assert!(!err.contains("exited with") && !err.contains("manifest.json"), "{err}");
    assert!(fake.loaded().is_empty());
}

#[test]
fn zstd_layers_are_named_and_refused() {
    let mut zstd = vec![0x28, 0xb5, 0x2f, 0xfd];
    zstd.extend_from_slice(&[0u8; 64]);
    let fake = FakeDocker::new()
        .with_image("src:1", inspect())
        .with_save("src:1", save_archive(CONFIG.as_bytes(), &[zstd]));
    let err = run(&fake, &Options::default()).unwrap_err().to_string();
    assert!(err.contains("zstd-compressed") && err.contains("blobs/sha256/"), "{err}");
}

#[test]
fn unsafe_paths_and_bad_tags_are_refused_before_anything_is_loaded() {
    let evil = Layer::new().file("ok", b"1", 0o644, 0).bytes();
    let mut raw = evil.clone();
    // Rename `ok` to `..` inside the header bytes (the tar crate refuses to write it).
    raw[0..2].copy_from_slice(b"..");
    raw[2] = 0;
    let mut h = tar::Header::from_byte_slice(&raw[..512]).clone();
    h.set_cksum();
    raw[..512].copy_from_slice(h.as_bytes());
    let fake = FakeDocker::new()
        .with_image("src:1", inspect())
        .with_save("src:1", save_archive(CONFIG.as_bytes(), &[raw]));
    let err = run(&fake, &Options::default()).unwrap_err();
    assert!(matches!(err, FlattenError::UnsafePath { layer: 1, .. }), "{err}");
    assert!(fake.loaded().is_empty());
    let err = flatten(&fake, "src:1", &["Bad Tag".into()], &Options::default(), &Quiet).unwrap_err();
    assert!(err.to_string().starts_with("--tag Bad Tag:"), "{err}");
}
