//! Choosing an image, in order: a local image that passes the rules (never "any local image"),
//! then the registries queried live (manifest, layer count and size before any pull), then
//! "build". Every candidate ends up in the result with the decisions that accepted or rejected
//! it, which is what `--explain` prints. Pulling goes through `docker pull` and the pulled image is
//! checked again.

use serde::Serialize;
use std::io::BufRead;
use std::time::Duration;

use super::registry::{Platform, RateLimit, Reference, RegistryClient, RegistryError};
use super::rules::{self, ConfigView, Decision, HostFacts, ImageFacts, Verdict};
use crate::container::image_config::ImageInspect;
use crate::context::Context;
use crate::host::CmdStatus;

/// Docker's layer store refuses a 126th filesystem layer ("max depth exceeded", moby
/// `layer_store.go` maxLayerDepth = 125); from 100 a base leaves little room for build steps
/// (container-runtime.md §9). Said before the pull, not after 30 GB have landed.
pub const LAYER_LIMIT: usize = 125;
pub const LAYER_WARN: usize = 100;

/// How long a `docker pull` may take: a JetPack base is 5-15 GB.
const PULL_TIMEOUT: Duration = Duration::from_secs(4 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("nothing to choose from: pass --profile NAME or --candidate IMAGE")]
    NoCandidates,
    #[error(transparent)]
    Reference(#[from] RegistryError),
}

/// Progress of a selection; the command layer draws it.
pub trait SelectReporter {
    /// A step starts (`inspecting local images`, `querying 127.0.0.1:5000/...`).
    fn step(&self, message: &str);
    /// `docker pull` starts; `layers` is known from the manifest.
    fn pull_started(&self, reference: &str, layers: Option<usize>);
    /// One line of `docker pull` output.
    fn pull_line(&self, line: &str);
    fn pull_finished(&self, ok: bool);
}

/// A reporter that shows nothing (JSON output, tests).
pub struct Silent;

impl SelectReporter for Silent {
    fn step(&self, _: &str) {}
    fn pull_started(&self, _: &str, _: Option<usize>) {}
    fn pull_line(&self, _: &str) {}
    fn pull_finished(&self, _: bool) {}
}

pub struct Request {
    /// The base candidates of a provisioning profile resolved for this device
    /// (`provision::Resolved::base`), tried before `candidates`.
    pub profile: Option<ProfileCandidates>,
    pub candidates: Vec<String>,
    pub pull: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Local,
    Registry,
}

