//! Choosing an image, in order: a local image that passes the rules (never "any local image"),
//! then the registries queried live (manifest, layer count and size before any pull), then
//! "build". Every candidate ends up in the result with the decisions that accepted or rejected
//! it, which is what `--explain` prints. Pulling goes through the host's Docker engine and the
//! pulled image is checked again. `local::base` applies the same rules to pick a base to build on.

mod candidates;
pub mod local;
mod pull;
mod remote;

use serde::Serialize;

pub use candidates::{candidates, CandidateRef, ProfileCandidates};
pub use local::LocalBase;

use super::registry::{Platform, RateLimit, RegistryClient, RegistryError};
use super::rules::{self, Decision, HostFacts, ImageFacts};
use crate::context::Context;
use crate::host::docker::DockerError;
use crate::units::human_bytes;

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("nothing to choose from: pass --profile NAME or --candidate IMAGE")]
    NoCandidates,
    #[error(transparent)]
    Reference(#[from] RegistryError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("no base image of {origin} is present locally and fits this host:\n  {}\n  pull one (`jetdoc image select --candidate {} --pull`), or pass --base IMAGE", why.join("\n  "), first.as_deref().unwrap_or("IMAGE"))]
    NoLocalBase { origin: String, why: Vec<String>, first: Option<String> },
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
    /// The base candidates of a provisioning profile resolved for this device, tried before
    /// `candidates`.
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

/// What a candidate's decision was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecidedOn {
    /// Its tag alone, before any query (the tag already failed a rule).
    Tag,
    /// The image itself: a local inspect, or the registry's manifest and config.
    Image,
    /// Nothing: an earlier candidate was chosen.
    NotQueried,
}

/// One image considered, and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub reference: String,
    pub source: Source,
    /// Why it was considered: `--candidate`, `profile pytorch`, `local tag of dustynv/l4t-pytorch`.
    pub origin: String,
    pub accepted: bool,
    pub decided_on: DecidedOn,
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
            None if self.decided_on == DecidedOn::NotQueried => {
                "not queried: an earlier candidate was chosen".into()
            }
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

/// Chooses an image: a compatible local one, else the first compatible registry image (pulled
/// with `req.pull`), else "build".
pub fn select(
    ctx: &Context,
    req: &Request,
    client: &mut RegistryClient,
    reporter: &dyn SelectReporter,
) -> Result<Selection, SelectError> {
    let host = HostFacts::probe(ctx);
    let list = candidates(ctx, req)?;
    let mut notes = Vec::new();
    let want = match host.docker_platform().as_deref().and_then(Platform::parse) {
        Some(p) => p,
        None => {
            notes.push("the host's architecture is unknown: asking registries for linux/arm64".into());
            Platform { os: "linux".into(), architecture: "arm64".into(), variant: None }
        }
    };
    let platform = want.to_string();

    reporter.step("inspecting local images");
    let local = local::scan(ctx, &host, &list);
    notes.extend(local.notes);
    let mut out = local.candidates;
    if let Some(c) = out.iter().find(|c| c.accepted) {
        let chosen = Chosen {
            action: Action::UseLocal,
            reference: Some(c.reference.clone()),
            reason: format!("{} is already local and passes every rule", c.reference),
        };
        notes.push("registries not queried: a compatible local image exists".into());
        return Ok(Selection { host, candidates: out, chosen, pull: None, notes });
    }

    let (remote, chosen) = remote::query(&host, &ctx.knowledge, &list, &want, client, reporter)?;
    let offset = out.len();
    out.extend(remote);
    let Some(i) = chosen.map(|i| i + offset) else {
        // `jetdoc provision` fetches what the profile downloads (wheels, ZED SDK) before it builds;
        // `image build` alone takes only the profile's own files, so it is not the advice.
        let build = match &req.profile {
            // The profile loaded (a name of `jetdoc profiles list` or a file): it exists.
            Some(p) => format!("with `jetdoc provision {} --no-run`", p.name),
            None => format!(
                "from a provisioning profile with jetdoc provision PROFILE --no-run (built in: {}; see `jetdoc profiles list`)",
                crate::provision::profile::BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        };
        let unanswered = out.iter().filter(|c| c.error.is_some()).count();
        let reason = if unanswered == 0 {
            format!("no candidate fits this host: build one {build}")
        } else {
            format!("no candidate fits this host ({unanswered} could not be checked at the registry: see --explain): build one {build}, or fix the access and run again")
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
    let pull = req.pull.then(|| pull::pull_and_recheck(ctx, &host, &out[i], &platform, reporter));
    Ok(Selection { host, candidates: out, chosen, pull, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::docker::{DockerCall, FakeDocker};
    use crate::host::{EnvSource, FakeRunner, Host};
    use crate::knowledge::Knowledge;

    fn fixture_ctx(docker: FakeDocker) -> Context {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/image-select/agx-orin-r36.4.3");
        let runner = FakeRunner::from_table(Default::default(), root.clone());
        let host = Host::with_root(&root, Box::new(runner), EnvSource::Map(Default::default()))
            .unwrap()
            .with_docker(Box::new(docker));
        Context::new(host, Knowledge::builtin())
    }

    #[test]
    fn a_local_image_that_fails_the_rules_is_not_chosen_and_the_profile_falls_to_build() {
        // A local r36.4.0 tag whose labels say r35: the labels win, so it is rejected; every
        // other zed candidate fails on its tag; nothing is queried, and the answer is "build".
        let inspect = r#"[{"Id":"sha256:aa","RepoTags":["dustynv/zed:r36.4.0"],"Architecture":"arm64","Os":"linux","Size":10,
            "Config":{"Labels":{"io.jetdoc.l4t":"35.4.1"},"Env":["PATH=/bin"]},"RootFS":{"Type":"layers","Layers":["sha256:1","sha256:2"]}}]"#;
        let image = crate::container::image_config::parse(inspect, "dustynv/zed:r36.4.0").unwrap();
        let fake = FakeDocker::new().with_image("dustynv/zed:r36.4.0", image);
        let ctx = fixture_ctx(fake.clone());
        let mut client = RegistryClient::new(Default::default(), std::time::Duration::from_secs(2)).unwrap();
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
        assert!(remote.iter().all(|c| c.decided_on == DecidedOn::Tag && !c.accepted));
        assert!(!s.succeeded());
        // One inspect of the profile's candidates, one listing of their repository, one inspect of
        // what it found; no pull.
        assert_eq!(
            fake.calls(),
            vec![
                DockerCall::Inspect(vec![
                    "dustynv/zed:r35.4.1".into(),
                    "dustynv/zed:r35.3.1".into(),
                    "dustynv/zed:r32.7.1".into()
                ]),
                DockerCall::ImageList(vec!["dustynv/zed".into()]),
                DockerCall::Inspect(vec!["dustynv/zed:r36.4.0".into()]),
            ]
        );
    }

    #[test]
    fn empty_requests_and_bad_references_are_errors() {
        let ctx = fixture_ctx(FakeDocker::new());
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
}
