//! `jetdoc provision` end to end with real parts: a test-owned `docker-registry` on loopback
//! holding a `FROM scratch` busybox base, a loopback wheel index serving a real wheel, a
//! stand-in ZED installer served over HTTP (behind the same redirect Stereolabs uses), a
//! test-owned dockerd whose `nvidia` runtime is a stand-in that logs and execs runc, and fixture
//! roots for the Jetson facts.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

#[path = "support/provision_rig.rs"]
mod provision_rig;
#[path = "fetch_support/server.rs"]
mod server;
mod support;

support::harness!(
    an_online_dry_run_reads_the_base_from_the_registry_before_any_pull,
    provision_builds_smoke_tests_records_locks_and_a_second_run_is_up_to_date,
    a_failing_smoke_test_prints_the_output_names_the_step_and_keeps_the_previous_image,
    ctrl_c_leaves_a_whole_state_file_and_two_provisions_never_interleave,
    a_bundle_provisions_a_robot_without_network_and_a_tampered_one_changes_nothing,
);

use serde_json::json;
use std::path::Path;

use provision_rig::{busybox_layer, sha, test_profile, Rig, ZED_FILE, ZED_INSTALLER};
use support::registry::{TestRegistry, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST};
use support::{jetdoc, run, stderr, stdout};

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

/// The tools the air-gapped test runs jetdoc under.
fn tool(name: &str) -> bool {
    std::process::Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Changes one byte in the middle of a bundle's member.
fn tamper(bundle: &Path, member: &str, out: &Path) {
    let mut bytes = std::fs::read(bundle).unwrap();
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    let (pos, size) = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_str() == Some(member))
        .map(|e| (e.raw_file_position(), e.size()))
        .unwrap_or_else(|| panic!("no member {member}"));
    bytes[(pos + size / 2) as usize] ^= 0x01;
    std::fs::write(out, bytes).unwrap();
}

