//! The list of images to consider: a profile's base images for this device, then `--candidate`s.

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

/// A profile's base images for this device, in order of preference (resolved by
/// `provision::base_candidates`: the same profile `image build` and `provision` take).
#[derive(Debug, Clone)]
pub struct ProfileCandidates {
    /// The name `jetdoc image build --profile` takes (a built-in name or the file given).
    pub name: String,
    /// (reference, note), candidates then fallbacks.
    pub images: Vec<(String, Option<String>)>,
}

/// The profile's base images, then the `--candidate`s, without repeats.
pub fn candidates(_ctx: &Context, req: &Request) -> Result<Vec<CandidateRef>, SelectError> {
    let mut out: Vec<CandidateRef> = Vec::new();
    if let Some(profile) = &req.profile {
        for (reference, note) in &profile.images {
            out.push(CandidateRef {
                reference: reference.clone(),
                origin: format!("profile {}", profile.name),
                note: note.clone(),
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
