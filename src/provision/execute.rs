//! A provision, carried out: under the state-directory lock, check (and `--fix`), decide whether
//! anything changed since the last successful provision ("up to date": nothing transferred,
//! nothing rebuilt), plan, then hand the executor one plan of steps: fetch the downloads, pull
//! the base, build the image within the layer budget, smoke-test it, tag it, start it. The state
//! file records the result (success, or the step that failed and how to resume); `--lock`
//! writes the lock file.
//!
//! Every change goes through `crate::steps` (journal, rollback): a build whose smoke test fails
//! is rolled back to the image that was there before. Docker is reached only through the Host
//! (`host.docker()`); downloads through the fetch engine; wheels through the fetch core's
//! target and resolver.

use serde::Serialize;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use std::time::{Duration, Instant};

use super::build::ImageRecipe;
use super::lock::{Lock, LockArtifact, LockBase, LockImage, LockWheel};
use super::plan::{self, Plan, Sources};
use super::profile::Profile;
use super::resolve::{Resolved, RunResolution};
use super::stage::{self, Placed};
use super::state::{self, Outcome, ProfileState, SmokeResult, State, StateArtifact, StateDevice, StateImage};
use crate::container::dockerfile::{self, labels, BuildInput};
use crate::container::image_config::ImageInspect;
use crate::container::registry::{Credentials, RegistryClient};
use crate::container::select::SelectReporter;
use crate::context::Context;
use crate::fetch::wheels::{self, requirements, Resolver};
use crate::fetch::{Artifact, Fetcher};
use crate::host::docker::{self as hd, Docker};
use crate::host::Reason;
use crate::steps::{self, Executor, Step, StepCx, StepError, Undo};

/// What a provision may do, from the command line.
pub struct Options {
    pub fix: bool,
    pub force: bool,
    pub no_run: bool,
    pub offline: bool,
    /// Where the profile's `[[files]]` are taken from (default: the profile's directory).
    pub context: Option<PathBuf>,
    pub cache_dir: PathBuf,
    /// `docker build --network` for RUN steps.
    pub build_network: Option<String>,
    /// `--lock FILE`.
    pub lock_out: Option<PathBuf>,
    /// `--locked FILE`, read.
    pub locked: Option<(Lock, PathBuf)>,
    pub registry_timeout: Duration,
    pub credentials: Credentials,
    /// Fetch options besides the cache (retries, jobs).
    pub fetch: crate::fetch::Options,
}

/// Progress of a provision; the command layer draws it (core never prints).
pub trait Reporter: steps::Reporter + crate::fetch::Reporter + SelectReporter {
    /// A line Docker printed while pulling or building.
    fn docker_line(&self, line: &str);
    /// Something the user should read now (a fix applied, a warning).
    fn note(&self, line: &str);
}

/// How a provision ended.
#[derive(Debug, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Finished {
    /// Nothing changed since the last successful provision: nothing was transferred or rebuilt.
    UpToDate {
        state: ProfileState,
        started: bool,
    },
    Provisioned {
        state: ProfileState,
        lock: Option<PathBuf>,
        transferred_bytes: u64,
    },
    /// A check, a requirement or the lock stopped it; only `--fix` fixes may have run before.
    Stopped {
        blocked_by: Vec<String>,
        plan: Box<Plan>,
        fixes: Vec<FixRun>,
    },
    Refused {
        refused: super::Refused,
    },
    /// A step failed; the state says which and how to resume.
    Failed {
        state: ProfileState,
        step: String,
        message: String,
        output: Option<String>,
        resume: String,
    },
}

impl Finished {
    pub fn exit_code(&self) -> i32 {
        match self {
            Finished::UpToDate { .. } | Finished::Provisioned { .. } => 0,
            _ => 1,
        }
    }
}

/// A fix `--fix` applied, and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct FixRun {
    pub fix: String,
    /// Why it failed (it was rolled back) or refused; `None`: applied.
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Exec(#[from] steps::ExecError),
    #[error(transparent)]
    Docker(#[from] hd::DockerError),
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("{0}")]
    Other(String),
}

/// What the steps of one provision hand each other.
#[derive(Debug, Default)]
struct Shared {
    downloads: Vec<Downloaded>,
    wheels: Vec<(LockWheel, PathBuf)>,
    requirements_lock: Option<String>,
    /// `FROM` of the build: `repo@sha256:...` when the digest is known.
    from: Option<String>,
    base_reference: Option<String>,
    base_digest: Option<String>,
    base_python: Option<String>,
    base: Option<ImageInspect>,
    image_id: Option<String>,
    layers: Option<usize>,
    smoke: Vec<SmokeResult>,
    /// The output of the smoke test that failed.
    smoke_output: Option<String>,
    transferred: u64,
}

#[derive(Debug, Clone)]
struct Downloaded {
    kind: String,
    url: String,
    file_name: String,
    sha256: String,
    size: u64,
    path: PathBuf,
}

type SharedCell = Rc<RefCell<Shared>>;

/// The tag of a profile's image and the tag its next build gets until the smoke test passes.
fn candidate_tag(final_tag: &str) -> String {
    format!("{final_tag}-candidate")
}

