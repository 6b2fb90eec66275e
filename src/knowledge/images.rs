//! Rows of `checks/images.toml`: which container images a host can run, and why.

use serde::Deserialize;

use super::L4tVersion;

/// One L4T compatibility band: a host whose L4T is `host_major.[host_minor_min..=host_minor_max]`
/// runs images built for `image_major.[image_minor_min..=image_minor_max]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageL4t {
    pub id: String,
    pub host_major: u32,
    #[serde(default)]
    pub host_minor_min: u32,
    #[serde(default = "max_minor")]
    pub host_minor_max: u32,
    pub image_major: u32,
    #[serde(default)]
    pub image_minor_min: u32,
    #[serde(default = "max_minor")]
    pub image_minor_max: u32,
    /// The platform class of a Jetson in this band (`tegra`; `sbsa` for Thor on JetPack 7).
    pub platform: String,
    pub why: String,
}

fn max_minor() -> u32 {
    u32::MAX
}

impl ImageL4t {
    pub fn covers_host(&self, v: &L4tVersion) -> bool {
        v.major == self.host_major && (self.host_minor_min..=self.host_minor_max).contains(&v.minor)
    }

    pub fn accepts_image(&self, v: &L4tVersion) -> bool {
        v.major == self.image_major && (self.image_minor_min..=self.image_minor_max).contains(&v.minor)
    }

    /// `r36.4+`, `r35.x`, `r32.7-32.9`: the image band in words.
    pub fn image_band(&self) -> String {
        match (self.image_minor_min, self.image_minor_max) {
            (0, u32::MAX) => format!("r{}.x", self.image_major),
            (lo, u32::MAX) => format!("r{}.{}+", self.image_major, lo),
            (lo, hi) if lo == hi => format!("r{}.{}", self.image_major, lo),
            (lo, hi) => format!("r{}.{}-{}.{}", self.image_major, lo, self.image_major, hi),
        }
    }
}

/// A platform class (`tegra`, `sbsa`, `x86_64`): the Docker architecture it runs and the words
/// that name it in image tags.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePlatform {
    pub class: String,
    pub os: String,
    /// Docker/OCI architecture (`arm64`, `amd64`).
    pub arch: String,
    /// Tag fragments naming this class, most specific first (`tegra-aarch64` before `tegra`).
    #[serde(default)]
    pub tag_markers: Vec<String>,
}

/// Where an image states one of its facts: a label key or an environment variable of its config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageLabel {
    /// `l4t`, `cuda`, `ubuntu` or `platform`.
    pub field: String,
    pub label: Option<String>,
    pub env: Option<String>,
}

/// The reason behind a rule, shown with every decision the rule makes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRule {
    pub id: String,
    pub why: String,
}
