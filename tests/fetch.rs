//! The download engine against a real HTTP server on 127.0.0.1: resume, restart, retries,
//! mirrors, redirects, hash checks, the cache and --offline, through the jetdoc binary.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

#[path = "fetch_support/server.rs"]
mod server;
mod support;

use server::{dead_url, Reply, Server};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use support::{jetdoc, run, stderr, stdout};

fn data(len: usize, seed: u8) -> Arc<Vec<u8>> {
    Arc::new((0..len).map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[1] ^ seed).collect())
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// `jetdoc fetch url` with a private cache and fast retries.
fn fetch_url(cache: &Path, out: &Path, urls: &[String], extra: &[&str]) -> Output {
    let mut c = jetdoc();
    c.args(["fetch", "url", &urls[0]]);
    for m in &urls[1..] {
        c.args(["--mirror", m]);
    }
    c.arg("--cache-dir")
        .arg(cache)
        .arg("-o")
        .arg(out)
        .args(["--retry-base-ms", "20", "--read-timeout", "5"])
        .args(extra);
    run(&mut c)
}

/// Every file under a directory (recursively), for "nothing left behind" checks.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn a_dropped_connection_resumes_and_transfers_only_the_rest() {
    let body = data(1_000_000, 1);
    let b = body.clone();
    let srv = Server::start(move |_, n| match n {
        0 => Reply::File {
            body: b.clone(),
            etag: "v1".into(),
            ranges: true,
            drop_after: Some(300_000),
            content_type: "application/octet-stream",
        },
        _ => Reply::file(&b, "v1"),
    });
    let d = tempfile::tempdir().unwrap();
    let o = fetch_url(
        &d.path().join("cache"),
        &d.path().join("out"),
        &[srv.url("/big.bin")],
        &["--sha256", &sha(&body)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.path().join("out/big.bin")).unwrap(), *body);
    let reqs = srv.requests_for("/big.bin");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("range"), Some("bytes=300000-"));
    assert_eq!(reqs[1].header("if-range"), Some("\"v1\""));
    // 300 000 bytes before the drop + the remaining 700 000: nothing sent twice.
    assert_eq!(srv.body_bytes(), 1_000_000);
    assert!(stderr(&o).contains("retry 1"), "{}", stderr(&o));
}

