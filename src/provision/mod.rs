//! Provisioning: the profile schema (what an image or a device should carry). Resolution and
//! orchestration build on it.

pub mod profile;

pub use profile::{Profile, ProfileError};
