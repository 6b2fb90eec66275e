//! The software stack: CUDA, cuDNN, TensorRT, VPI, OpenCV, Ubuntu, kernel and Python — from files
//! and the dpkg database, never from meta-packages (`nvidia-tensorrt 6.2.1+b38` is a JetPack
//! version, not TensorRT's).

use crate::context::{Context, Probe};
use crate::fact::Fact;
use crate::facts::dpkg_status::upstream_version;
use crate::facts::{cuda_version, os_release};
use crate::host::{Absence, Reason};
use crate::probes::Packages;

pub struct Software {
    pub cuda: Fact<String>,
    /// Every CUDA toolkit directory (`/usr/local/cuda-12.6`): several can coexist on JetPack 5+.
    pub cuda_toolkits: Vec<String>,
    pub cudnn: Fact<String>,
    pub tensorrt: Fact<String>,
    pub vpi: Fact<String>,
    pub opencv: Fact<String>,
    pub os_id: Option<String>,
    pub ubuntu: Fact<String>,
    pub os_pretty: Option<String>,
    pub kernel: Fact<String>,
    pub python: Fact<String>,
}

impl Probe for Software {
    fn probe(ctx: &Context) -> Self {
        let packages = ctx.get::<Packages>();
        let os = ctx.host.read_text("/etc/os-release").map(|t| os_release::parse(&t));
        let (os_id, os_pretty, ubuntu) = match &os {
            Ok(m) => (
                m.get("ID").cloned(),
                m.get("PRETTY_NAME").cloned(),
                match m.get("VERSION_ID") {
                    Some(v) => Fact::known(v.clone(), "/etc/os-release"),
                    None => Fact::absent("/etc/os-release", Reason::Malformed("no VERSION_ID".into())),
                },
            ),
            Err(a) => (None, None, Fact::Absent(a.clone())),
        };
        Software {
            cuda: cuda(ctx, &packages),
            cuda_toolkits: cuda_toolkits(ctx),
            cudnn: from_packages(&packages, "cuDNN", |n| {
                // libcudnn8, libcudnn9-cuda-12 (JP6), cudnn9-cuda-12; not the nvidia-cudnn meta-package.
                let rest = n.strip_prefix("libcudnn").or_else(|| n.strip_prefix("cudnn"));
                rest.is_some_and(|r| {
                    r.chars().next().is_some_and(|c| c.is_ascii_digit())
                        && !r.contains("-dev")
                        && !r.contains("samples")
                })
            }),
            tensorrt: from_packages(&packages, "TensorRT", |n| {
                n == "tensorrt"
                    || n.strip_prefix("libnvinfer")
                        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
            }),
            vpi: from_packages(&packages, "VPI", |n| {
                n.strip_prefix("libnvvpi")
                    .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
            }),
            opencv: from_packages(&packages, "OpenCV", |n| {
                n == "libopencv" || n == "libopencv-dev" || n.starts_with("libopencv-core")
            }),
            os_id,
            ubuntu,
            os_pretty,
            kernel: ctx
                .host
                .read_text("/proc/sys/kernel/osrelease")
                .map(|k| Fact::known(k.trim().to_string(), "/proc/sys/kernel/osrelease"))
                .unwrap_or_else(Fact::Absent),
            python: python(ctx),
        }
    }
}

fn cuda(ctx: &Context, packages: &Packages) -> Fact<String> {
    let host = &ctx.host;
    let read = |path: &str, parse: fn(&str) -> Result<String, String>| -> Fact<String> {
        match host.read_text(path) {
            Ok(t) => match parse(&t) {
                Ok(v) => Fact::known(v, path),
                Err(e) => Fact::Absent(Absence::malformed(path, e)),
            },
            Err(a) => Fact::Absent(a),
        }
    };
    read("/usr/local/cuda/version.json", cuda_version::from_version_json)
        .or_else(|| read("/usr/local/cuda/version.txt", cuda_version::from_version_txt))
        .or_else(|| {
            // The /usr/local/cuda link can be missing while a versioned toolkit is installed.
            let newest = cuda_toolkits(ctx).into_iter().last();
            match newest {
                Some(dir) => read(&format!("{dir}/version.json"), cuda_version::from_version_json)
                    .or_else(|| read(&format!("{dir}/version.txt"), cuda_version::from_version_txt)),
                None => Fact::absent("/usr/local/cuda-*", Reason::Missing),
            }
        })
        .or_else(|| {
            match packages.installed_matching(|n| n.starts_with("cuda-cudart-") && !n.contains("dev")).last()
            {
                Some(p) => Fact::known(upstream_version(&p.version).to_string(), format!("dpkg: {}", p.name)),
                None => Fact::absent("dpkg: cuda-cudart-*", Reason::Missing),
            }
        })
        .or_else(|| {
            let out = host.run("nvcc", &["--version"]);
            match out.success().then(|| cuda_version::from_nvcc(&out.stdout)) {
                Some(Ok(v)) => Fact::known(v, "nvcc --version"),
                _ => Fact::absent(
                    "nvcc --version",
                    Reason::NotApplicable(out.describe_failure("nvcc --version")),
                ),
            }
        })
}

/// `/usr/local/cuda-*` toolkit directories, oldest first.
fn cuda_toolkits(ctx: &Context) -> Vec<String> {
    let mut dirs: Vec<(Vec<u32>, String)> = ctx
        .host
        .read_dir("/usr/local")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|name| {
            let v = name.strip_prefix("cuda-")?;
            let key: Vec<u32> = v.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
            Some((key, format!("/usr/local/{name}")))
        })
        .filter(|(_, d)| ctx.host.is_dir(d))
        .collect();
    dirs.sort();
    dirs.into_iter().map(|(_, d)| d).collect()
}

fn from_packages(packages: &Packages, what: &str, pred: impl Fn(&str) -> bool) -> Fact<String> {
    if let Err(a) = &packages.status {
        return Fact::Absent(a.clone());
    }
    // Prefer the highest library generation (libcudnn9 over libcudnn8 when both linger).
    match packages.installed_matching(pred).last() {
        Some(p) => Fact::known(upstream_version(&p.version).to_string(), format!("dpkg: {}", p.name)),
        None => Fact::absent(
            "/var/lib/dpkg/status",
            Reason::NotApplicable(format!("no {what} package installed")),
        ),
    }
}

/// Python 3 from the interpreter's file name (`/usr/bin/python3 -> python3.10`): no interpreter
/// start needed.
fn python(ctx: &Context) -> Fact<String> {
    const PY: &str = "/usr/bin/python3";
    match ctx.host.canonical(PY) {
        Ok(real) if ctx.host.exists(&real) => {
            let name = real.rsplit('/').next().unwrap_or("");
            match name.strip_prefix("python").filter(|v| v.contains('.')) {
                Some(v) => Fact::known(v.to_string(), format!("{PY} -> {real}")),
                None => Fact::absent(PY, Reason::Malformed(format!("cannot tell the version from {real}"))),
            }
        }
        Ok(_) => Fact::absent(PY, Reason::Missing),
        Err(a) => Fact::Absent(a),
    }
}
