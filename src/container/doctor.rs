//! `jetdoc image doctor IMAGE`: what will go wrong with an image on this host, read from its
//! config and, statically, from its layers (never by running it).

use serde::Serialize;

use super::budget::{depth_warning, DAEMON_LIMIT, FAIL_FROM};
use super::image_config::ImageInspect;
use super::layers::{self, LayerError, SaveScan, ZeroByteFile};
use super::rules::{self, Decision, HostFacts, ImageFacts, Verdict};
use super::select::local;
use crate::context::Context;
use crate::host::docker::{Docker, DockerError};
use crate::probes::storage;
use crate::report::{Area, CheckResult, Status};
use crate::units::human_bytes;

#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("reading `docker save {image}`: {source}")]
    Layers { image: String, source: LayerError },
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageDoctor {
    pub image: String,
    pub id: String,
    pub platform: String,
    pub layers: usize,
    pub size_bytes: u64,
    pub l4t: Option<String>,
    pub cuda: Option<String>,
    pub zero_byte_files: Vec<ZeroByteFile>,
    pub checks: Vec<CheckResult>,
}

impl ImageDoctor {
    pub fn exit_code(&self) -> i32 {
        i32::from(self.checks.iter().any(|c| matches!(c.status, Status::Fail | Status::Error)))
    }
}

pub struct DoctorOptions {
    /// Read the layers (`docker save`): the only way to see zero-byte placeholders, and the
    /// slow part on a large image.
    pub scan_layers: bool,
}

pub fn run(ctx: &Context, image: &str, opts: &DoctorOptions) -> Result<ImageDoctor, DoctorError> {
    let docker = ctx.host.docker()?;
    let inspect = docker.inspect_one(image)?;
    let scan = if opts.scan_layers { Some(save_scan(docker, image)?) } else { None };
    Ok(diagnose(ctx, image, &inspect, scan.as_ref()))
}

/// Streams `docker save IMAGE` through the layer reader; nothing is written to disk. When Docker
/// fails, its error (with its stderr) is the one reported, not the short stream it left behind.
pub fn save_scan(docker: &dyn Docker, image: &str) -> Result<SaveScan, DoctorError> {
    let mut stream = docker.save(image)?;
    let scanned = layers::scan_save(&mut stream);
    stream.finish()?;
    scanned.map_err(|source| DoctorError::Layers { image: image.into(), source })
}

fn check(id: &str, status: Status, summary: String, hints: Vec<String>) -> CheckResult {
    CheckResult { id: id.into(), area: Area::Containers, status, summary, hints, fix: None }
}

/// The image judged against this host: its depth, then the rules `image select` applies (one
/// judgement: a rule that rejects an image there fails it here), its size against Docker's
/// free space, and the zero-byte placeholders in its layers.
pub fn diagnose(ctx: &Context, image: &str, inspect: &ImageInspect, scan: Option<&SaveScan>) -> ImageDoctor {
    let k = &ctx.knowledge;
    let host = HostFacts::probe(ctx);
    let mut checks = Vec::new();

    let n = inspect.layer_count();
    let flatten = format!("jetdoc image flatten {image} -t {}", flattened_name(image));
    checks.push(if n >= FAIL_FROM {
        check(
            "image.layers",
            Status::Fail,
            format!(
                "{n} filesystem layers: a build on it fails with \"max depth exceeded\" at {DAEMON_LIMIT}"
            ),
            vec![
                "`jetdoc image build` flattens such a base automatically".into(),
                format!("or flatten it once, keeping its config: `{flatten}`"),
            ],
        )
    } else if let Some(warning) = depth_warning(n) {
        check("image.layers", Status::Warn, warning, vec![format!("flatten it: `{flatten}`")])
    } else {
        check(
            "image.layers",
            Status::Pass,
            format!("{n} filesystem layers of Docker's {DAEMON_LIMIT}"),
            vec![],
        )
    });

    // Labels and ENV first, then the files in the layers, then the tag.
    let files = scan
        .map(|s| {
            let cuda = s.cuda_version_json.iter().next_back().map(|(p, t)| (p.as_str(), t.as_str()));
            ImageFacts::from_files(s.nv_tegra_release.as_deref(), cuda)
        })
        .unwrap_or_default();
    let facts = local::facts(image, inspect, files, k);
    for d in rules::evaluate(&host, &facts, k) {
        checks.push(rule_check(&d, &host, image));
    }

    checks.push(disk_check(ctx, inspect.size));

    let zero_byte = scan.map(|s| s.zero_byte.clone()).unwrap_or_default();
    checks.push(match scan {
        None => check("image.zero-byte-libs", Status::Skip, "layers not read (--no-scan)".into(), vec![]),
        Some(_) if zero_byte.is_empty() => check("image.zero-byte-libs", Status::Pass, "no zero-byte files at NVIDIA library paths".into(), vec![]),
        Some(_) => {
            let mut hints: Vec<String> = zero_byte.iter().map(|z| format!("{} (0 bytes, layer {})", z.path, z.layer)).collect();
            hints.push("these are bind-mount placeholders left by building or committing under the NVIDIA runtime: loading them fails with \"file too short\"".into());
            hints.push("rebuild with BuildKit (`DOCKER_BUILDKIT=1`), or with `--runtime runc`; never `docker commit`/`export` a container started with `--runtime nvidia`".into());
            check("image.zero-byte-libs", Status::Fail, format!("{} zero-byte files at NVIDIA library paths", zero_byte.len()), hints)
        }
    });

    ImageDoctor {
        image: image.to_string(),
        id: inspect.id.clone(),
        platform: inspect.platform(),
        layers: n,
        size_bytes: inspect.size,
        l4t: facts.l4t.value().map(|v| v.to_string()),
        cuda: facts.cuda.value().cloned(),
        zero_byte_files: zero_byte,
        checks,
    }
}

