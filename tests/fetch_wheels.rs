//! `jetdoc fetch wheels` against a PEP 503 (HTML) and PEP 691 (JSON) index on 127.0.0.1 serving
//! tiny wheels built here, then the REAL pip installing them offline from the wheelhouse and the
//! lock file into a fresh virtualenv.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

#[path = "fetch_support/server.rs"]
mod server;
mod support;

support::harness!(
    wheels_resolve_lock_and_install_with_real_pip_offline,
    source_builds_are_in_the_plan_and_require_wheels_stops_before_downloading,
    downloads_run_in_parallel_within_the_bound_and_offline_uses_the_cache,
    dependency_specifiers_are_combined_and_conflicts_reported,
);

use server::{dead_url, Reply, Server};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;
use support::{jetdoc, require, run, stderr, stdout};

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn b64url(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A wheel as pip expects it: the module, METADATA, WHEEL and a RECORD with hashes.
fn wheel(name: &str, version: &str, tag: &str, requires: &[&str]) -> (String, Vec<u8>, String) {
    let module = name.replace('-', "_");
    let dist_info = format!("{module}-{version}.dist-info");
    let mut metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        metadata.push_str(&format!("Requires-Dist: {r}\n"));
    }
    let pure = tag.ends_with("-none-any");
    let files = vec![
        (format!("{module}/__init__.py"), format!("VALUE = '{name} {version}'\n")),
        (format!("{dist_info}/METADATA"), metadata.clone()),
        (
            format!("{dist_info}/WHEEL"),
            format!("Wheel-Version: 1.0\nGenerator: jetdoc-test\nRoot-Is-Purelib: {pure}\nTag: {tag}\n"),
        ),
    ];
    let mut record = String::new();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, text) in &files {
        zip.start_file(path.as_str(), opts).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        record.push_str(&format!(
            "{path},sha256={},{}\n",
            b64url(&Sha256::digest(text.as_bytes())),
            text.len()
        ));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    zip.start_file(format!("{dist_info}/RECORD"), opts).unwrap();
    zip.write_all(record.as_bytes()).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    (format!("{module}-{version}-{tag}.whl"), bytes, metadata)
}

struct Pkg {
    file: String,
    bytes: Arc<Vec<u8>>,
    metadata: String,
    yanked: bool,
}

/// The index: `/json/<project>/` (PEP 691), `/html/<project>/` (PEP 503), `/files/<file>`.
fn index_server(projects: BTreeMap<String, Vec<Pkg>>) -> Server {
    let projects = Arc::new(projects);
    Server::start(move |r, _| {
        let parts: Vec<&str> = r.path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["json", p] => match projects.get(*p) {
                Some(files) => {
                    let files: Vec<serde_json::Value> = files
                        .iter()
                        .map(|f| {
                            serde_json::json!({
                                "filename": f.file, "url": format!("../../files/{}", f.file),
                                "hashes": {"sha256": sha(&f.bytes)}, "yanked": f.yanked,
                                "core-metadata": if f.file.ends_with(".whl") { serde_json::json!({"sha256": sha(f.metadata.as_bytes())}) } else { serde_json::json!(false) },
                            })
                        })
                        .collect();
                    Reply::Text {
                        content_type: "application/vnd.pypi.simple.v1+json",
                        body: serde_json::json!({"meta": {"api-version": "1.1"}, "name": p, "files": files})
                            .to_string(),
                    }
                }
                None => Reply::Status(404),
            },
            ["html", p] => match projects.get(*p) {
                Some(files) => {
                    let mut body = format!("<!DOCTYPE html><html><body><h1>Links for {p}</h1>\n");
                    for f in files {
                        let y = if f.yanked { " data-yanked=\"\"" } else { "" };
                        body.push_str(&format!("<a href=\"/files/{0}#sha256={1}\"{y} data-requires-python=\"&gt;=3.7\">{0}</a><br/>\n", f.file, sha(&f.bytes)));
                    }
                    Reply::Text { content_type: "text/html", body }
                }
                None => Reply::Status(404),
            },
            ["files", f] => {
                let all = projects.values().flatten();
                if let Some(m) = f.strip_suffix(".metadata") {
                    match projects.values().flatten().find(|p| p.file == m) {
                        Some(p) => Reply::Text { content_type: "text/plain", body: p.metadata.clone() },
                        None => Reply::Status(404),
                    }
                } else {
                    match all.into_iter().find(|p| p.file == *f) {
                        Some(p) => Reply::file(&p.bytes, &sha(&p.bytes)[..16]),
                        None => Reply::Status(404),
                    }
                }
            }
            _ => Reply::Status(404),
        }
    })
}

