//! The plan of a provision (issue 11, "The run" step 2): the device, the checks that would stop
//! it, the base image chosen (or the candidates still to be verified) and why, the image to
//! build and its layer budget, every artifact with its URL, size and sha256 when known, disk
//! needed against free, the requirements, how the container runs and how it is smoke-tested.
//!
//! The plan is made without network when there is none (`--root`, `--offline`): candidates are
//! then judged on their tags by the same rules, and every registry fact shows as unverified.
//! With a lock (`--locked`), the pinned digests and hashes are the plan's facts.

use serde::Serialize;

use super::device::Device;
use super::lock::Lock;
use super::profile::{PlatformKind, Profile, Smoke};
use super::resolve::{self, Met, ProfileId, Refused, Requirement, Resolved, RunResolution, GB};
use super::run;
use crate::container::budget::{self, Budget};
use crate::container::registry::RegistryClient;
use crate::container::rules::{self, HostFacts, ImageFacts, Verdict};
use crate::container::select::{self, Action, ProfileCandidates, Request, SelectReporter};
use crate::context::Context;
use crate::fetch::Cache;
use crate::report::{Area, Status};

/// The plan's JSON layout version (`jetdoc provision --dry-run --format json`).
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub schema: u32,
    pub profile: ProfileId,
    pub device: Device,
    pub platform: PlatformKind,
    /// Why the profile's platform table admits the device.
    pub admitted: String,
    /// `queried`, or why registries were not asked (`offline: another root filesystem`).
    pub registry: String,
    pub checks: ChecksGate,
    pub base: BasePlan,
    pub image: ImagePlan,
    pub artifacts: Vec<ArtifactPlan>,
    pub wheels: Option<WheelsPlan>,
    pub disk: DiskPlan,
    pub requirements: Vec<Requirement>,
    pub run: RunPlan,
    pub smoke: Vec<Smoke>,
    pub warnings: Vec<String>,
    /// Why the provision would stop here (failed requirements, blocking checks); empty: it
    /// would go on. `--force` goes on anyway.
    pub blocked_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckBrief {
    pub id: String,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChecksGate {
    pub passed: usize,
    pub warned: usize,
    /// Failed (or errored) checks of the areas the profile depends on.
    pub blocking: Vec<CheckBrief>,
    /// Failed checks that do not stop it (another area, or `requires.ignore_checks`).
    pub not_blocking: Vec<CheckBrief>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CandidateVerdict {
    /// Passes every rule on what is known (a local image, a registry manifest).
    Fits,
    /// Fails a rule.
    Rejected,
    /// Nothing rules it out on its tag; the registry (or the local engine) was not asked.
    Unverified,
    /// Not looked at: an earlier candidate was chosen.
    NotConsidered,
}

#[derive(Debug, Clone, Serialize)]
pub struct CandidatePlan {
    pub image: String,
    pub fallback: bool,
    pub python: Option<String>,
    pub verdict: CandidateVerdict,
    /// The rule that rejected it, or what is unknown, or where it was found.
    pub reason: String,
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BasePlan {
    /// The `[[base]]` row that applies.
    pub row: String,
    pub note: Option<String>,
    pub candidates: Vec<CandidatePlan>,
    /// The base to use: `None` when every candidate is ruled out.
    pub chosen: Option<String>,
    /// `local`, `pull`, `pinned` (by the lock), or `unverified` (the first candidate not ruled
    /// out on its tag; the registry decides at provision time).
    pub action: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImagePlan {
    /// The image provision builds and tags (`jetdoc/locomotion:8d740fa715c5`).
    pub tag: String,
    /// Filesystem layers the profile adds on its base.
    pub added_layers: usize,
    pub base_layers: Option<usize>,
    /// Docker's limit and how the build stays within it; `None` until the base's layers are known.
    pub budget: Option<Budget>,
    pub limit: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactPlan {
    /// `base-image`, `zed-installer`, `pyzed`, `wheel`.
    pub kind: String,
    pub name: String,
    pub url: String,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
    /// Where size and sha256 come from: `lock`, `cache` (an earlier download), `registry`, or
    /// `unknown until downloaded` (jetdoc records the sha256 on first download).
    pub known_from: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WheelsPlan {
    pub requirements: Vec<String>,
    pub requirements_file: Option<String>,
    /// Python `major.minor` of the chosen base (wheels are resolved for it).
    pub python: Option<String>,
    /// `linux_aarch64` or `linux_x86_64`.
    pub platform: String,
    /// The profile's index URLs, or the JetPack's index from the tables (then PyPI for
    /// pure-Python wheels).
    pub indexes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiskPlan {
    /// The profile's `requires.disk_gb` plus the known download sizes.
    pub needed_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
    pub docker_root: String,
    pub met: Met,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunPlan {
    #[serde(flatten)]
    pub run: RunResolution,
    /// `docker run ...` for the image to build.
    pub command_line: String,
}

/// Where the plan's facts may come from besides the device's files.
pub struct Sources<'a> {
    /// Ask the local engine and the registries (false for `--root` and `--offline`).
    pub online: Option<(&'a mut RegistryClient, &'a dyn SelectReporter)>,
    /// Earlier downloads' records (sha256, size) by URL.
    pub cache: Option<&'a Cache>,
    /// `--locked`: the pins of another robot.
    pub lock: Option<&'a Lock>,
    /// Why registries were not asked, when `online` is `None`.
    pub offline_reason: String,
    /// The invoking user's registry logins (`~/.docker/config.json`); `None` for another root,
    /// whose user's logins are not this machine's.
    pub credentials: Option<&'a crate::container::registry::Credentials>,
}

/// The areas whose failed checks stop a provision (cameras only when the profile passes them).
fn blocking_area(area: Area, profile: &Profile) -> bool {
    match area {
        Area::Device | Area::Software | Area::Gpu | Area::Containers | Area::Storage => true,
        Area::Cameras => profile.run.cameras,
        Area::System => false,
    }
}

/// The image tag a profile's build gets: its name and the first 12 hex digits of its sha256.
pub fn image_tag(profile: &ProfileId) -> String {
    format!("jetdoc/{}:{}", profile.name, &profile.sha256[..12.min(profile.sha256.len())])
}

/// Makes the plan. `Err` when the profile refuses the device.
pub fn plan(ctx: &Context, profile: &Profile, sources: Sources) -> Result<Plan, Refused> {
    let r = super::resolve_for(ctx, profile)?;
    let checks = checks_gate(ctx, profile, r.run.runtime);
    let Sources { online, cache, lock, offline_reason, credentials } = sources;
    let mut r = r;
    if let Some(registry) = &profile.requires.login {
        r.requirements.push(login_requirement(registry, credentials));
    }
    let (base, registry) = match (lock, online) {
        (Some(l), _) => (base_from_lock(&r, l), "not needed: the lock pins the base by digest".to_string()),
        (None, Some((client, reporter))) => {
            let b = base_online(ctx, profile, &r, client, reporter);
            (b, "queried".to_string())
        }
        (None, None) => (base_offline(ctx, &r), format!("offline: {offline_reason}")),
    };
    Ok(assemble(profile, r, checks, base, registry, cache, lock))
}

fn assemble(
    profile: &Profile,
    r: Resolved,
    checks: ChecksGate,
    base: BasePlan,
    registry: String,
    cache: Option<&Cache>,
    lock: Option<&Lock>,
) -> Plan {
    let tag = image_tag(&r.profile);
    let chosen_python = base
        .chosen
        .as_ref()
        .and_then(|c| base.candidates.iter().find(|p| &p.image == c))
        .and_then(|c| c.python.clone());
    let spec_layers = added_layers(&r);
    let chosen_layers = base
        .chosen
        .as_ref()
        .and_then(|c| base.candidates.iter().find(|p| &p.image == c))
        .and_then(|c| c.layers);
    let budget = chosen_layers.map(|n| budget::plan(n, spec_layers, false));

    let mut artifacts = Vec::new();
    if let Some(c) = base.chosen.as_ref().and_then(|c| base.candidates.iter().find(|p| &p.image == c)) {
        artifacts.push(ArtifactPlan {
            kind: "base-image".into(),
            name: c.image.clone(),
            url: match &c.digest {
                Some(d) => format!("{}@{d}", crate::container::rules::split_tag(&c.image).0),
                None => c.image.clone(),
            },
            size_bytes: c.size_bytes,
            sha256: c.digest.as_ref().map(|d| d.trim_start_matches("sha256:").to_string()),
            known_from: match (&c.digest, base.action.as_str()) {
                (Some(_), "pinned") => "lock".into(),
                (Some(_), _) => "registry".into(),
                (None, _) => "registry not asked".into(),
            },
        });
    }
    let known = |url: &str| -> (Option<u64>, Option<String>, String) {
        if let Some(a) = lock.and_then(|l| l.artifacts.iter().find(|a| a.url == url)) {
            return (Some(a.size), Some(a.sha256.clone()), "lock".into());
        }
        if let Some(rec) = cache.and_then(|c| c.url_record(url)) {
            if let Some(sha) = rec.sha256 {
                return (rec.size, Some(sha), "cache".into());
            }
        }
        (None, None, "not downloaded yet".into())
    };
    if let Some(z) = &r.zed {
        let (size, sha, from) = known(&z.url);
        artifacts.push(ArtifactPlan {
            kind: "zed-installer".into(),
            name: format!("ZED SDK {} ({}, {})", z.wanted.as_deref().unwrap_or(&z.sdk), z.token, z.variant),
            url: z.url.clone(),
            size_bytes: size,
            sha256: sha,
            known_from: from,
        });
        if let Some(url) = chosen_python.as_deref().and_then(|p| z.pyzed_for(p)) {
            let (size, sha, from) = known(&url);
            artifacts.push(ArtifactPlan {
                kind: "pyzed".into(),
                name: format!("pyzed {} for Python {}", z.sdk, chosen_python.as_deref().unwrap_or("?")),
                url,
                size_bytes: size,
                sha256: sha,
                known_from: from,
            });
        }
    }
    if let Some(l) = lock {
        for w in &l.wheels {
            artifacts.push(ArtifactPlan {
                kind: "wheel".into(),
                name: format!("{} {}", w.name, w.version),
                url: w.url.clone(),
                size_bytes: Some(w.size),
                sha256: Some(w.sha256.clone()),
                known_from: "lock".into(),
            });
        }
    }
    let wheels = r.python.as_ref().map(|p| WheelsPlan {
        requirements: p.requirements.clone(),
        requirements_file: p.requirements_file.clone(),
        python: chosen_python.clone(),
        platform: if r.platform == PlatformKind::X86_64 { "linux_x86_64" } else { "linux_aarch64" }.into(),
        indexes: if p.indexes.is_empty() { default_indexes(&r) } else { p.indexes.clone() },
    });

    let known_downloads: u64 = artifacts.iter().filter_map(|a| a.size_bytes).sum();
    let needed = profile
        .requires
        .disk_gb
        .map(|g| (g * GB) as u64 + known_downloads)
        .or((known_downloads > 0).then_some(known_downloads));
    let disk = DiskPlan {
        needed_bytes: needed,
        free_bytes: r.device.docker_free_bytes,
        docker_root: r.device.docker_root.clone(),
        met: match (needed, r.device.docker_free_bytes) {
            (Some(n), Some(f)) if f >= n => Met::Yes,
            (Some(_), Some(_)) => Met::No,
            (None, _) => Met::Yes,
            (Some(_), None) => Met::Unknown,
        },
    };

    let mut blocked_by: Vec<String> = Vec::new();
    if disk.met == Met::No {
        blocked_by.push(format!(
            "disk: {} free for Docker ({}), {} needed",
            gb(disk.free_bytes.unwrap_or(0)),
            disk.docker_root,
            gb(disk.needed_bytes.unwrap_or(0))
        ));
    }
    if let Some(l) = lock {
        let urls: Vec<(&str, &str)> = artifacts
            .iter()
            .filter(|a| a.kind == "zed-installer" || a.kind == "pyzed")
            .map(|a| (a.kind.as_str(), a.url.as_str()))
            .collect();
        for d in l.differences(&lock_profile(&r), &lock_device(&r), &urls) {
            blocked_by.push(format!("lock: {d}"));
        }
    }
    // Free disk is the plan's own line (the profile's minimum plus the known downloads).
    let requirements: Vec<Requirement> =
        r.requirements.iter().filter(|q| q.what != "disk").cloned().collect();
    for q in requirements.iter().filter(|q| q.met == Met::No) {
        blocked_by.push(format!("requirement {}: {}", q.what, q.message));
    }
    for c in &checks.blocking {
        blocked_by.push(format!("check {} failed: {}", c.id, c.summary));
    }
    if base.chosen.is_none() {
        blocked_by.push(format!("no base image: {}", base.reason));
    }
    let mut warnings = r.warnings.clone();
    if let Some(b) = &budget {
        if b.verdict != budget::Verdict::Fits {
            warnings.push(format!("layer budget: {}", b.reason));
        }
    }
    let command_line = run::shell_line("docker", &run::run_args(&r.run, &tag));
    Plan {
        schema: SCHEMA,
        profile: r.profile.clone(),
        device: r.device.clone(),
        platform: r.platform,
        admitted: r.admitted.clone(),
        registry,
        checks,
        image: ImagePlan {
            tag,
            added_layers: spec_layers,
            base_layers: chosen_layers,
            budget,
            limit: budget::DAEMON_LIMIT,
        },
        base,
        artifacts,
        wheels,
        disk,
        requirements,
        run: RunPlan { run: r.run.clone(), command_line },
        smoke: r.smoke.clone(),
        warnings,
        blocked_by,
    }
}

/// Layers of the build, as the generator will write it (artifacts staged under their usual
/// names: the count does not depend on the names).
fn added_layers(r: &Resolved) -> usize {
    let staged = super::build::Staged {
        wheelhouse: r.python.as_ref().map(|_| "wheels".into()),
        requirements: r.python.as_ref().map(|_| "wheels/requirements.lock".into()),
        zed_installer: r.zed.as_ref().map(|_| "zed/installer.run".into()),
        pyzed: r.zed.as_ref().and_then(|z| z.pyzed_url.as_ref()).map(|_| "zed/pyzed.whl".into()),
    };
    super::build::ImageRecipe::new(r, &staged).map(|s| s.added_layers()).unwrap_or(0)
}

/// The JetPack's wheel index named by the tables, for the plan's words (the fetch core picks the
/// URLs and mirrors).
fn default_indexes(r: &Resolved) -> Vec<String> {
    match (&r.device.l4t, r.platform) {
        (Some(_), PlatformKind::Jetson) => {
            vec!["the JetPack's index (checks/wheel_indexes.toml), then PyPI for pure-Python wheels".into()]
        }
        _ => vec!["PyPI".into()],
    }
}

/// A registry login the profile needs (NGC for Isaac Sim), checked before anything is pulled.
fn login_requirement(
    registry: &str,
    credentials: Option<&crate::container::registry::Credentials>,
) -> Requirement {
    let how = if registry == "nvcr.io" {
        "log in with an NGC API key: `docker login nvcr.io -u '$oauthtoken'` (password: the key from ngc.nvidia.com, Setup > API Key)".to_string()
    } else {
        format!("log in: `docker login {registry}`")
    };
    match credentials.map(|c| c.login_for(registry)) {
        Some(Some(source)) => Requirement {
            what: "login".into(),
            met: Met::Yes,
            message: format!("{registry} login in {source}"),
            hint: None,
        },
        Some(None) => Requirement {
            what: "login".into(),
            met: Met::No,
            message: format!("no login for {registry} in Docker's config: the pull would be refused"),
            hint: Some(how),
        },
        None => Requirement {
            what: "login".into(),
            met: Met::Unknown,
            message: format!(
                "{registry} login not checked: the logins of another root's user are not this machine's"
            ),
            hint: Some(how),
        },
    }
}

/// The checks that would stop a provision of `profile` (run now, on the device behind `ctx`).
pub fn checks_gate(ctx: &Context, profile: &Profile, runtime: resolve::Runtime) -> ChecksGate {
    let report = crate::checks::run(ctx, &crate::checks::Selection::default());
    // The GPU door the profile does not use cannot stop it: `--gpus all` needs no registered
    // nvidia runtime, `--runtime nvidia` no `--gpus` hook.
    let not_used: &[&str] = match runtime {
        resolve::Runtime::GpusAll => &["docker.nvidia-runtime", "docker.default-runtime"],
        resolve::Runtime::Nvidia => &["docker.gpus"],
        resolve::Runtime::None => {
            &["docker.nvidia-runtime", "docker.default-runtime", "docker.gpus", "toolkit"]
        }
    };
    let ignored = |id: &str, area: Area| {
        profile
            .requires
            .ignore_checks
            .iter()
            .map(String::as_str)
            .chain(not_used.iter().copied())
            .any(|p| id == p || id.starts_with(&format!("{p}.")) || area.as_str() == p)
    };
    let mut gate = ChecksGate::default();
    for c in report.checks {
        match c.status {
            Status::Pass | Status::Info => gate.passed += 1,
            Status::Warn => gate.warned += 1,
            Status::Skip => {}
            Status::Fail | Status::Error => {
                let blocks = blocking_area(c.area, profile) && !ignored(&c.id, c.area);
                let brief = CheckBrief {
                    id: c.id.clone(),
                    status: c.status,
                    summary: c.summary,
                    hints: c.hints,
                    fix: c.fix,
                };
                if blocks {
                    gate.blocking.push(brief);
                } else {
                    gate.not_blocking.push(brief);
                }
            }
        }
    }
    gate
}

fn candidate_plan(c: &resolve::BaseCandidate, verdict: CandidateVerdict, reason: String) -> CandidatePlan {
    CandidatePlan {
        image: c.image.clone(),
        fallback: c.fallback,
        python: c.python.clone(),
        verdict,
        reason,
        note: c.note.clone(),
        digest: None,
        layers: None,
        size_bytes: None,
    }
}

/// Tags only, by the rules of `checks/images.toml`: no Docker, no network.
fn base_offline(ctx: &Context, r: &Resolved) -> BasePlan {
    let host = HostFacts::probe(ctx);
    let k = &ctx.knowledge;
    let mut chosen: Option<String> = None;
    let mut candidates = Vec::new();
    // Every candidate is judged, so the plan shows which fallbacks remain if the first fails.
    for c in &r.base.candidates {
        let decisions = rules::evaluate(&host, &ImageFacts::from_tag(&c.image, k), k);
        match rules::first_failure(&decisions) {
            Some(d) => candidates.push(candidate_plan(
                c,
                CandidateVerdict::Rejected,
                format!("{}: {}", d.rule, d.message),
            )),
            None => {
                let unknown: Vec<&str> = decisions
                    .iter()
                    .filter(|d| d.verdict == Verdict::Unknown)
                    .map(|d| d.rule.trim_start_matches("image."))
                    .collect();
                let reason = if unknown.is_empty() {
                    "passes every rule on its tag; the registry confirms at provision time".to_string()
                } else {
                    format!("nothing rules it out on its tag; unverified: {}", unknown.join(", "))
                };
                chosen.get_or_insert_with(|| c.image.clone());
                candidates.push(candidate_plan(c, CandidateVerdict::Unverified, reason));
            }
        }
    }
    let reason = match &chosen {
        Some(c) => format!("{c} is the first candidate its tag does not rule out; the registry decides at provision time, and the next candidates follow if it fails"),
        None => "every candidate fails a rule on its tag".to_string(),
    };
    BasePlan {
        row: r.base.row.clone(),
        note: r.base.note.clone(),
        action: if chosen.is_some() { "unverified".into() } else { "none".into() },
        chosen,
        candidates,
        reason,
    }
}

/// Local images first, then the registries (manifests, before any pull): `image select`'s rules
/// and order. Candidates the registry could not answer for leave the plan unverified, not failed.
fn base_online(
    ctx: &Context,
    profile: &Profile,
    r: &Resolved,
    client: &mut RegistryClient,
    reporter: &dyn SelectReporter,
) -> BasePlan {
    let images = r.base.candidates.iter().map(|c| (c.image.clone(), c.note.clone())).collect();
    let req = Request {
        profile: Some(ProfileCandidates { name: profile.name.clone(), images }),
        candidates: vec![],
        pull: false,
    };
    let selection = match select::select(ctx, &req, client, reporter) {
        Ok(s) => s,
        Err(e) => {
            let mut b = base_offline(ctx, r);
            b.reason = format!("{}; the registries could not be asked: {e}", b.reason);
            return b;
        }
    };
    let mut candidates = Vec::new();
    // A local tag of a candidate's repository that the selection chose (`l4t-pytorch:r36.4.0-cu126`
    // for `l4t-pytorch:r36.4.0`) is not a profile candidate: it is listed first.
    if let Some(chosen) =
        selection.chosen.reference.as_ref().filter(|c| !r.base.candidates.iter().any(|b| &b.image == *c))
    {
        if let Some(s) = selection.candidates.iter().find(|s| &s.reference == chosen) {
            candidates.push(CandidatePlan {
                image: s.reference.clone(),
                fallback: false,
                python: r.base.candidates.first().and_then(|c| c.python.clone()),
                verdict: CandidateVerdict::Fits,
                reason: format!("{}: passes every rule", s.origin),
                note: None,
                digest: s.digest.clone(),
                layers: s.layers,
                size_bytes: s.size_bytes,
            });
        }
    }
    for c in &r.base.candidates {
        // Local and registry answers for the same reference: the accepted one, else the one
        // decided on the image rather than the tag.
        let found = selection
            .candidates
            .iter()
            .filter(|s| s.reference == c.image)
            .max_by_key(|s| (s.accepted, s.decided_on == select::DecidedOn::Image));
        let Some(s) = found else {
            candidates.push(candidate_plan(
                c,
                CandidateVerdict::NotConsidered,
                "not looked at: an earlier candidate was chosen".into(),
            ));
            continue;
        };
        let (verdict, reason) = if s.accepted {
            let where_ = match s.source {
                select::Source::Local => "local",
                select::Source::Registry => "in the registry",
            };
            (CandidateVerdict::Fits, format!("{where_}: passes every rule"))
        } else if s.decided_on == select::DecidedOn::NotQueried {
            (CandidateVerdict::NotConsidered, "not queried: an earlier candidate was chosen".into())
        } else if s.error.is_some() {
            (CandidateVerdict::Unverified, format!("the registry did not answer: {}", s.summary()))
        } else {
            (CandidateVerdict::Rejected, s.summary())
        };
        let mut p = candidate_plan(c, verdict, reason);
        p.digest = s.digest.clone();
        p.layers = s.layers;
        p.size_bytes = s.size_bytes;
        candidates.push(p);
    }
    let (chosen, action, reason) = match selection.chosen.action {
        Action::UseLocal => {
            (selection.chosen.reference.clone(), "local".to_string(), selection.chosen.reason.clone())
        }
        Action::Pull => {
            (selection.chosen.reference.clone(), "pull".to_string(), selection.chosen.reason.clone())
        }
        Action::Build => {
            // Nothing fits for certain; the first candidate the registry could not answer for is
            // still a possibility (an air-gapped robot, a registry down), not a failure.
            match candidates.iter().find(|c| c.verdict == CandidateVerdict::Unverified) {
                Some(c) => (
                    Some(c.image.clone()),
                    "unverified".to_string(),
                    format!(
                        "{} could not be checked at the registry ({}); it is tried at provision time",
                        c.image, c.reason
                    ),
                ),
                None => (None, "none".to_string(), "no candidate fits this device".to_string()),
            }
        }
    };
    BasePlan { row: r.base.row.clone(), note: r.base.note.clone(), candidates, chosen, action, reason }
}

/// The base pinned by a lock: exactly that digest, whatever the tags say now.
fn base_from_lock(r: &Resolved, l: &Lock) -> BasePlan {
    let candidates = r
        .base
        .candidates
        .iter()
        .map(|c| {
            if c.image == l.base.reference {
                let mut p = candidate_plan(
                    c,
                    CandidateVerdict::Fits,
                    format!("pinned by the lock at {}", l.base.digest),
                );
                p.digest = Some(l.base.digest.clone());
                p.layers = l.base.layers;
                p.size_bytes = l.base.size_bytes;
                p
            } else {
                candidate_plan(c, CandidateVerdict::NotConsidered, "the lock pins another candidate".into())
            }
        })
        .collect::<Vec<_>>();
    let listed = r.base.candidates.iter().any(|c| c.image == l.base.reference);
    let mut candidates = candidates;
    if !listed {
        let mut p = CandidatePlan {
            image: l.base.reference.clone(),
            fallback: false,
            python: l.base.python.clone(),
            verdict: CandidateVerdict::Fits,
            reason: format!("pinned by the lock at {}", l.base.digest),
            note: Some("from the lock, not among this profile's candidates for this device".into()),
            digest: Some(l.base.digest.clone()),
            layers: l.base.layers,
            size_bytes: l.base.size_bytes,
        };
        p.python = l.base.python.clone();
        candidates.insert(0, p);
    }
    BasePlan {
        row: r.base.row.clone(),
        note: r.base.note.clone(),
        candidates,
        chosen: Some(l.base.reference.clone()),
        action: "pinned".into(),
        reason: format!("the lock pins {}@{}", l.base.reference, l.base.digest),
    }
}

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / GB)
}

impl Plan {
    /// Exit code of a dry run: 0 when the provision would go on, 1 when something stops it.
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.blocked_by.is_empty())
    }
}

/// The profile as a lock names it.
pub fn lock_profile(r: &Resolved) -> super::lock::LockProfile {
    super::lock::LockProfile { name: r.profile.name.clone(), sha256: r.profile.sha256.clone() }
}

/// The device as a lock names it.
pub fn lock_device(r: &Resolved) -> super::lock::LockDevice {
    super::lock::LockDevice {
        platform: r.platform.as_str().to_string(),
        arch: r.device.arch.clone(),
        l4t: r.device.l4t.clone(),
        jetpack: r.device.jetpack.clone(),
        cuda: r.device.cuda.clone(),
    }
}