/// Provisions `profile` on the device behind `ctx`.
pub fn provision(
    ctx: &Context,
    profile: &Profile,
    opts: &Options,
    rep: Rc<dyn Reporter>,
) -> Result<Finished, ProvisionError> {
    let mut exec = Executor::new(ctx, rep.as_ref());
    // Two provisions never interleave: the lock is held from the first read of the state to
    // the last write.
    exec.lock()?;
    let started = state::now_rfc3339();
    let resolved = match super::resolve_for(ctx, profile) {
        Ok(r) => r,
        Err(refused) => return Ok(Finished::Refused { refused }),
    };

    // 1. Checks, and the fixes for those that block, through the same executor as `jetdoc fix`.
    let mut fixes: Vec<FixRun> = Vec::new();
    if opts.fix {
        let gate = plan::checks_gate(ctx, profile, resolved.run.runtime);
        let ids: Vec<String> = gate.blocking.iter().filter_map(|c| c.fix.clone()).collect();
        if !ids.is_empty() {
            let defs = crate::fixes::select(&ids).map_err(|e| ProvisionError::Other(e.to_string()))?;
            let planned = crate::fixes::plan(ctx, &defs, &crate::fixes::Options::default());
            for r in &planned.refused {
                rep.note(&format!("fix {} refused: {}", r.fix, r.message));
                fixes.push(FixRun { fix: r.fix.to_string(), error: Some(format!("refused: {}", r.message)) });
            }
            for p in planned.plans.iter().filter(|p| p.plan_only) {
                fixes.push(FixRun {
                    fix: p.name.clone(),
                    error: Some(
                        "plan only: jetdoc shows the remedies and applies none (`jetdoc fix --dry-run`)"
                            .into(),
                    ),
                });
            }
            let applied = crate::fixes::apply(&mut exec, &planned);
            for o in &applied.outcomes {
                match &o.error {
                    None => rep.note(&format!("fix {} applied", o.plan)),
                    Some(e) => rep.note(&format!("fix {} failed: {e}", o.plan)),
                }
                fixes.push(FixRun { fix: o.plan.clone(), error: o.error.clone() });
            }
            // Re-read the host: the checks must see what the fixes did.
            ctx.invalidate();
        }
    }

    // Checks that still fail stop it here, before anything is asked of Docker or the network.
    let gate = plan::checks_gate(ctx, profile, resolved.run.runtime);
    if !gate.blocking.is_empty() && !opts.force {
        let blocked_by =
            gate.blocking.iter().map(|c| format!("check {} failed: {}", c.id, c.summary)).collect();
        let sources = Sources {
            online: None,
            cache: None,
            lock: None,
            offline_reason: "stopped by the checks before any network request".into(),
            credentials: None,
        };
        return match plan::plan(ctx, profile, sources) {
            Ok(p) => Ok(Finished::Stopped { blocked_by, plan: Box::new(p), fixes }),
            Err(refused) => Ok(Finished::Refused { refused }),
        };
    }

    // 2. Up to date? Asked before any network: a second run with nothing changed is offline.
    let st = read_state(ctx)?;
    let tag = plan::image_tag(&resolved.profile);
    let docker = ctx.host.docker().map_err(|e| {
        ProvisionError::Other(format!(
            "{e}\n  provisioning needs the device's own Docker engine: run `jetdoc provision` on the device (with --root, use --dry-run to see the plan)"
        ))
    })?;
    if let Some(prev) = st.profiles.get(&profile.name) {
        if let Some(done) = up_to_date(prev, &resolved, opts, docker, &tag) {
            let mut started_now = false;
            if !opts.no_run && !container_runs(docker, &resolved.run.name, &done) {
                start_container(docker, &resolved.run, &tag)?;
                started_now = true;
            }
            return Ok(Finished::UpToDate { state: prev.clone(), started: started_now });
        }
    }

    // 3. The plan: online unless --offline; with the lock's pins under --locked.
    let mut client = RegistryClient::new(opts.credentials.clone(), opts.registry_timeout)
        .map_err(|e| ProvisionError::Other(e.to_string()))?;
    let cache = crate::fetch::Cache::new(opts.cache_dir.clone());
    let select_rep: &dyn SelectReporter = rep.as_ref();
    let sources = Sources {
        online: (!opts.offline).then_some((&mut client, select_rep)),
        cache: Some(&cache),
        lock: opts.locked.as_ref().map(|(l, _)| l),
        offline_reason: "--offline".into(),
        credentials: Some(&opts.credentials),
    };
    let the_plan = match plan::plan(ctx, profile, sources) {
        Ok(p) => p,
        Err(refused) => return Ok(Finished::Refused { refused }),
    };
    if !the_plan.blocked_by.is_empty() && !opts.force {
        // A lock difference is never forced: the lock's whole point is "exactly this".
        return Ok(Finished::Stopped {
            blocked_by: the_plan.blocked_by.clone(),
            plan: Box::new(the_plan),
            fixes,
        });
    }
    if let Some(lock_difference) = the_plan.blocked_by.iter().find(|b| b.starts_with("lock: ")) {
        return Ok(Finished::Stopped {
            blocked_by: vec![lock_difference.clone()],
            plan: Box::new(the_plan),
            fixes,
        });
    }
    let Some(chosen) = the_plan.base.chosen.clone() else {
        return Ok(Finished::Stopped {
            blocked_by: the_plan.blocked_by.clone(),
            plan: Box::new(the_plan),
            fixes,
        });
    };

    // Recorded as in progress first: a provision killed half-way is told as such.
    let mut record = ProfileState {
        profile: profile.name.clone(),
        source: profile.source.clone(),
        profile_sha256: profile.sha256.clone(),
        result: Outcome::InProgress,
        started: started.clone(),
        finished: None,
        device: state_device(&resolved),
        image: None,
        artifacts: Vec::new(),
        lock_sha256: opts.locked.as_ref().map(|(l, _)| l.sha256()),
        smoke: Vec::new(),
        failed_step: None,
        message: None,
        resume: None,
        other: Default::default(),
    };
    write_state(ctx, &record)?;

    // 4. The steps.
    let shared: SharedCell = Rc::new(RefCell::new(Shared::default()));
    let fetcher =
        Arc::new(Fetcher::new(opts.fetch.clone()).map_err(|e| ProvisionError::Other(e.to_string()))?);
    let candidate = the_plan.base.candidates.iter().find(|c| c.image == chosen).cloned();
    let mut steps_plan = steps::Plan::new(format!("provision-{}", profile.name));
    steps_plan.push(FetchDownloads {
        resolved: resolved.clone(),
        base_python: candidate.as_ref().and_then(|c| c.python.clone()),
        locked: opts.locked.as_ref().map(|(l, _)| l.clone()),
        fetcher: fetcher.clone(),
        rep: rep.clone(),
        shared: shared.clone(),
    });
    steps_plan.push(PullBase {
        reference: chosen.clone(),
        digest: candidate.as_ref().and_then(|c| c.digest.clone()),
        platform: resolved.device.arch.as_ref().map(|a| format!("linux/{a}")),
        python: candidate.as_ref().and_then(|c| c.python.clone()),
        rep: rep.clone(),
        shared: shared.clone(),
    });
    steps_plan.push(BuildImage {
        resolved: resolved.clone(),
        tag: candidate_tag(&tag),
        context: opts.context.clone().unwrap_or_else(|| profile.default_context()),
        work: opts.cache_dir.join("provision").join(&profile.name),
        network: opts.build_network.clone(),
        lock_sha256: opts.locked.as_ref().map(|(l, _)| l.sha256()),
        rep: rep.clone(),
        shared: shared.clone(),
    });
    for (i, s) in resolved.smoke.iter().enumerate() {
        steps_plan.push(SmokeTest {
            name: s.name.clone(),
            command: s.command.clone(),
            timeout_s: s.timeout_s,
            container: format!("{}-smoke-{}", resolved.run.name, i + 1),
            run: resolved.run.clone(),
            shared: shared.clone(),
        });
    }
    steps_plan.push(TagImage { tag: tag.clone(), candidate: candidate_tag(&tag), shared: shared.clone() });
    if !opts.no_run {
        steps_plan.push(StartContainer { run: resolved.run.clone(), tag: tag.clone() });
    }
    let outcome = exec.apply(&steps_plan)?;
    let sh = shared.borrow();
    record.artifacts = sh
        .downloads
        .iter()
        .map(|d| StateArtifact {
            kind: d.kind.clone(),
            name: d.file_name.clone(),
            url: d.url.clone(),
            sha256: d.sha256.clone(),
            size: d.size,
        })
        .chain(sh.wheels.iter().map(|(w, _)| StateArtifact {
            kind: "wheel".into(),
            name: w.file_name.clone(),
            url: w.url.clone(),
            sha256: w.sha256.clone(),
            size: w.size,
        }))
        .collect();
    record.smoke = sh.smoke.clone();
    record.image = sh.image_id.as_ref().map(|id| StateImage {
        tag: tag.clone(),
        id: id.clone(),
        base: sh.base_reference.clone().unwrap_or_else(|| chosen.clone()),
        base_digest: sh.base_digest.clone(),
        layers: sh.layers,
    });
    record.finished = Some(state::now_rfc3339());

    if let Some(error) = outcome.error {
        let step = failed_step(&outcome.ran, &error, &sh);
        let resume = format!(
            "fix the cause, then run `jetdoc provision {}` again: downloads are cached and resume; the image that was there before is kept",
            shown_name(profile)
        );
        record.result = Outcome::Failed;
        record.failed_step = Some(step.clone());
        record.message = Some(error.clone());
        record.resume = Some(resume.clone());
        record.image = None;
        write_state(ctx, &record)?;
        return Ok(Finished::Failed {
            state: record,
            step,
            message: error,
            output: sh.smoke_output.clone(),
            resume,
        });
    }

    // 5. The lock, then the state (the state names the lock's hash).
    let mut lock_path = None;
    if let Some(path) = &opts.lock_out {
        let lock = make_lock(&resolved, &sh, &tag);
        crate::fetch::cache::write_atomic(path, lock.to_text().as_bytes()).map_err(|e| {
            ProvisionError::Other(format!("cannot write the lock file {}: {e}", path.display()))
        })?;
        record.lock_sha256 = Some(lock.sha256());
        lock_path = Some(path.clone());
    }
    record.result = Outcome::Success;
    write_state(ctx, &record)?;
    Ok(Finished::Provisioned { state: record, lock: lock_path, transferred_bytes: sh.transferred })
}

