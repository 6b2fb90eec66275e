//! `jetdoc image build | flatten | doctor` against a real, test-owned Docker daemon.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(
    a_base_at_the_layer_limit_is_flattened_and_keeps_its_config_and_links,
    flatten_keeps_hostile_config_values_byte_for_byte_and_never_executes_them,
    image_doctor_reports_each_zero_byte_nvidia_library,
    generated_dockerfile_for_the_locomotion_profile,
    generated_dockerfile_flattens_a_base_at_the_limit,
    a_bad_profile_is_refused_with_file_and_line,
    a_label_past_dockers_line_limit_is_refused_before_docker_is_asked,
);

use std::io::Read;
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

/// The test base: 125 filesystem layers built FROM scratch. Layer 2 makes a setuid file owned by
/// 1234:5678 with a hard link and a symlink, a second hard-linked pair (`a-src`, `z-link`), a file and a directory
/// of two files; layer 3 adds a file with a capability; layer 4 deletes the file (a whiteout),
/// replaces the directory (an opaque directory) and rewrites one side of the second pair (its
/// link keeps the old data). Its metadata (ENV, WORKDIR, ENTRYPOINT, CMD) comes before the last
/// layers: at 125 even a metadata step fails.
fn deep_base_dockerfile() -> (String, usize) {
    let mut d = String::from("FROM scratch\nCOPY busybox /bin/busybox\n");
    d.push_str(
        "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox --install -s /bin && mkdir -p /data /opq \
         && echo payload > /data/file && ln /data/file /data/hardlink && ln -s /data/file /data/symlink \
         && chown 1234:5678 /data/file && chmod 4750 /data/file && echo v1 > /data/a-src && ln /data/a-src /data/z-link \
         && echo old > /data/old && echo a > /opq/a && echo b > /opq/b\"]\n",
    );
    d.push_str("ADD cap.tar /\n");
    d.push_str(
        "RUN [\"/bin/sh\", \"-c\", \"rm /data/old && echo v2 > /data/a-src && rm -rf /opq && mkdir /opq && echo c > /opq/c\"]\n",
    );
    d.push_str("ENV GREETING=\"hello from the deep base\" PATH=/bin\nWORKDIR /work\n");
    d.push_str("ENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"echo $GREETING; pwd\"]\n");
    // busybox, RUN, ADD, RUN and WORKDIR (which creates /work) are 5 layers.
    let fill = DEPTH_LIMIT - 5;
    for i in 0..fill {
        d.push_str(&format!("COPY l /l/{i}\n"));
    }
    (d, fill)
}

/// One entry of a filesystem listing: type, mode, owner, size, link target, content hash and
/// PAX records (xattrs).
type Listed = (char, u32, u64, u64, u64, Option<String>, String, Vec<(String, Vec<u8>)>);

/// Docker's own merged view of an image: `docker export` of a container created from it (the
/// oracle the flattened layer is compared with), by path.
fn exported(daemon: &TestDaemon, image: &str) -> std::collections::BTreeMap<String, Listed> {
    use sha2::Digest;
    let id = daemon.docker_ok(&["create", "--network", "none", image]).trim().to_string();
    let tar_path = daemon.dir.path().join(format!("{id}.tar"));
    daemon.docker_ok(&["export", "-o", tar_path.to_str().unwrap(), &id]);
    daemon.docker_ok(&["rm", &id]);
    let mut out = std::collections::BTreeMap::new();
    let mut a = tar::Archive::new(std::fs::File::open(&tar_path).unwrap());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).trim_end_matches('/').to_string();
        let pax: Vec<(String, Vec<u8>)> = match e.pax_extensions().unwrap() {
            Some(x) => x
                .map(|p| p.unwrap())
                .filter(|p| p.key_bytes().starts_with(b"SCHILY.xattr"))
                .map(|p| (p.key().unwrap().to_string(), p.value_bytes().to_vec()))
                .collect(),
            None => Vec::new(),
        };
        let h = e.header().clone();
        let link = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned());
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let kind = match h.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            tar::EntryType::Regular => 'f',
            _ => '?',
        };
        out.insert(
            name,
            (
                kind,
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.size().unwrap(),
                link,
                hex::encode(sha2::Sha256::digest(&data)),
                pax,
            ),
        );
    }
    std::fs::remove_file(&tar_path).unwrap();
    out
}

