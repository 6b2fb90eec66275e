//! `jetdoc provision` end to end with real parts: a test-owned `docker-registry` on loopback
//! holding a `FROM scratch` busybox base, a loopback wheel index serving a real wheel, a
//! stand-in ZED installer served over HTTP (behind the same redirect Stereolabs uses), a
//! test-owned dockerd whose `nvidia` runtime is a stand-in that logs and execs runc, and fixture
//! roots for the Jetson facts.

#[path = "fetch_support/server.rs"]
mod server;
mod support;

use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use server::{Reply, Server};
use support::registry::{TestRegistry, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST};
use support::{jetdoc, run, stderr, stdout};

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A busybox root filesystem as one gzip layer: busybox, its applets as symlinks, the
/// directories the ZED step writes into, and a stand-in `pip` that installs wheels with unzip.
fn busybox_layer() -> Option<(Vec<u8>, Vec<u8>)> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].iter().map(Path::new).find(|p| p.exists())?;
    let bytes = std::fs::read(busybox).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, path: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_cksum();
        b.append_data(&mut h, path, &[][..]).unwrap();
    };
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    for d in ["bin", "etc", "tmp", "usr", "usr/lib", "usr/lib/aarch64-linux-gnu", "usr/local", "usr/local/bin"] {
        dir(&mut b, d);
    }
    file(&mut b, "bin/busybox", &bytes, 0o755);
    for applet in ["sh", "ls", "cat", "echo", "mkdir", "rm", "chmod", "ln", "test", "unzip", "sleep", "[", "true"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox").unwrap();
    }
    // `pip install --no-index --find-links DIR -r LOCK`: unzip every wheel of DIR.
    let pip = b"#!/bin/sh\nset -e\nwhile [ $# -gt 0 ]; do case \"$1\" in --find-links) dir=\"$2\"; shift;; esac; shift; done\nmkdir -p /usr/lib/python3/site-packages\nfor w in \"$dir\"/*.whl; do unzip -o -q \"$w\" -d /usr/lib/python3/site-packages; done\necho \"installed from $dir\"\n";
    file(&mut b, "usr/local/bin/pip-standin", pip, 0o755);
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    Some((tar, gz.finish().unwrap()))
}

/// Pushes the base as a single-platform arm64 image (a Jetson's architecture; the binaries are
/// this machine's, which Docker runs with a warning). Returns (reference, manifest digest).
fn push_base(reg: &TestRegistry, repo: &str, tag: &str) -> Option<(String, String)> {
    let (tar, gz) = busybox_layer()?;
    let layer = reg.push_blob(repo, &gz);
    let config = serde_json::to_vec(&json!({
        "architecture": "arm64", "os": "linux", "created": "2025-01-08T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/bin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": {"io.jetdoc.l4t": "36.4.0", "io.jetdoc.cuda": "12.6"}
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha(&tar))]},
        "history": [{"created_by": "jetdoc test base"}]
    }))
    .unwrap();
    let config_digest = reg.push_blob(repo, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer, "size": gz.len()}]
    }))
    .unwrap();
    let digest = reg.push_manifest(repo, tag, OCI_MANIFEST, &manifest);
    Some((format!("{}/{repo}:{tag}", reg.addr), digest))
}

