//! `jetdoc image select` against real parts: a test-owned dockerd, a real `docker-registry` on
//! loopback (without auth and with htpasswd basic auth), images pushed under Jetson-style names
//! with arm64 and amd64 variants behind an OCI index, and a fixture root that looks like an AGX
//! Orin on L4T 36.4.3 (arm64, CUDA 12.6, Ubuntu 22.04).
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(
    selection_rejects_wrong_arch_and_l4t_reads_layers_then_pulls_the_arm64_variant,
    nothing_compatible_means_build_with_exit_1,
    basic_auth_registry_uses_docker_config_and_never_shows_the_password,
    profile_candidates_on_a_foreign_root_are_decided_on_tags_without_docker,
    bearer_token_flow_reads_the_challenge_fetches_a_token_and_reports_the_rate_limit,
    a_deep_image_is_flagged_from_its_manifest_before_any_pull,
    a_malformed_docker_config_or_a_reference_with_a_password_never_shows_the_secret,
);

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::dockerd::{busybox_context, TestDaemon};
use support::registry::{TestRegistry, Variant};

const ORIN: &str = "image-select/agx-orin-r36.4.3";
const R36_4_LABELS: &[(&str, &str)] =
    &[("io.jetdoc.l4t", "36.4.0"), ("io.jetdoc.cuda", "12.6"), ("io.jetdoc.ubuntu", "22.04")];

struct World {
    daemon: TestDaemon,
    registry: TestRegistry,
    root: PathBuf,
    home: PathBuf,
}

fn orin_root(into: &Path) -> PathBuf {
    let root = into.join("root");
    support::copy_tree(&support::fixtures_dir().join(ORIN), &root);
    root
}

/// Pushes the Jetson-style images every test uses. Returns the references, in the order
/// (x86-only, r35, mislabeled, good).
fn push_images(reg: &TestRegistry) -> [String; 4] {
    let arm = |labels| Variant {
        arch: "arm64",
        labels,
        env: &["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        layers: &[
            ("etc/nv_tegra_release", b"# R36 (release), REVISION: 4.0\n"),
            ("opt/torch/version.txt", b"2.5.0\n"),
            ("opt/app/run.sh", b"#!/bin/sh\n"),
        ],
    };
    let amd = |labels| Variant { arch: "amd64", labels, env: &[], layers: &[("opt/x86.txt", b"amd64\n")] };
    let x86 = reg.push_index("x86only/l4t-pytorch", "r36.4.0", &[amd(R36_4_LABELS)]);
    let r35 = reg.push_single(
        "dustynv/l4t-pytorch",
        "r35.4.1",
        &Variant {
            arch: "arm64",
            labels: &[("io.jetdoc.l4t", "35.4.1")],
            env: &[],
            layers: &[("etc/r35", b"35\n")],
        },
    );
    // The tag says r36.4.0 but the image says r36.2.0: labels win.
    let mislabeled =
        reg.push_single("mislabeled/l4t-pytorch", "r36.4.0", &arm(&[("io.jetdoc.l4t", "36.2.0")]));
    let good = reg.push_index("dustynv/l4t-pytorch", "r36.4.0", &[amd(R36_4_LABELS), arm(R36_4_LABELS)]);
    [x86, r35, mislabeled, good]
}

fn world(tmp: &Path, auth: Option<(&str, &str)>) -> World {
    let registry = match auth {
        Some((u, p)) => TestRegistry::start_with_auth(u, p),
        None => TestRegistry::start(),
    };
    let daemon = TestDaemon::start("{}");
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    World { daemon, registry, root: orin_root(tmp), home }
}

fn select(w: &World, args: &[&str]) -> Output {
    let mut cmd = support::jetdoc();
    cmd.args(["image", "select", "--root"])
        .arg(&w.root)
        .args(args)
        .env("JETDOC_LIVE_COMMANDS", "true")
        .env("DOCKER_HOST", w.daemon.host())
        .env("HOME", &w.home)
        .env_remove("DOCKER_CONFIG");
    support::run(&mut cmd)
}

