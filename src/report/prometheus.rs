//! The report as Prometheus metrics (text exposition format 0.0.4), for node_exporter's textfile
//! collector (`jetdoc check --textfile DIR`) or any scraper of `jetdoc check --format prometheus`.
//!
//! Every series is a gauge without a client-side timestamp (node_exporter refuses those in a
//! textfile). Names follow the Prometheus conventions: a `jetdoc_` prefix, base units in the name
//! (`_seconds`, `_bytes`), `_info` series with the value 1 that carry text as labels, no `_total`
//! (nothing here is a counter: each run replaces the whole file).
//!
//! | series | value |
//! |---|---|
//! | `jetdoc_build_info{version}` | 1 |
//! | `jetdoc_device_info{model,module,part,soc,l4t,jetpack,cuda}` | 1; an unknown field is `""` |
//! | `jetdoc_check_severity{id,area}` | 0 pass, 1 info, 2 skip, 3 warn, 4 fail, 5 error |
//! | `jetdoc_check_status{id,area,status}` | 1 for the check's status, 0 for the other five |
//! | `jetdoc_filesystem_avail_bytes{volume,path,mountpoint}` | free to unprivileged users (`df`'s Avail) |
//! | `jetdoc_filesystem_size_bytes{volume,path,mountpoint}` | size of the filesystem |
//! | `jetdoc_check_duration_seconds` | how long the run took (probes, checks, metrics) |
//! | `jetdoc_check_timestamp_seconds` | when the run ended, Unix time |
//!
//! Why both status series: `jetdoc_check_severity` is one series per check whose value is
//! ordered by severity, so `max by (instance) (jetdoc_check_severity) >= 4` finds failing robots
//! and a dashboard can colour one number; `jetdoc_check_status` is one-hot (as kube-state-metrics'
//! `kube_pod_status_phase`), so an alert reads `jetdoc_check_status{status="fail"} == 1` without
//! knowing the encoding, `sum by (status)` counts, and every series exists whatever the status, so
//! none appears or vanishes when a check changes state (which would break `rate`, `changes` and
//! "absent" alerts). Six series per check cost 33 x 6 = 198 series per robot: small.
//!
//! Reserved for the provisioning state of `jetdoc status`, rendered when a state is passed to
//! [`render`] (another branch owns the state file; nothing here reads it):
//! `jetdoc_provision_info{profile,image_digest,result} 1` and
//! `jetdoc_provision_last_success_timestamp_seconds`.

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime};

use super::{Report, Status};
use crate::context::Context;
use crate::probes::storage::{Storage, Volume};
use crate::probes::Identity;

/// What the metrics need beyond the report: the module part number and free space.
#[derive(Debug, Clone)]
pub struct Metrics<'a> {
    pub report: &'a Report,
    /// The module's part number from the device tree (`p3701-0005`).
    pub part: Option<String>,
    pub filesystems: Vec<Filesystem>,
    pub duration: Duration,
    /// When the run ended.
    pub timestamp: SystemTime,
}

/// Free space of a volume that matters: `/` or Docker's data-root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    /// `root` or `docker`.
    pub volume: &'static str,
    /// As configured: `/`, `/var/lib/docker`, or daemon.json's `data-root`.
    pub path: String,
    /// The mount point holding it; `""` when `/proc/self/mountinfo` could not tell.
    pub mountpoint: String,
    pub avail_bytes: u64,
    pub size_bytes: u64,
}

/// The last provisioning run as `jetdoc status` knows it. Filled by the provisioning code from
/// its own state file; the metrics only render it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionState {
    /// The profile name (`locomotion`).
    pub profile: String,
    /// The digest of the image it ran (`sha256:...`), when one was recorded.
    pub image_digest: Option<String>,
    /// The outcome word of that run, as `jetdoc status` prints it.
    pub result: String,
    /// When a run last succeeded; `None` if none ever did.
    pub last_success: Option<SystemTime>,
}

/// The encoding of `jetdoc_check_severity`. Spelled out (not the enum's discriminant) so that
/// reordering `Status` cannot silently change a documented interface.
pub fn severity(status: Status) -> u8 {
    match status {
        Status::Pass => 0,
        Status::Info => 1,
        Status::Skip => 2,
        Status::Warn => 3,
        Status::Fail => 4,
        Status::Error => 5,
    }
}

/// Gathers what [`render`] needs beyond the report. Free space is always measured here (also when
/// `--only` left out the storage checks): it is one statvfs per volume, or the fixture's `df`.
/// `started` is when the run began: the duration covers the probes, the checks and this.
pub fn collect<'a>(ctx: &Context, report: &'a Report, started: Instant) -> Metrics<'a> {
    let part = ctx.get::<Identity>().module.as_ref().map(|m| m.part.clone());
    let storage = ctx.get::<Storage>();
    let filesystems = [("root", &storage.root), ("docker", &storage.docker_root)]
        .into_iter()
        .filter_map(|(name, v)| filesystem(name, v))
        .collect();
    Metrics { report, part, filesystems, duration: started.elapsed(), timestamp: SystemTime::now() }
}

