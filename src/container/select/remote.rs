//! Registries, queried live in the candidates' order: manifest, layer count, size and config
//! before any pull. A tag that already fails a rule is not queried; after the first image that
//! passes, the rest are listed as not queried.

use super::candidates::CandidateRef;
use super::{Candidate, DecidedOn, SelectError, SelectReporter, Source};
use crate::container::budget;
use crate::container::registry::{Platform, Reference, RegistryClient, RegistryError};
use crate::container::rules::{self, ConfigView, HostFacts, ImageFacts, Verdict};
use crate::knowledge::Knowledge;

/// Judges each candidate at its registry; returns them all and the index of the chosen one.
pub fn query(
    host: &HostFacts,
    k: &Knowledge,
    list: &[CandidateRef],
    want: &Platform,
    client: &mut RegistryClient,
    reporter: &dyn SelectReporter,
) -> Result<(Vec<Candidate>, Option<usize>), SelectError> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut chosen: Option<usize> = None;
    for cand in list {
        let tag_facts = ImageFacts::from_tag(&cand.reference, k);
        let mut c = Candidate {
            reference: cand.reference.clone(),
            source: Source::Registry,
            origin: cand.origin.clone(),
            accepted: false,
            decided_on: DecidedOn::Tag,
            decisions: rules::evaluate(host, &tag_facts, k),
            facts: tag_facts.clone(),
            error: None,
            layers: None,
            size_bytes: None,
            digest: None,
            platforms: Vec::new(),
            rate_limit: None,
            note: cand.note.clone(),
            warnings: Vec::new(),
        };
        if chosen.is_some() {
            c.decided_on = DecidedOn::NotQueried;
            c.decisions.retain(|d| d.verdict == Verdict::Fail);
            out.push(c);
            continue;
        }
        if !rules::accepted(&c.decisions) {
            out.push(c);
            continue;
        }
        reporter.step(&format!("querying {}", cand.reference));
        let parsed = Reference::parse(&cand.reference)?;
        c.decided_on = DecidedOn::Image;
        match client.inspect(&parsed, want) {
            Err(RegistryError::NoPlatform { wanted, available, .. }) => {
                // Not an access problem: the image exists, for other architectures only.
                if let Some(d) = c.decisions.iter_mut().find(|d| d.rule == "image.arch") {
                    d.verdict = Verdict::Fail;
                    d.message = format!("no {wanted} image in its index; it has {available}");
                }
            }
            Err(e) => c.error = Some(e.to_string()),
            Ok(remote) => {
                let labels = remote.config.labels.clone();
                let view = ConfigView {
                    os: remote.config.os.as_deref(),
                    arch: remote.config.architecture.as_deref(),
                    labels: Some(&labels),
                    env: &remote.config.env,
                };
                c.facts = ImageFacts::from_config(&view, &tag_facts, k);
                c.decisions = rules::evaluate(host, &c.facts, k);
                c.accepted = rules::accepted(&c.decisions);
                c.layers = Some(remote.layers);
                c.warnings = budget::depth_warning(remote.layers).into_iter().collect();
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
    Ok((out, chosen))
}
