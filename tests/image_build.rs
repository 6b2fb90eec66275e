//! `jetdoc image build | flatten | doctor` against a real, test-owned Docker daemon.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use jetdoc::container::dockerfile::{self, BuildInput};
use jetdoc::container::image_config;
use jetdoc::provision::build::{ImageRecipe, Staged};
use jetdoc::provision::Profile;
use support::dockerd::{busybox_context, TestDaemon};

const DEPTH_LIMIT: usize = 125;

fn docker_build(daemon: &TestDaemon, dockerfile: &str, ctx: &Path, tag: &str) -> Output {
    std::fs::write(ctx.join("Dockerfile.test"), dockerfile).unwrap();
    Command::new("docker")
        .env("DOCKER_HOST", daemon.host())
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "--network=none", "-q", "-f"])
        .arg(ctx.join("Dockerfile.test"))
        .args(["-t", tag])
        .arg(ctx)
        .output()
        .unwrap()
}

fn jetdoc_on(daemon: &TestDaemon, args: &[&str]) -> Output {
    support::run(support::jetdoc().env("DOCKER_HOST", daemon.host()).args(args))
}

fn layer_count(daemon: &TestDaemon, image: &str) -> usize {
    daemon.docker_ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", image]).trim().parse().unwrap()
}

fn config(daemon: &TestDaemon, image: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&daemon.docker_ok(&["image", "inspect", image])).unwrap();
    v[0]["Config"].clone()
}

/// Value of `security.capability` for cap_net_raw+ep (VFS_CAP_REVISION_2, effective).
const CAP_NET_RAW: [u8; 20] = [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// A layer archive whose file carries a file capability: the one xattr Docker's layer format
/// keeps (moby's archive package reads only `security.capability`).
fn capability_tar(path: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    b.append_pax_extensions([("SCHILY.xattr.security.capability", &CAP_NET_RAW[..])]).unwrap();
    let data = b"#!/bin/sh\n";
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o755);
    h.set_cksum();
    b.append_data(&mut h, "capfile", &data[..]).unwrap();
    b.finish().unwrap();
}

/// The `security.capability` xattr of `name` in the image's final layer holding it, read from
/// `docker save`.
fn saved_capability(daemon: &TestDaemon, image: &str, name: &str) -> Option<Vec<u8>> {
    let save = daemon.dir.path().join(format!("{}.tar", image.replace([':', '/'], "_")));
    let out = Command::new("docker")
        .env("DOCKER_HOST", daemon.host())
        .args(["save", "-o"])
        .arg(&save)
        .arg(image)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    let mut outer = tar::Archive::new(std::fs::File::open(&save).unwrap());
    let mut found = None;
    for entry in outer.entries().unwrap() {
        let entry = entry.unwrap();
        let p = entry.path().unwrap().to_string_lossy().into_owned();
        if !(p.ends_with("layer.tar") || p.starts_with("blobs/")) {
            continue;
        }
        let mut inner = tar::Archive::new(entry);
        let Ok(entries) = inner.entries() else { continue };
        for e in entries {
            let Ok(mut e) = e else { break };
            if e.path().unwrap().to_string_lossy().trim_start_matches("./") != name {
                continue;
            }
            if let Ok(Some(exts)) = e.pax_extensions() {
                for ext in exts.flatten() {
                    if ext.key() == Ok("SCHILY.xattr.security.capability") {
                        found = Some(ext.value_bytes().to_vec());
                    }
                }
            }
        }
    }
    found
}

/// The test base: 125 filesystem layers built FROM scratch. Its metadata (ENV, WORKDIR,
/// ENTRYPOINT, CMD) comes before the last layers: at 125 even a metadata step fails.
fn deep_base_dockerfile() -> (String, usize) {
    let mut d = String::from("FROM scratch\nCOPY busybox /bin/busybox\n");
    d.push_str(
        "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox --install -s /bin && mkdir -p /data \
         && echo payload > /data/file && ln /data/file /data/hardlink && ln -s /data/file /data/symlink \
         && chown 1234:5678 /data/file && chmod 4750 /data/file\"]\n",
    );
    d.push_str("ADD cap.tar /\n");
    d.push_str("ENV GREETING=\"hello from the deep base\" PATH=/bin\nWORKDIR /work\n");
    d.push_str("ENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"echo $GREETING; pwd\"]\n");
    // busybox, RUN, ADD and WORKDIR (which creates /work) are 4 layers.
    let fill = DEPTH_LIMIT - 4;
    for i in 0..fill {
        d.push_str(&format!("COPY l /l/{i}\n"));
    }
    (d, fill)
}