fn json(o: &Output) -> Value {
    serde_json::from_str(&support::stdout(o))
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", support::stdout(o), support::stderr(o)))
}

fn candidate<'a>(v: &'a Value, reference: &str, source: &str) -> &'a Value {
    v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["reference"] == reference && c["source"] == source)
        .unwrap_or_else(|| panic!("no {source} candidate {reference} in {v:#}"))
}

fn failed_rules(c: &Value) -> Vec<String> {
    c["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["verdict"] == "fail")
        .map(|d| d["rule"].as_str().unwrap().to_string())
        .collect()
}

fn message_of<'a>(c: &'a Value, rule: &str) -> &'a str {
    c["decisions"].as_array().unwrap().iter().find(|d| d["rule"] == rule).unwrap()["message"]
        .as_str()
        .unwrap()
}

fn local_arch(d: &TestDaemon, reference: &str) -> Option<String> {
    let out =
        d.docker(&["image", "inspect", "--format", "{{.Architecture}} {{len .RootFS.Layers}}", reference]);
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn selection_rejects_wrong_arch_and_l4t_reads_layers_then_pulls_the_arm64_variant() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world(tmp.path(), None);
    let [x86, r35, mislabeled, good] = push_images(&w.registry);

    // A local image under the good tag, but built here (amd64): the jetson-containers `autotag`
    // trap. It must be inspected, judged and rejected, not taken because it is local.
    let ctx = w.daemon.dir.path().join("ctx");
    support::require(busybox_context(&ctx).is_some(), "busybox-static");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nLABEL io.jetdoc.l4t=36.4.0\nCOPY busybox /bin/busybox\n",
    )
    .unwrap();
    let built = w.daemon.build(&good, &ctx);
    assert!(built.status.success(), "{}", support::stderr(&built));
    assert_eq!(local_arch(&w.daemon, &good).as_deref(), Some("amd64 1"));

    let args = [
        "--candidate",
        &x86,
        "--candidate",
        &r35,
        "--candidate",
        &mislabeled,
        "--candidate",
        &good,
        "--format",
        "json",
    ];
    let out = select(&w, &args);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let v = json(&out);
    assert_eq!(v["host"]["l4t"]["value"], "36.4.3");
    assert_eq!(v["host"]["arch"]["value"], "arm64");

    let local = candidate(&v, &good, "local");
    assert_eq!(local["accepted"], false);
    assert_eq!(failed_rules(local), vec!["image.arch"]);
    assert!(message_of(local, "image.arch").contains("amd64 image (from image config); this host is arm64"));

    let x86c = candidate(&v, &x86, "registry");
    assert_eq!(x86c["accepted"], false);
    assert_eq!(failed_rules(x86c), vec!["image.arch"]);
    assert_eq!(message_of(x86c, "image.arch"), "no linux/arm64 image in its index; it has linux/amd64");

    let r35c = candidate(&v, &r35, "registry");
    assert_eq!((r35c["accepted"].as_bool(), r35c["decided_on"].as_str()), (Some(false), Some("tag")));
    assert_eq!(failed_rules(r35c), vec!["image.l4t"]);
    assert!(message_of(r35c, "image.l4t").contains("runs only r36.4+ images"));

    let mis = candidate(&v, &mislabeled, "registry");
    assert_eq!((mis["accepted"].as_bool(), mis["decided_on"].as_str()), (Some(false), Some("image")));
    assert!(
        message_of(mis, "image.l4t").contains("built for L4T 36.2.0 (from label io.jetdoc.l4t)"),
        "{mis:#}"
    );

    // The layer count and size come from the registry's arm64 manifest, before any pull: the
    // daemon still holds only the local amd64 image.
    let g = candidate(&v, &good, "registry");
    assert_eq!(g["accepted"], true);
    assert_eq!(g["layers"], 3);
    assert!(g["size_bytes"].as_u64().unwrap() > 0);
    assert_eq!(g["platforms"], serde_json::json!(["linux/amd64", "linux/arm64/v8"]));
    assert_eq!(message_of(g, "image.arch"), "arm64 (from image config)");
    assert_eq!(message_of(g, "image.cuda"), "CUDA 12.6 (from label io.jetdoc.cuda)");
    assert_eq!(v["chosen"]["action"], "pull");
    assert_eq!(v["chosen"]["reference"], good.as_str());
    assert_eq!(local_arch(&w.daemon, &good).as_deref(), Some("amd64 1"));

    // --explain in human form names every candidate and rule.
    let out = select(&w, &[&args[..8], &["--explain"]].concat());
    let text = support::stdout(&out);
    assert!(
        text.contains("FAIL image.arch") && text.contains("FAIL image.l4t") && text.contains("why: r36.4+"),
        "{text}"
    );
    assert!(text.contains("chosen   pull:") && text.contains("3 layers"), "{text}");

    // --pull: docker pulls the arm64 variant into the test daemon, and the result is re-checked.
    let out = select(&w, &["--candidate", &good, "--pull"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", support::stdout(&out), support::stderr(&out));
    assert!(
        support::stdout(&out).contains("re-checked, passes every rule (3 layers)"),
        "{}",
        support::stdout(&out)
    );
    assert!(support::stderr(&out).contains("pulling "), "{}", support::stderr(&out));
    assert_eq!(local_arch(&w.daemon, &good).as_deref(), Some("arm64 3"));

    // Now the local image passes, so it is chosen without a registry query.
    let v = json(&select(&w, &["--candidate", &good, "--format", "json"]));
    assert_eq!(v["chosen"]["action"], "use-local");
    assert_eq!(candidate(&v, &good, "local")["layers"], 3);

    // A tag nobody has: other local tags of the same repository are scanned and judged too (the
    // amd64 build kept no tag, so only the pulled arm64 image is there, under two names).
    let dev = good.replace(":r36.4.0", ":r36.4.0-dev");
    w.daemon.docker_ok(&["tag", &good, &dev]);
    let wanted = good.replace(":r36.4.0", ":r36.4.9");
    let v = json(&select(&w, &["--candidate", &wanted, "--format", "json"]));
    assert_eq!(v["chosen"]["action"], "use-local", "{v:#}");
    let reg = w.registry.addr.clone();
    let mut scanned: Vec<(&str, &str)> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["reference"].as_str().unwrap(), c["origin"].as_str().unwrap()))
        .collect();
    let of = format!("local tag of {reg}/dustynv/l4t-pytorch");
    scanned.sort();
    assert_eq!(scanned, vec![(good.as_str(), of.as_str()), (dev.as_str(), of.as_str())]);
}

