//! The end-to-end rig of `jetdoc provision`, shared by tests/provision.rs and tests/ansible.rs:
//! a test-owned `docker-registry` on loopback holding a `FROM scratch` busybox base, a loopback
//! wheel index serving a real wheel, a stand-in ZED installer served over HTTP (behind the same
//! redirect Stereolabs uses), a test-owned dockerd whose `nvidia` runtime is a stand-in that logs
//! and execs runc, and a test profile that needs all of them.
//!
//! Included with `#[path = "support/provision_rig.rs"] mod provision_rig;` beside
//! `#[path = "fetch_support/server.rs"] mod server;` and `mod support;`, by the tests that use it
//! only (every test binary compiles `support`).
#![allow(dead_code)]

use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::server::{Reply, Server};
use crate::support;
use crate::support::registry::{TestRegistry, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST};
use crate::support::{jetdoc, run};

pub fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A busybox root filesystem as one gzip layer: busybox, its applets as symlinks, the
/// directories the ZED step writes into, and a stand-in `pip` that installs wheels with unzip.
pub fn busybox_layer() -> Option<(Vec<u8>, Vec<u8>)> {
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
    for d in
        ["bin", "etc", "tmp", "usr", "usr/lib", "usr/lib/aarch64-linux-gnu", "usr/local", "usr/local/bin"]
    {
        dir(&mut b, d);
    }
    file(&mut b, "bin/busybox", &bytes, 0o755);
    for applet in
        ["sh", "ls", "cat", "echo", "mkdir", "rm", "chmod", "ln", "test", "unzip", "sleep", "[", "true"]
    {
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
pub fn push_base(reg: &TestRegistry, repo: &str, tag: &str) -> Option<(String, String)> {
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
pub fn wheel(name: &str, version: &str) -> (String, Vec<u8>) {
    let module = name.replace('-', "_");
    let dist = format!("{module}-{version}.dist-info");
    let files = [
        (format!("{module}/__init__.py"), format!("VALUE = '{name} {version}'\n")),
        (format!("{dist}/METADATA"), format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")),
        (
            format!("{dist}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: jetdoc-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n".into(),
        ),
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
pub const ZED_INSTALLER: &str = "#!/bin/sh\n# stand-in for ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run\necho \"zed installer: $*\"\ncase \" $* \" in *\" silent \"*) ;; *) echo 'would wait for input' >&2; exit 3;; esac\ntest -f /etc/nv_tegra_release || { echo 'no /etc/nv_tegra_release' >&2; exit 4; }\nmkdir -p /usr/local/zed/resources /usr/local/zed/lib\necho \"$*\" > /usr/local/zed/installed\necho model > /usr/local/zed/resources/model.bin\n";
pub const ZED_FILE: &str = "ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run";

/// Serves the wheel index (`/simple/<project>/`, PEP 503) and the ZED installer behind a
/// redirect (`/zedsdk/5.4/l4t36.4/jetsons` -> `/cdn/<file>`), counting the body bytes.
pub struct Downloads {
    pub server: Server,
    pub wheel: (String, Vec<u8>),
}

impl Downloads {
    pub fn start() -> Downloads {
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

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// A checks.d table that sends the ZED SDK download to this server.
    pub fn checks_dir(&self, dir: &Path) -> PathBuf {
        let d = dir.join("checks.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("zed-loopback.toml"),
            format!(
                "[[zed_url]]\nplatform = \"jetson\"\npattern = \"{}/zedsdk/{{sdk}}/l4t{{l4t}}/jetsons\"\n",
                self.url()
            ),
        )
        .unwrap();
        d
    }
}

/// The test profile: the busybox base, a wheel from the loopback index, the ZED stand-in, a
/// smoke test that proves all three arrived, and a long-running command.
pub fn test_profile(dir: &Path, base: &str, index: &str, smoke_ok: bool) -> PathBuf {
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
    // Named after the profile: a profile directory (/etc/jetdoc/profiles.d) finds it by name.
    let p = dir.join("e2e-test.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Everything a provision talks to, test-owned: dockerd (with a stand-in `nvidia` runtime that
/// logs each container it creates, then execs runc), the registry with the base, the download
/// server, a Jetson fixture root (JetPack 6.2), a cache, the profile.
pub struct Rig {
    pub daemon: support::dockerd::TestDaemon,
    pub registry: TestRegistry,
    pub downloads: Downloads,
    pub base: String,
    pub base_digest: String,
    pub dir: tempfile::TempDir,
    pub runtime_log: PathBuf,
}

impl Rig {
    pub fn start() -> Rig {
        let dir = tempfile::Builder::new().prefix("jd-prov-").tempdir().unwrap();
        let (bin, runtime_log) = support::dockerd::nvidia_runtime_standin(dir.path());
        let daemon = Self::engine_with_standin(&bin);
        let registry = TestRegistry::start();
        let pushed = push_base(&registry, "jetdoc-test/busybox", "r36.4.0");
        support::require(pushed.is_some(), "busybox-static");
        let (base, base_digest) = pushed.unwrap();
        let downloads = Downloads::start();
        Rig { daemon, registry, downloads, base, base_digest, dir, runtime_log }
    }

    fn engine_with_standin(bin: &Path) -> support::dockerd::TestDaemon {
        support::dockerd::TestDaemon::start_with_path(
            r#"{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}"#,
            vec![bin.to_path_buf()],
        )
    }

    /// Another Docker engine like the rig's own (the same stand-in `nvidia` runtime and log): a
    /// second robot's engine, so that two robots' images, tags and up-to-date checks stay apart.
    pub fn another_engine(&self) -> support::dockerd::TestDaemon {
        Self::engine_with_standin(&self.dir.path().join("standin-bin"))
    }

    /// A robot: a copy of the JetPack 6.2 AGX Orin fixture root and its own cache.
    pub fn robot(&self, name: &str) -> (PathBuf, PathBuf) {
        let root = self.dir.path().join(name).join("root");
        support::copy_tree(&support::fixtures_dir().join("sysroots/agx-orin-r36.4.3"), &root);
        (root, self.dir.path().join(name).join("cache"))
    }

    pub fn jetdoc(&self, root: &Path, cache: &Path, args: &[&str]) -> std::process::Output {
        run(&mut self.command(root, cache, args))
    }

    pub fn command(&self, root: &Path, cache: &Path, args: &[&str]) -> std::process::Command {
        let checks = self.downloads.checks_dir(self.dir.path());
        let mut c = jetdoc();
        c.env("DOCKER_HOST", self.daemon.host())
            .env("JETDOC_PROFILES_DIR", "/nonexistent")
            .env("HOME", self.dir.path())
            .arg("--root")
            .arg(root)
            .arg("--live-commands")
            .arg("--checks-dir")
            .arg(checks)
            .args(args)
            .args(if args.first() == Some(&"provision") {
                vec!["--cache-dir".into(), cache.display().to_string()]
            } else {
                vec![]
            });
        c
    }

    pub fn provision(
        &self,
        root: &Path,
        cache: &Path,
        profile: &Path,
        extra: &[&str],
    ) -> std::process::Output {
        let mut args =
            vec!["provision", profile.to_str().unwrap(), "--yes", "--network", "none", "--format", "json"];
        args.extend_from_slice(extra);
        self.jetdoc(root, cache, &args)
    }

    pub fn state(&self, root: &Path) -> serde_json::Value {
        let text = std::fs::read_to_string(root.join("var/lib/jetdoc/state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}