fn pkg(name: &str, version: &str, tag: &str, requires: &[&str], yanked: bool) -> Pkg {
    let (file, bytes, metadata) = wheel(name, version, tag, requires);
    Pkg { file, bytes: Arc::new(bytes), metadata, yanked }
}

/// This machine's CPython `(3, 11)` and the tags pip will accept for it.
fn local_python() -> Option<(u32, u32)> {
    let o = Command::new("python3")
        .args(["-c", "import sys; print(sys.version_info[0], sys.version_info[1])"])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&o.stdout);
    let mut it = s.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn demo_index(py: (u32, u32)) -> Server {
    let cp = format!("cp{}{}", py.0, py.1);
    let arch = std::env::consts::ARCH;
    let other = if arch == "aarch64" { "x86_64" } else { "aarch64" };
    let mut projects = BTreeMap::new();
    projects.insert(
        "demo-native".to_string(),
        vec![
            pkg(
                "demo-native",
                "2.0",
                &format!("{cp}-{cp}-linux_{arch}"),
                &["demo-core>=1.0", "demo-extra ; extra == 'full'", "demo-win ; sys_platform == 'win32'"],
                false,
            ),
            // Newer, but for the other architecture: must not be chosen.
            pkg("demo-native", "3.0", &format!("{cp}-{cp}-linux_{other}"), &[], false),
        ],
    );
    projects.insert(
        "demo-core".to_string(),
        vec![
            pkg("demo-core", "1.0", "py3-none-any", &[], false),
            pkg("demo-core", "1.1", "py3-none-any", &[], true),
        ],
    );
    projects.insert(
        "demo-src".to_string(),
        vec![Pkg {
            file: "demo_src-0.5.tar.gz".into(),
            bytes: Arc::new(b"not really a tarball".to_vec()),
            metadata: String::new(),
            yanked: false,
        }],
    );
    for i in 1..=5 {
        projects.insert(
            format!("demo-p{i}"),
            vec![pkg(&format!("demo-p{i}"), "1.0", "py3-none-any", &[], false)],
        );
    }
    index_server(projects)
}

fn fetch_wheels(
    req: &Path,
    out: &Path,
    cache: &Path,
    py: (u32, u32),
    indexes: &[String],
    extra: &[&str],
) -> Output {
    let mut c = jetdoc();
    c.args(["fetch", "wheels", "-r"]).arg(req).arg("-o").arg(out).arg("--cache-dir").arg(cache);
    c.args([
        "--python",
        &format!("{}.{}", py.0, py.1),
        "--platform",
        &format!("linux_{}", std::env::consts::ARCH),
    ]);
    c.args(["--retries", "0", "--retry-base-ms", "10"]);
    for i in indexes {
        c.args(["--index", i]);
    }
    c.args(extra);
    run(&mut c)
}

fn venv_ok() -> bool {
    Command::new("python3").args(["-c", "import venv, ensurepip"]).status().is_ok_and(|s| s.success())
}