fn shown_name(p: &Profile) -> String {
    if p.is_builtin() {
        p.name.clone()
    } else {
        p.source.clone()
    }
}

/// Which step failed, from the error the executor kept and what the shared record holds.
fn failed_step(_ran: &[String], error: &str, sh: &Shared) -> String {
    if sh.smoke_output.is_some() {
        "smoke".into()
    } else if error.starts_with("fetch:") {
        "fetch".into()
    } else if error.starts_with("pull:") {
        "pull".into()
    } else if error.starts_with("build:") {
        "build".into()
    } else if error.starts_with("tag:") {
        "tag".into()
    } else if error.starts_with("start:") {
        "start".into()
    } else {
        "provision".into()
    }
}

fn state_device(r: &Resolved) -> StateDevice {
    StateDevice {
        platform: Some(r.platform.as_str().to_string()),
        module_part: r.device.module_part.clone(),
        l4t: r.device.l4t.clone(),
        jetpack: r.device.jetpack.clone(),
        cuda: r.device.cuda.clone(),
    }
}

fn make_lock(r: &Resolved, sh: &Shared, tag: &str) -> Lock {
    Lock {
        schema: super::lock::SCHEMA,
        jetdoc: env!("CARGO_PKG_VERSION").into(),
        profile: plan::lock_profile(r),
        device: plan::lock_device(r),
        base: LockBase {
            reference: sh.base_reference.clone().unwrap_or_default(),
            digest: sh.base_digest.clone().unwrap_or_default(),
            python: sh.base_python.clone(),
            layers: sh.base.as_ref().map(|b| b.layer_count()),
            size_bytes: sh.base.as_ref().map(|b| b.size),
        },
        image: LockImage { tag: tag.into(), id: sh.image_id.clone().unwrap_or_default() },
        artifacts: sh
            .downloads
            .iter()
            .map(|d| LockArtifact {
                kind: d.kind.clone(),
                url: d.url.clone(),
                file_name: d.file_name.clone(),
                size: d.size,
                sha256: d.sha256.clone(),
            })
            .collect(),
        wheels: sh.wheels.iter().map(|(w, _)| w.clone()).collect(),
    }
}

