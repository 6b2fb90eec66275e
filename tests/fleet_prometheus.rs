//! `jetdoc check --format prometheus` and `--textfile DIR` with real parts: Debian's `promtool`
//! lints the output of every fixture root, and a real `prometheus-node-exporter` on 127.0.0.1
//! scrapes the textfile while jetdoc rewrites it. Both tools are skipped visibly when missing
//! locally and required in CI.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(
    promtool_accepts_the_output_of_every_fixture_root_and_of_a_hostile_model,
    series_agree_with_the_json_report_on_every_fixture_root,
    the_output_of_one_fixture_is_pinned,
    a_hostile_model_is_escaped_and_comes_back_intact,
    textfile_writes_the_metrics_and_keeps_the_exit_code_of_the_check,
    a_textfile_directory_that_cannot_be_written_is_an_error_naming_it,
    other_commands_refuse_the_check_only_formats,
    node_exporter_scrapes_the_textfile_with_the_right_values,
    node_exporter_never_scrapes_a_half_written_file,
);

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{jetdoc, run, stderr, stdout};

const HOSTILE_MODEL: &str = "NVIDIA \"Evil\" Jetson \\ AGX\nOrin";

fn sysroots() -> Vec<PathBuf> {
    let dir = support::fixtures_dir().join("sysroots");
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 10, "expected the fixture roots under {}", dir.display());
    cases
}

fn check_cmd(root: &Path, extra: &[&str]) -> Command {
    let mut cmd = jetdoc();
    cmd.arg("check").arg("--root").arg(root);
    let commands = root.join("commands.toml");
    if commands.exists() {
        cmd.arg("--commands").arg(commands);
    }
    // Last, so that a caller can append the value of a trailing option (`--textfile`).
    cmd.args(extra);
    cmd
}

/// (exit code, stdout) of `jetdoc check --root ROOT ...`.
fn check(root: &Path, extra: &[&str]) -> (i32, String) {
    let out = run(&mut check_cmd(root, extra));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    (out.status.code().unwrap_or(-1), stdout(&out))
}

/// A copy of the AGX Orin fixture whose device-tree model holds a double quote, a backslash and
/// a line feed (the file is arbitrary bytes on a real device).
fn hostile_root(tmp: &Path) -> PathBuf {
    let root = tmp.join("hostile-model");
    support::copy_tree(&support::fixtures_dir().join("sysroots/agx-orin-r36.4.3"), &root);
    let model = root.join("sys/firmware/devicetree/base/model");
    assert!(model.is_file(), "the fixture keeps its model at {}", model.display());
    std::fs::write(&model, format!("{HOSTILE_MODEL}\0")).unwrap();
    root
}

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A small parser of the text exposition format (what a scraper does), to check values rather
/// than substrings: names, labels with their escapes undone, values.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("no value: {line:?}"));
        let name = line[..name_end].to_string();
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(body) => parse_labels(body, line),
            None => (BTreeMap::new(), &line[name_end..]),
        };
        let value = rest.trim().parse().unwrap_or_else(|e| panic!("value of {line:?}: {e}"));
        samples.push(Sample { name, labels, value });
    }
    samples
}

