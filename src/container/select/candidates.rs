//! The list of images to consider: a profile's rows of the tables, then `--candidate`s.

use super::{Request, SelectError};
use crate::container::registry::Reference;
use crate::context::Context;

/// One image to consider, and why it is on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateRef {
    pub reference: String,
    /// `--candidate`, `profile pytorch`, `local tag of dustynv/l4t-pytorch`.
    pub origin: String,
    /// The table row's note, shown with the candidate.
    pub note: Option<String>,
}

impl CandidateRef {
    pub fn new(reference: impl Into<String>, origin: impl Into<String>) -> CandidateRef {
        CandidateRef { reference: reference.into(), origin: origin.into(), note: None }
    }
}

/// The profile's rows of the tables, then the `--candidate`s, without repeats.
pub fn candidates(ctx: &Context, req: &Request) -> Result<Vec<CandidateRef>, SelectError> {
    let mut out: Vec<CandidateRef> = Vec::new();
    if let Some(profile) = &req.profile {
        let rows: Vec<_> = ctx.knowledge.image.iter().filter(|r| &r.profile == profile).collect();
        if rows.is_empty() {
            let mut known: Vec<&str> = ctx.knowledge.image.iter().map(|r| r.profile.as_str()).collect();
            known.sort();
            known.dedup();
            return Err(SelectError::UnknownProfile { profile: profile.clone(), known: known.join(", ") });
        }
        for r in rows {
            out.push(CandidateRef {
                reference: r.reference.clone(),
                origin: format!("profile {profile}"),
                note: r.note.clone(),
            });
        }
    }
    for c in &req.candidates {
        Reference::parse(c)?;
        out.push(CandidateRef::new(c.clone(), "--candidate"));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|c| seen.insert(c.reference.clone()));
    if out.is_empty() {
        return Err(SelectError::NoCandidates);
    }
    Ok(out)
}