fn read_state(ctx: &Context) -> Result<State, ProvisionError> {
    match ctx.host.read_text(state::STATE_FILE) {
        Ok(text) => Ok(State::parse(&text, state::STATE_FILE)?),
        Err(a) if a.reason == Reason::Missing => Ok(State::new()),
        Err(a) => Err(ProvisionError::Other(format!("cannot read {}: {a}", state::STATE_FILE))),
    }
}

/// Writes one profile's entry: the whole file, atomically, under the lock the caller holds.
/// Entries of other profiles and fields of newer versions are kept.
fn write_state(ctx: &Context, entry: &ProfileState) -> Result<(), ProvisionError> {
    let mut st = read_state(ctx)?;
    st.schema = state::SCHEMA;
    st.profiles.insert(entry.profile.clone(), entry.clone());
    ctx.host.create_dir_all(steps::STATE_DIR).map_err(|e| ProvisionError::Other(e.to_string()))?;
    ctx.host
        .write_atomic(state::STATE_FILE, st.to_text().as_bytes(), 0o644, None)
        .map_err(|e| ProvisionError::Other(e.to_string()))?;
    Ok(())
}

/// The last provision still stands: same profile text, same device release, same lock, and
/// the image it built is still the one tagged. Asks Docker one inspect; no network.
fn up_to_date(
    prev: &ProfileState,
    r: &Resolved,
    opts: &Options,
    docker: &dyn Docker,
    tag: &str,
) -> Option<StateImage> {
    if prev.result != Outcome::Success || prev.profile_sha256 != r.profile.sha256 {
        return None;
    }
    let d = state_device(r);
    if prev.device.l4t != d.l4t || prev.device.jetpack != d.jetpack || prev.device.cuda != d.cuda {
        return None;
    }
    if let Some((lock, _)) = &opts.locked {
        if prev.lock_sha256.as_deref() != Some(lock.sha256().as_str()) {
            return None;
        }
    }
    let image = prev.image.clone()?;
    if image.tag != tag {
        return None;
    }
    let now = docker.inspect_one(tag).ok()?;
    let labelled = now.config().labels.as_ref().and_then(|l| l.get(labels::PROFILE_SHA256).cloned());
    (now.id == image.id && labelled.as_deref() == Some(r.profile.sha256.as_str())).then_some(image)
}

/// Whether the profile's container runs the image now.
fn container_runs(docker: &dyn Docker, name: &str, image: &StateImage) -> bool {
    matches!(docker.container(name), Ok(Some(c)) if c.running && c.image == image.id)
}

fn start_container(docker: &dyn Docker, run: &RunResolution, tag: &str) -> Result<(), ProvisionError> {
    let _ = docker.remove_container(&run.name);
    let mut spec = super::run::run_spec(run, tag);
    spec.detach = true;
    docker.run(&spec)?;
    Ok(())
}

fn failed(step: &str, e: impl std::fmt::Display) -> StepError {
    StepError::Failed(format!("{step}: {e}"))
}

