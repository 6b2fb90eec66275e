//! Provisioning: profiles (what a device should run), their resolution against a device (which
//! base, which ZED build, which cameras and flags), and the plan of a provision.
//!
//! `profile` is the schema (`docs/profiles.md`); `device` the facts resolution reads;
//! `resolve` is pure (profile + device + tables); `build` turns a resolution and its fetched
//! artifacts into the input of Dockerfile generation.

pub mod build;
pub mod device;
pub mod execute;
pub mod locate;
pub mod lock;
pub mod plan;
pub mod profile;
pub mod range;
pub mod resolve;
pub mod run;
pub mod stage;
pub mod state;

pub use device::Device;
pub use profile::{Profile, ProfileError};
pub use resolve::{resolve, Refused, Resolved};

use crate::context::Context;

/// Resolves a profile for the device behind `ctx` (its facts probed once).
pub fn resolve_for(ctx: &Context, profile: &Profile) -> Result<Resolved, Refused> {
    let device = Device::probe(ctx);
    resolve(profile, &device, &ctx.knowledge, &|p| ctx.host.exists(p), device.home.as_deref())
}

/// Errors of loading and resolving a profile, for the commands that only need its candidates.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// A profile's base images for this device, in order (candidates, then fallbacks): what
/// `jetdoc image select --profile NAME` chooses among.
pub fn base_candidates(
    ctx: &Context,
    name: &str,
) -> Result<crate::container::select::ProfileCandidates, LoadError> {
    let profile = Profile::load(name)?;
    let resolved = resolve_for(ctx, &profile)?;
    let images = resolved
        .base
        .candidates
        .iter()
        .map(|c| {
            let note = match (&c.note, c.fallback) {
                (Some(n), true) => Some(format!("fallback: {n}")),
                (None, true) => Some("fallback (community image)".to_string()),
                (n, false) => n.clone(),
            };
            (c.image.clone(), note)
        })
        .collect();
    Ok(crate::container::select::ProfileCandidates { name: name.to_string(), images })
}
