//! The model of `docker image inspect`: the config an image carries (what `FROM scratch` loses
//! and a flatten must re-declare), its platform, and its filesystem layers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One entry of `docker image inspect`'s array.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(default)]
    pub repo_digests: Option<Vec<String>>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    /// Bytes of the unpacked image.
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    #[serde(rename = "RootFS", default)]
    pub root_fs: RootFs,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(default, rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub layers: Vec<String>,
}

/// The part of the config a container inherits; every field here is re-declared by a flatten.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default)]
    pub args_escaped: Option<bool>,
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub on_build: Option<Vec<String>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub stop_signal: Option<String>,
    #[serde(default)]
    pub shell: Option<Vec<String>>,
}

/// Durations are nanoseconds in the image config.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(default)]
    pub test: Option<Vec<String>>,
    #[serde(default)]
    pub interval: Option<u64>,
    #[serde(default)]
    pub timeout: Option<u64>,
    #[serde(default)]
    pub start_period: Option<u64>,
    #[serde(default)]
    pub start_interval: Option<u64>,
    #[serde(default)]
    pub retries: Option<u64>,
}

impl ImageInspect {
    /// Filesystem layers: the number Docker's 125-layer limit applies to (`docker history` also
    /// lists metadata-only steps and over-counts).
    pub fn layer_count(&self) -> usize {
        self.root_fs.layers.len()
    }

    pub fn config(&self) -> ContainerConfig {
        self.config.clone().unwrap_or_default()
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.config.as_ref()?.labels.as_ref()?.get(key).map(String::as_str)
    }

    pub fn env_var(&self, key: &str) -> Option<&str> {
        let env = self.config.as_ref()?.env.as_ref()?;
        env.iter().find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
    }

    /// `linux/arm64/v8` style.
    pub fn platform(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{v}", self.os, self.architecture),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }
}

/// Parses the JSON array `docker image inspect` prints.
pub fn parse_all(json: &str) -> Result<Vec<ImageInspect>, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

/// Parses `docker image inspect IMAGE`'s output: the first entry is the image.
pub fn parse(json: &str, image: &str) -> Result<ImageInspect, String> {
    parse_all(json)?.into_iter().next().ok_or_else(|| format!("no image {image} in the output"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGC_LIKE: &str = r#"[{
        "Id": "sha256:abc", "RepoTags": ["nvcr.io/nvidia/l4t-jetpack:r36.4.0"], "RepoDigests": [],
        "Architecture": "arm64", "Variant": "v8", "Os": "linux", "Size": 15500000000,
        "Config": {"User": "", "Env": ["PATH=/usr/local/cuda/bin:/usr/bin", "CUDA_VERSION=12.6.11"],
                   "Cmd": ["/bin/bash"], "WorkingDir": "", "Entrypoint": null, "OnBuild": null,
                   "Labels": {"com.nvidia.l4t": "36.4.0"}, "ExposedPorts": {"8888/tcp": {}},
                   "Healthcheck": {"Test": ["CMD", "true"], "Interval": 30000000000}},
        "RootFS": {"Type": "layers", "Layers": ["sha256:1", "sha256:2", "sha256:3"]}
    }]"#;

    #[test]
    fn reads_config_platform_and_layers() {
        let img = parse(NGC_LIKE, "x").unwrap();
        assert_eq!(img.layer_count(), 3);
        assert_eq!(img.platform(), "linux/arm64/v8");
        assert_eq!(img.env_var("CUDA_VERSION"), Some("12.6.11"));
        assert_eq!(img.env_var("CUDA"), None);
        assert_eq!(img.label("com.nvidia.l4t"), Some("36.4.0"));
        let c = img.config();
        assert_eq!(c.cmd.unwrap(), vec!["/bin/bash"]);
        assert_eq!(c.healthcheck.unwrap().interval, Some(30_000_000_000));
        assert!(c.exposed_ports.unwrap().contains_key("8888/tcp"));
    }

    #[test]
    fn an_empty_array_is_no_image_and_garbage_is_an_error() {
        assert_eq!(parse_all("[]").unwrap(), vec![]);
        assert!(parse("[]", "x").is_err());
        assert!(parse_all("{").is_err());
    }
}