/// One rule's decision as a check: a failure carries the rule's reason and the next step.
fn rule_check(d: &Decision, host: &HostFacts, image: &str) -> CheckResult {
    let status = match d.verdict {
        Verdict::Pass => Status::Pass,
        Verdict::Fail => Status::Fail,
        Verdict::Unknown => Status::Info,
    };
    let mut hints = Vec::new();
    if d.verdict == Verdict::Fail {
        if !d.why.is_empty() {
            hints.push(d.why.clone());
        }
        hints.push(match (d.rule.as_str(), host.arch.value()) {
            ("image.arch", Some(arch)) => {
                format!("use the linux/{arch} variant: `docker pull --platform linux/{arch} {image}`")
            }
            _ => "`jetdoc image select` finds an image that fits this host".into(),
        });
    }
    check(&d.rule, status, d.message.clone(), hints)
}

fn flattened_name(image: &str) -> String {
    // A tag is after the last ':' that follows the last '/' (a registry port is not a tag).
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_start..].rfind(':') {
        Some(_) => format!("{image}-flat"),
        None => format!("{image}:flat"),
    }
}

/// A build on the image, or its flatten, writes about one more copy of it to Docker's root.
fn disk_check(ctx: &Context, size: u64) -> CheckResult {
    let docker = ctx.get::<crate::probes::Docker>();
    let Some(info) = docker.daemon.info() else {
        return check(
            "image.disk",
            Status::Skip,
            "Docker's root dir unknown: the daemon did not answer `docker info`".into(),
            vec![],
        );
    };
    let dir = &info.docker_root_dir;
    let space = storage::free_space(&ctx.host, dir);
    let Some(free) = space.value().map(|s| s.avail_bytes) else {
        let why = space.absence().map(|a| a.to_string()).unwrap_or_default();
        return check("image.disk", Status::Skip, format!("free space of {dir} not measured: {why}"), vec![]);
    };
    if free < size {
        check(
            "image.disk",
            Status::Warn,
            format!("image is {}, {} free on Docker's root {dir}: a flatten or a build on it needs about one more copy", human_bytes(size), human_bytes(free)),
            vec!["free space (`docker system prune`), or move Docker's data-root to a larger disk (`data-root` in /etc/docker/daemon.json)".into()],
        )
    } else {
        check(
            "image.disk",
            Status::Pass,
            format!("image is {}, {} free on Docker's root {dir}", human_bytes(size), human_bytes(free)),
            vec![],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l4t_rule_splits_r36_at_4() {
        let v = |s| crate::knowledge::L4tVersion::parse(s).unwrap();
        let k = crate::knowledge::Knowledge::builtin();
        let l4t_compatible = |h, i| rules::l4t_runs_on(&k, &h, &i);
        assert!(l4t_compatible(v("36.4.3"), v("36.4.0")));
        assert!(!l4t_compatible(v("36.4.3"), v("36.3.0")));
        assert!(l4t_compatible(v("35.6.0"), v("35.4.1")));
        assert!(!l4t_compatible(v("36.4.0"), v("35.4.1")));
    }

    #[test]
    fn flattened_names() {
        assert_eq!(flattened_name("localhost:5000/l4t-ml"), "localhost:5000/l4t-ml:flat");
        assert_eq!(flattened_name("roboflow/l4t-ml:r36.4"), "roboflow/l4t-ml:r36.4-flat");
    }
}
