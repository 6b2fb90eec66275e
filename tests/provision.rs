//! `jetdoc provision` end to end with real parts: a test-owned `docker-registry` on loopback
//! holding a `FROM scratch` busybox base, a loopback wheel index serving a real wheel, a
//! stand-in ZED installer served over HTTP (behind the same redirect Stereolabs uses), a
//! test-owned dockerd whose `nvidia` runtime is a stand-in that logs and execs runc, and fixture
//! roots for the Jetson facts.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

#[path = "fetch_support/server.rs"]
mod server;
mod support;

support::harness!(
    an_online_dry_run_reads_the_base_from_the_registry_before_any_pull,
    provision_builds_smoke_tests_records_locks_and_a_second_run_is_up_to_date,
    a_failing_smoke_test_prints_the_output_names_the_step_and_keeps_the_previous_image,
    ctrl_c_leaves_a_whole_state_file_and_two_provisions_never_interleave,
);

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

fn an_online_dry_run_reads_the_base_from_the_registry_before_any_pull() {
    // The live machine (x86_64) and a registry on loopback: the plan names the digest, the layer
    // count and the download size, with no Docker needed and nothing pulled.
    let reg = TestRegistry::start();
    let layer_bytes = busybox_layer();
    support::require(layer_bytes.is_some(), "busybox-static");
    let (tar, gz) = layer_bytes.unwrap();
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
    let plan: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}{}", stderr(&out)));
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

/// Everything a provision talks to, test-owned: dockerd (with a stand-in `nvidia` runtime that
/// logs each container it creates, then execs runc), the registry with the base, the download
/// server, a Jetson fixture root (JetPack 6.2), a cache, the profile.
struct Rig {
    daemon: support::dockerd::TestDaemon,
    registry: TestRegistry,
    downloads: Downloads,
    base: String,
    base_digest: String,
    dir: tempfile::TempDir,
    runtime_log: PathBuf,
}

