//! Local images: the candidates themselves, then (only if none fits) the other local tags of
//! their repositories. Each is judged by the same rules as a registry image: an image does not
//! win because it is already there (jetson-containers' `autotag` trap).

use super::candidates::CandidateRef;
use super::{Candidate, DecidedOn, SelectError, Source};
use crate::container::budget;
use crate::container::image_config::ImageInspect;
use crate::container::registry::Reference;
use crate::container::rules::{self, ConfigView, HostFacts, ImageFacts};
use crate::context::Context;
use crate::host::docker::{Docker, DockerError};
use crate::knowledge::Knowledge;

/// What the local engine has for a candidate list, judged; or why it could not be asked.
pub struct LocalScan {
    pub candidates: Vec<Candidate>,
    /// Steps that could not run, and why.
    pub notes: Vec<String>,
}

/// Judges the local images for `list`: the candidates themselves (one `docker image inspect`),
/// then, when none passes, the other local tags of their repositories.
pub fn scan(ctx: &Context, host: &HostFacts, list: &[CandidateRef]) -> LocalScan {
    let k = &ctx.knowledge;
    let mut out = LocalScan { candidates: Vec::new(), notes: Vec::new() };
    let docker = match ctx.host.docker() {
        Ok(d) => d,
        Err(e) => {
            out.notes.push(format!("local images not checked: {e}"));
            return out;
        }
    };
    match inspect_many(docker, list) {
        Err(e) => {
            out.notes.push(format!("local images not checked: {e}"));
            return out;
        }
        Ok(found) => out.candidates.extend(found.iter().map(|(c, i)| judge(host, k, c, i))),
    }
    if !out.candidates.iter().any(|c| c.accepted) {
        match other_tags(docker, list).and_then(|others| inspect_many(docker, &others)) {
            Err(e) => out.notes.push(format!("other local tags not checked: {e}")),
            Ok(found) => out.candidates.extend(found.iter().map(|(c, i)| judge(host, k, c, i))),
        }
    }
    out
}

/// A base to build on, chosen from the local engine by the rules of `image select`.
#[derive(Debug, Clone)]
pub struct LocalBase {
    pub reference: String,
    pub image: ImageInspect,
    /// Every local image considered, the chosen one included.
    pub considered: Vec<Candidate>,
}

/// The first of `references` (then another local tag of their repositories) that is present
/// locally and passes every rule for this host. What `image build` builds on when no `--base`
/// is given, and what a provision step uses before pulling.
pub fn base(ctx: &Context, references: &[String], origin: &str) -> Result<LocalBase, SelectError> {
    let docker = ctx.host.docker()?;
    let host = HostFacts::probe(ctx);
    let list: Vec<CandidateRef> = references.iter().map(|r| CandidateRef::new(r.clone(), origin)).collect();
    let found = inspect_many(docker, &list)?;
    let mut considered: Vec<Candidate> =
        found.iter().map(|(c, i)| judge(&host, &ctx.knowledge, c, i)).collect();
    let mut images: Vec<ImageInspect> = found.into_iter().map(|(_, i)| i).collect();
    if !considered.iter().any(|c| c.accepted) {
        let others = inspect_many(docker, &other_tags(docker, &list)?)?;
        considered.extend(others.iter().map(|(c, i)| judge(&host, &ctx.knowledge, c, i)));
        images.extend(others.into_iter().map(|(_, i)| i));
    }
    match considered.iter().position(|c| c.accepted) {
        Some(i) => {
            Ok(LocalBase { reference: considered[i].reference.clone(), image: images[i].clone(), considered })
        }
        None => {
            let mut why: Vec<String> = references
                .iter()
                .filter(|r| !considered.iter().any(|c| &c.reference == *r))
                .map(|r| format!("{r}: not present locally"))
                .collect();
            why.extend(considered.iter().map(|c| format!("{}: {}", c.reference, c.summary())));
            Err(SelectError::NoLocalBase {
                origin: origin.to_string(),
                why,
                first: references.first().cloned(),
            })
        }
    }
}

