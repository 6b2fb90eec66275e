//! Pure parsers, one per source format. They take text (or bytes) and return data or a
//! `Malformed` reason; they never touch the filesystem. Tested on real captured text.

pub mod accounts;
pub mod cuda_version;
pub mod device_tree;
pub mod df;
pub mod dpkg_status;
pub mod meminfo;
pub mod mountinfo;
pub mod nv_tegra_release;
pub mod nvpmodel;
pub mod os_release;