fn nothing_compatible_means_build_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world(tmp.path(), None);
    let [x86, r35, mislabeled, _] = push_images(&w.registry);
    let out = select(
        &w,
        &["--candidate", &x86, "--candidate", &r35, "--candidate", &mislabeled, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["chosen"]["action"], "build");
    assert!(v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["accepted"] == false && c["error"].is_null()));
    assert!(v["chosen"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("no candidate fits this host: build one from a provisioning profile with jetdoc provision PROFILE --no-run (built in: locomotion, testing-arm, testing-x86, isaacsim; see `jetdoc profiles list`)"));
    // A tag the registry does not have is reported as such.
    let missing = format!("{}/dustynv/l4t-pytorch:r36.4.9", w.registry.addr);
    let v = json(&select(&w, &["--candidate", &missing, "--format", "json"]));
    assert!(candidate(&v, &missing, "registry")["error"].as_str().unwrap().contains("not found (404)"));
    assert!(v["chosen"]["reason"].as_str().unwrap().contains("1 could not be checked at the registry"));
}

fn basic_auth_registry_uses_docker_config_and_never_shows_the_password() {
    const PASSWORD: &str = "orin-s3cret-pw";
    let tmp = tempfile::tempdir().unwrap();
    let w = world(tmp.path(), Some(("jetson", PASSWORD)));
    let [_, _, _, good] = push_images(&w.registry);

    // No credentials: rejected with the login command to run.
    let out = select(&w, &["--candidate", &good, "--explain"]);
    assert_eq!(out.status.code(), Some(1));
    let text = support::stdout(&out);
    assert!(
        text.contains("refused access (401)") && text.contains(&format!("docker login {}", w.registry.addr)),
        "{text}"
    );

    // With `auths` in ~/.docker/config.json (what `docker login` writes).
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("jetson:{PASSWORD}"));
    std::fs::create_dir_all(w.home.join(".docker")).unwrap();
    std::fs::write(
        w.home.join(".docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, w.registry.addr),
    )
    .unwrap();
    let out = select(&w, &["--candidate", &good, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let v = json(&out);
    assert_eq!(v["chosen"]["action"], "pull");
    assert_eq!(candidate(&v, &good, "registry")["layers"], 3);

    // Pull through the daemon with the same config, verbose, and look for leaks everywhere.
    let out = select(&w, &["--candidate", &good, "--pull", "--explain", "--verbose"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", support::stdout(&out), support::stderr(&out));
    assert_eq!(local_arch(&w.daemon, &good).as_deref(), Some("arm64 3"));
    for stream in [support::stdout(&out), support::stderr(&out)] {
        assert!(!stream.contains(PASSWORD) && !stream.contains(&auth), "credentials leaked:\n{stream}");
    }
    // Wrong stored password: the message says the stored credentials were rejected.
    let bad = base64::engine::general_purpose::STANDARD.encode("jetson:wrong");
    std::fs::write(
        w.home.join(".docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{bad}"}}}}}}"#, w.registry.addr),
    )
    .unwrap();
    let fresh = format!("{}/x86only/l4t-pytorch:r36.4.0", w.registry.addr);
    let text = support::stdout(&select(&w, &["--candidate", &fresh, "--explain"]));
    assert!(text.contains("stored credentials") && text.contains("were rejected"), "{text}");
}