/// Other local tags of the candidates' repositories (`l4t-pytorch:r36.4.0-cu126` when
/// `l4t-pytorch:r36.4.0` was asked for). One `docker image ls` for all repositories: listing is
/// the slow call on a daemon with many images, so it runs only when no candidate itself fits.
fn other_tags(docker: &dyn Docker, list: &[CandidateRef]) -> Result<Vec<CandidateRef>, DockerError> {
    let mut repos: Vec<String> = Vec::new();
    for c in list {
        let repo = rules::split_tag(&c.reference).0.to_string();
        if !repos.contains(&repo) {
            repos.push(repo);
        }
    }
    let patterns: Vec<&str> = repos.iter().map(String::as_str).collect();
    let listed = docker.image_list(&patterns)?;
    let mut others: Vec<CandidateRef> = Vec::new();
    for line in listed.iter().map(String::as_str) {
        if list.iter().any(|c| same_image_name(&c.reference, line))
            || others.iter().any(|c| c.reference == line)
        {
            continue;
        }
        let repo = rules::split_tag(line).0;
        let of = repos.iter().find(|r| same_repo(r, repo)).cloned().unwrap_or_else(|| repo.to_string());
        others.push(CandidateRef::new(line, format!("local tag of {of}")));
    }
    Ok(others)
}

/// `docker image inspect REF...` in one call: the images that exist, each with the candidate
/// it was asked by.
fn inspect_many(
    docker: &dyn Docker,
    list: &[CandidateRef],
) -> Result<Vec<(CandidateRef, ImageInspect)>, DockerError> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let asked: Vec<&str> = list.iter().map(|c| c.reference.as_str()).collect();
    let all = docker.inspect(&asked)?;
    let mut found = Vec::new();
    for c in list {
        let hit = all.iter().find(|i| {
            i.id == c.reference
                || i.repo_tags.iter().flatten().any(|t| same_image_name(&c.reference, t))
                || i.repo_digests.iter().flatten().any(|d| same_image_name(&c.reference, d))
        });
        if let Some(i) = hit {
            found.push((c.clone(), i.clone()));
        }
    }
    Ok(found)
}

/// The local image a reference names, when there is one.
pub fn inspect_one(docker: &dyn Docker, reference: &str) -> Result<Option<ImageInspect>, DockerError> {
    Ok(inspect_many(docker, &[CandidateRef::new(reference, "")])?.into_iter().next().map(|(_, i)| i))
}

fn same_repo(a: &str, b: &str) -> bool {
    a == b
        || matches!((Reference::parse(a), Reference::parse(b)), (Ok(x), Ok(y)) if x.registry == y.registry && x.repository == y.repository)
}

/// `dustynv/x:1` and `docker.io/dustynv/x:1` name the same image.
fn same_image_name(a: &str, b: &str) -> bool {
    a == b || matches!((Reference::parse(a), Reference::parse(b)), (Ok(x), Ok(y)) if x == y)
}

/// The facts a local image states: its config (labels, ENV, platform), else its tag.
pub fn facts(reference: &str, inspect: &ImageInspect, fallback: ImageFacts, k: &Knowledge) -> ImageFacts {
    let cfg = inspect.config.clone().unwrap_or_default();
    let env = cfg.env.clone().unwrap_or_default();
    let view = ConfigView {
        os: Some(&inspect.os),
        arch: Some(&inspect.architecture),
        labels: cfg.labels.as_ref(),
        env: &env,
    };
    ImageFacts::from_config(&view, &fallback.or(ImageFacts::from_tag(reference, k)), k)
}

pub(super) fn judge(host: &HostFacts, k: &Knowledge, c: &CandidateRef, inspect: &ImageInspect) -> Candidate {
    let facts = facts(&c.reference, inspect, ImageFacts::default(), k);
    let decisions = rules::evaluate(host, &facts, k);
    let layers = Some(inspect.layer_count()).filter(|n| *n > 0);
    Candidate {
        reference: c.reference.clone(),
        source: Source::Local,
        origin: c.origin.clone(),
        accepted: rules::accepted(&decisions),
        decided_on: DecidedOn::Image,
        facts,
        decisions,
        error: None,
        layers,
        size_bytes: Some(inspect.size),
        digest: Some(inspect.id.clone()).filter(|s| !s.is_empty()),
        platforms: Vec::new(),
        rate_limit: None,
        note: c.note.clone(),
        warnings: layers.and_then(budget::depth_warning).into_iter().collect(),
    }
}