fn filesystem(volume: &'static str, v: &Volume) -> Option<Filesystem> {
    let space = v.space.value()?;
    Some(Filesystem {
        volume,
        path: v.path.clone(),
        mountpoint: v.mount_point.clone().unwrap_or_default(),
        avail_bytes: space.avail_bytes,
        size_bytes: space.total_bytes,
    })
}

/// The text exposition: one HELP and TYPE per family, then its samples. A family without samples
/// is left out entirely.
pub fn render(m: &Metrics, provision: Option<&ProvisionState>) -> String {
    let mut out = String::new();
    let d = &m.report.device;
    let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();

    gauge(
        &mut out,
        "jetdoc_build_info",
        "The jetdoc version that wrote these metrics.",
        vec![(vec![("version", env!("CARGO_PKG_VERSION").to_string())], "1".into())],
    );
    gauge(
        &mut out,
        "jetdoc_device_info",
        "The device as jetdoc identified it (module part number from the device tree); always 1.",
        vec![(
            vec![
                ("model", or_empty(&d.model)),
                ("module", or_empty(&d.module)),
                ("part", or_empty(&m.part)),
                ("soc", or_empty(&d.soc)),
                ("l4t", or_empty(&d.l4t)),
                ("jetpack", or_empty(&d.jetpack)),
                ("cuda", or_empty(&d.cuda)),
            ],
            "1".into(),
        )],
    );
    gauge(
        &mut out,
        "jetdoc_check_severity",
        "Status of each check by severity: 0 pass, 1 info, 2 skip, 3 warn, 4 fail, 5 error.",
        m.report
            .checks
            .iter()
            .map(|c| {
                let labels = vec![("id", c.id.clone()), ("area", c.area.as_str().to_string())];
                (labels, severity(c.status).to_string())
            })
            .collect(),
    );
    gauge(
        &mut out,
        "jetdoc_check_status",
        "1 for the status each check ended with, 0 for the other statuses.",
        m.report
            .checks
            .iter()
            .flat_map(|c| {
                Status::ALL.iter().map(move |s| {
                    let labels = vec![
                        ("id", c.id.clone()),
                        ("area", c.area.as_str().to_string()),
                        ("status", s.as_str().to_string()),
                    ];
                    (labels, u8::from(c.status == *s).to_string())
                })
            })
            .collect(),
    );
    let fs_labels = |f: &Filesystem| {
        vec![("volume", f.volume.to_string()), ("path", f.path.clone()), ("mountpoint", f.mountpoint.clone())]
    };
    gauge(
        &mut out,
        "jetdoc_filesystem_avail_bytes",
        "Space available to unprivileged users on the filesystem holding / or Docker's data-root.",
        m.filesystems.iter().map(|f| (fs_labels(f), f.avail_bytes.to_string())).collect(),
    );
    gauge(
        &mut out,
        "jetdoc_filesystem_size_bytes",
        "Size of the filesystem holding / or Docker's data-root.",
        m.filesystems.iter().map(|f| (fs_labels(f), f.size_bytes.to_string())).collect(),
    );
    if let Some(p) = provision {
        render_provision(&mut out, p);
    }
    gauge(
        &mut out,
        "jetdoc_check_duration_seconds",
        "How long jetdoc check took: probes, checks and metrics.",
        vec![(vec![], format!("{:.6}", m.duration.as_secs_f64()))],
    );
    gauge(
        &mut out,
        "jetdoc_check_timestamp_seconds",
        "When jetdoc check ran, in seconds since the Unix epoch.",
        vec![(vec![], unix_seconds(m.timestamp))],
    );
    out
}

fn render_provision(out: &mut String, p: &ProvisionState) {
    gauge(
        out,
        "jetdoc_provision_info",
        "The last provisioning run as jetdoc status reports it; always 1.",
        vec![(
            vec![
                ("profile", p.profile.clone()),
                ("image_digest", p.image_digest.clone().unwrap_or_default()),
                ("result", p.result.clone()),
            ],
            "1".into(),
        )],
    );
    gauge(
        out,
        "jetdoc_provision_last_success_timestamp_seconds",
        "When provisioning last succeeded, in seconds since the Unix epoch.",
        p.last_success.map(|t| (vec![], unix_seconds(t))).into_iter().collect(),
    );
}

fn unix_seconds(t: SystemTime) -> String {
    // A clock before 1970 is a broken clock; 0 says so more plainly than a negative number.
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    format!("{secs:.3}")
}