fn a_bundle_provisions_a_robot_without_network_and_a_tampered_one_changes_nothing() {
    support::require(tool("unshare") && tool("strace"), "unshare (util-linux) and strace");
    let rig = Rig::start();
    let profile = test_profile(rig.dir.path(), &rig.base, &rig.downloads.url(), true);
    let (root, cache) = rig.robot("robot-air");
    let bundle = rig.dir.path().join("e2e.bundle");

    // The workstation: a provision for the robot's root (its identity files only), with the
    // network, into one file.
    let mut make = rig.command(&root, &cache, &[]);
    make.args([
        "bundle",
        profile.to_str().unwrap(),
        "--for-root",
        root.to_str().unwrap(),
        "--network",
        "none",
    ])
    .arg("--cache-dir")
    .arg(rig.dir.path().join("workstation-cache"))
    .arg("-o")
    .arg(&bundle);
    let out = run(&mut make);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    assert!(!root.join("var/lib/jetdoc").exists(), "making a bundle wrote into the robot's root");
    let out =
        rig.jetdoc(&root, &cache, &["bundle", "--verify", bundle.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = parse(&out);
    let kinds: Vec<&str> =
        manifest["members"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["lock", "image", "zed-installer", "wheel", "requirements-lock"], "{manifest}");
    let image_id = manifest["image"]["id"].as_str().unwrap().to_string();
    let zed = manifest["members"].as_array().unwrap().iter().find(|m| m["kind"] == "zed-installer").unwrap();
    assert_eq!(zed["sha256"], sha(ZED_INSTALLER.as_bytes()));
    // The robot's Docker has nothing: what it runs must come out of the bundle.
    for id in rig.daemon.docker_ok(&["images", "-aq"]).split_whitespace() {
        rig.daemon.docker(&["rmi", "-f", id]);
    }
    assert_eq!(rig.daemon.docker_ok(&["images", "-aq"]).trim(), "");

    // One byte changed in the image: refused, naming it, nothing changed.
    let tampered = rig.dir.path().join("tampered.bundle");
    tamper(&bundle, "image.tar.zst", &tampered);
    let out = rig.provision(&root, &cache, &profile, &["--bundle", tampered.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("bundle member image.tar.zst was changed"), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was changed"), "{}", stderr(&out));
    assert_eq!(parse(&out)["result"], "bundle-refused");
    assert!(!root.join("var/lib/jetdoc").exists(), "a refused bundle wrote state");
    assert!(!cache.exists(), "a refused bundle wrote into the cache");
    assert_eq!(rig.daemon.docker_ok(&["images", "-aq"]).trim(), "", "a refused bundle loaded an image");

    // The bundle, in a network namespace with no network, every connect() traced.
    let served = rig.downloads.server.body_bytes();
    let registry_before = rig.registry.log().lines().count();
    let trace = rig.dir.path().join("connect.trace");
    let air = |args: &[&str]| {
        let inner = rig.command(&root, &cache, args);
        let mut c = std::process::Command::new("unshare");
        c.args(["--net", "--", "strace", "-f", "-qq", "-e", "trace=connect", "-o"])
            .arg(&trace)
            .arg(inner.get_program())
            .args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        run(&mut c)
    };
    let args = [
        "provision",
        profile.to_str().unwrap(),
        "--yes",
        "--network",
        "none",
        "--format",
        "json",
        "--bundle",
        bundle.to_str().unwrap(),
    ];
    let out = air(&args);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    let done = parse(&out);
    assert_eq!(done["result"], "provisioned", "{done}");
    assert_eq!(done["state"]["image"]["id"], image_id.as_str(), "the robot runs the bundle's image");
    assert_eq!(done["state"]["smoke"][0]["passed"], true);
    assert_eq!(done["state"]["bundle"]["image"], image_id.as_str());
    let connects = std::fs::read_to_string(&trace).unwrap();
    assert!(connects.contains("AF_UNIX"), "the trace saw no connect() at all:\n{connects}");
    let inet: Vec<&str> =
        connects.lines().filter(|l| l.contains("connect(") && !l.contains("AF_UNIX")).collect();
    assert!(inet.is_empty(), "a connection other than Docker's socket was attempted:\n{}", inet.join("\n"));
    assert_eq!(rig.downloads.server.body_bytes(), served);
    assert_eq!(rig.registry.log().lines().count(), registry_before);
    let running =
        rig.daemon.docker_ok(&["inspect", "-f", "{{.State.Running}} {{.Image}}", "jetdoc-e2e-test"]);
    assert_eq!(running.trim(), format!("true {image_id}"));
    // The installer and the wheel went into the robot's cache, by sha256.
    assert!(cache.join("blobs/sha256").join(sha(ZED_INSTALLER.as_bytes())).is_file());
    assert!(cache.join("blobs/sha256").join(sha(&rig.downloads.wheel.1)).is_file());

    // The same bundle again: up to date.
    let out = air(&args);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(parse(&out)["result"], "up-to-date");

    // A newer bundle (the profile changed): the new image is loaded and smoke-tested, the old
    // one is kept. (The workstation builds in the same test daemon, so the new image is there
    // before the robot loads it; what is asserted is the robot's tag, state and the old image.)
    let text = std::fs::read_to_string(&profile).unwrap().replace("E2E = \"yes\"", "E2E = \"v2\"");
    std::fs::write(&profile, text).unwrap();
    let bundle2 = rig.dir.path().join("e2e-v2.bundle");
    let mut make = rig.command(&root, &cache, &[]);
    make.args(["bundle", profile.to_str().unwrap(), "--l4t", "36.4", "--network", "none"])
        .arg("--cache-dir")
        .arg(rig.dir.path().join("workstation-cache"))
        .arg("-o")
        .arg(&bundle2);
    let out = run(&mut make);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    let args2 = [
        "provision",
        profile.to_str().unwrap(),
        "--yes",
        "--network",
        "none",
        "--format",
        "json",
        "--bundle",
        bundle2.to_str().unwrap(),
    ];
    let out = air(&args2);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    let up = parse(&out);
    assert_eq!(up["result"], "provisioned", "{up}");
    assert_ne!(up["state"]["image"]["id"], image_id.as_str());
    assert!(
        rig.daemon.docker(&["image", "inspect", &image_id]).status.success(),
        "the old image was removed"
    );
}