/// `key="value",...}` with `\\`, `\"` and `\n` undone; returns the labels and what follows `}`.
fn parse_labels<'a>(body: &'a str, line: &str) -> (BTreeMap<String, String>, &'a str) {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars();
    loop {
        let mut key = String::new();
        loop {
            match chars.next() {
                Some('}') if key.is_empty() => return (labels, chars.as_str()),
                Some('=') => break,
                Some(c) => key.push(c),
                None => panic!("unterminated labels in {line:?}"),
            }
        }
        assert_eq!(chars.next(), Some('"'), "{line:?}");
        let mut value = String::new();
        loop {
            match chars.next().unwrap_or_else(|| panic!("unterminated value in {line:?}")) {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    other => panic!("invalid escape {other:?} in {line:?}"),
                },
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        match chars.next() {
            Some(',') => continue,
            Some('}') => return (labels, chars.as_str()),
            other => panic!("{other:?} after a label value in {line:?}"),
        }
    }
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples.iter().find(|s| {
        s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

fn promtool_available() -> bool {
    Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), said)
}

fn promtool_accepts_the_output_of_every_fixture_root_and_of_a_hostile_model() {
    support::require(promtool_available(), "promtool (Debian package prometheus)");
    let tmp = tempfile::tempdir().unwrap();
    let mut roots = sysroots();
    roots.push(hostile_root(tmp.path()));
    for root in &roots {
        let (code, text) = check(root, &["--format", "prometheus"]);
        assert!(code == 0 || code == 1, "{}: exit {code}", root.display());
        let (ok, said) = promtool_check(&text);
        // promtool exits 0 also with nothing to say; a lint problem is printed and exits 3.
        assert!(ok && said.trim().is_empty(), "{}: promtool says:\n{said}\n{text}", root.display());
    }
}

fn series_agree_with_the_json_report_on_every_fixture_root() {
    let encoding = ["pass", "info", "skip", "warn", "fail", "error"];
    for root in sysroots() {
        let name = root.file_name().unwrap().to_string_lossy().into_owned();
        let (json_code, json) = check(&root, &["--format", "json"]);
        let (code, text) = check(&root, &["--format", "prometheus"]);
        assert_eq!(code, json_code, "{name}: the format must not change the exit code");
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        let samples = parse(&text);
        let checks = report["checks"].as_array().unwrap();
        for c in checks {
            let (id, area, status) =
                (c["id"].as_str().unwrap(), c["area"].as_str().unwrap(), c["status"].as_str().unwrap());
            let sev = find(&samples, "jetdoc_check_severity", &[("id", id), ("area", area)])
                .unwrap_or_else(|| panic!("{name}: no severity of {id}"));
            assert_eq!(encoding[sev.value as usize], status, "{name}: {id}");
            for s in encoding {
                let hot = find(&samples, "jetdoc_check_status", &[("id", id), ("status", s)])
                    .unwrap_or_else(|| panic!("{name}: no {s} series of {id}"));
                assert_eq!(hot.value, f64::from(u8::from(s == status)), "{name}: {id} {s}");
            }
        }
        let statuses = samples.iter().filter(|s| s.name == "jetdoc_check_status").count();
        assert_eq!(statuses, checks.len() * 6, "{name}");

        let info = find(&samples, "jetdoc_device_info", &[]).unwrap();
        assert_eq!(info.value, 1.0);
        for field in ["model", "module", "soc", "l4t", "jetpack", "cuda"] {
            let want = report["device"][field].as_str().unwrap_or("");
            assert_eq!(info.labels[field], want, "{name}: device_info {field}");
        }
        let part = report["facts"]["module_part"]["value"].as_str().unwrap_or("");
        assert_eq!(info.labels["part"], part, "{name}: part");

        // Free space: exactly the volumes the report measured, with their numbers.
        for (volume, fact) in [("root", "root_volume"), ("docker", "docker_volume")] {
            let space = &report["facts"][fact]["space"]["value"];
            let avail = find(&samples, "jetdoc_filesystem_avail_bytes", &[("volume", volume)]);
            let size = find(&samples, "jetdoc_filesystem_size_bytes", &[("volume", volume)]);
            match space["avail_bytes"].as_u64() {
                Some(a) => {
                    let avail = avail.unwrap_or_else(|| panic!("{name}: no avail of {volume}"));
                    assert_eq!(avail.value, a as f64, "{name}: {volume}");
                    assert_eq!(size.unwrap().value, space["total_bytes"].as_u64().unwrap() as f64);
                    assert_eq!(avail.labels["path"], report["facts"][fact]["path"].as_str().unwrap());
                    let mp = report["facts"][fact]["mount_point"].as_str().unwrap_or("");
                    assert_eq!(avail.labels["mountpoint"], mp, "{name}: {volume}");
                }
                None => assert!(avail.is_none() && size.is_none(), "{name}: {volume} was not measured"),
            }
        }
        let duration = find(&samples, "jetdoc_check_duration_seconds", &[]).unwrap().value;
        assert!(duration > 0.0 && duration < 60.0, "{name}: {duration}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        let ts = find(&samples, "jetdoc_check_timestamp_seconds", &[]).unwrap().value;
        assert!((now - ts).abs() < 120.0, "{name}: timestamp {ts}, now {now}");
    }
}

fn the_output_of_one_fixture_is_pinned() {
    let root = support::fixtures_dir().join("sysroots/agx-orin-r36.4.3");
    let (code, text) = check(&root, &["--format", "prometheus"]);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"(jetdoc_check_duration_seconds) [0-9.]+", "$1 [seconds]");
    settings.add_filter(r"(jetdoc_check_timestamp_seconds) [0-9.]+", "$1 [unix time]");
    settings.add_filter(r#"version="[^"]+""#, r#"version="[version]""#);
    settings.bind(|| insta::assert_snapshot!(format!("exit code: {code}\n\n{text}")));
}

fn a_hostile_model_is_escaped_and_comes_back_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let root = hostile_root(tmp.path());
    let (_, text) = check(&root, &["--format", "prometheus"]);
    assert!(text.contains(r#"model="NVIDIA \"Evil\" Jetson \\ AGX\nOrin""#), "{text}");
    for line in text.lines() {
        assert!(line.starts_with("# ") || line.starts_with("jetdoc_"), "a line broke out: {line:?}");
    }
    let info = find(&parse(&text), "jetdoc_device_info", &[]).unwrap().clone();
    assert_eq!(info.labels["model"], HOSTILE_MODEL);
}

fn textfile_writes_the_metrics_and_keeps_the_exit_code_of_the_check() {
    let tmp = tempfile::tempdir().unwrap();
    // One fixture that fails checks (exit 1), one that passes (exit 0).
    for (fixture, want) in [("orin-nano-r36.3.0", 1), ("agx-orin-r36.4.3", 0)] {
        let root = support::fixtures_dir().join("sysroots").join(fixture);
        let out = run(check_cmd(&root, &["--format", "json", "--textfile"]).arg(tmp.path()));
        assert_eq!(out.status.code(), Some(want), "{fixture}: {}", stderr(&out));
        // stdout is still the format asked for.
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).expect("JSON on stdout");
        let written = std::fs::read_to_string(tmp.path().join("jetdoc.prom")).unwrap();
        let (_, direct) = check(&root, &["--format", "prometheus"]);
        let strip = |t: &str| {
            t.lines()
                .filter(|l| {
                    !l.starts_with("jetdoc_check_duration") && !l.starts_with("jetdoc_check_timestamp")
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&written), strip(&direct), "{fixture}");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(tmp.path().join("jetdoc.prom")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o644, "node_exporter runs as another user");
    }
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("jetdoc.prom")], "no temporary file left behind");
}

fn a_textfile_directory_that_cannot_be_written_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = support::fixtures_dir().join("sysroots/agx-orin-r36.4.3");
    let missing = tmp.path().join("no-such-dir");
    let a_file = tmp.path().join("a-file");
    std::fs::write(&a_file, "").unwrap();
    for dir in [&missing, &a_file] {
        let out = run(check_cmd(&root, &["-q", "--textfile"]).arg(dir));
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(&dir.display().to_string()), "{}", stderr(&out));
    }
    assert!(!missing.exists());
}

