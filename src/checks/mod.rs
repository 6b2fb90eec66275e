//! Checks: one file per check, each a `CheckDef` with a stable dotted id. The registry below
//! lists them all in report order. A check reads the world only through the `Context`; a check
//! that panics becomes an `error` result, never a crash.

mod cameras_access;
mod cameras_argus;
mod cameras_detected;
mod cameras_usb_speed;
mod cuda_version;
mod device_container;
mod device_jetson;
mod docker_cgroup_driver;
mod docker_client;
pub mod docker_common;
mod docker_daemon;
mod docker_daemon_json;
mod docker_default_runtime;
mod docker_gpus;
pub mod docker_group;
pub mod docker_iptables_raw;
mod docker_nvidia_runtime;
mod docker_storage_driver;
mod free_space;
mod gpu_driver;
mod gpu_jetson_nodes;
mod l4t_consistency;
mod l4t_jetpack;
mod l4t_lifecycle;
mod l4t_release;
mod storage_docker_root;
mod storage_root_free;
mod system_cpu;
mod system_memory;
mod system_power_mode;
mod toolkit_cdi;
mod toolkit_csv;
mod toolkit_mode;
mod toolkit_nvidia_ctk;
mod toolkit_packages;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};

use crate::context::Context;
use crate::facts::docker_info::Unreachable;
use crate::probes::docker::DaemonState;
use crate::probes::{Cameras, Docker, Gpus, Identity, Memory, Power, Software, Storage};
use crate::report::{Area, CheckResult, DeviceSummary, Report, Status};

/// What a check returns: everything of a result but its id and area.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub summary: String,
    pub hints: Vec<String>,
    pub fix: Option<String>,
}

impl Outcome {
    fn new(status: Status, summary: impl Into<String>) -> Outcome {
        Outcome { status, summary: summary.into(), hints: Vec::new(), fix: None }
    }
    pub fn pass(s: impl Into<String>) -> Outcome {
        Outcome::new(Status::Pass, s)
    }
    pub fn info(s: impl Into<String>) -> Outcome {
        Outcome::new(Status::Info, s)
    }
    pub fn warn(s: impl Into<String>) -> Outcome {
        Outcome::new(Status::Warn, s)
    }
    pub fn fail(s: impl Into<String>) -> Outcome {
        Outcome::new(Status::Fail, s)
    }
    pub fn skip(s: impl Into<String>) -> Outcome {
        Outcome::new(Status::Skip, s)
    }
    pub fn error(s: impl Into<String>) -> Outcome {
        Outcome::new(Status::Error, s)
    }
    pub fn hint(mut self, h: impl Into<String>) -> Outcome {
        self.hints.push(h.into());
        self
    }
    pub fn fix(mut self, id: &str) -> Outcome {
        self.fix = Some(id.to_string());
        self
    }
}

pub struct CheckDef {
    pub id: &'static str,
    pub area: Area,
    /// One line for `jetdoc check --list`.
    pub title: &'static str,
    pub run: fn(&Context) -> Outcome,
}

/// Every check, in report order.
pub fn registry() -> Vec<&'static CheckDef> {
    vec![
        &device_jetson::CHECK,
        &device_container::CHECK,
        &l4t_release::CHECK,
        &l4t_jetpack::CHECK,
        &l4t_lifecycle::CHECK,
        &l4t_consistency::CHECK,
        &cuda_version::CHECK,
        &gpu_driver::CHECK,
        &gpu_jetson_nodes::CHECK,
        &cameras_detected::CHECK,
        &cameras_usb_speed::CHECK,
        &cameras_access::CHECK,
        &cameras_argus::CHECK,
        &storage_root_free::CHECK,
        &storage_docker_root::CHECK,
        &system_memory::CHECK,
        &system_cpu::CHECK,
        &system_power_mode::CHECK,
        &docker_client::CHECK,
        &docker_daemon::CHECK,
        &docker_daemon_json::CHECK,
        &docker_nvidia_runtime::CHECK,
        &docker_default_runtime::CHECK,
        &docker_storage_driver::CHECK,
        &docker_cgroup_driver::CHECK,
        &docker_iptables_raw::CHECK,
        &docker_group::CHECK,
        &docker_gpus::CHECK,
        &toolkit_packages::CHECK,
        &toolkit_nvidia_ctk::CHECK,
        &toolkit_mode::CHECK,
        &toolkit_csv::CHECK,
        &toolkit_cdi::CHECK,
    ]
}