type Sample = (Vec<(&'static str, String)>, String);

fn gauge(out: &mut String, name: &str, help: &str, samples: Vec<Sample>) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in samples {
        out.push_str(name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{k}=\"{}\"", escape_label_value(v));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {value}");
    }
}

/// Label values escape backslash, double quote and line feed (and nothing else), as the text
/// format specifies. Values come from the device: a device-tree model is arbitrary bytes.
pub fn escape_label_value(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// HELP text escapes backslash and line feed only.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Area, CheckResult, DeviceSummary};
    use std::collections::BTreeMap;

    fn check(id: &str, status: Status) -> CheckResult {
        CheckResult {
            id: id.into(),
            area: Area::Containers,
            status,
            summary: "s".into(),
            hints: vec![],
            fix: None,
        }
    }

    fn report(checks: Vec<CheckResult>) -> Report {
        let device = DeviceSummary {
            jetson: true,
            model: Some("Evil \"board\" \\ two\nlines".into()),
            soc: Some("tegra234".into()),
            ..DeviceSummary::default()
        };
        Report::new(device, BTreeMap::new(), checks)
    }

    fn metrics(r: &Report) -> Metrics<'_> {
        Metrics {
            report: r,
            part: Some("p3701-0005".into()),
            filesystems: vec![Filesystem {
                volume: "root",
                path: "/".into(),
                mountpoint: "/".into(),
                avail_bytes: 801218584576,
                size_bytes: 982907273216,
            }],
            duration: Duration::from_micros(4321),
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_250),
        }
    }

    #[test]
    fn severity_encoding_is_the_documented_one() {
        let got: Vec<_> =
            [Status::Pass, Status::Info, Status::Skip, Status::Warn, Status::Fail, Status::Error]
                .map(severity)
                .to_vec();
        assert_eq!(got, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline_only() {
        assert_eq!(escape_label_value("a\"b\\c\nd\te"), "a\\\"b\\\\c\\nd\te");
        let r = report(vec![]);
        let text = render(&metrics(&r), None);
        assert!(text.contains(r#"model="Evil \"board\" \\ two\nlines""#), "{text}");
        // The hostile value stays on one line: every line is a comment or a sample.
        for line in text.lines() {
            assert!(line.starts_with("# ") || line.starts_with("jetdoc_"), "{line:?}");
        }
    }

    #[test]
    fn one_hot_status_has_all_six_statuses_and_one_is_set() {
        let r = report(vec![check("docker.default-runtime", Status::Warn)]);
        let text = render(&metrics(&r), None);
        let hot: Vec<_> = text.lines().filter(|l| l.starts_with("jetdoc_check_status{")).collect();
        assert_eq!(hot.len(), 6);
        assert_eq!(hot.iter().filter(|l| l.ends_with(" 1")).count(), 1);
        assert!(text.contains(
            "jetdoc_check_status{id=\"docker.default-runtime\",area=\"containers\",status=\"warn\"} 1\n"
        ));
        assert!(text.contains("jetdoc_check_severity{id=\"docker.default-runtime\",area=\"containers\"} 3\n"));
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples_and_no_empty_family() {
        let r = report(vec![check("docker.daemon", Status::Pass)]);
        let mut m = metrics(&r);
        m.filesystems.clear();
        let text = render(&m, None);
        assert!(!text.contains("jetdoc_filesystem"), "no samples, no family: {text}");
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.strip_suffix(" gauge").expect("gauges only");
                assert!(!declared.contains(&name.to_string()), "{name} declared twice");
                declared.push(name.to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(Some(&name.to_string()), declared.last(), "{line} outside its family");
            }
        }
        assert!(text.contains("jetdoc_check_duration_seconds 0.004321\n"));
        assert!(text.contains("jetdoc_check_timestamp_seconds 1700000000.250\n"));
    }

    #[test]
    fn provision_block_only_when_a_state_is_given() {
        let r = report(vec![]);
        assert!(!render(&metrics(&r), None).contains("jetdoc_provision"));
        let state = ProvisionState {
            profile: "locomotion".into(),
            image_digest: Some("sha256:abc".into()),
            result: "success".into(),
            last_success: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        };
        let text = render(&metrics(&r), Some(&state));
        assert!(text.contains(
            "jetdoc_provision_info{profile=\"locomotion\",image_digest=\"sha256:abc\",result=\"success\"} 1\n"
        ));
        assert!(text.contains("jetdoc_provision_last_success_timestamp_seconds 1700000000.000\n"));
        let never = ProvisionState { last_success: None, image_digest: None, ..state };
        let text = render(&metrics(&r), Some(&never));
        assert!(text.contains("image_digest=\"\""));
        assert!(!text.contains("jetdoc_provision_last_success"), "{text}");
    }
}