/// A pure-Python wheel as pip writes them: module, METADATA, WHEEL, RECORD.
fn wheel(name: &str, version: &str) -> (String, Vec<u8>) {
    let module = name.replace('-', "_");
    let dist = format!("{module}-{version}.dist-info");
    let files = [
        (format!("{module}/__init__.py"), format!("VALUE = '{name} {version}'\n")),
        (format!("{dist}/METADATA"), format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")),
        (format!("{dist}/WHEEL"), "Wheel-Version: 1.0\nGenerator: jetdoc-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n".into()),
        (format!("{dist}/RECORD"), String::new()),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, text) in &files {
        zip.start_file(path.as_str(), opts).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    (format!("{module}-{version}-py3-none-any.whl"), zip.finish().unwrap().into_inner())
}

/// The stand-in ZED installer: a shell script taking Stereolabs' silent flags.
const ZED_INSTALLER: &str = "#!/bin/sh\n# stand-in for ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run\necho \"zed installer: $*\"\ncase \" $* \" in *\" silent \"*) ;; *) echo 'would wait for input' >&2; exit 3;; esac\ntest -f /etc/nv_tegra_release || { echo 'no /etc/nv_tegra_release' >&2; exit 4; }\nmkdir -p /usr/local/zed/resources /usr/local/zed/lib\necho \"$*\" > /usr/local/zed/installed\necho model > /usr/local/zed/resources/model.bin\n";
pub const ZED_FILE: &str = "ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run";

/// Serves the wheel index (`/simple/<project>/`, PEP 503) and the ZED installer behind a
/// redirect (`/zedsdk/5.4/l4t36.4/jetsons` -> `/cdn/<file>`), counting the body bytes.
struct Downloads {
    server: Server,
    wheel: (String, Vec<u8>),
}

impl Downloads {
    fn start() -> Downloads {
        let wheel = wheel("jdtest", "1.0");
        let (wheel_name, wheel_bytes) = (wheel.0.clone(), Arc::new(wheel.1.clone()));
        let zed = Arc::new(ZED_INSTALLER.as_bytes().to_vec());
        let server = Server::start(move |r, _| {
            let path = r.path.split('?').next().unwrap_or("");
            match path {
                "/simple/jdtest/" | "/simple/jdtest" => Reply::Text {
                    content_type: "text/html",
                    body: format!(
                        "<html><body><a href=\"/files/{wheel_name}#sha256={}\">{wheel_name}</a></body></html>\n",
                        sha(&wheel_bytes)
                    ),
                },
                p if p == format!("/files/{wheel_name}") => Reply::file(&wheel_bytes, "w1"),
                "/zedsdk/5.4/l4t36.4/jetsons" => Reply::Redirect(format!("/cdn/{ZED_FILE}")),
                p if p == format!("/cdn/{ZED_FILE}") => Reply::file(&zed, "z1"),
                _ => Reply::Status(404),
            }
        });
        Downloads { server, wheel }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// A checks.d table that sends the ZED SDK download to this server.
    fn checks_dir(&self, dir: &Path) -> PathBuf {
        let d = dir.join("checks.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("zed-loopback.toml"),
            format!("[[zed_url]]\nplatform = \"jetson\"\npattern = \"{}/zedsdk/{{sdk}}/l4t{{l4t}}/jetsons\"\n", self.url()),
        )
        .unwrap();
        d
    }
}

/// The test profile: the busybox base, a wheel from the loopback index, the ZED stand-in, a
/// smoke test that proves all three arrived, and a long-running command.
fn test_profile(dir: &Path, base: &str, index: &str, smoke_ok: bool) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("hello.txt"), "hello from the app\n").unwrap();
    let smoke = if smoke_ok {
        "test -f /usr/lib/python3/site-packages/jdtest/__init__.py && cat /usr/local/zed/installed && cat /opt/app/hello.txt && test ! -e /usr/local/zed/resources/model.bin"
    } else {
        "echo 'the robot is not ready' >&2; exit 7"
    };
    let text = format!(
        r#"name = "e2e-test"
description = "busybox base, one wheel, the ZED stand-in"

[platforms.jetson]
jetpack = ">=6"

[[base]]
platform = "jetson"
l4t = ">=36.4, <37"
candidates = [{{ image = "{base}", python = "3.10" }}]

[python]
requirements = ["jdtest>=1.0"]
indexes = ["{index}/simple/"]
pip = "/usr/local/bin/pip-standin"

[zed]
variant = "runtime"

[[files]]
src = "app"
dest = "/opt/app"

[env]
E2E = "yes"

[run]
network = "none"
command = ["sleep", "600"]

[[smoke]]
name = "wheel, ZED SDK and app files are in the image"
command = ["/bin/sh", "-c", "{smoke}"]
timeout_s = 60
"#
    );
    let p = dir.join("e2e.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn an_online_dry_run_reads_the_base_from_the_registry_before_any_pull() {
    // The live machine (x86_64) and a registry on loopback: the plan names the digest, the layer
    // count and the download size, with no Docker needed and nothing pulled.
    let Some(reg) = TestRegistry::start() else { return };
    let Some((tar, gz)) = busybox_layer() else {
        assert!(support::require(false, "busybox-static"));
        return;
    };
    let layer = reg.push_blob("x86/base", &gz);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha(&tar))]}
    }))
    .unwrap();
    let cfg = reg.push_blob("x86/base", &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cfg, "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer, "size": gz.len()}]
    }))
    .unwrap();
    let digest = reg.push_manifest("x86/base", "1", OCI_MANIFEST, &manifest);
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("x86.toml");
    std::fs::write(
        &profile,
        format!("name = \"x86-test\"\n[platforms.x86_64]\ngpu = false\n[[base]]\nplatform = \"x86_64\"\ncandidates = [\"{}/x86/base:1\"]\n[[smoke]]\nname = \"s\"\ncommand = [\"true\"]\n", reg.addr),
    )
    .unwrap();
    let out = run(jetdoc()
        .env("DOCKER_HOST", format!("unix://{}/no-docker.sock", tmp.path().display()))
        .env("HOME", tmp.path())
        .args(["provision"])
        .arg(&profile)
        .args(["--dry-run", "--format", "json", "--cache-dir"])
        .arg(tmp.path().join("cache")));
    let text = stdout(&out);
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}{}", stderr(&out)));
    assert_eq!(plan["registry"], "queried", "{text}");
    assert_eq!(plan["base"]["action"], "pull", "{text}");
    let c = &plan["base"]["candidates"][0];
    assert_eq!(c["verdict"], "fits");
    assert_eq!(c["digest"], digest);
    assert_eq!(c["layers"], 1);
    assert_eq!(c["size_bytes"], gz.len());
    assert_eq!(plan["image"]["budget"]["verdict"], "fits");
    assert_eq!(plan["artifacts"][0]["known_from"], "registry");
}