impl Rig {
    fn start() -> Rig {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new().prefix("jd-prov-").tempdir().unwrap();
        let bin = dir.path().join("standin-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let runtime_log = dir.path().join("nvidia-runtime.log");
        let standin = bin.join("nvidia-container-runtime");
        std::fs::write(
            &standin,
            format!("#!/bin/sh\necho \"$@\" >> {}\nexec runc \"$@\"\n", runtime_log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&standin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let daemon = support::dockerd::TestDaemon::start_with_path(
            r#"{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}"#,
            vec![bin],
        );
        let registry = TestRegistry::start();
        let pushed = push_base(&registry, "jetdoc-test/busybox", "r36.4.0");
        support::require(pushed.is_some(), "busybox-static");
        let (base, base_digest) = pushed.unwrap();
        let downloads = Downloads::start();
        Rig { daemon, registry, downloads, base, base_digest, dir, runtime_log }
    }

    /// A robot: a copy of the JetPack 6.2 AGX Orin fixture root and its own cache.
    fn robot(&self, name: &str) -> (PathBuf, PathBuf) {
        let root = self.dir.path().join(name).join("root");
        support::copy_tree(&support::fixtures_dir().join("sysroots/agx-orin-r36.4.3"), &root);
        (root, self.dir.path().join(name).join("cache"))
    }

    fn jetdoc(&self, root: &Path, cache: &Path, args: &[&str]) -> std::process::Output {
        run(&mut self.command(root, cache, args))
    }

    fn command(&self, root: &Path, cache: &Path, args: &[&str]) -> std::process::Command {
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

    fn provision(&self, root: &Path, cache: &Path, profile: &Path, extra: &[&str]) -> std::process::Output {
        let mut args =
            vec!["provision", profile.to_str().unwrap(), "--yes", "--network", "none", "--format", "json"];
        args.extend_from_slice(extra);
        self.jetdoc(root, cache, &args)
    }

    fn state(&self, root: &Path) -> serde_json::Value {
        let text = std::fs::read_to_string(root.join("var/lib/jetdoc/state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

fn parse(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("{e}\nstdout:\n{}\nstderr:\n{}", stdout(out), stderr(out)))
}

fn provision_builds_smoke_tests_records_locks_and_a_second_run_is_up_to_date() {
    let rig = Rig::start();
    let (root, cache) = rig.robot("robot-a");
    let profile = test_profile(rig.dir.path(), &rig.base, &rig.downloads.url(), true);
    let lock = rig.dir.path().join("e2e.lock");

    // The plan, online: the registry answers for the base before any pull.
    let out =
        rig.jetdoc(&root, &cache, &["provision", profile.to_str().unwrap(), "--dry-run", "--format", "json"]);
    let plan = parse(&out);
    assert_eq!(plan["base"]["action"], "pull", "{plan}");
    assert_eq!(plan["base"]["candidates"][0]["digest"], rig.base_digest);
    assert_eq!(plan["artifacts"][1]["url"], format!("{}/zedsdk/5.4/l4t36.4/jetsons", rig.downloads.url()));
    assert_eq!(rig.downloads.server.body_bytes(), 0, "a dry run downloads nothing");

    // The provision.
    let out = rig.provision(&root, &cache, &profile, &["--lock", lock.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    let done = parse(&out);
    assert_eq!(done["result"], "provisioned");
    let st = &done["state"];
    let tag = st["image"]["tag"].as_str().unwrap().to_string();
    assert!(tag.starts_with("jetdoc/e2e-test:"), "{tag}");
    assert_eq!(st["image"]["base_digest"], rig.base_digest);
    // The image: labelled with the profile, its hash and the lock; the candidate tag gone.
    let inspect: serde_json::Value =
        serde_json::from_str(&rig.daemon.docker_ok(&["image", "inspect", &tag])).unwrap();
    let labels = &inspect[0]["Config"]["Labels"];
    assert_eq!(labels["io.jetdoc.profile"], "e2e-test");
    assert_eq!(labels["io.jetdoc.profile.sha256"], st["profile_sha256"]);
    assert_eq!(labels["io.jetdoc.l4t"], "36.4.3");
    assert!(!rig.daemon.docker(&["image", "inspect", &format!("{tag}-candidate")]).status.success());
    // The smoke test ran through the nvidia runtime, and saw the wheel, the ZED install and the app.
    assert_eq!(st["smoke"][0]["passed"], true, "{st}");
    let runtime_log = std::fs::read_to_string(&rig.runtime_log).unwrap_or_default();
    assert!(runtime_log.contains("create"), "the nvidia runtime was not used:\n{runtime_log}");
    // The container runs the image.
    let running =
        rig.daemon.docker_ok(&["inspect", "-f", "{{.State.Running}} {{.Image}}", "jetdoc-e2e-test"]);
    assert_eq!(running.trim(), format!("true {}", st["image"]["id"].as_str().unwrap()));
    // The state on the robot's root, and the lock.
    let state = rig.state(&root);
    assert_eq!(state["schema"], 1);
    assert_eq!(state["profiles"]["e2e-test"]["result"], "success");
    let zed = state["profiles"]["e2e-test"]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "zed-installer")
        .unwrap()
        .clone();
    assert_eq!(zed["sha256"], sha(ZED_INSTALLER.as_bytes()));
    assert_eq!(zed["name"], ZED_FILE);
    let wheel = state["profiles"]["e2e-test"]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "wheel")
        .unwrap()
        .clone();
    assert_eq!(wheel["sha256"], sha(&rig.downloads.wheel.1));
    let lock_text = std::fs::read_to_string(&lock).unwrap();
    assert!(lock_text.contains(&rig.base_digest), "{lock_text}");
    assert!(lock_text.contains(&sha(ZED_INSTALLER.as_bytes())), "{lock_text}");
    assert_eq!(state["profiles"]["e2e-test"]["lock_sha256"], sha(lock_text.as_bytes()));
    let image_id = st["image"]["id"].clone();

    // The second run: nothing changed, nothing transferred, nothing rebuilt.
    let served = rig.downloads.server.body_bytes();
    let registry_before = rig.registry.log().lines().count();
    let out = rig.provision(&root, &cache, &profile, &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let again = parse(&out);
    assert_eq!(again["result"], "up-to-date", "{again}");
    assert_eq!(again["state"]["image"]["id"], image_id);
    assert_eq!(rig.downloads.server.body_bytes(), served, "a no-op run downloaded something");
    assert_eq!(rig.registry.log().lines().count(), registry_before, "a no-op run asked the registry");

    // status, run --compose checked by the real docker-compose.
    let out = rig.jetdoc(&root, &cache, &["status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(parse(&out)["profiles"]["e2e-test"]["image"]["id"], image_id);
    let compose = rig.dir.path().join("compose.yaml");
    let out = rig.jetdoc(
        &root,
        &cache,
        &["run", profile.to_str().unwrap(), "--compose", compose.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    support::require(
        which::which("docker-compose").is_ok(),
        "docker-compose (Debian package docker-compose)",
    );
    {
        let check = std::process::Command::new("docker-compose")
            .arg("-f")
            .arg(&compose)
            .arg("config")
            .output()
            .unwrap();
        assert!(check.status.success(), "docker-compose config: {}", String::from_utf8_lossy(&check.stderr));
        let normalised = String::from_utf8_lossy(&check.stdout).into_owned();
        assert!(normalised.contains("runtime: nvidia") && normalised.contains(&tag), "{normalised}");
    }

    // A second robot, --locked: its own root and cache; the same base digest and downloads.
    let (root_b, cache_b) = rig.robot("robot-b");
    let out = rig.provision(&root_b, &cache_b, &profile, &["--locked", lock.to_str().unwrap(), "--no-run"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let b = rig.state(&root_b);
    let pb = &b["profiles"]["e2e-test"];
    assert_eq!(pb["image"]["base_digest"], rig.base_digest);
    assert_eq!(pb["lock_sha256"], sha(lock_text.as_bytes()));
    assert_eq!(pb["artifacts"], state["profiles"]["e2e-test"]["artifacts"]);
    // `jetdoc run` starts robot B's image with the profile's runtime (replacing robot A's
    // container of the same name on this shared daemon).
    let out = rig.jetdoc(&root_b, &cache_b, &["run", profile.to_str().unwrap(), "--dry-run"]);
    let line = stdout(&out);
    assert!(
        line.starts_with("docker run --detach --name jetdoc-e2e-test --runtime nvidia --network none"),
        "{line}"
    );
    let out = rig.jetdoc(&root_b, &cache_b, &["run", profile.to_str().unwrap(), "--replace"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let running = rig.daemon.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Running}} {{.Image}} {{.HostConfig.Runtime}}",
        "jetdoc-e2e-test",
    ]);
    assert_eq!(running.trim(), format!("true {} nvidia", pb["image"]["id"].as_str().unwrap()));

    // A lock that no longer matches stops before anything changes, naming the difference.
    let (root_c, cache_c) = rig.robot("robot-c");
    let tampered = rig.dir.path().join("tampered.lock");
    std::fs::write(
        &tampered,
        lock_text.replace(
            &format!("{}/zedsdk/5.4/l4t36.4/jetsons", rig.downloads.url()),
            "http://127.0.0.1:9/zedsdk/5.2/l4t36.4/jetsons",
        ),
    )
    .unwrap();
    let out = rig.provision(&root_c, &cache_c, &profile, &["--locked", tampered.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stopped = parse(&out);
    assert_eq!(stopped["result"], "stopped");
    assert!(
        stopped["blocked_by"][0]
            .as_str()
            .unwrap()
            .contains("zed-installer: the lock downloads http://127.0.0.1:9/"),
        "{stopped}"
    );
    assert!(!root_c.join("var/lib/jetdoc/state.json").exists(), "a stopped provision records nothing");

    let _ = rig.daemon.docker(&["rm", "-f", "jetdoc-e2e-test"]);
}

fn a_failing_smoke_test_prints_the_output_names_the_step_and_keeps_the_previous_image() {
    let rig = Rig::start();
    let (root, cache) = rig.robot("robot");
    let good = test_profile(rig.dir.path(), &rig.base, &rig.downloads.url(), true);
    let out = rig.provision(&root, &cache, &good, &["--no-run"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let first = parse(&out)["state"]["image"].clone();

    let bad_dir = rig.dir.path().join("bad");
    std::fs::create_dir_all(&bad_dir).unwrap();
    let bad = test_profile(&bad_dir, &rig.base, &rig.downloads.url(), false);
    let out = run(jetdoc()
        .env("DOCKER_HOST", rig.daemon.host())
        .env("JETDOC_PROFILES_DIR", "/nonexistent")
        .arg("--root")
        .arg(&root)
        .arg("--live-commands")
        .arg("--checks-dir")
        .arg(rig.downloads.checks_dir(rig.dir.path()))
        .args(["provision", bad.to_str().unwrap(), "--yes", "--network", "none", "--no-run", "--cache-dir"])
        .arg(&cache));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("failed at step `smoke`"), "{text}");
    assert!(text.contains("| the robot is not ready"), "the container's output is shown:\n{text}");
    assert!(text.contains("resume:"), "{text}");
    let state = rig.state(&root);
    let entry = &state["profiles"]["e2e-test"];
    assert_eq!(entry["result"], "failed");
    assert_eq!(entry["failed_step"], "smoke");
    // The image of the good provision is still tagged; the failed build was rolled back: no
    // candidate tag, no final tag for the profile that failed.
    let tag = first["tag"].as_str().unwrap();
    let id = rig.daemon.docker_ok(&["image", "inspect", "-f", "{{.Id}}", tag]);
    assert_eq!(id.trim(), first["id"].as_str().unwrap());
    let tags =
        rig.daemon.docker_ok(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "jetdoc/e2e-test"]);
    assert_eq!(tags.trim(), tag, "only the good image is tagged: {tags}");
    let out = rig.jetdoc(&root, &cache, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("failed   at smoke"), "{}", stdout(&out));
}

/// Waits until `path` holds a provision in progress (the entry written before the first step).
fn wait_for_in_progress(path: &Path, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.contains("\"in-progress\"") {
                return;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the provision ended ({status}) before it was interrupted");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no provision in progress in {} after 60 s", path.display());
}

fn ctrl_c_leaves_a_whole_state_file_and_two_provisions_never_interleave() {
    let rig = Rig::start();
    let (root, cache) = rig.robot("robot");
    let profile = test_profile(rig.dir.path(), &rig.base, &rig.downloads.url(), true);
    let state = root.join("var/lib/jetdoc/state.json");
    let args = [
        "provision",
        profile.to_str().unwrap(),
        "--yes",
        "--network",
        "none",
        "--no-run",
        "--format",
        "json",
    ];

    // Ctrl-C while the ZED SDK downloads: the state file is whole (the entry says the provision
    // did not finish), no temp file is left, and the next run completes.
    rig.downloads.server.set_delay(std::time::Duration::from_secs(3));
    let mut child = rig
        .command(&root, &cache, &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_in_progress(&state, &mut child);
    assert!(std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "the provision was not interrupted");
    let text = std::fs::read_to_string(&state).unwrap();
    let parsed: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("a torn state file: {e}\n{text}"));
    assert_eq!(parsed["profiles"]["e2e-test"]["result"], "in-progress");
    let leftovers: Vec<String> = std::fs::read_dir(root.join("var/lib/jetdoc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".jetdoc-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind: {leftovers:?}");
    let out = run(&mut rig.command(&root, &cache, &["status"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("did not finish"), "{}", stdout(&out));

    // Two at once: the second waits for the state lock, then finds the first's work up to date.
    rig.downloads.server.set_delay(std::time::Duration::from_secs(2));
    let first = rig
        .command(&root, &cache, &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let second = rig
        .command(&root, &cache, &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    assert_eq!(a.status.code(), Some(0), "{}{}", stdout(&a), stderr(&a));
    assert_eq!(b.status.code(), Some(0), "{}{}", stdout(&b), stderr(&b));
    assert_eq!(parse(&a)["result"], "provisioned");
    assert_eq!(parse(&b)["result"], "up-to-date", "the second provision did not wait for the first");
    assert_eq!(parse(&a)["state"]["image"]["id"], parse(&b)["state"]["image"]["id"]);
}