fn profile_candidates_on_a_foreign_root_are_decided_on_tags_without_docker() {
    // No daemon, no network needed: every candidate of the profile fails the r36.4 band on its tag.
    let tmp = tempfile::tempdir().unwrap();
    let root = orin_root(tmp.path());
    let profile = tmp.path().join("zed.toml");
    std::fs::write(
        &profile,
        "name = \"zed\"\n[platforms.jetson]\n[[base]]\nplatform = \"jetson\"\ncandidates = [\"dustynv/zed:r35.4.1\", \"dustynv/zed:r35.3.1\", \"dustynv/zed:r32.7.1\"]\n\n[[smoke]]\nname = \"x\"\ncommand = [\"true\"]\n",
    )
    .unwrap();
    let out = support::run(
        support::jetdoc()
            .args(["image", "select", "--profile"])
            .arg(&profile)
            .args(["--explain", "--root"])
            .arg(&root),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = support::stdout(&out);
    assert!(
        text.contains("local images not checked") && text.contains("inspecting another root filesystem"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "chosen   build: no candidate fits this host: build one with `jetdoc provision {} --no-run`",
            profile.display()
        )),
        "{text}"
    );
    let out =
        support::run(support::jetdoc().args(["image", "select", "--profile", "nope", "--root"]).arg(&root));
    assert_eq!(out.status.code(), Some(2));
    assert!(support::stderr(&out).contains("unknown profile `nope`"));
}