/// Step `fetch`: the ZED installer, the pyzed wheel and the Python wheels, into the cache.
#[derive(Serialize)]
struct FetchDownloads {
    #[serde(skip)]
    resolved: Resolved,
    base_python: Option<String>,
    #[serde(skip)]
    locked: Option<Lock>,
    #[serde(skip)]
    fetcher: Arc<Fetcher>,
    #[serde(skip)]
    rep: Rc<dyn Reporter>,
    #[serde(skip)]
    shared: SharedCell,
}

impl std::fmt::Debug for FetchDownloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchDownloads").field("profile", &self.resolved.profile.name).finish()
    }
}

impl Step for FetchDownloads {
    fn kind(&self) -> &'static str {
        "fetch"
    }

    fn describe(&self) -> String {
        let mut what = Vec::new();
        if let Some(z) = &self.resolved.zed {
            what.push(format!("the ZED SDK {} for {}", z.sdk, z.token));
        }
        if self.resolved.python.is_some() {
            what.push("the Python wheels".to_string());
        }
        format!("fetch {}", if what.is_empty() { "nothing".into() } else { what.join(" and ") })
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        let counting = Counting { inner: self.rep.as_ref(), bytes: std::sync::atomic::AtomicU64::new(0) };
        let result = self.fetch_all(cx, &counting);
        self.shared.borrow_mut().transferred += counting.bytes.load(std::sync::atomic::Ordering::Relaxed);
        result
    }
}

/// Forwards download progress and counts the bytes that came over the network.
struct Counting<'a> {
    inner: &'a dyn Reporter,
    bytes: std::sync::atomic::AtomicU64,
}

impl crate::fetch::Reporter for Counting<'_> {
    fn started(&self, id: usize, name: &str, total: Option<u64>, already: u64) {
        self.inner.started(id, name, total, already)
    }
    fn progress(&self, id: usize, bytes: u64) {
        self.inner.progress(id, bytes)
    }
    fn retrying(&self, id: usize, url: &str, attempt: u32, wait: Duration, why: &str) {
        self.inner.retrying(id, url, attempt, wait, why)
    }
    fn finished(&self, id: usize, name: &str, how: &crate::fetch::Finish) {
        if let crate::fetch::Finish::Downloaded { bytes } = how {
            self.bytes.fetch_add(*bytes, std::sync::atomic::Ordering::Relaxed);
        }
        self.inner.finished(id, name, how)
    }
}

impl FetchDownloads {
    fn fetch_all(&self, cx: &mut StepCx<'_>, rep: &dyn crate::fetch::Reporter) -> Result<(), StepError> {
        let pinned = |kind: &str| {
            self.locked.as_ref().and_then(|l| l.artifacts.iter().find(|a| a.kind == kind).cloned())
        };
        let mut downloads = Vec::new();
        if let Some(z) = &self.resolved.zed {
            cx.progress(&format!("fetching the ZED SDK {} for {}", z.sdk, z.token));
            let pin = pinned("zed-installer");
            let art = Artifact {
                size: pin.as_ref().map(|p| p.size),
                ..Artifact::new(
                    format!("ZED SDK {} ({})", z.sdk, z.token),
                    z.url.clone(),
                    pin.as_ref().map(|p| p.sha256.clone()),
                )
            };
            let f = self.fetcher.fetch(0, &art, rep).map_err(|e| failed("fetch", e))?;
            downloads.push(Downloaded {
                kind: "zed-installer".into(),
                url: z.url.clone(),
                file_name: f.file_name.clone(),
                sha256: f.sha256.clone(),
                size: f.size,
                path: f.path.clone(),
            });
            if let Some(url) = self.base_python.as_deref().and_then(|p| z.pyzed_for(p)) {
                let pin = pinned("pyzed");
                let art = Artifact {
                    size: pin.as_ref().map(|p| p.size),
                    ..Artifact::new(
                        format!("pyzed {}", z.sdk),
                        url.clone(),
                        pin.as_ref().map(|p| p.sha256.clone()),
                    )
                };
                let f = self.fetcher.fetch(1, &art, rep).map_err(|e| failed("fetch", e))?;
                downloads.push(Downloaded {
                    kind: "pyzed".into(),
                    url,
                    file_name: f.file_name.clone(),
                    sha256: f.sha256.clone(),
                    size: f.size,
                    path: f.path.clone(),
                });
            }
        }
        if let Some(py) = &self.resolved.python {
            cx.progress("resolving the Python wheels");
            let (wheels, lock_text) = match &self.locked {
                Some(l) => self.wheels_from_lock(l, rep)?,
                None => self.wheels_resolved(cx.ctx, rep, py)?,
            };
            let mut sh = self.shared.borrow_mut();
            sh.wheels = wheels;
            sh.requirements_lock = Some(lock_text);
        }
        self.shared.borrow_mut().downloads = downloads;
        Ok(())
    }
}