/// `--only` / `--skip`: each pattern is an id (`docker.default-runtime`), an id prefix
/// (`docker`), or an area (`containers`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Selection {
    fn matches(pattern: &str, def: &CheckDef) -> bool {
        def.id == pattern || def.id.starts_with(&format!("{pattern}.")) || def.area.as_str() == pattern
    }

    pub fn selects(&self, def: &CheckDef) -> bool {
        (self.only.is_empty() || self.only.iter().any(|p| Self::matches(p, def)))
            && !self.skip.iter().any(|p| Self::matches(p, def))
    }

    /// Patterns that select no check at all: a typo should be an error, not an empty report.
    pub fn unknown_patterns(&self) -> Vec<String> {
        let all = registry();
        self.only
            .iter()
            .chain(&self.skip)
            .filter(|p| !all.iter().any(|d| Self::matches(p, d)))
            .cloned()
            .collect()
    }
}

thread_local! {
    static IN_CHECK: Cell<bool> = const { Cell::new(false) };
}

/// Keeps the default panic message off the terminal while a check runs: the panic becomes an
/// `error` result carrying the message instead. Other panics still print.
pub fn install_panic_hook() {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !IN_CHECK.with(Cell::get) {
            default(info);
        }
    }));
}

pub fn run_one(ctx: &Context, def: &CheckDef) -> CheckResult {
    IN_CHECK.with(|c| c.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| (def.run)(ctx)));
    IN_CHECK.with(|c| c.set(false));
    let outcome = outcome.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Outcome::error(format!("the check crashed: {msg}"))
            .hint("this is a jetdoc bug: please report it with the output of `jetdoc check --format json`")
    });
    CheckResult {
        id: def.id.to_string(),
        area: def.area,
        status: outcome.status,
        summary: outcome.summary,
        hints: outcome.hints,
        fix: outcome.fix,
    }
}

/// Containers-area checks that read only what the Docker daemon answers (and the CLI beside
/// jetdoc). Inside a container whose socket reaches a daemon, that daemon is the host's: these
/// still run against it; the other containers-area checks read the host's files (daemon.json,
/// the toolkit, groups, kernel modules), which a container does not see, and skip.
const ENGINE_CHECKS: [&str; 6] = [
    "docker.client",
    "docker.daemon",
    "docker.nvidia-runtime",
    "docker.default-runtime",
    "docker.storage-driver",
    "docker.cgroup-driver",
];

/// Runs the selected checks and builds the report.
pub fn run(ctx: &Context, selection: &Selection) -> Report {
    let mut defs = registry();
    defs.retain(|d| selection.selects(d));
    defs.sort_by_key(|d| d.area);
    let in_container =
        defs.iter().any(|d| d.area == Area::Containers) && ctx.get::<Identity>().container.is_some();
    let checks = defs
        .into_iter()
        .map(|d| match d.area {
            Area::Containers if in_container => in_container_result(ctx, d),
            _ => run_one(ctx, d),
        })
        .collect();
    let (device, facts) = device_summary(ctx);
    Report::new(device, facts, checks)
}

