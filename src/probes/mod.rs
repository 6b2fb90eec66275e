//! Probes: read the host (files first, commands last) and turn what they find into facts, using
//! the pure parsers of `crate::facts`. Each probe is computed once per run through
//! `Context::get`.

pub mod docker;
pub mod gpu;
pub mod identity;
pub mod packages;
pub mod software;
pub mod toolkit;

pub use gpu::Gpus;
pub use identity::Identity;
pub use packages::Packages;
pub use software::Software;
pub use docker::{DaemonConfig, Docker, KernelModules};
pub use toolkit::Toolkit;