fn other_commands_refuse_the_check_only_formats() {
    for format in ["prometheus", "npd"] {
        let out = run(jetdoc().args(["--format", format, "fetch", "zed", "--l4t", "36.4", "--offline"]));
        assert_eq!(out.status.code(), Some(2), "{format}");
        assert!(stderr(&out).contains("jetdoc check"), "{}", stderr(&out));
    }
}

/// A real node_exporter with only the textfile collector, on 127.0.0.1 and a free port.
struct NodeExporter {
    child: Child,
    url: String,
}

impl NodeExporter {
    fn start(dir: &Path) -> NodeExporter {
        for _ in 0..5 {
            // Another process may take the port between this probe and node_exporter's bind:
            // then it exits at once, and we try another port.
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut child = Command::new("prometheus-node-exporter")
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .args([
                    "--collector.disable-defaults",
                    "--collector.textfile",
                    "--web.disable-exporter-metrics",
                ])
                .arg(format!("--collector.textfile.directory={}", dir.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn prometheus-node-exporter");
            let url = format!("http://127.0.0.1:{port}/metrics");
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success()) {
                    return NodeExporter { child, url };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("prometheus-node-exporter did not start on 127.0.0.1");
    }

    fn scrape(&self) -> Vec<Sample> {
        let text = reqwest::blocking::get(&self.url).unwrap().error_for_status().unwrap().text().unwrap();
        parse(&text)
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_exporter_available() -> bool {
    Command::new("prometheus-node-exporter").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn node_exporter_scrapes_the_textfile_with_the_right_values() {
    support::require(node_exporter_available(), "prometheus-node-exporter (Debian package)");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    let exporter = NodeExporter::start(&dir);

    let root = hostile_root(tmp.path());
    let out = run(check_cmd(&root, &["-q", "--textfile"]).arg(&dir));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let scraped = exporter.scrape();
    assert_eq!(find(&scraped, "node_textfile_scrape_error", &[]).unwrap().value, 0.0);
    let info = find(&scraped, "jetdoc_device_info", &[]).expect("jetdoc_device_info scraped");
    assert_eq!(info.labels["model"], HOSTILE_MODEL, "node_exporter parsed and re-escaped the label");
    assert_eq!(info.labels["part"], "p3701-0005");
    assert_eq!(info.labels["l4t"], "36.4.3");
    let sev = |id: &str| find(&scraped, "jetdoc_check_severity", &[("id", id)]).map(|s| s.value);
    assert_eq!(sev("docker.default-runtime"), Some(0.0));
    assert_eq!(sev("docker.cgroup-driver"), Some(1.0));
    assert_eq!(sev("gpu.driver"), Some(2.0));
    let hot = find(&scraped, "jetdoc_check_status", &[("id", "docker.cgroup-driver"), ("status", "info")]);
    assert_eq!(hot.map(|s| s.value), Some(1.0));
    let avail = find(&scraped, "jetdoc_filesystem_avail_bytes", &[("volume", "root"), ("mountpoint", "/")]);
    assert_eq!(avail.map(|s| s.value), Some(801218584576.0));
    assert!(find(&scraped, "node_textfile_mtime_seconds", &[]).is_some());

    // A failing device, written over the first file: the next scrape has its values.
    let failing = support::fixtures_dir().join("sysroots/orin-nano-r36.3.0");
    let out = run(check_cmd(&failing, &["-q", "--textfile"]).arg(&dir));
    assert_eq!(out.status.code(), Some(1));
    let scraped = exporter.scrape();
    let sev = |id: &str| find(&scraped, "jetdoc_check_severity", &[("id", id)]).map(|s| s.value);
    assert_eq!(sev("docker.nvidia-runtime"), Some(4.0));
    assert_eq!(sev("docker.default-runtime"), Some(3.0));
    assert_eq!(find(&scraped, "jetdoc_device_info", &[]).unwrap().labels["l4t"], "36.3.0");
}

fn node_exporter_never_scrapes_a_half_written_file() {
    support::require(node_exporter_available(), "prometheus-node-exporter (Debian package)");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    let exporter = NodeExporter::start(&dir);
    let root = support::fixtures_dir().join("sysroots/agx-orin-r36.4.3");
    let (_, full) = check(&root, &["--format", "prometheus"]);
    let expected_status_series = parse(&full).iter().filter(|s| s.name == "jetdoc_check_status").count();

    // What a crash in the middle of a write leaves: a temporary file with jetdoc's naming, cut in
    // the middle of a line. node_exporter reads only *.prom, so it must not see it.
    let half = &full[..full.len() / 2];
    std::fs::write(dir.join(".jetdoc.prom.crashed.tmp"), half).unwrap();
    // And the real file, complete.
    let out = run(check_cmd(&root, &["-q", "--textfile"]).arg(&dir));
    assert_eq!(out.status.code(), Some(0));
    let scraped = exporter.scrape();
    assert_eq!(find(&scraped, "node_textfile_scrape_error", &[]).unwrap().value, 0.0);
    assert_eq!(scraped.iter().filter(|s| s.name == "jetdoc_check_status").count(), expected_status_series);
    std::fs::remove_file(dir.join(".jetdoc.prom.crashed.tmp")).unwrap();

    // jetdoc rewrites the file over and over while node_exporter is scraped: every scrape sees
    // one whole file (no parse error, every series), never a torn one.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, dir, root) = (stop.clone(), dir.clone(), root.clone());
        std::thread::spawn(move || {
            let mut runs = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || runs < 20 {
                let out = run(check_cmd(&root, &["-q", "--textfile"]).arg(&dir));
                assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
                runs += 1;
            }
            runs
        })
    };
    let mut scrapes = 0;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let scraped = exporter.scrape();
        assert_eq!(find(&scraped, "node_textfile_scrape_error", &[]).unwrap().value, 0.0, "scrape {scrapes}");
        let n = scraped.iter().filter(|s| s.name == "jetdoc_check_status").count();
        assert_eq!(n, expected_status_series, "scrape {scrapes} saw a partial file");
        scrapes += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let runs = writer.join().unwrap();
    assert!(scrapes >= 10 && runs >= 20, "{scrapes} scrapes during {runs} writes");
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("jetdoc.prom")]);
}
