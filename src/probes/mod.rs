//! Probes: read the host (files first, commands last) and turn what they find into facts, using
//! the pure parsers of `crate::facts`. Each probe is computed once per run through
//! `Context::get`.

pub mod cameras;
pub mod docker;
pub mod gpu;
pub mod identity;
pub mod jetson_gpu;
pub mod memory;
pub mod packages;
pub mod power;
pub mod software;
pub mod storage;
pub mod toolkit;

pub use cameras::Cameras;
pub use docker::{DaemonConfig, Docker, KernelModules};
pub use gpu::Gpus;
pub use identity::Identity;
pub use jetson_gpu::JetsonGpuNodes;
pub use memory::Memory;
pub use packages::Packages;
pub use power::Power;
pub use software::Software;
pub use storage::Storage;
pub use toolkit::Toolkit;