#[test]
fn a_base_at_the_layer_limit_is_flattened_and_keeps_its_config_and_links() {
    let Some(daemon) = TestDaemon::start("{}") else { return };
    let ctx = daemon.dir.path().join("ctx");
    assert!(support::require(busybox_context(&ctx).is_some(), "busybox-static"));
    std::fs::write(ctx.join("l"), "x").unwrap();
    capability_tar(&ctx.join("cap.tar"));
    std::fs::create_dir_all(ctx.join("app")).unwrap();
    std::fs::write(ctx.join("app/hello.txt"), "app file\n").unwrap();
    std::fs::write(ctx.join(".dockerignore"), "Dockerfile*\nprofile.toml\n").unwrap();

    let (base_df, _) = deep_base_dockerfile();
    let out = docker_build(&daemon, &base_df, &ctx, "deep:1");
    assert!(out.status.success(), "building the base: {}", support::stderr(&out));
    assert_eq!(layer_count(&daemon, "deep:1"), DEPTH_LIMIT);

    // Plain docker build of one more step fails at the limit.
    let plain = docker_build(&daemon, "FROM deep:1\nRUN true\n", &ctx, "deep-plain:1");
    assert!(!plain.status.success());
    let all = format!("{}{}", support::stdout(&plain), support::stderr(&plain));
    assert!(all.contains("max depth exceeded"), "{all}");

    // jetdoc's build on it succeeds by flattening the base first.
    std::fs::write(
        ctx.join("profile.toml"),
        "name = \"deep-test\"\n[platforms.x86_64]\ngpu = false\n[[base]]\nplatform = \"x86_64\"\ncandidates = [\"deep:1\"]\n\n[[files]]\nsrc = \"app\"\ndest = \"/opt/app\"\n\n[env]\nAPP_MODE = \"on top\"\n",
    )
    .unwrap();
    let profile = ctx.join("profile.toml");
    let emitted = daemon.dir.path().join("Dockerfile.emitted");
    let out = jetdoc_on(
        &daemon,
        &[
            "image",
            "build",
            "--profile",
            profile.to_str().unwrap(),
            "-t",
            "deep-app:1",
            "--network",
            "none",
            "--format",
            "json",
            "--emit-dockerfile",
            emitted.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "jetdoc image build: {}{}", support::stdout(&out), support::stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    assert_eq!(report["budget"]["verdict"], "flatten");
    assert_eq!(report["budget"]["base_layers"], DEPTH_LIMIT);
    assert_eq!(report["layers"], 2, "one flattened layer + the app files");
    assert!(std::fs::read_to_string(&emitted).unwrap().contains("COPY --from=full / /"));
    assert_eq!(layer_count(&daemon, "deep-app:1"), 2);

    // It runs with the base's ENTRYPOINT, CMD, ENV and WORKDIR.
    let run = daemon.docker_ok(&["run", "--rm", "--network", "none", "deep-app:1"]);
    assert_eq!(run, "hello from the deep base\n/work\n");
    let probe = daemon.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "deep-app:1",
        "echo $APP_MODE; cat /opt/app/hello.txt; readlink /data/symlink; \
         stat -c '%i %h %u:%g %a' /data/file /data/hardlink; cat /data/symlink",
    ]);
    let lines: Vec<&str> = probe.lines().collect();
    assert_eq!(lines[0], "on top");
    assert_eq!(lines[1], "app file");
    assert_eq!(lines[2], "/data/file", "symlink kept");
    let (a, b) = (lines[3].split(' ').collect::<Vec<_>>(), lines[4].split(' ').collect::<Vec<_>>());
    assert_eq!(a[0], b[0], "hard link: same inode: {probe}");
    assert_eq!(a[1], "2", "hard link count: {probe}");
    assert_eq!(&a[2..], ["1234:5678", "4750"], "ownership and setuid mode kept: {probe}");
    assert_eq!(lines[5], "payload");
    assert_eq!(
        saved_capability(&daemon, "deep-app:1", "capfile").as_deref(),
        Some(&CAP_NET_RAW[..]),
        "security.capability kept"
    );

    let base_cfg = config(&daemon, "deep:1");
    let app_cfg = config(&daemon, "deep-app:1");
    for key in ["Entrypoint", "Cmd", "WorkingDir"] {
        assert_eq!(base_cfg[key], app_cfg[key], "{key}");
    }
    let app_env: Vec<String> = serde_json::from_value(app_cfg["Env"].clone()).unwrap();
    for kv in base_cfg["Env"].as_array().unwrap() {
        assert!(app_env.contains(&kv.as_str().unwrap().to_string()), "{kv} in {app_env:?}");
    }
    assert_eq!(app_cfg["Labels"]["io.jetdoc.profile"], "deep-test");

    // `image flatten` standalone: one layer, the same config.
    let out = jetdoc_on(&daemon, &["image", "flatten", "deep:1", "-t", "deep-flat:1", "--format", "json"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(layer_count(&daemon, "deep-flat:1"), 1);
    let flat_cfg = config(&daemon, "deep-flat:1");
    for key in ["Entrypoint", "Cmd", "WorkingDir", "Env"] {
        assert_eq!(base_cfg[key], flat_cfg[key], "{key}");
    }
    assert_eq!(
        daemon.docker_ok(&["run", "--rm", "--network", "none", "deep-flat:1"]),
        "hello from the deep base\n/work\n"
    );

    // `image doctor` fails the depth check on the base and passes it on the result.
    let out = jetdoc_on(&daemon, &["image", "doctor", "deep:1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    let layers = doc["checks"].as_array().unwrap().iter().find(|c| c["id"] == "image.layers").unwrap();
    assert_eq!(layers["status"], "fail");
    assert_eq!(doc["layers"], DEPTH_LIMIT);
    let out = jetdoc_on(&daemon, &["image", "doctor", "deep-app:1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", support::stdout(&out), support::stderr(&out));
}

#[test]
fn image_doctor_reports_each_zero_byte_nvidia_library() {
    let Some(daemon) = TestDaemon::start("{}") else { return };
    let ctx = daemon.dir.path().join("ctx");
    assert!(support::require(busybox_context(&ctx).is_some(), "busybox-static"));
    let root = ctx.join("rootfs");
    let empty = [
        "usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1",
        "usr/lib/aarch64-linux-gnu/tegra/libnvrm_gpu.so",
        "usr/local/cuda-12.6/targets/aarch64-linux/lib/libcudart.so.12",
        "usr/lib/aarch64-linux-gnu/tegra/libreplaced.so",
        "etc/harmless-empty-file",
    ];
    for p in empty {
        std::fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
        std::fs::write(root.join(p), "").unwrap();
    }
    std::fs::write(root.join("usr/lib/aarch64-linux-gnu/nvidia/libnvidia-ml.so.1"), "\x7fELF real").unwrap();
    std::fs::create_dir_all(ctx.join("fix")).unwrap();
    std::fs::write(ctx.join("fix/libreplaced.so"), "\x7fELF real").unwrap();
    // Layers: busybox (1), its applet links (2), the root filesystem (3), the fix (4).
    let df = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCOPY rootfs/ /\nCOPY fix/libreplaced.so /usr/lib/aarch64-linux-gnu/tegra/libreplaced.so\nCMD [\"/bin/sh\"]\n";
    let out = docker_build(&daemon, df, &ctx, "placeholders:1");
    assert!(out.status.success(), "{}", support::stderr(&out));

    let out = jetdoc_on(&daemon, &["image", "doctor", "placeholders:1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    let found: Vec<(String, u64)> = doc["zero_byte_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| (z["path"].as_str().unwrap().to_string(), z["layer"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("/usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1".to_string(), 3),
            ("/usr/lib/aarch64-linux-gnu/tegra/libnvrm_gpu.so".to_string(), 3),
            ("/usr/local/cuda-12.6/targets/aarch64-linux/lib/libcudart.so.12".to_string(), 3),
        ]
    );

    let out = jetdoc_on(&daemon, &["image", "doctor", "placeholders:1"]);
    let text = support::stdout(&out);
    assert!(
        text.contains("fail  image.zero-byte-libs   3 zero-byte files at NVIDIA library paths"),
        "{text}"
    );
    for p in &empty[..3] {
        assert!(text.contains(&format!("/{p} (0 bytes, layer 3)")), "{p} in {text}");
    }
    assert!(!text.contains("libreplaced") && !text.contains("harmless"), "{text}");

    // Salvage: flatten without the placeholders; the image doctor then passes.
    let out = jetdoc_on(
        &daemon,
        &[
            "image",
            "flatten",
            "placeholders:1",
            "-t",
            "placeholders:clean",
            "--drop-zero-byte",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", support::stderr(&out));
    let flat: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    assert_eq!(flat["dropped"].as_array().unwrap().len(), 3);
    assert_eq!(flat["layers"], 1);
    let out = jetdoc_on(&daemon, &["image", "doctor", "placeholders:clean", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stdout(&out));
    let listing = daemon.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "placeholders:clean",
        "sh",
        "-c",
        "ls /usr/lib/aarch64-linux-gnu/nvidia /usr/lib/aarch64-linux-gnu/tegra /etc/harmless-empty-file",
    ]);
    assert!(
        listing.contains("libnvidia-ml.so.1")
            && listing.contains("libreplaced.so")
            && listing.contains("harmless"),
        "{listing}"
    );
    assert!(!listing.contains("libcuda.so.1.1") && !listing.contains("libnvrm_gpu.so"), "{listing}");
}

fn fixture_base() -> image_config::ImageInspect {
    let path = support::fixtures_dir().join("images/l4t-jetpack-r36.4.0.inspect.json");
    image_config::parse(&std::fs::read_to_string(path).unwrap(), "nvcr.io/nvidia/l4t-jetpack:r36.4.0")
        .unwrap()
}

/// The locomotion profile resolved for the AGX Orin (L4T 36.4.3) fixture, its downloads staged as
/// `jetdoc provision` stages them.
fn locomotion_spec() -> ImageRecipe {
    use jetdoc::host::{EnvSource, Host, OfflineRunner};
    let root = support::fixtures_dir().join("sysroots/agx-orin-r36.4.3");
    let host = Host::with_root(&root, Box::new(OfflineRunner), EnvSource::Map(Default::default())).unwrap();
    let ctx = jetdoc::context::Context::new(host, jetdoc::knowledge::Knowledge::builtin());
    let profile = Profile::load("locomotion").unwrap();
    let resolved = jetdoc::provision::resolve_for(&ctx, &profile).unwrap();
    let staged = Staged {
        wheelhouse: Some("wheels".into()),
        requirements: Some("wheels/requirements.lock".into()),
        zed_installer: Some("zed/ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run".into()),
        pyzed: Some("zed/pyzed-5.4-cp310-cp310-linux_aarch64.whl".into()),
    };
    ImageRecipe::new(&resolved, &staged).unwrap()
}

#[test]
fn generated_dockerfile_for_the_locomotion_profile() {
    let spec = locomotion_spec();
    let base = fixture_base();
    let input = BuildInput {
        spec: &spec,
        base_ref: "nvcr.io/nvidia/l4t-jetpack:r36.4.0",
        base: &base,
        lock_sha256: Some("0f1e2d3c"),
        force_flatten: false,
    };
    let generated = dockerfile::generate(&input);
    assert_eq!(generated.budget.added_layers, 8);
    assert_eq!(spec.added_layers(), 8);
    insta::with_settings!({filters => vec![(r#""io.jetdoc.profile.sha256"="[0-9a-f]{64}""#, r#""io.jetdoc.profile.sha256"="[sha256]""#)]}, {
        insta::assert_snapshot!("locomotion_on_l4t_jetpack", generated.dockerfile);
    });
}

#[test]
fn generated_dockerfile_flattens_a_base_at_the_limit() {
    let spec = locomotion_spec();
    let mut base = fixture_base();
    base.root_fs.layers = (0..DEPTH_LIMIT).map(|i| format!("sha256:{i:02}")).collect();
    let input = BuildInput {
        spec: &spec,
        base_ref: "roboflow/l4t-ml:r36.4",
        base: &base,
        lock_sha256: None,
        force_flatten: false,
    };
    let generated = dockerfile::generate(&input);
    assert_eq!(generated.budget.result_layers, 9);
    insta::with_settings!({filters => vec![(r#""io.jetdoc.profile.sha256"="[0-9a-f]{64}""#, r#""io.jetdoc.profile.sha256"="[sha256]""#)]}, {
        insta::assert_snapshot!("locomotion_on_a_base_at_the_limit", generated.dockerfile);
    });
}

#[test]
fn a_bad_profile_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "name = \"x\"\n[platforms.x86_64]\n[[base]]\nplatform = \"x86_64\"\ncandidates = [\"b:1\"]\n[zed]\nflags = [\"silent\", \"runtime_only\", \"skip_tools\"]\n").unwrap();
    let out = support::run(support::jetdoc().args([
        "image",
        "build",
        "--profile",
        path.to_str().unwrap(),
        "--dry-run",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = support::stderr(&out);
    assert!(
        err.contains(&format!("{}:7", path.display())) && err.contains("`runtime_only` and `skip_tools`"),
        "{err}"
    );

    std::fs::write(&path, "name = \"x\"\n[platforms.x86_64]\n[[base]]\nplatform = \"x86_64\"\nbogus = 1\n")
        .unwrap();
    let out = support::run(support::jetdoc().args([
        "image",
        "build",
        "--profile",
        path.to_str().unwrap(),
        "--dry-run",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        support::stderr(&out).contains(&format!("{}:5:1: unknown field `bogus`", path.display())),
        "{}",
        support::stderr(&out)
    );
}
