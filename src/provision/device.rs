//! The device a profile is resolved against: the facts resolution needs, gathered once from the
//! `Context` (files first, as every probe does) into plain data. Resolution itself
//! (`resolve.rs`) is a pure function of this snapshot, the profile and the knowledge tables.

use serde::Serialize;

use crate::context::Context;
use crate::probes::cameras::{Bus, Cameras};
use crate::probes::identity::JetpackFrom;
use crate::probes::{Gpus, Identity, Memory, Software, Storage};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Device {
    pub jetson: bool,
    pub model: Option<String>,
    pub module: Option<String>,
    /// The module's part number (`p3767-0005`).
    pub module_part: Option<String>,
    pub soc: Option<String>,
    pub l4t: Option<String>,
    pub jetpack: Option<String>,
    /// `table`, `package` (nvidia-jetpack) or `family` (only the L4T major is known).
    pub jetpack_from: Option<String>,
    pub cuda: Option<String>,
    pub ubuntu: Option<String>,
    pub python: Option<String>,
    /// Debian architecture (`arm64`, `amd64`).
    pub arch: Option<String>,
    /// NVIDIA GPUs of a non-Jetson host (name, from NVML or nvidia-smi).
    pub gpus: Vec<String>,
    /// Why no GPU was found, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_absent: Option<String>,
    pub ram_bytes: Option<u64>,
    /// Docker's data root and the free space on its filesystem.
    pub docker_root: String,
    pub docker_free_bytes: Option<u64>,
    pub cameras: Vec<DeviceCamera>,
    pub display: Display,
    /// `$HOME` of the invoking session (for `~/` mount sources).
    #[serde(skip)]
    pub home: Option<String>,
    /// Inside a container, the facts describe the image: said in the plan.
    pub container: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceCamera {
    pub name: String,
    /// `usb`, `csi`, `gmsl` or `other`.
    pub bus: String,
    /// `/dev/videoN` nodes, capture node first.
    pub nodes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Display {
    /// `$DISPLAY` of the invoking session.
    pub display: Option<String>,
    /// `/tmp/.X11-unix` exists.
    pub x11_socket_dir: bool,
    /// Whether the X server admits local containers (`xhost` lists `LOCAL:` or root, or access
    /// control is off); `None` when `xhost` could not be asked.
    pub admits_local: Option<bool>,
    /// What `xhost` said, or why it was not asked.
    pub xhost: Option<String>,
}

impl Device {
    pub fn probe(ctx: &Context) -> Device {
        let id = ctx.get::<Identity>();
        let sw = ctx.get::<Software>();
        let mem = ctx.get::<Memory>();
        let storage = ctx.get::<Storage>();
        let cameras = ctx.get::<Cameras>();
        let (gpus, gpu_absent) = if id.jetson {
            (Vec::new(), None)
        } else {
            let g = ctx.get::<Gpus>();
            match g.driver.value() {
                Some(d) => (d.gpus.iter().map(|g| g.name.clone()).collect(), None),
                None => (Vec::new(), g.driver.absence().map(|a| a.to_string())),
            }
        };
        let cuda = sw.cuda.value().cloned().or_else(|| {
            let v = id.l4t.value()?;
            ctx.knowledge.release(v).map(|r| r.cuda().to_string())
        });
        Device {
            jetson: id.jetson,
            model: id.model.value().cloned(),
            module: id.module_name().map(str::to_string),
            module_part: id.module.as_ref().map(|m| m.part.clone()),
            soc: id.soc.value().cloned(),
            l4t: id.l4t.value().map(|v| v.to_string()),
            jetpack: id.jetpack.as_ref().map(|j| j.version.clone()),
            jetpack_from: id.jetpack.as_ref().map(|j| {
                match j.from {
                    JetpackFrom::Table => "table",
                    JetpackFrom::Package => "package",
                    JetpackFrom::Family => "family",
                }
                .to_string()
            }),
            cuda,
            ubuntu: sw.ubuntu.value().filter(|_| sw.os_id.as_deref() == Some("ubuntu")).cloned(),
            python: sw.python.value().cloned(),
            arch: id.arch.clone(),
            gpus,
            gpu_absent,
            ram_bytes: mem.ram.value().map(|r| r.total_bytes),
            docker_root: storage.docker_root.path.clone(),
            docker_free_bytes: storage.docker_root.space.value().map(|s| s.avail_bytes),
            cameras: cameras
                .cameras
                .iter()
                .map(|c| DeviceCamera {
                    name: c.name.clone(),
                    bus: match c.bus {
                        Bus::Usb { .. } => "usb",
                        Bus::Csi { .. } => "csi",
                        Bus::Gmsl { .. } => "gmsl",
                        Bus::Other { .. } => "other",
                    }
                    .to_string(),
                    nodes: c.nodes.iter().map(|n| n.dev.clone()).collect(),
                })
                .collect(),
            display: display(ctx),
            home: ctx.host.env("HOME").filter(|h| h.starts_with('/')),
            container: id.container.is_some(),
        }
    }

    /// `jetson` or `x86_64`; `None` for anything else (an arm64 server, an unknown machine).
    pub fn platform(&self) -> Option<super::profile::PlatformKind> {
        use super::profile::PlatformKind;
        if self.jetson {
            Some(PlatformKind::Jetson)
        } else if self.arch.as_deref() == Some("amd64") {
            Some(PlatformKind::X86_64)
        } else {
            None
        }
    }

    /// One line: `NVIDIA Jetson AGX Orin (64GB ram) p3701-0005 · L4T 36.4.3 · JetPack 6.2 · ...`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let name = self.module.clone().or_else(|| self.model.clone());
        match (name, &self.module_part) {
            (Some(n), Some(p)) => parts.push(format!("{n} ({p})")),
            (Some(n), None) => parts.push(n),
            (None, Some(p)) => parts.push(p.clone()),
            (None, None) if self.jetson => parts.push("unknown Jetson".into()),
            (None, None) => parts.push(if self.arch.as_deref() == Some("amd64") {
                "x86_64 machine".into()
            } else {
                "not a Jetson".into()
            }),
        }
        if let Some(l) = &self.l4t {
            parts.push(format!("L4T {l}"));
        }
        if let Some(j) = &self.jetpack {
            let from = match self.jetpack_from.as_deref() {
                Some("package") => " (nvidia-jetpack)",
                Some("family") => " (family default)",
                _ => "",
            };
            parts.push(format!("JetPack {j}{from}"));
        }
        if let Some(c) = &self.cuda {
            parts.push(format!("CUDA {c}"));
        }
        if let Some(u) = &self.ubuntu {
            parts.push(format!("Ubuntu {u}"));
        }
        if let Some(g) = self.gpus.first() {
            parts.push(if self.gpus.len() > 1 {
                format!("{g} (+{} GPUs)", self.gpus.len() - 1)
            } else {
                g.clone()
            });
        }
        if let Some(a) = &self.arch {
            parts.push(a.clone());
        }
        parts.join(" · ")
    }
}

/// What the invoking session's display offers a container: `$DISPLAY`, the X11 socket
/// directory, and whether the X server's access list admits a local (root) client.
fn display(ctx: &Context) -> Display {
    let host = &ctx.host;
    let display = host.env("DISPLAY").filter(|d| !d.is_empty());
    let x11_socket_dir = host.is_dir("/tmp/.X11-unix");
    if display.is_none() {
        return Display { display, x11_socket_dir, admits_local: None, xhost: Some("no $DISPLAY".into()) };
    }
    let out = host.run("xhost", &[]);
    if !out.success() {
        return Display {
            display,
            x11_socket_dir,
            admits_local: None,
            xhost: Some(out.describe_failure("xhost")),
        };
    }
    Display {
        display,
        x11_socket_dir,
        admits_local: Some(xhost_admits_local(&out.stdout)),
        xhost: Some(out.stdout.trim().to_string()),
    }
}

/// `xhost` output: `access control disabled, clients can connect from any host`, or `access
/// control enabled, only authorized clients can connect` followed by entries such as `LOCAL:`
/// (`xhost +local:`) or `SI:localuser:root` (`xhost +SI:localuser:root`). A container's X client
/// connects through the socket as root.
pub fn xhost_admits_local(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim);
    if lines.next().is_some_and(|l| l.starts_with("access control disabled")) {
        return true;
    }
    lines.any(|l| l == "LOCAL:" || l.eq_ignore_ascii_case("SI:localuser:root"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xhost_access_lists() {
        assert!(xhost_admits_local("access control disabled, clients can connect from any host\n"));
        assert!(xhost_admits_local(
            "access control enabled, only authorized clients can connect\nLOCAL:\nSI:localuser:dev\n"
        ));
        assert!(xhost_admits_local(
            "access control enabled, only authorized clients can connect\nSI:localuser:root\n"
        ));
        assert!(!xhost_admits_local(
            "access control enabled, only authorized clients can connect\nSI:localuser:dev\n"
        ));
    }
}