impl FetchDownloads {
    /// `--locked`: exactly the lock's wheels, each verified by its sha256.
    fn wheels_from_lock(
        &self,
        l: &Lock,
        rep: &dyn crate::fetch::Reporter,
    ) -> Result<(Vec<(LockWheel, PathBuf)>, String), StepError> {
        let arts: Vec<Artifact> = l
            .wheels
            .iter()
            .map(|w| Artifact {
                size: Some(w.size),
                ..Artifact::new(w.file_name.clone(), w.url.clone(), Some(w.sha256.clone()))
            })
            .collect();
        let mut out = Vec::new();
        for (w, r) in l.wheels.iter().zip(self.fetcher.fetch_all(&arts, rep)) {
            let f = r.map_err(|e| failed("fetch", e))?;
            out.push((w.clone(), f.path));
        }
        let pinned: Vec<(String, String, String)> =
            l.wheels.iter().map(|w| (w.name.clone(), w.version.clone(), w.sha256.clone())).collect();
        Ok((out, wheels::lock_file(&format!("from the lock of profile {}", l.profile.name), &pinned)))
    }

    /// The profile's requirements resolved for the base's Python and the device's platform, on
    /// the JetPack's index (or the profile's), every wheel hash-pinned.
    fn wheels_resolved(
        &self,
        ctx: &Context,
        rep: &dyn crate::fetch::Reporter,
        py: &super::resolve::PythonResolution,
    ) -> Result<(Vec<(LockWheel, PathBuf)>, String), StepError> {
        let want = crate::fetch::device::WheelRequest {
            python: self.base_python.clone(),
            indexes: py.indexes.clone(),
            ..Default::default()
        };
        let target = crate::fetch::device::wheel_target(ctx, &want).map_err(|e| failed("fetch", e))?;
        let indexes = crate::fetch::device::wheel_indexes(ctx, &want).map_err(|e| failed("fetch", e))?;
        let mut reqs = requirements::Requirements::default();
        for (i, line) in py.requirements.iter().enumerate() {
            let origin = format!("{} [python] requirements[{i}]", self.resolved.profile.source);
            reqs.lines.push(requirements::parse_line(&origin, line).map_err(|e| failed("fetch", e))?);
        }
        if let Some(file) = &py.requirements_file {
            let base = Path::new(&self.resolved.profile.source).parent().unwrap_or(Path::new("."));
            let more = requirements::read(&base.join(file)).map_err(|e| failed("fetch", e))?;
            reqs.lines.extend(more.lines);
        }
        let resolver = Resolver::new(&self.fetcher, target, indexes);
        let mut plan = resolver.plan_top_level(&reqs);
        resolver.add_dependencies(&mut plan, &reqs, rep).map_err(|e| failed("fetch", e))?;
        let bad: Vec<String> = plan.from_source().map(|i| i.name.clone()).collect();
        if !bad.is_empty() {
            // The build has no compiler and no network: everything must be a wheel.
            return Err(failed(
                "fetch",
                format!("no wheel for {} on the indexes for this device: find a wheel (another version or index) or drop it from the profile", bad.join(", ")),
            ));
        }
        let dir = self.fetcher.cache.root.join("provision-wheels");
        std::fs::create_dir_all(&dir).map_err(|e| failed("fetch", e))?;
        let (pinned, failures) = wheels::download(&self.fetcher, &plan, &dir, rep);
        if let Some((name, e)) = failures.first() {
            return Err(failed("fetch", format!("{name}: {e}")));
        }
        let mut out = Vec::new();
        for item in plan.wheels() {
            let wheels::Choice::Wheel { filename, version, url, .. } = &item.choice else { continue };
            let Some((_, _, sha)) = pinned.iter().find(|(n, v, _)| n == &item.name && v == version) else {
                continue;
            };
            let path = dir.join(filename);
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            out.push((
                LockWheel {
                    name: item.name.clone(),
                    version: version.clone(),
                    file_name: filename.clone(),
                    url: crate::redact::url(url),
                    size,
                    sha256: sha.clone(),
                },
                path,
            ));
        }
        Ok((
            out,
            wheels::lock_file(
                &format!("resolved by jetdoc provision {}", self.resolved.profile.name),
                &pinned,
            ),
        ))
    }
}

/// Step `pull`: the chosen base, by digest when it is known (the lock's, or the one the
/// registry answered when the plan was made), so the build uses exactly what was judged.
#[derive(Serialize)]
struct PullBase {
    reference: String,
    digest: Option<String>,
    platform: Option<String>,
    python: Option<String>,
    #[serde(skip)]
    rep: Rc<dyn Reporter>,
    #[serde(skip)]
    shared: SharedCell,
}

impl std::fmt::Debug for PullBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullBase").field("reference", &self.reference).field("digest", &self.digest).finish()
    }
}

impl PullBase {
    fn by_digest(&self) -> Option<String> {
        self.digest.as_ref().map(|d| format!("{}@{d}", crate::container::rules::split_tag(&self.reference).0))
    }
}

