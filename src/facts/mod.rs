//! Pure parsers, one per source format. They take text (or bytes) and return data or a
//! `Malformed` reason; they never touch the filesystem. Tested on real captured text.

pub mod cuda_version;
pub mod device_tree;
pub mod dpkg_status;
pub mod nv_tegra_release;
pub mod os_release;
pub mod daemon_json;
pub mod docker_info;
pub mod kernel_modules;
pub mod toolkit_config;