/// A containers-area check run from inside a container. The device facts describe the image;
/// the Docker engine and the NVIDIA runtime belong to the host. When the host's daemon answers
/// (a devcontainer or CI job with the socket mounted) the checks of what it answers run, and
/// their fixes are named as commands for the host; everything else says why it skips.
fn in_container_result(ctx: &Context, def: &CheckDef) -> CheckResult {
    let docker = ctx.get::<Docker>();
    let skip = |summary: String| CheckResult {
        id: def.id.to_string(),
        area: def.area,
        status: Status::Skip,
        summary,
        hints: Vec::new(),
        fix: None,
    };
    if docker.daemon.info().is_none() {
        let why = match &docker.daemon {
            DaemonState::NotInstalled => "no Docker CLI in this container".to_string(),
            DaemonState::Unreachable(Unreachable::DaemonDown(_)) => {
                "nothing answers on the Docker socket".into()
            }
            _ => docker_common::why_no_daemon(&docker).unwrap_or_default(),
        };
        // The whole story once, on docker.daemon; the others point at the way out.
        return skip(if def.id == "docker.daemon" {
            format!(
                "inside a container and no Docker daemon answers ({why}): the engine and NVIDIA runtime are \
                 the host's; mount its socket (-v /var/run/docker.sock:/var/run/docker.sock) or run `jetdoc check` on the host"
            )
        } else {
            "inside a container and no Docker daemon answers: run `jetdoc check` on the host".into()
        });
    }
    if !ENGINE_CHECKS.contains(&def.id) {
        return skip("inside a container: the host's files it reads are not visible here; run `jetdoc check` on the host".into());
    }
    let mut result = run_one(ctx, def);
    if let Some(fix) = result.fix.take() {
        // `jetdoc fix` here would edit the container's files, not the host's.
        result.hints.push(format!("these are the host's settings: run `sudo jetdoc fix {fix}` on the host"));
    }
    result
}

fn fact_json<T: serde::Serialize>(f: &T) -> serde_json::Value {
    serde_json::to_value(f).unwrap_or(serde_json::Value::Null)
}