#[test]
fn an_interrupted_run_is_resumed_by_the_next_run() {
    let body = data(600_000, 2);
    let b = body.clone();
    let srv = Server::start(move |_, n| match n {
        0 => Reply::File {
            body: b.clone(),
            etag: "v1".into(),
            ranges: true,
            drop_after: Some(250_000),
            content_type: "application/octet-stream",
        },
        _ => Reply::file(&b, "v1"),
    });
    let d = tempfile::tempdir().unwrap();
    let (cache, out) = (d.path().join("cache"), d.path().join("out"));
    let o = fetch_url(&cache, &out, &[srv.url("/f.bin")], &["--retries", "0"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("resume on the next run"), "{}", stderr(&o));
    assert!(!out.join("f.bin").exists(), "an incomplete file must not appear in the output");
    let o = fetch_url(&cache, &out, &[srv.url("/f.bin")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("f.bin")).unwrap(), *body);
    assert_eq!(srv.requests_for("/f.bin")[1].header("range"), Some("bytes=250000-"));
    assert_eq!(srv.body_bytes(), 600_000);
}

#[test]
fn a_server_ignoring_range_or_a_changed_file_restarts_cleanly() {
    // Range ignored: the second answer is a full 200, which must replace the partial file.
    let body = data(400_000, 3);
    let b = body.clone();
    let srv = Server::start(move |_, n| Reply::File {
        body: b.clone(),
        etag: "v1".into(),
        ranges: false,
        drop_after: (n == 0).then_some(100_000),
        content_type: "application/octet-stream",
    });
    let d = tempfile::tempdir().unwrap();
    let o = fetch_url(&d.path().join("c1"), &d.path().join("o1"), &[srv.url("/x.bin")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.path().join("o1/x.bin")).unwrap(), *body);

    // The file changed between the attempts (new ETag): If-Range fails, the server sends the new
    // file whole, and jetdoc must not splice old and new.
    let old = data(400_000, 4);
    let new = data(500_000, 5);
    let (o2, n2) = (old.clone(), new.clone());
    let srv = Server::start(move |_, n| match n {
        0 => Reply::File {
            body: o2.clone(),
            etag: "old".into(),
            ranges: true,
            drop_after: Some(150_000),
            content_type: "application/octet-stream",
        },
        _ => Reply::file(&n2, "new"),
    });
    let o = fetch_url(&d.path().join("c2"), &d.path().join("o2"), &[srv.url("/y.bin")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.path().join("o2/y.bin")).unwrap(), *new);
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let body = data(10_000, 6);
    let b = body.clone();
    let srv = Server::start(move |_, n| {
        if n < 2 {
            Reply::Status(if n == 0 { 500 } else { 503 })
        } else {
            Reply::file(&b, "e")
        }
    });
    let d = tempfile::tempdir().unwrap();
    let o = fetch_url(&d.path().join("c"), &d.path().join("o"), &[srv.url("/r.bin")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(srv.requests_for("/r.bin").len(), 3);
    let err = stderr(&o);
    assert!(
        err.contains("retry 1")
            && err.contains("HTTP 500")
            && err.contains("retry 2")
            && err.contains("HTTP 503"),
        "{err}"
    );

    // A server that keeps failing: bounded attempts, then a clear error naming the URL.
    let srv = Server::start(|_, _| Reply::Status(502));
    let o = fetch_url(&d.path().join("c"), &d.path().join("o"), &[srv.url("/down.bin")], &["--retries", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(srv.requests_for("/down.bin").len(), 3);
    assert!(
        stderr(&o).contains(&srv.url("/down.bin")) && stderr(&o).contains("after 3 attempts"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn mirrors_are_tried_in_order() {
    let body = data(50_000, 7);
    let b = body.clone();
    let good = Server::start(move |_, _| Reply::file(&b, "m"));
    let missing = Server::start(|_, _| Reply::Status(404));
    let d = tempfile::tempdir().unwrap();
    // A dead host (connection refused), then a 404, then the good mirror.
    let urls = [dead_url("/m.bin"), missing.url("/m.bin"), good.url("/m.bin")];
    let o = fetch_url(&d.path().join("c"), &d.path().join("o"), &urls, &["--retries", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.path().join("o/m.bin")).unwrap(), *body);
    assert_eq!(missing.requests().len(), 1, "a 404 is not retried");
    assert_eq!(good.requests().len(), 1);
    assert!(stdout(&o).contains(&sha(&body)));
}

#[test]
fn a_wrong_hash_leaves_nothing_behind() {
    let body = data(80_000, 8);
    let b = body.clone();
    let srv = Server::start(move |_, _| Reply::file(&b, "w"));
    let d = tempfile::tempdir().unwrap();
    let expected = "ab".repeat(32);
    let (cache, out) = (d.path().join("c"), d.path().join("o"));
    let o = fetch_url(&cache, &out, &[srv.url("/evil.bin")], &["--sha256", &expected]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&srv.url("/evil.bin")) && err.contains(&expected) && err.contains(&sha(&body)),
        "{err}"
    );
    assert_eq!(files_under(&out), Vec::<String>::new());
    let left: Vec<String> = files_under(&cache)
        .into_iter()
        .filter(|f| f.contains("/blobs/") || f.contains("/partial/"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "cache must not keep a bad file");
}

#[test]
fn the_cache_serves_warm_fetches_and_offline_runs() {
    let body = data(200_000, 9);
    let b = body.clone();
    let srv = Server::start(move |_, _| Reply::file(&b, "c"));
    let d = tempfile::tempdir().unwrap();
    let (cache, out) = (d.path().join("c"), d.path().join("o"));
    let url = srv.url("/warm.bin");
    let o = fetch_url(&cache, &out, std::slice::from_ref(&url), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Content-addressed: the blob is named by its sha256.
    assert_eq!(std::fs::read(cache.join("blobs/sha256").join(sha(&body))).unwrap(), *body);
    let served = srv.body_bytes();
    let o = fetch_url(&cache, &d.path().join("o2"), std::slice::from_ref(&url), &["--format", "json"]);
    assert!(o.status.success());
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((j["cached"].as_bool(), j["transferred"].as_u64()), (Some(true), Some(0)));
    assert_eq!(stderr(&o), "", "no progress output in JSON mode");
    let o = fetch_url(
        &cache,
        &d.path().join("o3"),
        std::slice::from_ref(&url),
        &["--offline", "--sha256", &sha(&body)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(srv.body_bytes(), served, "warm and offline runs transfer nothing");
    assert_eq!(srv.requests().len(), 1);
    let o = fetch_url(&cache, &out, &[srv.url("/never.bin")], &["--offline"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--offline") && stderr(&o).contains("/never.bin"), "{}", stderr(&o));
}

#[test]
fn zed_follows_the_redirect_records_the_hash_and_pins_it() {
    let installer = data(300_000, 10);
    let b = installer.clone();
    let srv = Server::start(move |r, _| match r.path.as_str() {
        "/zedsdk/5.0/l4t36.4/jetsons" => {
            Reply::Redirect("/cdn/zedsdk/5.0/ZED_SDK_Tegra_L4T36.4_v5.0.7.zstd.run".into())
        }
        "/cdn/zedsdk/5.0/ZED_SDK_Tegra_L4T36.4_v5.0.7.zstd.run" => Reply::file(&b, "z"),
        _ => Reply::Status(404),
    });
    let d = tempfile::tempdir().unwrap();
    let tables = d.path().join("tables");
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::write(
        tables.join("zed-mirror.toml"),
        format!(
            "[[zed_url]]\nplatform = \"jetson\"\npattern = \"{}\"\n",
            srv.url("/zedsdk/{sdk}/l4t{l4t}/jetsons")
        ),
    )
    .unwrap();
    let zed_to = |out: &str, extra: &[&str]| {
        let mut c = jetdoc();
        c.arg("--checks-dir").arg(&tables).args(["fetch", "zed", "--l4t", "36.4"]);
        c.arg("--cache-dir").arg(d.path().join("cache")).arg("-o").arg(d.path().join(out)).args(extra);
        run(&mut c)
    };
    let zed = |extra: &[&str]| zed_to("out", extra);
    let o = zed(&["--version", "5.0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = d.path().join("out/ZED_SDK_Tegra_L4T36.4_v5.0.7.zstd.run");
    assert_eq!(std::fs::read(&file).unwrap(), *installer);
    let pin =
        std::fs::read_to_string(d.path().join("out/ZED_SDK_Tegra_L4T36.4_v5.0.7.zstd.run.sha256")).unwrap();
    assert_eq!(pin, format!("{}  ZED_SDK_Tegra_L4T36.4_v5.0.7.zstd.run\n", sha(&installer)));
    let out = stdout(&o);
    assert!(
        out.contains("silent skip_tools skip_drivers") && out.contains("silent runtime_only skip_drivers"),
        "{out}"
    );

    // Second run: from the cache, no request; JSON carries the pin and the flags.
    let before = srv.requests().len();
    let o = zed(&["--version", "5.0", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(srv.requests().len(), before);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["version"], "5.0.7");
    assert_eq!(j["sha256"], sha(&installer));
    assert_eq!(j["silent_flags"]["devel"], "silent skip_tools skip_drivers");

    // A patch the server no longer serves is refused; a wrong pin is refused and leaves nothing.
    let o = zed(&["--version", "5.0.2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("5.0.7"), "{}", stderr(&o));
    let o = zed_to("out2", &["--version", "5.0", "--refresh", "--sha256", &"0".repeat(64)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&sha(&installer)));
    assert_eq!(files_under(&d.path().join("out2")), Vec::<String>::new());

    // An L4T without a build: an error listing the supported ones, before any request.
    let mut c = jetdoc();
    c.args(["fetch", "zed", "--l4t", "36.2"]).arg("--cache-dir").arg(d.path().join("cache"));
    let o = run(&mut c);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no ZED SDK build for L4T 36.2") && stderr(&o).contains("36.4"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn defaults_come_from_the_detected_device() {
    // An Orin on L4T 36.4.3 / Ubuntu 22.04 / Python 3.10 / arm64 (a fixture root).
    let root = support::fixtures_dir().join("fetch/orin-r36.4.3");
    let installer = data(1000, 11);
    let wheel = data(2000, 12);
    let (b, w) = (installer.clone(), wheel.clone());
    let srv = Server::start(move |r, _| {
        match r.path.as_str() {
        "/zedsdk/5.4/l4t36.4/jetsons" => Reply::Redirect("/cdn/ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run".into()),
        "/cdn/ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run" => Reply::file(&b, "z"),
        "/simple/jx/" => Reply::Text {
            content_type: "text/html",
            body: [
                "jx-1.0-cp310-cp310-manylinux_2_35_aarch64.whl",
                // Newer, but for glibc 2.39 (Ubuntu 24.04), Python 3.11, x86_64, a yanked one.
                "jx-1.1-cp310-cp310-manylinux_2_39_aarch64.whl",
                "jx-1.2-cp311-cp311-linux_aarch64.whl",
                "jx-1.3-cp310-cp310-manylinux_2_17_x86_64.whl",
            ]
            .iter()
            .map(|f| format!("<a href=\"/files/{f}#sha256={}\">{f}</a>\n", sha(&w)))
            .collect::<String>()
                + "<a href=\"/files/jx-1.4-cp310-cp310-linux_aarch64.whl\" data-yanked=\"broken\">jx-1.4-cp310-cp310-linux_aarch64.whl</a>\n",
        },
        "/pypi/purepkg/" => Reply::Text {
            content_type: "text/html",
            body: format!("<a href=\"/files/purepkg-2.0-py3-none-any.whl#sha256={}\">purepkg-2.0-py3-none-any.whl</a>", sha(&w)),
        },
        // PyPI's aarch64 torch is a CPU build: only pure-Python wheels are taken from PyPI.
        "/pypi/torch/" => Reply::Text {
            content_type: "text/html",
            body: format!("<a href=\"/files/torch-2.5.0-cp310-cp310-manylinux_2_17_aarch64.whl#sha256={}\">torch-2.5.0-cp310-cp310-manylinux_2_17_aarch64.whl</a>", sha(&w)),
        },
        p if p.starts_with("/files/") => Reply::file(&w, "w"),
        _ => Reply::Status(404),
    }
    });
    let d = tempfile::tempdir().unwrap();
    let tables = d.path().join("tables");
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::write(
        tables.join("zed.toml"),
        format!(
            "[[zed_url]]\nplatform = \"jetson\"\npattern = \"{}\"\n",
            srv.url("/zedsdk/{sdk}/l4t{l4t}/jetsons")
        ),
    )
    .unwrap();

    let mut c = jetdoc();
    c.arg("--root").arg(&root).arg("--checks-dir").arg(&tables).args(["--format", "json", "fetch", "zed"]);
    c.arg("--cache-dir").arg(d.path().join("c")).arg("-o").arg(d.path().join("o"));
    let o = run(&mut c);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (j["token"].as_str(), j["sdk"].as_str(), j["version"].as_str()),
        (Some("l4t36.4"), Some("5.4"), Some("5.4.1"))
    );

    let req = d.path().join("req.txt");
    std::fs::write(&req, "jx\n").unwrap();
    let mut c = jetdoc();
    c.arg("--root").arg(&root).args(["--format", "json", "fetch", "wheels", "--no-deps", "-r"]).arg(&req);
    c.args(["--index", &srv.url("/simple/")])
        .arg("--cache-dir")
        .arg(d.path().join("c"))
        .arg("-o")
        .arg(d.path().join("wh"));
    let o = run(&mut c);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["target"], "cp310 linux_aarch64 glibc 2.35");
    assert_eq!(j["plan"]["items"][0]["filename"], "jx-1.0-cp310-cp310-manylinux_2_35_aarch64.whl");
    let lock = std::fs::read_to_string(d.path().join("wh/requirements.lock")).unwrap();
    assert!(lock.contains(&format!("jx==1.0 \\\n    --hash=sha256:{}", sha(&wheel))), "{lock}");

    // Without --index: the family's index from the table (a dead mirror first), then PyPI for
    // pure-Python wheels only.
    std::fs::write(
        tables.join("wheels.toml"),
        format!(
            "[[wheel_index]]\nname = \"jp6/cu126\"\nurls = [\"{}\", \"{}\"]\n\n[[wheel_index]]\nname = \"pypi\"\nurls = [\"{}\"]\npure_only = true\n",
            dead_url("/jp6/cu126/+simple/"),
            srv.url("/simple/"),
            srv.url("/pypi/")
        ),
    )
    .unwrap();
    std::fs::write(&req, "jx\npurepkg\ntorch\n").unwrap();
    let mut c = jetdoc();
    c.arg("--root")
        .arg(&root)
        .arg("--checks-dir")
        .arg(&tables)
        .args(["fetch", "wheels", "--no-deps", "--retries", "0", "-r"])
        .arg(&req);
    c.arg("--cache-dir").arg(d.path().join("c")).arg("-o").arg(d.path().join("wh2"));
    let o = run(&mut c);
    let plan = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "torch is found nowhere usable: {plan}");
    assert!(plan.contains("indexes: jp6/cu126, pypi"), "{plan}");
    assert!(plan.contains("jx-1.0-cp310-cp310-manylinux_2_35_aarch64.whl  from jp6/cu126"), "{plan}");
    assert!(plan.contains("purepkg-2.0-py3-none-any.whl  from pypi"), "{plan}");
    assert!(plan.contains("torch") && plan.contains("not pure-Python"), "{plan}");
}

#[test]
fn two_processes_on_one_cache_download_once() {
    let body = data(300_000, 13);
    let b = body.clone();
    let srv = Server::start(move |_, _| Reply::file(&b, "p"));
    srv.set_delay(std::time::Duration::from_millis(400));
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("c");
    let spawn = |out: &str| {
        let mut c = jetdoc();
        c.args(["fetch", "url", &srv.url("/shared.bin"), "--sha256", &sha(&body)])
            .arg("--cache-dir")
            .arg(&cache)
            .arg("-o")
            .arg(d.path().join(out));
        c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    };
    let (a, b2) = (spawn("a"), spawn("b"));
    let (oa, ob) = (a.wait_with_output().unwrap(), b2.wait_with_output().unwrap());
    assert!(oa.status.success() && ob.status.success(), "{}\n{}", stderr(&oa), stderr(&ob));
    assert_eq!(std::fs::read(d.path().join("a/shared.bin")).unwrap(), *body);
    assert_eq!(std::fs::read(d.path().join("b/shared.bin")).unwrap(), *body);
    assert_eq!(srv.requests_for("/shared.bin").len(), 1, "the second process waited and used the cache");
}