fn wheels_resolve_lock_and_install_with_real_pip_offline() {
    require(venv_ok() && local_python().is_some(), "python3 with venv and ensurepip");
    let py = local_python().unwrap();
    let srv = demo_index(py);
    let d = tempfile::tempdir().unwrap();
    let req = d.path().join("requirements.txt");
    std::fs::write(&req, "# the app\ndemo-native>=1.5\n").unwrap();

    // PEP 691 JSON index, after a dead one that must not stop the run.
    let out = d.path().join("wheelhouse");
    let o = fetch_wheels(
        &req,
        &out,
        &d.path().join("cache"),
        py,
        &[dead_url("/simple/"), srv.url("/json/")],
        &[],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let plan = stdout(&o);
    assert!(plan.contains("demo_native-2.0-") && plan.contains("demo_core-1.0-py3-none-any.whl"), "{plan}");
    assert!(
        plan.contains("failed, skipped") && plan.contains("Connection refused"),
        "the dead index is reported: {plan}"
    );
    assert!(!plan.contains("demo-extra") && !plan.contains("demo-win"), "markers are evaluated: {plan}");
    // PEP 658: metadata came from the .metadata file, not by downloading the wheel first.
    assert_eq!(srv.requests().iter().filter(|r| r.path.ends_with(".metadata")).count(), 2);
    assert_eq!(srv.requests().iter().filter(|r| r.path.ends_with(".whl")).count(), 2);

    let lock = std::fs::read_to_string(out.join("requirements.lock")).unwrap();
    assert!(
        lock.contains("demo-native==2.0 \\\n    --hash=sha256:") && lock.contains("demo-core==1.0 \\"),
        "{lock}"
    );

    // The same through the PEP 503 HTML page gives the same lock (metadata read from the wheel).
    let out_html = d.path().join("wheelhouse-html");
    let o = fetch_wheels(&req, &out_html, &d.path().join("cache-html"), py, &[srv.url("/html/")], &[]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let lock_html = std::fs::read_to_string(out_html.join("requirements.lock")).unwrap();
    let body = |l: &str| l.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&lock), body(&lock_html));

    // The real pip, offline, hash-checked, into a fresh virtualenv.
    let venv = d.path().join("venv");
    let s = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap();
    assert!(s.success());
    let o = Command::new(venv.join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "--require-hashes", "--no-index", "--find-links"])
        .arg(&out)
        .arg("-r")
        .arg(out.join("requirements.lock"))
        .output()
        .unwrap();
    assert!(o.status.success(), "pip failed:\n{}\n{}", stdout(&o), stderr(&o));
    let o = Command::new(venv.join("bin/python"))
        .args(["-c", "import demo_native, demo_core; print(demo_native.VALUE, '|', demo_core.VALUE)"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "demo-native 2.0 | demo-core 1.0");

    // pip refuses a wheelhouse file that does not match the lock: the hashes are real.
    let native = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("demo_native"))
        .unwrap()
        .path();
    std::fs::remove_file(&native).unwrap();
    std::fs::write(&native, b"tampered").unwrap();
    let venv2 = d.path().join("venv2");
    assert!(Command::new("python3").args(["-m", "venv"]).arg(&venv2).status().unwrap().success());
    let o = Command::new(venv2.join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "--require-hashes", "--no-index", "--find-links"])
        .arg(&out)
        .arg("-r")
        .arg(out.join("requirements.lock"))
        .output()
        .unwrap();
    assert!(!o.status.success());
}