pub fn device_summary(ctx: &Context) -> (DeviceSummary, BTreeMap<String, serde_json::Value>) {
    let id = ctx.get::<Identity>();
    let sw = ctx.get::<Software>();
    let device = DeviceSummary {
        jetson: id.jetson,
        model: id.model.value().cloned(),
        module: id.module_name().map(str::to_string).or_else(|| id.module.as_ref().map(|m| m.part.clone())),
        module_part: id.module.as_ref().map(|m| m.part.clone()),
        soc: id.soc.value().cloned(),
        l4t: id.l4t.value().map(|v| v.to_string()),
        jetpack: id.jetpack.as_ref().map(|j| j.version.clone()),
        cuda: sw.cuda.value().cloned(),
        cudnn: sw.cudnn.value().cloned(),
        tensorrt: sw.tensorrt.value().cloned(),
        ubuntu: sw.ubuntu.value().filter(|_| sw.os_id.as_deref() == Some("ubuntu")).cloned(),
        os: sw.os_pretty.clone(),
        python: sw.python.value().cloned(),
        kernel: sw.kernel.value().cloned(),
        arch: id.arch.clone(),
        container: id.container.is_some(),
    };
    let mut facts = BTreeMap::new();
    facts.insert("model".into(), fact_json(&id.model));
    facts.insert("soc".into(), fact_json(&id.soc));
    facts.insert("l4t".into(), fact_json(&id.l4t));
    facts.insert("cuda".into(), fact_json(&sw.cuda));
    facts.insert("cudnn".into(), fact_json(&sw.cudnn));
    facts.insert("tensorrt".into(), fact_json(&sw.tensorrt));
    facts.insert("vpi".into(), fact_json(&sw.vpi));
    facts.insert("opencv".into(), fact_json(&sw.opencv));
    facts.insert("ubuntu".into(), fact_json(&sw.ubuntu));
    facts.insert("kernel".into(), fact_json(&sw.kernel));
    facts.insert("python".into(), fact_json(&sw.python));
    if let Some(m) = &id.module {
        facts.insert(
            "module_part".into(),
            serde_json::json!({ "value": m.part, "source": id.compatible.source() }),
        );
    }
    if let Some(c) = &id.container {
        facts.insert("container".into(), serde_json::json!({ "value": true, "source": c }));
    }
    if !id.jetson {
        let gpus = ctx.get::<Gpus>();
        facts.insert("nvidia_driver".into(), fact_json(&gpus.driver));
    }
    // Details of the areas the selected checks looked at (never probed just for the report).
    if let Some(c) = ctx.peek::<Cameras>() {
        let value = match &c.sysfs {
            Ok(()) => serde_json::json!({ "value": c.cameras, "source": "/sys/class/video4linux" }),
            Err(a) => fact_json(&crate::fact::Fact::<()>::Absent(a.clone())),
        };
        facts.insert("cameras".into(), value);
    }
    if let Some(s) = ctx.peek::<Storage>() {
        facts.insert("root_volume".into(), fact_json(&s.root));
        facts.insert("docker_volume".into(), fact_json(&s.docker_root));
    }
    if let Some(m) = ctx.peek::<Memory>() {
        facts.insert("ram".into(), fact_json(&m.ram));
        facts.insert(
            "swap_bytes".into(),
            serde_json::json!({ "value": m.swap_total_bytes(), "source": m.swaps.source() }),
        );
        facts.insert("cpus".into(), fact_json(&m.cpus));
    }
    if let Some(p) = ctx.peek::<Power>() {
        facts.insert("power_mode".into(), fact_json(&p.current));
    }
    (device, facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_dotted_and_lowercase() {
        let mut seen = HashSet::new();
        for d in registry() {
            assert!(seen.insert(d.id), "duplicate id {}", d.id);
            assert!(
                d.id.contains('.')
                    && d.id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'),
                "{}",
                d.id
            );
        }
    }

    #[test]
    fn selection_by_id_prefix_and_area() {
        let sel = Selection { only: vec!["l4t".into()], skip: vec!["l4t.lifecycle".into()] };
        let ids: Vec<_> = registry().into_iter().filter(|d| sel.selects(d)).map(|d| d.id).collect();
        assert!(
            ids.contains(&"l4t.release") && !ids.contains(&"l4t.lifecycle") && !ids.contains(&"cuda.version")
        );
        assert_eq!(Selection { only: vec!["nope".into()], skip: vec![] }.unknown_patterns(), vec!["nope"]);
        assert!(Selection { only: vec!["device".into()], skip: vec![] }.unknown_patterns().is_empty());
    }

    /// `jetdoc check` parses only `knowledge::CHECK_TABLES`: every check on every fixture root
    /// reports the same with those as with every table (a check that starts reading another
    /// table fails here, not silently).
    #[test]
    fn the_check_tables_are_all_the_checks_read() {
        use crate::host::{EnvSource, FakeRunner, OfflineRunner};
        use crate::knowledge::{Knowledge, CHECK_TABLES};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysroots");
        let mut roots: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        roots.sort();
        assert!(roots.len() >= 20);
        for root in roots {
            let report = |knowledge: Knowledge| {
                let commands = root.join("commands.toml");
                let (runner, env): (Box<dyn crate::host::CommandRunner>, _) = if commands.exists() {
                    let fake = FakeRunner::load(&commands).unwrap();
                    let env = EnvSource::Map(fake.env());
                    (Box::new(fake), env)
                } else {
                    (Box::new(OfflineRunner), EnvSource::Map(Default::default()))
                };
                let ctx = Context::new(Host::with_root(&root, runner, env).unwrap(), knowledge);
                crate::report::json::render(&run(&ctx, &Selection::default()))
            };
            assert_eq!(
                report(Knowledge::builtin_only(CHECK_TABLES.iter().copied())),
                report(Knowledge::builtin()),
                "{}",
                root.display()
            );
        }
    }

    static PANICS: CheckDef =
        CheckDef { id: "test.panics", area: Area::System, title: "panics", run: |_| panic!("boom") };

    #[test]
    fn a_panicking_check_becomes_an_error_result() {
        let host = crate::host::Host::live();
        let ctx = Context::new(host, crate::knowledge::Knowledge::builtin());
        let r = run_one(&ctx, &PANICS);
        assert_eq!(r.status, Status::Error);
        assert!(r.summary.contains("boom"));
    }
}