/// One image considered, and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub reference: String,
    pub source: Source,
    /// Why it was considered: `--candidate`, `profile pytorch`, `local tag of dustynv/l4t-pytorch`.
    pub origin: String,
    pub accepted: bool,
    /// What the decision was made on: `tag` (before any query), `image` (local inspect or the
    /// registry's manifest and config), or `not-queried`.
    pub decided_on: String,
    pub facts: ImageFacts,
    pub decisions: Vec<Decision>,
    /// Registry or Docker error that ruled it out (not found, unauthorized, no arm64 variant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Filesystem layers (the count the daemon's 125-layer limit applies to).
    pub layers: Option<usize>,
    /// Local: size on disk; registry: compressed download size.
    pub size_bytes: Option<u64>,
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Things to know that do not reject it (a layer count near the limit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Candidate {
    /// The one line saying why it was rejected (or accepted).
    pub fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return e.lines().next().unwrap_or(e).to_string();
        }
        match rules::first_failure(&self.decisions) {
            Some(d) => format!("{}: {}", d.rule, d.message),
            None if self.decided_on == "not-queried" => "not queried: an earlier candidate was chosen".into(),
            None => "passes every rule".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A compatible image is already local.
    UseLocal,
    /// A compatible image is in a registry (pulled when `--pull` was given).
    Pull,
    /// Nothing compatible: build one.
    Build,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chosen {
    pub action: Action,
    pub reference: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PullResult {
    pub reference: String,
    pub platform: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The pulled image, inspected and judged again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck: Option<Candidate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Selection {
    pub host: HostFacts,
    pub candidates: Vec<Candidate>,
    pub chosen: Chosen,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullResult>,
    /// Steps that could not run (no Docker, foreign root) and why.
    pub notes: Vec<String>,
}

impl Selection {
    /// Done when an image was chosen and, if pulled, the pull worked and the result passed.
    pub fn succeeded(&self) -> bool {
        self.chosen.action != Action::Build
            && self.pull.as_ref().is_none_or(|p| p.ok && p.recheck.as_ref().is_some_and(|c| c.accepted))
    }
}

/// A profile's base images for this device, in order of preference.
#[derive(Debug, Clone)]
pub struct ProfileCandidates {
    /// The name `jetdoc image build --profile` takes (a built-in name or the file given).
    pub name: String,
    /// (reference, note), candidates then fallbacks.
    pub images: Vec<(String, Option<String>)>,
}

/// The candidate list: the profile's base images, then `--candidate`s, without repeats.
pub fn candidates(
    _ctx: &Context,
    req: &Request,
) -> Result<Vec<(String, String, Option<String>)>, SelectError> {
    let mut out: Vec<(String, String, Option<String>)> = Vec::new();
    if let Some(profile) = &req.profile {
        for (reference, note) in &profile.images {
            out.push((reference.clone(), format!("profile {}", profile.name), note.clone()));
        }
    }
    for c in &req.candidates {
        Reference::parse(c)?;
        out.push((c.clone(), "--candidate".into(), None));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|(r, _, _)| seen.insert(r.clone()));
    if out.is_empty() {
        return Err(SelectError::NoCandidates);
    }
    Ok(out)
}

pub fn select(
    ctx: &Context,
    req: &Request,
    client: &mut RegistryClient,
    reporter: &dyn SelectReporter,
) -> Result<Selection, SelectError> {
    let host = HostFacts::probe(ctx);
    let list = candidates(ctx, req)?;
    let k = &ctx.knowledge;
    let mut notes = Vec::new();
    let mut out: Vec<Candidate> = Vec::new();
    let platform_str = host.docker_platform().unwrap_or_else(|| "linux/arm64".into());
    if host.arch.is_none() {
        notes.push("the host's architecture is unknown: asking registries for linux/arm64".into());
    }
    let want = Platform::parse(&platform_str).expect("os/arch");

    // 1. Local images: the candidates themselves, then (only if none fits) other local tags of
    // their repositories. Each is judged by the same rules as a registry image.
    reporter.step("inspecting local images");
    let asked: Vec<(String, String)> = list.iter().map(|(r, o, _)| (r.clone(), o.clone())).collect();
    let mut docker_ok = true;
    match inspect_local_many(ctx, &asked) {
        Err(why) => {
            docker_ok = false;
            notes.push(format!("local images not checked: {why}"));
        }
        Ok(found) => out.extend(found.iter().map(|(r, o, i)| judge_local(&host, k, r, o, i))),
    }
    if docker_ok && !out.iter().any(|c| c.accepted) {
        match other_local_tags(ctx, &list).and_then(|others| inspect_local_many(ctx, &others)) {
            Err(why) => notes.push(format!("other local tags not checked: {why}")),
            Ok(found) => out.extend(found.iter().map(|(r, o, i)| judge_local(&host, k, r, o, i))),
        }
    }
    if let Some(c) = out.iter().find(|c| c.accepted) {
        let chosen = Chosen {
            action: Action::UseLocal,
            reference: Some(c.reference.clone()),
            reason: format!("{} is already local and passes every rule", c.reference),
        };
        notes.push("registries not queried: a compatible local image exists".into());
        return Ok(Selection { host, candidates: out, chosen, pull: None, notes });
    }

    // 2. Registries, in the candidates' order; tags that already fail are not queried.
    let mut chosen: Option<usize> = None;
    for (reference, origin, note) in &list {
        let tag_facts = ImageFacts::from_tag(reference, k);
        let mut c = Candidate {
            reference: reference.clone(),
            source: Source::Registry,
            origin: origin.clone(),
            accepted: false,
            decided_on: "tag".into(),
            decisions: rules::evaluate(&host, &tag_facts, k),
            facts: tag_facts.clone(),
            error: None,
            layers: None,
            size_bytes: None,
            digest: None,
            platforms: Vec::new(),
            rate_limit: None,
            note: note.clone(),
            warnings: Vec::new(),
        };
        if chosen.is_some() {
            c.decided_on = "not-queried".into();
            c.decisions.retain(|d| d.verdict == Verdict::Fail);
            out.push(c);
            continue;
        }
        if !rules::accepted(&c.decisions) {
            out.push(c);
            continue;
        }
        reporter.step(&format!("querying {reference}"));
        let parsed = Reference::parse(reference)?;
        match client.inspect(&parsed, &want) {
            Err(RegistryError::NoPlatform { wanted, available, .. }) => {
                // Not an access problem: the image exists, for other architectures only.
                c.decided_on = "image".into();
                if let Some(d) = c.decisions.iter_mut().find(|d| d.rule == "image.arch") {
                    d.verdict = Verdict::Fail;
                    d.message = format!("no {wanted} image in its index; it has {available}");
                }
            }
            Err(e) => {
                c.decided_on = "image".into();
                c.error = Some(e.to_string());
            }
            Ok(remote) => {
                let labels = remote.config.labels.clone();
                let view = ConfigView {
                    os: remote.config.os.as_deref(),
                    arch: remote.config.architecture.as_deref(),
                    labels: Some(&labels),
                    env: &remote.config.env,
                };
                c.facts = ImageFacts::from_config(&view, &tag_facts, k);
                c.decisions = rules::evaluate(&host, &c.facts, k);
                c.decided_on = "image".into();
                c.accepted = rules::accepted(&c.decisions);
                c.layers = Some(remote.layers);
                c.warnings = layer_warnings(remote.layers);
                c.size_bytes = Some(remote.compressed_bytes);
                c.digest = Some(remote.manifest_digest.clone());
                c.platforms = remote.platforms.clone();
                c.rate_limit = remote.rate_limit.clone();
                if c.accepted {
                    chosen = Some(out.len());
                }
            }
        }
        out.push(c);
    }

    let Some(i) = chosen else {
        let build = match &req.profile {
            Some(p) => format!("`jetdoc image build --profile {}`", p.name),
            None => "`jetdoc image build`".into(),
        };
        let unanswered = out.iter().filter(|c| c.error.is_some()).count();
        let reason = if unanswered == 0 {
            format!("no candidate fits this host: build one with {build}")
        } else {
            format!("no candidate fits this host ({unanswered} could not be checked at the registry: see --explain): build one with {build}, or fix the access and run again")
        };
        return Ok(Selection {
            host,
            candidates: out,
            chosen: Chosen { action: Action::Build, reference: None, reason },
            pull: None,
            notes,
        });
    };
    let c = &out[i];
    let chosen = Chosen {
        action: Action::Pull,
        reference: Some(c.reference.clone()),
        reason: format!(
            "{} passes every rule: {} layers, {} to download",
            c.reference,
            c.layers.unwrap_or(0),
            human_bytes(c.size_bytes.unwrap_or(0))
        ),
    };
    let pull = req.pull.then(|| pull_and_recheck(ctx, &host, &out[i], &platform_str, reporter));
    Ok(Selection { host, candidates: out, chosen, pull, notes })
}

/// Other local tags of the candidates' repositories (`l4t-pytorch:r36.4.0-cu126` when
/// `l4t-pytorch:r36.4.0` was asked for). One `docker image ls` for all repositories: listing is
/// the slow call on a daemon with many images, so it runs only when no candidate itself fits.
fn other_local_tags(
    ctx: &Context,
    list: &[(String, String, Option<String>)],
) -> Result<Vec<(String, String)>, String> {
    let mut repos: Vec<String> = Vec::new();
    for (reference, _, _) in list {
        let repo = rules::split_tag(reference).0.to_string();
        if !repos.contains(&repo) {
            repos.push(repo);
        }
    }
    let mut args: Vec<String> =
        vec!["image".into(), "ls".into(), "--format".into(), "{{.Repository}}:{{.Tag}}".into()];
    for repo in &repos {
        args.push("--filter".into());
        args.push(format!("reference={repo}"));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ctx.host.run("docker", &argv);
    if !out.success() {
        return Err(out.describe_failure(&format!("docker {}", args.join(" "))));
    }
    let mut others: Vec<(String, String)> = Vec::new();
    for line in out.stdout.lines().map(str::trim).filter(|l| !l.is_empty() && !l.contains("<none>")) {
        if list.iter().any(|(r, _, _)| same_image_name(r, line)) || others.iter().any(|(r, _)| r == line) {
            continue;
        }
        let repo = rules::split_tag(line).0;
        let of = repos.iter().find(|r| same_repo(r, repo)).cloned().unwrap_or_else(|| repo.to_string());
        others.push((line.to_string(), format!("local tag of {of}")));
    }
    Ok(others)
}

/// `docker image inspect REF...` in one call: the images that exist, each with the reference
/// it was asked by. Missing ones are simply absent (docker exits 1 and names them on stderr).
fn inspect_local_many(
    ctx: &Context,
    refs: &[(String, String)],
) -> Result<Vec<(String, String, ImageInspect)>, String> {
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["image", "inspect"];
    args.extend(refs.iter().map(|(r, _)| r.as_str()));
    let out = ctx.host.run("docker", &args);
    let only_missing = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .all(|l| l.contains("No such image") || l.contains("No such object"));
    match out.status {
        CmdStatus::Exited(0) => {}
        CmdStatus::Exited(1) if only_missing => {}
        _ => return Err(out.describe_failure(&format!("docker {}", args.join(" ")))),
    }
    let all: Vec<ImageInspect> = if out.stdout.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&out.stdout)
            .map_err(|e| format!("`docker {}` printed unexpected JSON: {e}", args.join(" ")))?
    };
    let mut found = Vec::new();
    for (reference, origin) in refs {
        let hit = all.iter().find(|i| {
            i.repo_tags.iter().flatten().any(|t| same_image_name(reference, t))
                || i.repo_digests.iter().flatten().any(|d| same_image_name(reference, d))
        });
        if let Some(i) = hit {
            found.push((reference.clone(), origin.clone(), i.clone()));
        }
    }
    Ok(found)
}

/// `docker image inspect REF`: `Ok(None)` when there is no such image.
fn inspect_local(ctx: &Context, reference: &str) -> Result<Option<ImageInspect>, String> {
    let refs = [(reference.to_string(), String::new())];
    Ok(inspect_local_many(ctx, &refs)?.into_iter().next().map(|(_, _, i)| i))
}

fn same_repo(a: &str, b: &str) -> bool {
    a == b
        || matches!((Reference::parse(a), Reference::parse(b)), (Ok(x), Ok(y)) if x.registry == y.registry && x.repository == y.repository)
}

/// `dustynv/x:1` and `docker.io/dustynv/x:1` name the same image.
fn same_image_name(a: &str, b: &str) -> bool {
    a == b || matches!((Reference::parse(a), Reference::parse(b)), (Ok(x), Ok(y)) if x == y)
}

fn judge_local(
    host: &HostFacts,
    k: &crate::knowledge::Knowledge,
    reference: &str,
    origin: &str,
    inspect: &ImageInspect,
) -> Candidate {
    let tag_facts = ImageFacts::from_tag(reference, k);
    let cfg = inspect.config.clone().unwrap_or_default();
    let env = cfg.env.clone().unwrap_or_default();
    let view = ConfigView {
        os: Some(&inspect.os),
        arch: Some(&inspect.architecture),
        labels: cfg.labels.as_ref(),
        env: &env,
    };
    let facts = ImageFacts::from_config(&view, &tag_facts, k);
    let decisions = rules::evaluate(host, &facts, k);
    Candidate {
        reference: reference.to_string(),
        source: Source::Local,
        origin: origin.to_string(),
        accepted: rules::accepted(&decisions),
        decided_on: "image".into(),
        facts,
        decisions,
        error: None,
        layers: layer_count(inspect),
        size_bytes: Some(inspect.size),
        digest: Some(inspect.id.clone()).filter(|s| !s.is_empty()),
        platforms: Vec::new(),
        rate_limit: None,
        note: None,
        warnings: layer_count(inspect).map(layer_warnings).unwrap_or_default(),
    }
}

/// `None` when the inspect output has no RootFS layers (it always has on a real daemon).
fn layer_count(inspect: &ImageInspect) -> Option<usize> {
    Some(inspect.root_fs.layers.len()).filter(|n| *n > 0)
}

fn layer_warnings(layers: usize) -> Vec<String> {
    if layers >= LAYER_LIMIT {
        vec![format!(
            "{layers} layers: at Docker's {LAYER_LIMIT}-layer limit, every RUN/COPY on it fails with `max depth exceeded`; build on a flattened copy (`jetdoc image flatten`)"
        )]
    } else if layers >= LAYER_WARN {
        vec![format!(
            "{layers} layers: {} left under Docker's {LAYER_LIMIT}-layer limit for the steps of a build on it",
            LAYER_LIMIT - layers
        )]
    } else {
        Vec::new()
    }
}

fn pull_and_recheck(
    ctx: &Context,
    host: &HostFacts,
    c: &Candidate,
    platform: &str,
    reporter: &dyn SelectReporter,
) -> PullResult {
    reporter.pull_started(&c.reference, c.layers);
    let result = docker_pull(ctx, &c.reference, platform, reporter);
    reporter.pull_finished(result.is_ok());
    let mut pull = PullResult {
        reference: c.reference.clone(),
        platform: platform.to_string(),
        ok: result.is_ok(),
        error: result.err(),
        recheck: None,
    };
    if pull.ok {
        match inspect_local(ctx, &c.reference) {
            Ok(Some(inspect)) => {
                pull.recheck = Some(judge_local(host, &ctx.knowledge, &c.reference, "pulled", &inspect))
            }
            Ok(None) => {
                pull.error = Some(format!(
                    "`docker pull` succeeded but `docker image inspect {}` finds no image",
                    c.reference
                ))
            }
            Err(e) => pull.error = Some(e),
        }
    }
    pull
}

/// Runs `docker pull --platform P REF`, streaming its lines to the reporter. With a fake or
/// offline runner (fixtures, foreign roots) the runner answers instead.
fn docker_pull(
    ctx: &Context,
    reference: &str,
    platform: &str,
    reporter: &dyn SelectReporter,
) -> Result<(), String> {
    let args = ["pull", "--platform", platform, reference];
    let cmdline = format!("docker {}", args.join(" "));
    if ctx.host.runner_kind() != "real" {
        let out = ctx.host.run_with_timeout("docker", &args, PULL_TIMEOUT);
        out.stdout.lines().for_each(|l| reporter.pull_line(l));
        return if out.success() { Ok(()) } else { Err(out.describe_failure(&cmdline)) };
    }
    let docker = which::which("docker").map_err(|_| "`docker` is not installed (not on PATH)".to_string())?;
    let reader = duct::cmd(docker, args)
        .env("LC_ALL", "C")
        .stdin_null()
        .stderr_to_stdout()
        .unchecked()
        .reader()
        .map_err(|e| format!("`{cmdline}` could not run: {e}"))?;
    let mut last = String::new();
    let mut lines = std::io::BufReader::new(&reader);
    let mut buf = String::new();
    loop {
        buf.clear();
        match lines.read_line(&mut buf) {
            Ok(0) => break,
            Ok(_) => {
                let line = buf.trim_end();
                reporter.pull_line(line);
                if !line.is_empty() {
                    last = line.to_string();
                }
            }
            Err(e) => return Err(format!("`{cmdline}`: reading its output failed: {e}")),
        }
    }
    match reader.try_wait() {
        Ok(Some(out)) if out.status.success() => Ok(()),
        Ok(Some(out)) => {
            Err(format!("`{cmdline}` exited with status {}: {last}", out.status.code().unwrap_or(-1)))
        }
        Ok(None) => Err(format!("`{cmdline}` did not finish")),
        Err(e) => Err(format!("`{cmdline}`: {e}")),
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{EnvSource, FakeRunner, Host};
    use crate::knowledge::Knowledge;

    fn fixture_ctx(commands: &str) -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/image-select/agx-orin-r36.4.3");
        let table = toml::from_str(commands).unwrap();
        let runner = FakeRunner::from_table(table, dir.path().to_path_buf());
        let host = Host::with_root(&root, Box::new(runner), EnvSource::Map(Default::default())).unwrap();
        (dir, Context::new(host, Knowledge::builtin()))
    }

    #[test]
    fn a_local_image_that_fails_the_rules_is_not_chosen_and_the_profile_falls_to_build() {
        // A local r36.4.0 tag whose labels say r35: the labels win, so it is rejected; every
        // other zed candidate fails on its tag; nothing is queried, and the answer is "build".
        let inspect = r#"[{"Id":"sha256:aa","RepoTags":["dustynv/zed:r36.4.0"],"Architecture":"arm64","Os":"linux","Size":10,
            "Config":{"Labels":{"io.jetdoc.l4t":"35.4.1"},"Env":["PATH=/bin"]},"RootFS":{"Type":"layers","Layers":["sha256:1","sha256:2"]}}]"#;
        let commands = format!(
            r#"
            [[command]]
            run = "docker image inspect dustynv/zed:r35.4.1 dustynv/zed:r35.3.1 dustynv/zed:r32.7.1"
            exit = 1
            stdout = "[]"
            stderr = "Error: No such image: dustynv/zed:r35.4.1\nError: No such image: dustynv/zed:r35.3.1\n"
            [[command]]
            run = "docker image ls --format {{{{.Repository}}}}:{{{{.Tag}}}} --filter reference=dustynv/zed"
            stdout = "dustynv/zed:r36.4.0\n<none>:<none>\n"
            [[command]]
            run = "docker image inspect dustynv/zed:r36.4.0"
            stdout = '''{inspect}'''
            "#
        );
        let (_d, ctx) = fixture_ctx(&commands);
        let mut client = RegistryClient::new(Default::default(), Duration::from_secs(2)).unwrap();
        let zed = ["dustynv/zed:r35.4.1", "dustynv/zed:r35.3.1", "dustynv/zed:r32.7.1"];
        let profile = ProfileCandidates {
            name: "zed".into(),
            images: zed.iter().map(|r| (r.to_string(), None)).collect(),
        };
        let req = Request { profile: Some(profile), candidates: vec![], pull: false };
        let s = select(&ctx, &req, &mut client, &Silent).unwrap();
        assert_eq!(s.chosen.action, Action::Build);
        let local = s.candidates.iter().find(|c| c.source == Source::Local).unwrap();
        assert_eq!(
            (local.reference.as_str(), local.origin.as_str(), local.layers),
            ("dustynv/zed:r36.4.0", "local tag of dustynv/zed", Some(2))
        );
        assert!(!local.accepted);
        assert!(
            local.summary().contains("built for L4T 35.4.1 (from label io.jetdoc.l4t)"),
            "{}",
            local.summary()
        );
        let remote: Vec<_> = s.candidates.iter().filter(|c| c.source == Source::Registry).collect();
        assert_eq!(remote.len(), 3);
        assert!(remote.iter().all(|c| c.decided_on == "tag" && !c.accepted));
        assert!(!s.succeeded());
    }

    #[test]
    fn empty_requests_and_bad_references_are_errors() {
        let (_d, ctx) = fixture_ctx("");
        assert!(matches!(
            candidates(&ctx, &Request { profile: None, candidates: vec![], pull: false }),
            Err(SelectError::NoCandidates)
        ));
        assert!(candidates(
            &ctx,
            &Request { profile: None, candidates: vec!["UPPER/case".into()], pull: false }
        )
        .is_err());
    }

    #[test]
    fn deep_images_are_flagged_before_the_pull() {
        assert!(layer_warnings(99).is_empty());
        assert!(layer_warnings(110)[0].contains("15 left under Docker's 125-layer limit"));
        assert!(layer_warnings(125)[0].contains("max depth exceeded"));
    }

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(5_200_000_000), "5.2 GB");
    }
}