impl Step for PullBase {
    fn kind(&self) -> &'static str {
        "pull"
    }

    fn describe(&self) -> String {
        match self.by_digest() {
            Some(r) => format!("pull {r}"),
            None => format!("pull {}", self.reference),
        }
    }

    fn prepare(&self, _cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        Ok(Undo::Cannot {
            what: self.describe(),
            why: format!(
                "the base stays for the next attempt; `docker rmi {}` frees its space",
                self.reference
            ),
        })
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        let docker = cx.host().docker().map_err(|e| failed("pull", e))?;
        let from = self.by_digest().unwrap_or_else(|| self.reference.clone());
        // Present already (by digest, or a local image chosen by the rules): no transfer.
        let present = docker.inspect_one(&from).ok();
        let inspect = match present {
            Some(i) => i,
            None => {
                cx.progress(&format!("pulling {from}"));
                let rep = self.rep.clone();
                docker
                    .pull(&from, self.platform.as_deref(), &move |line: &str| rep.docker_line(line))
                    .map_err(|e| failed("pull", e))?;
                docker.inspect_one(&from).map_err(|e| failed("pull", e))?
            }
        };
        let digest = self.digest.clone().or_else(|| {
            let repo = crate::container::rules::split_tag(&self.reference).0;
            inspect
                .repo_digests
                .iter()
                .flatten()
                .find_map(|d| d.strip_prefix(&format!("{repo}@")).map(str::to_string))
        });
        let mut sh = self.shared.borrow_mut();
        sh.from = Some(match &digest {
            Some(d) => format!("{}@{d}", crate::container::rules::split_tag(&self.reference).0),
            None => self.reference.clone(),
        });
        sh.base_reference = Some(self.reference.clone());
        sh.base_digest = digest;
        sh.base_python = self.python.clone();
        sh.base = Some(inspect);
        Ok(())
    }
}

/// Step `build`: the context staged, the Dockerfile generated within the layer budget, built
/// and tagged as the candidate until the smoke tests pass.
#[derive(Serialize)]
struct BuildImage {
    #[serde(skip)]
    resolved: Resolved,
    tag: String,
    context: PathBuf,
    #[serde(skip)]
    work: PathBuf,
    network: Option<String>,
    lock_sha256: Option<String>,
    #[serde(skip)]
    rep: Rc<dyn Reporter>,
    #[serde(skip)]
    shared: SharedCell,
}

impl std::fmt::Debug for BuildImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildImage").field("tag", &self.tag).finish()
    }
}

impl Step for BuildImage {
    fn kind(&self) -> &'static str {
        "build"
    }

    fn describe(&self) -> String {
        format!("build {} from profile {}", self.tag, self.resolved.profile.name)
    }

    fn prepare(&self, _cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        Ok(Undo::Run { argv: vec!["docker".into(), "rmi".into(), self.tag.clone()] })
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        let (staged, from, base) = {
            let sh = self.shared.borrow();
            let find = |kind: &str| sh.downloads.iter().find(|d| d.kind == kind);
            let wheels: Vec<Placed> = sh
                .wheels
                .iter()
                .map(|(w, path)| Placed {
                    from: path.as_path(),
                    rel: format!("{}/{}", stage::WHEELS_DIR, w.file_name),
                })
                .collect();
            let zed = find("zed-installer")
                .map(|d| Placed { from: &d.path, rel: format!("{}/{}", stage::ZED_DIR, d.file_name) });
            let pyzed = find("pyzed")
                .map(|d| Placed { from: &d.path, rel: format!("{}/{}", stage::ZED_DIR, d.file_name) });
            let dir = self.work.join("context");
            let staged = stage::stage(
                &dir,
                &self.context,
                &self.resolved.files,
                &wheels,
                sh.requirements_lock.as_deref(),
                zed,
                pyzed,
            )
            .map_err(|e| failed("build", e))?;
            let from = sh.from.clone().ok_or_else(|| failed("build", "no base was pulled"))?;
            (staged, from, sh.base.clone().ok_or_else(|| failed("build", "no base was inspected"))?)
        };
        let recipe = ImageRecipe::new(&self.resolved, &staged).map_err(|e| failed("build", e))?;
        let generated = dockerfile::generate(&BuildInput {
            spec: &recipe,
            base_ref: &from,
            base: &base,
            lock_sha256: self.lock_sha256.as_deref(),
            force_flatten: false,
        })
        .map_err(|e| failed("build", e))?;
        let docker = cx.host().docker().map_err(|e| failed("build", e))?;
        if generated.budget.verdict == crate::container::budget::Verdict::Flatten {
            // A base too deep for the budget is built on its flattened copy (made once per base).
            let flat = dockerfile::flattened_tag(&base);
            if !docker.inspect(&[&flat]).map_err(|e| failed("build", e))?.iter().any(|i| i.layer_count() == 1)
            {
                cx.progress(&format!("flattening {from} ({} layers) to {flat}", base.layer_count()));
                let rep = self.rep.clone();
                crate::container::flatten::flatten(
                    docker,
                    &from,
                    std::slice::from_ref(&flat),
                    &crate::container::flatten::Options::default(),
                    &move |line: &str| rep.docker_line(line),
                )
                .map_err(|e| failed("build", format!("flattening the base {from}: {e}")))?;
            }
        }
        let dir = self.work.join("context");
        let dockerfile_path = self.work.join("Dockerfile");
        std::fs::write(&dockerfile_path, &generated.dockerfile).map_err(|e| failed("build", e))?;
        cx.progress(&format!("building {} ({})", self.tag, generated.budget.reason));
        let rep = self.rep.clone();
        let spec = hd::BuildSpec {
            dockerfile: dockerfile_path.clone(),
            context: dir,
            tags: vec![self.tag.clone()],
            network: self.network.clone(),
            ..hd::BuildSpec::default()
        };
        let id = docker.build(&spec, &move |line: &str| rep.docker_line(line)).map_err(|e| {
            failed("build", format!("{e}\n  the Dockerfile is {}", dockerfile_path.display()))
        })?;
        let image = docker.inspect_one(&id).map_err(|e| failed("build", e))?;
        let mut sh = self.shared.borrow_mut();
        sh.layers = Some(image.layer_count());
        sh.image_id = Some(image.id);
        Ok(())
    }

    fn verify(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let id = self.shared.borrow().image_id.clone().unwrap_or_default();
        let docker = cx.host().docker().map_err(|e| failed("build", e))?;
        let image = docker.inspect_one(&self.tag).map_err(|e| failed("build", e))?;
        if image.id != id {
            return Err(failed("build", format!("{} is not the image just built", self.tag)));
        }
        if image.layer_count() > crate::container::budget::DAEMON_LIMIT {
            return Err(failed(
                "build",
                format!("{} has {} layers, past Docker's limit", self.tag, image.layer_count()),
            ));
        }
        Ok(())
    }
}

