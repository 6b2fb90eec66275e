//! `jetdoc image doctor IMAGE`: what will go wrong with an image on this host, read from its
//! config and, statically, from its layers (never by running it).

use serde::Serialize;

use super::budget::{DAEMON_LIMIT, WARN_FROM};
use super::dockerfile::labels;
use super::image_config::{self, ImageInspect, InspectError};
use super::layers::{self, LayerError, SaveScan, ZeroByteFile};
use crate::container::rules;
use crate::context::Context;
use crate::facts::{cuda_version, nv_tegra_release};
use crate::knowledge::L4tVersion;
use crate::probes::{storage, Docker, Identity, Software};
use crate::report::{Area, CheckResult, Status};

/// moby's own rule of thumb is to stop well before the limit: later steps need room.
pub const FAIL_FROM: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error(transparent)]
    Inspect(#[from] InspectError),
    #[error("cannot run `docker save {image}`: {error}")]
    Save { image: String, error: String },
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
    let inspect = image_config::inspect(&ctx.host, image)?;
    let scan = if opts.scan_layers { Some(save_scan(image)?) } else { None };
    Ok(diagnose(ctx, image, &inspect, scan.as_ref()))
}

/// Streams `docker save IMAGE` through the layer reader; nothing is written to disk.
pub fn save_scan(image: &str) -> Result<SaveScan, DoctorError> {
    let reader = duct::cmd("docker", ["save", image])
        .stdin_null()
        .stderr_capture()
        .reader()
        .map_err(|e| DoctorError::Save { image: image.into(), error: e.to_string() })?;
    layers::scan_save(&reader).map_err(|source| DoctorError::Layers { image: image.into(), source })
}

fn check(id: &str, status: Status, summary: String, hints: Vec<String>) -> CheckResult {
    CheckResult { id: id.into(), area: Area::Containers, status, summary, hints, fix: None }
}

pub fn diagnose(ctx: &Context, image: &str, inspect: &ImageInspect, scan: Option<&SaveScan>) -> ImageDoctor {
    let identity = ctx.get::<Identity>();
    let software = ctx.get::<Software>();
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
    } else if n >= WARN_FROM {
        check(
            "image.layers",
            Status::Warn,
            format!("{n} filesystem layers of Docker's {DAEMON_LIMIT}: few builds fit on top"),
            vec![format!("flatten it: `{flatten}`")],
        )
    } else {
        check(
            "image.layers",
            Status::Pass,
            format!("{n} filesystem layers of Docker's {DAEMON_LIMIT}"),
            vec![],
        )
    });

    checks.push(match identity.arch.as_deref() {
        Some(host) if host == inspect.architecture => {
            check("image.arch", Status::Pass, format!("{} matches the host", inspect.platform()), vec![])
        }
        Some(host) => check(
            "image.arch",
            Status::Fail,
            format!(
                "image is {} but the host is {host}: it runs only under emulation, if at all",
                inspect.platform()
            ),
            vec![format!("use the linux/{host} variant: `docker pull --platform linux/{host} {image}`")],
        ),
        None => check("image.arch", Status::Skip, "host architecture unknown".into(), vec![]),
    });

    let image_l4t = image_l4t(inspect, scan);
    let host_l4t = identity.l4t.value().copied();
    checks.push(match (&image_l4t, host_l4t) {
        (None, _) => check("image.l4t", Status::Info, "the image records no L4T release (no label, no /etc/nv_tegra_release)".into(), vec![]),
        (Some((v, from)), None) => check("image.l4t", Status::Info, format!("image built for L4T {v} ({from}); this host is not a Jetson"), vec![]),
        (Some((v, from)), Some(h)) if rules::l4t_runs_on(&ctx.knowledge, &h, v) => check("image.l4t", Status::Pass, format!("image L4T {v} ({from}) runs on host L4T {h}"), vec![]),
        (Some((v, from)), Some(h)) => check(
            "image.l4t",
            Status::Fail,
            format!("image L4T {v} ({from}) does not run on host L4T {h}: containers need the same L4T major and, on r36, the same side of the 36.0-36.3 / 36.4+ split"),
            vec![format!("use an image built for r{}.{}: `jetdoc image select`", h.major, h.minor)],
        ),
    });

    let image_cuda = image_cuda(inspect, scan);
    let host_cuda = software.cuda.value().map(|c| cuda_version::major_minor(c).to_string());
    checks.push(match (&image_cuda, &host_cuda) {
        (None, _) => check("image.cuda", Status::Info, "the image records no CUDA version".into(), vec![]),
        (Some((v, from)), None) => check("image.cuda", Status::Info, format!("image CUDA {v} ({from}); no CUDA on this host"), vec![]),
        (Some((v, from)), Some(h)) if cuda_version::major_minor(v) == h => check("image.cuda", Status::Pass, format!("image CUDA {v} ({from}) matches the host's {h}"), vec![]),
        (Some((v, from)), Some(h)) => check(
            "image.cuda",
            Status::Warn,
            format!("image CUDA {v} ({from}) differs from the host's CUDA {h}"),
            vec!["an image that carries its own CUDA needs a new enough driver (L4T); pick one built for the host's CUDA".into()],
        ),
    });

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
        l4t: image_l4t.map(|(v, _)| v.to_string()),
        cuda: image_cuda.map(|(v, _)| v),
        zero_byte_files: zero_byte,
        checks,
    }
}

fn flattened_name(image: &str) -> String {
    // A tag is after the last ':' that follows the last '/' (a registry port is not a tag).
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_start..].rfind(':') {
        Some(_) => format!("{image}-flat"),
        None => format!("{image}:flat"),
    }
}

fn image_l4t(inspect: &ImageInspect, scan: Option<&SaveScan>) -> Option<(L4tVersion, String)> {
    if let Some(v) = inspect.label(labels::L4T).and_then(L4tVersion::parse) {
        return Some((v, format!("label {}", labels::L4T)));
    }
    let text = scan?.nv_tegra_release.as_deref()?;
    nv_tegra_release::parse(text).ok().map(|r| (r.version, "/etc/nv_tegra_release".into()))
}

fn image_cuda(inspect: &ImageInspect, scan: Option<&SaveScan>) -> Option<(String, String)> {
    if let Some(v) = inspect.label(labels::CUDA) {
        return Some((v.to_string(), format!("label {}", labels::CUDA)));
    }
    if let Some(v) = inspect.env_var("CUDA_VERSION") {
        return Some((v.to_string(), "ENV CUDA_VERSION".into()));
    }
    let (path, text) = scan?.cuda_version_json.iter().next_back()?;
    cuda_version::from_version_json(text).ok().map(|v| (v, path.clone()))
}

/// A build on the image, or its flatten, writes about one more copy of it to Docker's root.
fn disk_check(ctx: &Context, size: u64) -> CheckResult {
    let docker = ctx.get::<Docker>();
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
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
    if free < size {
        check(
            "image.disk",
            Status::Warn,
            format!("image is {}, {} free on Docker's root {dir}: a flatten or a build on it needs about one more copy", gib(size), gib(free)),
            vec!["free space (`docker system prune`), or move Docker's data-root to a larger disk (`data-root` in /etc/docker/daemon.json)".into()],
        )
    } else {
        check(
            "image.disk",
            Status::Pass,
            format!("image is {}, {} free on Docker's root {dir}", gib(size), gib(free)),
            vec![],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l4t_rule_splits_r36_at_4() {
        let v = |s| L4tVersion::parse(s).unwrap();
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