fn bearer_token_flow_reads_the_challenge_fetches_a_token_and_reports_the_rate_limit() {
    use support::registry::{TokenFront, FRONT_REMAINING};
    let tmp = tempfile::tempdir().unwrap();
    let w = world(tmp.path(), None);
    push_images(&w.registry);
    let front = TokenFront::start(&w.registry);
    let good = format!("{}/dustynv/l4t-pytorch:r36.4.0", front.addr);
    let out = select(&w, &["--candidate", &good, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let v = json(&out);
    let c = candidate(&v, &good, "registry");
    assert_eq!((c["accepted"].as_bool(), c["layers"].as_u64()), (Some(true), Some(3)));
    assert_eq!(c["rate_limit"]["remaining"], FRONT_REMAINING);
    // One token for the repository (cached across HEAD, index, manifest and config), asked for
    // anonymously with the challenge's service and scope.
    let asked = front.token_requests.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![("service=jetdoc-test&scope=repository%3Adustynv%2Fl4t-pytorch%3Apull".to_string(), false)]
    );
    let text = support::stdout(&select(&w, &["--candidate", &good, "--explain"]));
    assert!(text.contains(&format!("ratelimit-remaining {FRONT_REMAINING}")), "{text}");
}

fn a_deep_image_is_flagged_from_its_manifest_before_any_pull() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world(tmp.path(), None);
    let files: Vec<(String, Vec<u8>)> =
        (0..120).map(|i| (format!("opt/layer{i}"), format!("{i}\n").into_bytes())).collect();
    let layers: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    let deep = w.registry.push_single(
        "deep/l4t-ml",
        "r36.4.0",
        &Variant { arch: "arm64", labels: R36_4_LABELS, env: &[], layers: &layers },
    );
    let out = select(&w, &["--candidate", &deep]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let text = support::stdout(&out);
    assert!(text.contains("warning: 120 layers: 5 left under Docker's 125-layer limit"), "{text}");
    assert!(local_arch(&w.daemon, &deep).is_none(), "nothing was pulled");
}

fn a_malformed_docker_config_or_a_reference_with_a_password_never_shows_the_secret() {
    use base64::Engine as _;
    const PASSWORD: &str = "hunter2-s3cret";
    let tmp = tempfile::tempdir().unwrap();
    let root = orin_root(tmp.path());
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    let config = home.join(".docker/config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("jetson:{PASSWORD}"));
    let run = |candidate: &str| {
        support::run(
            support::jetdoc()
                .args(["image", "select", "--timeout", "2", "--candidate", candidate, "--root"])
                .arg(&root)
                .env("HOME", &home)
                .env_remove("DOCKER_CONFIG"),
        )
    };
    for body in [
        // An entry that is a string, an `auth` of the wrong type, a password that is a number,
        // an `auth` that is not base64, and a syntax error after the secret.
        format!(r#"{{"auths":{{"127.0.0.1:1":"{auth}"}}}}"#),
        format!(r#"{{"auths":{{"127.0.0.1:1":{{"auth":{{"v":"{auth}"}}}}}}}}"#),
        format!(r#"{{"auths":{{"127.0.0.1:1":{{"username":"jetson","password":["{PASSWORD}"]}}}}}}"#),
        format!(r#"{{"auths":{{"127.0.0.1:1":{{"auth":"{auth}%%"}}}}}}"#),
        format!(r#"{{"auths":{{"127.0.0.1:1":{{"auth":"{auth}"}}}}}} {PASSWORD}"#),
    ] {
        std::fs::write(&config, &body).unwrap();
        let out = run("127.0.0.1:1/x:r36.4.0");
        let (stdout, stderr) = (support::stdout(&out), support::stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{body}\n{stderr}");
        assert!(stderr.contains(&config.display().to_string()), "{stderr}");
        for leak in [PASSWORD, auth.as_str()] {
            assert!(!stdout.contains(leak) && !stderr.contains(leak), "{leak} leaked for {body}:\n{stderr}");
        }
    }
    // Credentials typed into a reference are not echoed either.
    std::fs::remove_file(&config).unwrap();
    let out = run(&format!("jetson:{PASSWORD}@127.0.0.1:1/x:1"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = support::stderr(&out);
    assert!(stderr.contains("not an image reference") && !stderr.contains(PASSWORD), "{stderr}");
}