/// Step `smoke`: one smoke test inside the built image with the profile's runtime, devices and
/// mounts. Its output is kept for the failure message.
#[derive(Serialize)]
struct SmokeTest {
    name: String,
    command: Vec<String>,
    timeout_s: u64,
    container: String,
    #[serde(skip)]
    run: RunResolution,
    #[serde(skip)]
    shared: SharedCell,
}

impl std::fmt::Debug for SmokeTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmokeTest").field("name", &self.name).finish()
    }
}

impl Step for SmokeTest {
    fn kind(&self) -> &'static str {
        "smoke"
    }

    fn describe(&self) -> String {
        format!("smoke test: {}", self.name)
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        let image =
            self.shared.borrow().image_id.clone().ok_or_else(|| failed("smoke", "no image was built"))?;
        cx.progress(&format!("smoke test: {}", self.name));
        let docker = cx.host().docker().map_err(|e| failed("smoke", e))?;
        let mut spec = super::run::run_spec(&self.run, &image);
        spec.name = Some(self.container.clone());
        spec.restart = None;
        spec.remove = true;
        spec.timeout = Some(Duration::from_secs(self.timeout_s));
        let (program, args) = self.command.split_first().expect("validated: a smoke command is not empty");
        spec.entrypoint = Some(program.clone());
        spec.command = args.to_vec();
        let started = Instant::now();
        let result = docker.run(&spec);
        let seconds = started.elapsed().as_secs_f64();
        let mut sh = self.shared.borrow_mut();
        match result {
            Ok(out) if out.exit_code == 0 => {
                sh.smoke.push(SmokeResult { name: self.name.clone(), passed: true, seconds });
                Ok(())
            }
            Ok(out) => {
                sh.smoke.push(SmokeResult { name: self.name.clone(), passed: false, seconds });
                sh.smoke_output = Some(format!("{}{}", out.stdout, out.stderr));
                Err(failed("smoke", format!("`{}` exited {} in the container", self.name, out.exit_code)))
            }
            Err(e) => {
                sh.smoke.push(SmokeResult { name: self.name.clone(), passed: false, seconds });
                sh.smoke_output = Some(e.to_string());
                Err(failed("smoke", format!("`{}` could not run: {e}", self.name)))
            }
        }
    }
}

/// Step `tag`: the smoke-tested build becomes the profile's image; the tag's previous image
/// comes back on undo.
#[derive(Debug, Serialize)]
struct TagImage {
    tag: String,
    candidate: String,
    #[serde(skip)]
    shared: SharedCell,
}

impl Step for TagImage {
    fn kind(&self) -> &'static str {
        "tag"
    }

    fn describe(&self) -> String {
        format!("tag the tested image as {}", self.tag)
    }

    fn prepare(&self, cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        let docker = cx.host().docker().map_err(|e| failed("tag", e))?;
        Ok(match docker.inspect_one(&self.tag) {
            Ok(old) => Undo::Run { argv: vec!["docker".into(), "tag".into(), old.id, self.tag.clone()] },
            Err(_) => Undo::Run { argv: vec!["docker".into(), "rmi".into(), self.tag.clone()] },
        })
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        let id = self.shared.borrow().image_id.clone().ok_or_else(|| failed("tag", "no image was built"))?;
        let docker = cx.host().docker().map_err(|e| failed("tag", e))?;
        docker.tag(&id, &self.tag).map_err(|e| failed("tag", e))?;
        // The candidate tag has served its purpose; the image keeps its final tag.
        let _ = docker.remove_image(&self.candidate, false);
        Ok(())
    }
}

/// Step `start`: the profile's container on the new image (replacing the one of the previous
/// image, if any).
#[derive(Debug, Serialize)]
struct StartContainer {
    #[serde(skip)]
    run: RunResolution,
    tag: String,
}

impl Step for StartContainer {
    fn kind(&self) -> &'static str {
        "start"
    }

    fn describe(&self) -> String {
        format!("start {} from {}", self.run.name, self.tag)
    }

    fn prepare(&self, _cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        Ok(Undo::Run { argv: vec!["docker".into(), "rm".into(), "--force".into(), self.run.name.clone()] })
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        cx.progress(&format!("starting {}", self.run.name));
        let docker = cx.host().docker().map_err(|e| failed("start", e))?;
        start_container(docker, &self.run, &self.tag).map_err(|e| failed("start", e))
    }
}
