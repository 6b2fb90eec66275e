//! OCI image indexes for the references that variants of different architectures share
//! (`base_edge_node_cpu:latest` over linux/amd64 and linux/arm64).
//!
//! Made through the registry HTTP API, not `docker manifest create/push`: the Docker CLI's
//! manifest commands are experimental (`DOCKER_CLI_EXPERIMENTAL` on 20.10), write a Docker
//! manifest list rather than an OCI index, and need every image pushed first anyway; the
//! registry API needs only the per-architecture manifests already in the repository, which the
//! push of their own tags put there.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::container::registry::{ManifestRef, Platform, OCI_INDEX};

#[derive(Serialize)]
struct Index<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    manifests: Vec<Entry<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(flatten)]
    manifest: &'a ManifestRef,
    platform: &'a Platform,
}

/// The platform an index entry records for a matrix platform (`linux/arm64` is `v8`, as Docker
/// and the OCI image spec write it).
pub fn platform_of(platform: &str) -> Platform {
    let mut p = Platform::parse(platform).unwrap_or(Platform {
        os: "linux".into(),
        architecture: platform.into(),
        variant: None,
    });
    if p.architecture == "arm64" && p.variant.is_none() {
        p.variant = Some("v8".into());
    }
    p
}

/// The index document (`application/vnd.oci.image.index.v1+json`).
pub fn document(members: &[(ManifestRef, Platform)], annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let index = Index {
        schema_version: 2,
        media_type: OCI_INDEX,
        manifests: members.iter().map(|(m, p)| Entry { manifest: m, platform: p }).collect(),
        annotations,
    };
    serde_json::to_vec_pretty(&index).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_lists_each_platform_manifest() {
        let m = |d: &str| ManifestRef {
            media_type: "application/vnd.docker.distribution.manifest.v2+json".into(),
            digest: format!("sha256:{}", d.repeat(64)),
            size: 528,
        };
        let annotations: BTreeMap<String, String> =
            [("org.opencontainers.image.revision".to_string(), "abc".to_string())].into();
        let doc = document(
            &[(m("a"), platform_of("linux/amd64")), (m("b"), platform_of("linux/arm64"))],
            &annotations,
        );
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(v["schemaVersion"], 2);
        assert_eq!(v["mediaType"], OCI_INDEX);
        assert_eq!(
            v["manifests"][0]["platform"],
            serde_json::json!({"os": "linux", "architecture": "amd64"})
        );
        assert_eq!(
            v["manifests"][1]["platform"],
            serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"})
        );
        assert_eq!(v["manifests"][1]["size"], 528);
        assert_eq!(v["manifests"][1]["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
        assert_eq!(v["annotations"]["org.opencontainers.image.revision"], "abc");
    }
}