fn a_base_at_the_layer_limit_is_flattened_and_keeps_its_config_and_links() {
    let daemon = TestDaemon::start("{}");
    let ctx = daemon.dir.path().join("ctx");
    support::require(busybox_context(&ctx).is_some(), "busybox-static");
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

    // `image flatten`: one layer, the same config, and the same files as Docker's own merged
    // view of the base (whiteouts, the opaque directory, hard links, owners, modes, xattrs).
    let out = jetdoc_on(&daemon, &["image", "flatten", "deep:1", "-t", "deep-flat:1", "--format", "json"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    assert_eq!((report["source_layers"].as_u64(), report["layers"].as_u64()), (Some(125), Some(1)));
    // The layer lists a-src first and z-link as its hard link; a-src is rewritten above, so the
    // merged layer writes z-link as a file holding the old data.
    assert_eq!(report["materialised_links"], 1, "/data/z-link kept v1 when /data/a-src became v2");
    assert_eq!(layer_count(&daemon, "deep-flat:1"), 1);
    let base_cfg = config(&daemon, "deep:1");
    assert_eq!(base_cfg, config(&daemon, "deep-flat:1"), "the whole config, every field");
    let (base_fs, flat_fs) = (exported(&daemon, "deep:1"), exported(&daemon, "deep-flat:1"));
    let differ: Vec<_> = base_fs.iter().filter(|(k, v)| flat_fs.get(*k) != Some(v)).map(|(k, _)| k).collect();
    assert!(differ.is_empty() && base_fs.len() == flat_fs.len(), "differ: {differ:?}");
    assert!(!base_fs.contains_key("data/old") && !base_fs.contains_key("opq/a"), "whiteouts applied");
    assert_eq!(base_fs["data/hardlink"].0, 'h');
    assert_eq!(
        daemon.docker_ok(&["run", "--rm", "--network", "none", "deep-flat:1"]),
        "hello from the deep base\n/work\n"
    );

    // jetdoc's build on it succeeds by building on the flattened base.
    std::fs::write(
        ctx.join("profile.toml"),
        "name = \"deep-test\"\n[platforms.x86_64]\ngpu = false\n[[base]]\nplatform = \"x86_64\"\ncandidates = [\"deep:1\"]\n\n[[files]]\nsrc = \"app\"\ndest = \"/opt/app\"\n\n[env]\nAPP_MODE = \"on top\"\n\n[labels]\n\"io.jetdoc.l4t\" = \"36.4.0\"\n",
    )
    .unwrap();
    let profile = ctx.join("profile.toml");
    let emitted = daemon.dir.path().join("Dockerfile.emitted");
    // The first build picks the base among the profile's candidates by the `image select` rules;
    // the second names it.
    let build = |tag: &str, base: &[&str]| {
        jetdoc_on(
            &daemon,
            &[
                &["image", "build", "--profile", profile.to_str().unwrap()][..],
                base,
                &[
                    "-t",
                    tag,
                    "--network",
                    "none",
                    "--format",
                    "json",
                    "--emit-dockerfile",
                    emitted.to_str().unwrap(),
                ],
            ]
            .concat(),
        )
    };
    let out = build("deep-app:1", &[]);
    assert!(out.status.success(), "jetdoc image build: {}{}", support::stdout(&out), support::stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    assert_eq!(report["budget"]["verdict"], "flatten");
    assert_eq!(report["budget"]["base_layers"], DEPTH_LIMIT);
    assert_eq!(report["layers"], 2, "one flattened layer + the app files");
    let flattened = report["flattened_base"].as_str().unwrap().to_string();
    assert!(flattened.starts_with("jetdoc-flattened:"), "{report:#}");
    let dockerfile = std::fs::read_to_string(&emitted).unwrap();
    assert!(
        dockerfile.contains(&format!("\nFROM {flattened}\n")) && !dockerfile.contains("COPY --from"),
        "{dockerfile}"
    );
    assert_eq!(layer_count(&daemon, "deep-app:1"), 2);
    // A second build reuses the flattened base.
    let out = build("deep-app:2", &["--base", "deep:1"]);
    assert!(
        support::stderr(&out).contains(&format!("using the flattened base {flattened}")),
        "{}",
        support::stderr(&out)
    );

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
         stat -c '%i %h %u:%g %a' /data/file /data/hardlink; cat /data/symlink /data/z-link /data/a-src; ls /opq; ls /data",
    ]);
    let lines: Vec<&str> = probe.lines().collect();
    assert_eq!(lines[0], "on top");
    assert_eq!(lines[1], "app file");
    assert_eq!(lines[2], "/data/file", "symlink kept");
    let (a, b) = (lines[3].split(' ').collect::<Vec<_>>(), lines[4].split(' ').collect::<Vec<_>>());
    assert_eq!(a[0], b[0], "hard link: same inode: {probe}");
    assert_eq!(a[1], "2", "hard link count: {probe}");
    assert_eq!(&a[2..], ["1234:5678", "4750"], "ownership and setuid mode kept: {probe}");
    assert_eq!(&lines[5..8], ["payload", "v1", "v2"], "{probe}");
    assert_eq!(lines[8], "c", "the opaque directory holds only what its layer put there: {probe}");
    assert_eq!(lines[9..].join(" "), "a-src file hardlink symlink z-link", "/data/old whited out: {probe}");
    assert_eq!(
        saved_capability(&daemon, "deep-app:1", "capfile").as_deref(),
        Some(&CAP_NET_RAW[..]),
        "security.capability kept"
    );

    let app_cfg = config(&daemon, "deep-app:1");
    for key in ["Entrypoint", "Cmd", "WorkingDir"] {
        assert_eq!(base_cfg[key], app_cfg[key], "{key}");
    }
    let app_env: Vec<String> = serde_json::from_value(app_cfg["Env"].clone()).unwrap();
    for kv in base_cfg["Env"].as_array().unwrap() {
        assert!(app_env.contains(&kv.as_str().unwrap().to_string()), "{kv} in {app_env:?}");
    }
    assert_eq!(app_cfg["Labels"]["io.jetdoc.profile"], "deep-test");
    assert_eq!(app_cfg["Labels"]["io.jetdoc.l4t"], "36.4.0");
    assert_eq!(app_cfg["Labels"]["io.jetdoc.base"], "deep:1");

    // `image doctor` fails the depth check on the base and passes it on the result.
    let out = jetdoc_on(&daemon, &["image", "doctor", "deep:1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    let layers = doc["checks"].as_array().unwrap().iter().find(|c| c["id"] == "image.layers").unwrap();
    assert_eq!(layers["status"], "fail");
    assert_eq!(doc["layers"], DEPTH_LIMIT);
    // On the result the depth passes. The profile labels it for L4T 36.4.0 and this host is not
    // a Jetson: the doctor fails that exactly as `image select` rejects it (one judgement).
    let out = jetdoc_on(&daemon, &["image", "doctor", "deep-app:1", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    let status = |id: &str| doc["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(status("image.layers")["status"], "pass");
    let l4t = status("image.l4t");
    assert_eq!(l4t["status"], "fail", "{doc:#}");
    assert_eq!(
        l4t["summary"],
        "built for L4T 36.4.0 (from label io.jetdoc.l4t) for Jetson; this host is not a Jetson"
    );
    assert_eq!(out.status.code(), Some(1));
    let out = jetdoc_on(
        &daemon,
        &["image", "select", "--candidate", "deep-app:1", "--timeout", "2", "--format", "json"],
    );
    let sel: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    let local = &sel["candidates"][0];
    assert_eq!(
        (local["source"].as_str(), local["accepted"].as_bool()),
        (Some("local"), Some(false)),
        "{sel:#}"
    );
    let rejected = local["decisions"].as_array().unwrap().iter().find(|d| d["verdict"] == "fail").unwrap();
    assert_eq!((&rejected["rule"], &rejected["message"]), (&l4t["id"], &l4t["summary"]));
}

/// Values that become instructions when written into a Dockerfile unescaped (issue 10 item 3).
fn hostile_config(port: u16) -> serde_json::Value {
    let add = format!("/work\nADD http://127.0.0.1:{port}/evil /evil");
    serde_json::json!({
        "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        "os": "linux",
        "created": "2025-01-02T03:04:05.123456789Z",
        "config": {
            "User": "0\nRUN touch /pwned-user",
            "Env": ["PATH=/bin", "LABEL injected=1\nRUN touch /pwned-env=x", "LONG=$HOME \"quoted\" \\ back"],
            "Cmd": ["/bin/sh", "-c", "echo hostile"],
            "WorkingDir": add,
            "ExposedPorts": {"8080/tcp\nRUN touch /pwned-port": {}, "53/udp": {}},
            "StopSignal": "SIGTERM\nRUN touch /pwned-signal",
            "Healthcheck": {"Test": ["CMD-SHELL", "true\nRUN touch /pwned-health"], "Interval": 30_000_000_000u64, "Retries": 3},
            "OnBuild": ["RUN touch /pwned-onbuild", "LABEL from=onbuild"],
            "Labels": {"k": "v\nRUN touch /pwned-label", "io.jetdoc.l4t\nRUN x": "36.4.0"},
            "Volumes": {"/data\nRUN touch /pwned-volume": {}},
            "Shell": ["/bin/sh", "-c\nRUN touch /pwned-shell"],
        },
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [{"created_by": "hand-made for jetdoc's tests"}],
    })
}

/// An image archive `docker load` accepts: one layer with busybox, the given config.
fn image_archive(busybox: &Path, mut config: serde_json::Value, tag: &str) -> Vec<u8> {
    use sha2::Digest;
    let mut layer = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    layer.append_data(&mut h, "bin/", &[][..]).unwrap();
    let bytes = std::fs::read(busybox).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_mode(0o755);
    h.set_size(bytes.len() as u64);
    layer.append_data(&mut h, "bin/busybox", bytes.as_slice()).unwrap();
    for applet in ["sh", "ls", "cat"] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        layer.append_link(&mut h, format!("bin/{applet}"), "busybox").unwrap();
    }
    let layer = layer.into_inner().unwrap();
    config["rootfs"]["diff_ids"] =
        serde_json::json!([format!("sha256:{}", hex::encode(sha2::Sha256::digest(&layer)))]);
    let config = serde_json::to_vec(&config).unwrap();
    let manifest =
        serde_json::json!([{"Config": "config.json", "RepoTags": [tag], "Layers": ["l/layer.tar"]}]);
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("l/layer.tar", layer),
        ("config.json", config),
        ("manifest.json", manifest.to_string().into_bytes()),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

fn flatten_keeps_hostile_config_values_byte_for_byte_and_never_executes_them() {
    let daemon = TestDaemon::start("{}");
    let ctx = daemon.dir.path().join("ctx");
    support::require(busybox_context(&ctx).is_some(), "busybox-static");
    // A listener for the `ADD http://...` hidden in WORKDIR: no request may ever reach it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let archive = daemon.dir.path().join("hostile.tar");
    std::fs::write(&archive, image_archive(&ctx.join("busybox"), hostile_config(port), "hostile:1")).unwrap();
    daemon.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    let base_cfg = config(&daemon, "hostile:1");
    assert_eq!(base_cfg["WorkingDir"], format!("/work\nADD http://127.0.0.1:{port}/evil /evil"));

    let out =
        jetdoc_on(&daemon, &["image", "flatten", "hostile:1", "-t", "hostile-flat:1", "--format", "json"]);
    assert!(out.status.success(), "{}{}", support::stdout(&out), support::stderr(&out));
    let flat_cfg = config(&daemon, "hostile-flat:1");
    // Every field of the config, each byte: WorkingDir, User, Env, ExposedPorts, StopSignal,
    // Healthcheck, OnBuild, Labels, Volumes, Shell, Cmd.
    assert_eq!(base_cfg, flat_cfg);
    for key in [
        "WorkingDir",
        "User",
        "Env",
        "ExposedPorts",
        "StopSignal",
        "Healthcheck",
        "OnBuild",
        "Labels",
        "Volumes",
        "Shell",
    ] {
        assert!(!flat_cfg[key].is_null(), "{key} kept");
    }
    let inspect = |image: &str, field: &str| daemon.docker_ok(&["image", "inspect", "-f", field, image]);
    assert_eq!(inspect("hostile-flat:1", "{{.Created}}"), inspect("hostile:1", "{{.Created}}"));
    assert_eq!(
        inspect("hostile-flat:1", "{{.Architecture}} {{.Os}} {{len .RootFS.Layers}}"),
        inspect("hostile:1", "{{.Architecture}} {{.Os}} {{len .RootFS.Layers}}")
    );
    // Nothing ran: no request reached the listener, and the layer holds only the base's files.
    assert!(listener.accept().is_err(), "something fetched the ADD URL");
    let save = daemon.dir.path().join("hostile-flat.tar");
    daemon.docker_ok(&["save", "-o", save.to_str().unwrap(), "hostile-flat:1"]);
    let mut names = Vec::new();
    for e in tar::Archive::new(std::fs::File::open(&save).unwrap()).entries().unwrap() {
        let e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        if p.ends_with("layer.tar") || (p.starts_with("blobs/") && e.header().size().unwrap() > 4096) {
            for f in tar::Archive::new(e).entries().unwrap() {
                names.push(f.unwrap().path().unwrap().display().to_string());
            }
        }
    }
    names.sort();
    assert_eq!(names, ["bin/", "bin/busybox", "bin/cat", "bin/ls", "bin/sh"]);
}

fn image_doctor_reports_each_zero_byte_nvidia_library() {
    let daemon = TestDaemon::start("{}");
    let ctx = daemon.dir.path().join("ctx");
    support::require(busybox_context(&ctx).is_some(), "busybox-static");
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
    // A 2 MB image reads as megabytes, not "0.0 GiB".
    let disk = text.lines().find(|l| l.contains("image.disk")).unwrap();
    // The image's own size (the free space after it can be any figure, "50.0 GB" included).
    let size = disk.split("image is ").nth(1).and_then(|r| r.split(',').next()).unwrap_or_default();
    assert!(size.ends_with(" MB") && !size.starts_with("0.0"), "{disk}");

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
    let generated = dockerfile::generate(&input).unwrap();
    assert_eq!(generated.budget.added_layers, 8);
    assert_eq!(spec.added_layers(), 8);
    insta::with_settings!({filters => vec![(r#""io.jetdoc.profile.sha256"="[0-9a-f]{64}""#, r#""io.jetdoc.profile.sha256"="[sha256]""#)]}, {
        insta::assert_snapshot!("locomotion_on_l4t_jetpack", generated.dockerfile);
    });
}

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
    let generated = dockerfile::generate(&input).unwrap();
    assert_eq!(generated.budget.result_layers, 9);
    insta::with_settings!({filters => vec![(r#""io.jetdoc.profile.sha256"="[0-9a-f]{64}""#, r#""io.jetdoc.profile.sha256"="[sha256]""#)]}, {
        insta::assert_snapshot!("locomotion_on_a_base_at_the_limit", generated.dockerfile);
    });
}

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

fn a_label_past_dockers_line_limit_is_refused_before_docker_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    let value = "x".repeat(70 * 1024);
    std::fs::write(
        &path,
        format!("name = \"x\"\n[platforms.x86_64]\ngpu = false\n[[base]]\nplatform = \"x86_64\"\ncandidates = [\"b:1\"]\n[labels]\n\"big.note\" = \"{value}\"\n"),
    )
    .unwrap();
    // DOCKER_HOST points nowhere: the refusal must come first.
    let out = support::run(support::jetdoc().env("DOCKER_HOST", "unix:///nonexistent/jetdoc.sock").args([
        "image",
        "build",
        "--profile",
        path.to_str().unwrap(),
        "--dry-run",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = support::stderr(&out);
    assert!(
        err.contains("label `big.note` is 71701 bytes long")
            && err.contains("over 65535 bytes")
            && err.contains("token too long"),
        "{err}"
    );
    assert!(!err.contains("Cannot connect") && !err.contains(&value[..100]), "{err}");
}