fn source_builds_are_in_the_plan_and_require_wheels_stops_before_downloading() {
    let py = local_python().unwrap_or((3, 10));
    let srv = demo_index(py);
    let d = tempfile::tempdir().unwrap();
    let req = d.path().join("requirements.txt");
    std::fs::write(&req, "demo-native\ndemo-src==0.5\n").unwrap();
    let out = d.path().join("wh");
    let o = fetch_wheels(&req, &out, &d.path().join("c"), py, &[srv.url("/json/")], &["--require-wheels"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("demo-src") && stdout(&o).contains("builds from source"), "{}", stdout(&o));
    assert!(stderr(&o).contains("--require-wheels") && stderr(&o).contains("demo-src"), "{}", stderr(&o));
    assert_eq!(srv.body_bytes(), 0, "nothing downloaded");
    assert!(!out.exists());

    // Without --require-wheels: a warning, the wheels and a lock without demo-src; JSON says so.
    let o = fetch_wheels(&req, &out, &d.path().join("c"), py, &[srv.url("/json/")], &["--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["left_to_pip"], serde_json::json!(["demo-src"]));
    let src = j["plan"]["items"].as_array().unwrap().iter().find(|i| i["name"] == "demo-src").unwrap();
    assert_eq!(src["kind"], "source");
    assert!(!std::fs::read_to_string(out.join("requirements.lock")).unwrap().contains("demo-src"));
}

fn downloads_run_in_parallel_within_the_bound_and_offline_uses_the_cache() {
    let py = local_python().unwrap_or((3, 10));
    let srv = demo_index(py);
    let d = tempfile::tempdir().unwrap();
    let req = d.path().join("requirements.txt");
    std::fs::write(&req, "demo-p1\ndemo-p2\ndemo-p3\ndemo-p4\ndemo-p5\n").unwrap();
    srv.set_delay(Duration::from_millis(150));
    let cache = d.path().join("c");
    let o = fetch_wheels(&req, &d.path().join("wh"), &cache, py, &[srv.url("/html/")], &["--jobs", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(srv.max_concurrent(), 2, "at most --jobs downloads at once, and really in parallel");
    assert_eq!(std::fs::read_dir(d.path().join("wh")).unwrap().count(), 6, "5 wheels and the lock");

    let served = srv.requests().len();
    let o = fetch_wheels(&req, &d.path().join("wh2"), &cache, py, &[srv.url("/html/")], &["--offline"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(srv.requests().len(), served, "--offline makes no request");
    assert_eq!(
        std::fs::read_to_string(d.path().join("wh/requirements.lock"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        std::fs::read_to_string(d.path().join("wh2/requirements.lock"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
    );
    std::fs::write(&req, "demo-p1\ndemo-new\n").unwrap();
    let o = fetch_wheels(&req, &d.path().join("wh3"), &cache, py, &[srv.url("/html/")], &["--offline"]);
    assert_eq!(o.status.code(), Some(1), "a requirement found nowhere fails the run");
    assert!(stderr(&o).contains("not found on any index: demo-new"), "{}", stderr(&o));
    assert!(stdout(&o).contains("no cached page for demo-new"), "{}", stdout(&o));
}

fn dependency_specifiers_are_combined_and_conflicts_reported() {
    let mut projects = BTreeMap::new();
    projects.insert("dep-a".to_string(), vec![pkg("dep-a", "1.0", "py3-none-any", &["dep-c<2"], false)]);
    projects.insert("dep-b".to_string(), vec![pkg("dep-b", "1.0", "py3-none-any", &["dep-c>=1.5"], false)]);
    let c: Vec<Pkg> =
        ["1.0", "1.6", "2.0"].iter().map(|v| pkg("dep-c", v, "py3-none-any", &[], false)).collect();
    let c20 = sha(&c[2].bytes);
    projects.insert("dep-c".to_string(), c);
    let srv = index_server(projects);
    let d = tempfile::tempdir().unwrap();
    let req = d.path().join("requirements.txt");
    let py = (3, 10);

    // dep-a wants dep-c<2 and dep-b wants dep-c>=1.5: both apply, so 1.6 (not 2.0, not 1.0).
    std::fs::write(&req, "dep-a\ndep-b\n").unwrap();
    let o = fetch_wheels(&req, &d.path().join("wh"), &d.path().join("c"), py, &[srv.url("/json/")], &[]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let lock = std::fs::read_to_string(d.path().join("wh/requirements.lock")).unwrap();
    assert!(lock.contains("dep-c==1.6 \\"), "{lock}");
    assert!(stdout(&o).contains("(for dep-a, dep-b)"), "{}", stdout(&o));

    // A top-level pin that a dependency does not accept: a conflict warning naming both.
    std::fs::write(&req, "dep-c==1.0\ndep-a\ndep-b\n").unwrap();
    let o = fetch_wheels(&req, &d.path().join("wh2"), &d.path().join("c"), py, &[srv.url("/json/")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("conflict: dep-b needs `dep-c>=1.5` but dep-c 1.0 was chosen"),
        "{}",
        stdout(&o)
    );

    // `--hash` pins in the requirements file select the file; a pin no file has is an error.
    std::fs::write(&req, format!("dep-c>=1 --hash=sha256:{c20}\n")).unwrap();
    let o = fetch_wheels(&req, &d.path().join("wh3"), &d.path().join("c"), py, &[srv.url("/json/")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(d.path().join("wh3/requirements.lock"))
        .unwrap()
        .contains(&format!("dep-c==2.0 \\\n    --hash=sha256:{c20}")));
    std::fs::write(&req, format!("dep-c>=1 --hash=sha256:{}\n", "0".repeat(64))).unwrap();
    let o = fetch_wheels(&req, &d.path().join("wh4"), &d.path().join("c"), py, &[srv.url("/json/")], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}
