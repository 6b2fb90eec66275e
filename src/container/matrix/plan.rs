//! Resolution: a matrix file, the knowledge tables and the run's inputs (`--l4t` or the detected
//! L4T, `--only`, `--push`, CI metadata) become a plan: every variant with its base, versions,
//! labels and image references, and the OCI image indexes where variants of different
//! architectures share a name and a tag. Pure: nothing here talks to Docker or the network.
//! The plan serialises to the JSON that `--dry-run --format json` prints (docs/image-matrix.md).

use serde::Serialize;
use std::collections::BTreeMap;

use super::schema::{Matrix, VariantSpec};
use super::tags::{BuildMeta, TagValues};
use crate::container::dockerfile::labels as jd;
use crate::knowledge::{Knowledge, L4tVersion};

/// Version of the JSON plan (the contract a CI pipeline reads).
pub const PLAN_SCHEMA: u32 = 1;

pub mod labels {
    pub const MATRIX: &str = "io.jetdoc.matrix";
    pub const MATRIX_SHA256: &str = "io.jetdoc.matrix.sha256";
    pub const VARIANT: &str = "io.jetdoc.variant";
    pub const PYTHON: &str = "io.jetdoc.python";
    pub const TORCH: &str = "io.jetdoc.torch";
    pub const DIND: &str = "io.jetdoc.dind";
    pub const JETPACK: &str = "io.jetdoc.jetpack";
    pub const TENSORRT: &str = "io.jetdoc.tensorrt";
    pub const OCI_CREATED: &str = "org.opencontainers.image.created";
    pub const OCI_REVISION: &str = "org.opencontainers.image.revision";
    pub const OCI_VERSION: &str = "org.opencontainers.image.version";
    pub const OCI_SOURCE: &str = "org.opencontainers.image.source";
    pub const OCI_TITLE: &str = "org.opencontainers.image.title";
    pub const OCI_DESCRIPTION: &str = "org.opencontainers.image.description";
    pub const OCI_BASE_NAME: &str = "org.opencontainers.image.base.name";
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("no variant named `{0}` in {1} (variants: {2})")]
    UnknownVariant(String, String, String),
    #[error("variant `{variant}`: {message}")]
    Variant { variant: String, message: String },
    #[error("{0}")]
    Conflict(String),
}

/// Where the L4T of the Jetson variants came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum L4tFrom {
    /// `--l4t`.
    Flag,
    /// The Jetson jetdoc runs on (or the one under `--root`).
    Detected,
    /// The matrix file's `[variant.jetpack] l4t`.
    Matrix,
}

pub struct PlanInput<'a> {
    pub only: &'a [String],
    pub l4t: Option<(L4tVersion, L4tFrom)>,
    pub python_fallback: bool,
    /// `--push REGISTRY`: `host[:port][/namespace]`, prefixed to every image name.
    pub registry: Option<&'a str>,
    /// `--base VARIANT=IMAGE`.
    pub bases: &'a BTreeMap<String, String>,
    pub meta: &'a BuildMeta,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub schema: u32,
    pub matrix: String,
    pub file: String,
    pub file_sha256: String,
    pub registry: Option<String>,
    pub meta: MetaJson,
    pub variants: Vec<VariantPlan>,
    pub indexes: Vec<IndexPlan>,
    /// Every image reference the run applies, single-platform images first, then indexes.
    pub images: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetaJson {
    pub sha: Option<String>,
    pub date: Option<String>,
    pub version: Option<String>,
    pub created: String,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantPlan {
    pub name: String,
    pub arch: String,
    /// `linux/amd64`, `linux/arm64`.
    pub platform: String,
    /// `gpu`, `cpu` or `tegra`.
    pub kind: String,
    pub base: String,
    /// `matrix`, `override` (`--base`) or `jetpack` (checks/l4t.toml).
    pub base_from: String,
    pub python: String,
    pub torch: String,
    pub torch_index: String,
    pub cuda: Option<String>,
    pub tensorrt: Option<String>,
    pub jetson: Option<JetsonPlan>,
    pub dind: bool,
    /// Every tag this variant claims, the templated one first.
    pub tags: Vec<String>,
    /// References applied to this variant's own image.
    pub images: Vec<String>,
    /// References of image indexes this variant is a member of.
    pub in_indexes: Vec<String>,
    pub apt: Vec<String>,
    pub pip: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub smoke: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JetsonPlan {
    /// The L4T the variant was resolved against.
    pub l4t: String,
    pub l4t_from: L4tFrom,
    pub jetpack: String,
    /// The L4T of the base image (its tag), which the image's labels record.
    pub base_l4t: String,
    pub base_jetpack: String,
    pub ubuntu: String,
    pub wheel_index: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndexPlan {
    /// `name:tag` of the index.
    pub image: String,
    pub members: Vec<IndexMember>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndexMember {
    pub variant: String,
    pub platform: String,
    /// The single-platform reference, in the same repository, whose manifest the index lists.
    pub from: String,
}

impl VariantPlan {
    /// The templated tag (always first).
    pub fn primary_tag(&self) -> &str {
        &self.tags[0]
    }
}

/// Resolves the matrix against the tables and the run's inputs.
pub fn resolve(m: &Matrix, k: &Knowledge, input: &PlanInput) -> Result<Plan, PlanError> {
    let names: Vec<&str> = m.file.variants.iter().map(|v| v.name.get_ref().as_str()).collect();
    for o in input.only {
        if !names.contains(&o.as_str()) {
            return Err(PlanError::UnknownVariant(o.clone(), m.origin.clone(), names.join(", ")));
        }
    }
    for b in input.bases.keys() {
        if !names.contains(&b.as_str()) {
            return Err(PlanError::UnknownVariant(b.clone(), m.origin.clone(), names.join(", ")));
        }
    }
    let selected = |n: &str| input.only.is_empty() || input.only.iter().any(|o| o == n);
    let mut warnings = Vec::new();
    let mut variants = Vec::new();
    let mut repos: Vec<Vec<String>> = Vec::new();
    for spec in &m.file.variants {
        match resolve_variant(m, k, input, spec, &mut warnings) {
            Ok(v) => {
                let mut names = vec![spec.name.get_ref().clone()];
                names.extend(spec.publish_as.iter().map(|p| p.get_ref().clone()));
                let names = names
                    .into_iter()
                    .map(|n| match input.registry {
                        Some(r) => format!("{}/{n}", r.trim_end_matches('/')),
                        None => n,
                    })
                    .collect();
                repos.push(names);
                variants.push(v);
            }
            // An unselected variant that cannot be resolved (e.g. a Jetson one on a machine
            // without an L4T) just claims nothing.
            Err(_) if !selected(spec.name.get_ref()) => {}
            Err(e) => return Err(e),
        }
    }

    // Who claims which (repository, tag): one claimant is a plain image; several, of different
    // architectures, an index over their single-platform images.
    let mut claims: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        for repo in &repos[i] {
            for tag in &v.tags {
                let key = (repo.clone(), tag.clone());
                let entry = claims.entry(key.clone()).or_default();
                if entry.is_empty() {
                    order.push(key);
                }
                entry.push(i);
            }
        }
    }
    let mut indexes = Vec::new();
    for key in &order {
        let who = &claims[key];
        let reference = format!("{}:{}", key.0, key.1);
        if who.len() == 1 {
            variants[who[0]].images.push(reference);
            continue;
        }
        for (a, &i) in who.iter().enumerate() {
            for &j in &who[a + 1..] {
                if variants[i].platform == variants[j].platform {
                    return Err(PlanError::Conflict(format!(
                        "{reference} is claimed by {} and {}, both {}: give them different names or a template that tells them apart",
                        variants[i].name, variants[j].name, variants[i].platform
                    )));
                }
            }
        }
        let mut members = Vec::new();
        for &i in who {
            // The member's own tag in this repository (the template's, which has <arch>).
            let from =
                variants[i].tags.iter().map(|t| (key.0.clone(), t.clone())).find(|k| claims[k].len() == 1);
            let Some(from) = from else {
                return Err(PlanError::Conflict(format!(
                    "{reference}: {} has no tag of its own in {} for the index to point at",
                    variants[i].name, key.0
                )));
            };
            members.push(IndexMember {
                variant: variants[i].name.clone(),
                platform: variants[i].platform.clone(),
                from: format!("{}:{}", from.0, from.1),
            });
        }
        let left_out: Vec<&str> =
            members.iter().filter(|mb| !selected(&mb.variant)).map(|mb| mb.variant.as_str()).collect();
        if left_out.len() == members.len() {
            continue;
        }
        if !left_out.is_empty() {
            warnings.push(format!(
                "{reference} is an image index over {}; --only leaves out {}, so it is not made (a single-platform image must not replace it)",
                members.iter().map(|mb| mb.variant.as_str()).collect::<Vec<_>>().join(" and "),
                left_out.join(", ")
            ));
            continue;
        }
        for &i in who {
            variants[i].in_indexes.push(reference.clone());
        }
        indexes.push(IndexPlan { image: reference, members });
    }

    variants.retain(|v| selected(&v.name));
    let mut images: Vec<String> = variants.iter().flat_map(|v| v.images.iter().cloned()).collect();
    images.extend(indexes.iter().map(|i| i.image.clone()));
    let meta = input.meta;
    Ok(Plan {
        schema: PLAN_SCHEMA,
        matrix: m.file.name.get_ref().clone(),
        file: m.origin.clone(),
        file_sha256: m.sha256.clone(),
        registry: input.registry.map(String::from),
        meta: MetaJson {
            sha: meta.sha.clone(),
            date: meta.date.map(|d| d.to_string()),
            version: meta.version.as_ref().map(|v| v.to_string()),
            created: meta.created_rfc3339(),
            source: meta.source.clone(),
        },
        variants,
        indexes,
        images,
        warnings,
    })
}

fn resolve_variant(
    m: &Matrix,
    k: &Knowledge,
    input: &PlanInput,
    spec: &VariantSpec,
    warnings: &mut Vec<String>,
) -> Result<VariantPlan, PlanError> {
    let name = spec.name.get_ref().clone();
    let err = |message: String| PlanError::Variant { variant: name.clone(), message };
    let d = &m.file.defaults;
    let arch = spec.arch.get_ref().clone();
    let torch = spec.torch.as_ref().or(d.torch.as_ref()).map(|t| t.get_ref().clone()).unwrap_or_default();
    let dind = spec.dind.or(d.dind).unwrap_or(false);
    let override_base = input.bases.get(&name).cloned();
    if let Some(b) = &override_base {
        super::tags::check_reference(b).map_err(|why| err(format!("--base {name}={b}: {why}")))?;
    }

    let (base, base_from, python, torch_index, cuda, tensorrt, jetson) = match &spec.jetpack {
        None => {
            let python = match (&spec.python, input.python_fallback, &d.python_fallback, &d.python) {
                (Some(p), _, _, _) => p.get_ref().clone(),
                (None, true, Some(f), _) => f.get_ref().clone(),
                (None, true, None, _) => {
                    return Err(err("--python-fallback, but [defaults] has no python_fallback".into()))
                }
                (None, false, _, Some(p)) => p.get_ref().clone(),
                (None, false, _, None) => return Err(err("no python version".into())),
            };
            let (base, from) = match override_base {
                Some(b) => (b, "override"),
                None => (spec.base.as_ref().map(|b| b.get_ref().clone()).unwrap_or_default(), "matrix"),
            };
            let index = spec.torch_index.as_ref().map(|u| u.get_ref().clone()).unwrap_or_default();
            let cuda = spec.cuda.as_ref().map(|c| c.get_ref().clone());
            (base, from, python, index, cuda, None, None)
        }
        Some(jp) => {
            let (l4t, l4t_from) = match (input.l4t, jp.l4t.as_ref().and_then(|s| L4tVersion::parse(s.get_ref()))) {
                (Some(x), _) => x,
                (None, Some(v)) => (v, L4tFrom::Matrix),
                (None, None) => {
                    return Err(err(
                        "no L4T to resolve the Jetson variant against: pass --l4t 36.4, run on the Jetson (or --root its filesystem), or set [variant.jetpack] l4t".into(),
                    ))
                }
            };
            let info = k.release(&l4t).ok_or_else(|| {
                err(format!(
                    "L4T {l4t} is not in the tables (checks/l4t.toml): pass --l4t with a known release, or add its family to /etc/jetdoc/checks.d/"
                ))
            })?;
            let fam = info.family;
            let (base, from) = match (override_base, &spec.base, &fam.base_image) {
                (Some(b), _, _) => (b, "override"),
                (None, Some(b), _) => (b.get_ref().clone(), "matrix"),
                (None, None, Some(b)) => (b.clone(), "jetpack"),
                (None, None, None) => {
                    return Err(err(format!(
                        "JetPack {} (L4T {l4t}) has no base_image in checks/l4t.toml: set `base`",
                        fam.jetpack
                    )))
                }
            };
            let python =
                spec.python.as_ref().map(|p| p.get_ref().clone()).unwrap_or_else(|| fam.python.clone());
            let index = match (&spec.torch_index, &fam.wheel_index) {
                (Some(u), _) => u.get_ref().clone(),
                (None, Some(idx)) => {
                    k.wheel_index(idx).and_then(|w| w.urls.first().cloned()).ok_or_else(|| {
                        err(format!(
                            "wheel index `{idx}` has no URL in checks/wheel_indexes.toml: set torch_index"
                        ))
                    })?
                }
                (None, None) => {
                    return Err(err(format!(
                        "JetPack {} has no wheel index in the tables: set torch_index",
                        fam.jetpack
                    )))
                }
            };
            let cuda = spec
                .cuda
                .as_ref()
                .map(|c| c.get_ref().clone())
                .unwrap_or_else(|| crate::facts::cuda_version::major_minor(info.cuda()).to_string());
            // The tables can come from /etc/jetdoc/checks.d or --checks-dir: their values go into
            // the Dockerfile, the tags and the constraints file, so they meet the matrix file's
            // grammars (a base goes into FROM as written, where no quoting can help).
            let mut tables = vec!["checks/l4t.toml", "checks/wheel_indexes.toml"];
            tables.extend(
                k.sources
                    .iter()
                    .filter(|s| !crate::knowledge::BUILTIN.iter().any(|(n, _)| n == s))
                    .map(String::as_str),
            );
            let table = |what: &str, value: &str, why: String| {
                err(format!(
                    "JetPack {} (L4T {l4t}): {what} `{value}` from the tables ({}): {why}",
                    fam.jetpack,
                    tables.join(", ")
                ))
            };
            if from == "jetpack" {
                super::tags::check_reference(&base).map_err(|why| table("base_image", &base, why))?;
            }
            if spec.python.is_none() {
                super::schema::check_python(&python).map_err(|why| table("python", &python, why))?;
            }
            if spec.torch_index.is_none() {
                super::schema::check_url(&index).map_err(|why| table("wheel index URL", &index, why))?;
            }
            if let Some(t) = &fam.tensorrt {
                super::schema::check_major_minor(t).map_err(|why| table("tensorrt", t, why))?;
            }
            if fam.tensorrt.is_none() {
                warnings.push(format!(
                    "variant `{name}`: the tables give no TensorRT for JetPack {} (L4T {l4t}): no io.jetdoc.tensorrt label, no -tr tag",
                    fam.jetpack
                ));
            }
            // The base's own L4T (`l4t-jetpack:r36.4.0` for any r36.4+ target) is what the image holds.
            let base_l4t = base
                .rsplit_once(':')
                .and_then(|(_, t)| t.strip_prefix('r'))
                .and_then(L4tVersion::parse)
                .filter(|v| v.major == l4t.major)
                .unwrap_or(l4t);
            let base_jetpack = k
                .release(&base_l4t)
                .map(|r| r.jetpack().to_string())
                .unwrap_or_else(|| info.jetpack().to_string());
            let jetson = JetsonPlan {
                l4t: l4t.to_string(),
                l4t_from,
                jetpack: info.jetpack().to_string(),
                base_l4t: base_l4t.to_string(),
                base_jetpack,
                ubuntu: fam.ubuntu.clone(),
                wheel_index: fam.wheel_index.clone(),
            };
            (base, from, python, index, Some(cuda), fam.tensorrt.clone(), Some(jetson))
        }
    };
    let kind = match (&jetson, &cuda) {
        (Some(_), _) => "tegra",
        (None, Some(_)) => "gpu",
        (None, None) => "cpu",
    };

    let template_tag = m
        .template
        .render(&TagValues {
            arch: &arch,
            python: &python,
            torch: &torch,
            tensorrt: tensorrt.as_deref(),
            cuda: cuda.as_deref(),
            variant: &name,
            dind,
        })
        .map_err(|why| err(format!("tag template: {why}")))?;
    let mut tags = vec![template_tag];
    if m.file.tags.latest {
        tags.push("latest".into());
    }
    tags.extend(input.meta.extra_tags());
    for t in &tags {
        super::tags::check_tag(t).map_err(&err)?;
    }
    tags.dedup();

    let mut apt: Vec<String> = d.apt.iter().chain(&spec.apt).map(|p| p.get_ref().clone()).collect();
    if dind {
        if let Some(s) = &m.file.dind {
            apt.extend(s.apt.iter().map(|p| p.get_ref().clone()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    apt.retain(|p| seen.insert(p.clone()));
    let pip: Vec<String> = d.pip.iter().chain(&spec.pip).map(|p| p.get_ref().clone()).collect();
    let mut env: BTreeMap<String, String> =
        d.env.iter().map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone())).collect();
    env.extend(spec.env.iter().map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone())));

    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    let user = d.labels.iter().chain(&spec.labels);
    let meta = input.meta;
    let mut ours: BTreeMap<&str, String> = BTreeMap::new();
    ours.insert(labels::OCI_CREATED, meta.created_rfc3339());
    ours.insert(
        labels::OCI_VERSION,
        meta.version.as_ref().map(|v| v.to_string()).unwrap_or_else(|| tags[0].clone()),
    );
    if let Some(sha) = &meta.sha {
        ours.insert(labels::OCI_REVISION, sha.clone());
    }
    if let Some(src) = meta.source.clone().or_else(|| m.file.source.as_ref().map(|s| s.get_ref().clone())) {
        ours.insert(labels::OCI_SOURCE, src);
    }
    ours.insert(labels::OCI_TITLE, name.clone());
    if let Some(desc) = &m.file.description {
        ours.insert(labels::OCI_DESCRIPTION, desc.get_ref().clone());
    }
    ours.insert(labels::OCI_BASE_NAME, base.clone());
    ours.insert(jd::BASE, base.clone());
    ours.insert(labels::MATRIX, m.file.name.get_ref().clone());
    ours.insert(labels::MATRIX_SHA256, m.sha256.clone());
    ours.insert(labels::VARIANT, name.clone());
    ours.insert(labels::PYTHON, python.clone());
    ours.insert(labels::TORCH, torch.clone());
    ours.insert(labels::DIND, dind.to_string());
    if let Some(c) = &cuda {
        ours.insert(jd::CUDA, c.clone());
    }
    if let Some(t) = &tensorrt {
        ours.insert(labels::TENSORRT, t.clone());
    }
    if let Some(j) = &jetson {
        ours.insert(jd::L4T, j.base_l4t.clone());
        ours.insert(labels::JETPACK, j.base_jetpack.clone());
    }
    for (key, value) in user {
        if ours.contains_key(key.get_ref().as_str()) {
            return Err(err(format!(
                "label {} is recorded by jetdoc itself (from the build's metadata): leave it out of the matrix file",
                key.get_ref()
            )));
        }
        labels.insert(key.get_ref().clone(), value.get_ref().clone());
    }
    labels.extend(ours.into_iter().map(|(k, v)| (k.to_string(), v)));

    Ok(VariantPlan {
        platform: format!("linux/{arch}"),
        kind: kind.into(),
        name,
        arch,
        base,
        base_from: base_from.into(),
        python,
        torch,
        torch_index,
        cuda,
        tensorrt,
        jetson,
        dind,
        tags,
        images: Vec::new(),
        in_indexes: Vec::new(),
        apt,
        pip,
        env,
        labels,
        smoke: m.file.smoke.command.get_ref().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::matrix::tags::MetaFlags;

    fn meta(flags: MetaFlags) -> BuildMeta {
        BuildMeta::gather(&flags, |_| None, "2025-07-01T00:00:00Z".parse().unwrap()).unwrap()
    }

    fn plan_with(
        only: &[String],
        l4t: Option<(L4tVersion, L4tFrom)>,
        registry: Option<&str>,
        flags: MetaFlags,
    ) -> Result<Plan, PlanError> {
        let m = Matrix::load("edge-node").unwrap();
        let bases = BTreeMap::new();
        let meta = meta(flags);
        resolve(
            &m,
            &Knowledge::builtin(),
            &PlanInput { only, l4t, python_fallback: false, registry, bases: &bases, meta: &meta },
        )
    }

    #[test]
    fn the_builtin_matrix_resolves_to_the_upgrade_plan() {
        let flags = MetaFlags {
            sha: Some("0123456789abcdef".into()),
            date: Some("2025-07-01".into()),
            version: Some("v1.2.0".into()),
            source: None,
        };
        let p = plan_with(&[], None, Some("127.0.0.1:5000"), flags).unwrap();
        let tags: Vec<(&str, &str, &str)> =
            p.variants.iter().map(|v| (v.name.as_str(), v.kind.as_str(), v.primary_tag())).collect();
        assert_eq!(
            tags,
            [
                ("base_edge_node_amd64_gpu", "gpu", "amd64-py3.13-th2.8.0-dind"),
                ("base_edge_node_amd64_cpu", "cpu", "amd64-py3.13-th2.8.0-dind"),
                ("base_edge_node_arm64_cpu", "cpu", "arm64-py3.13-th2.8.0-dind"),
                ("base_edge_node_arm64_tegra", "tegra", "arm64-py3.10-th2.8.0-tr10.3-dind"),
            ]
        );
        let gpu = &p.variants[0];
        assert_eq!(
            gpu.images,
            [
                "127.0.0.1:5000/base_edge_node_amd64_gpu:amd64-py3.13-th2.8.0-dind",
                "127.0.0.1:5000/base_edge_node_amd64_gpu:latest",
                "127.0.0.1:5000/base_edge_node_amd64_gpu:sha-0123456",
                "127.0.0.1:5000/base_edge_node_amd64_gpu:20250701",
                "127.0.0.1:5000/base_edge_node_amd64_gpu:v1.2.0",
            ]
        );
        assert_eq!(gpu.labels["io.jetdoc.cuda"], "12.8");
        assert_eq!(gpu.torch_index, "https://download.pytorch.org/whl/cu128");
        // The CPU variants share base_edge_node_cpu: their per-arch tags are plain images there,
        // the tags they both apply are indexes over those.
        let cpu = &p.variants[1];
        assert!(cpu
            .images
            .contains(&"127.0.0.1:5000/base_edge_node_cpu:amd64-py3.13-th2.8.0-dind".to_string()));
        let idx: Vec<&str> = p.indexes.iter().map(|i| i.image.as_str()).collect();
        assert_eq!(
            idx,
            [
                "127.0.0.1:5000/base_edge_node_cpu:latest",
                "127.0.0.1:5000/base_edge_node_cpu:sha-0123456",
                "127.0.0.1:5000/base_edge_node_cpu:20250701",
                "127.0.0.1:5000/base_edge_node_cpu:v1.2.0",
            ]
        );
        let members: Vec<(&str, &str)> =
            p.indexes[0].members.iter().map(|m| (m.platform.as_str(), m.from.as_str())).collect();
        assert_eq!(
            members,
            [
                ("linux/amd64", "127.0.0.1:5000/base_edge_node_cpu:amd64-py3.13-th2.8.0-dind"),
                ("linux/arm64", "127.0.0.1:5000/base_edge_node_cpu:arm64-py3.13-th2.8.0-dind"),
            ]
        );
        // gpu 5; each CPU variant 5 under its own name + its arch tag under the shared name; tegra 5; 4 indexes.
        assert_eq!(p.images.len(), 5 + 6 + 6 + 5 + 4);

        let tegra = &p.variants[3];
        let j = tegra.jetson.as_ref().unwrap();
        assert_eq!((j.l4t.as_str(), j.l4t_from, j.ubuntu.as_str()), ("36.4.0", L4tFrom::Matrix, "22.04"));
        assert_eq!(tegra.base, "nvcr.io/nvidia/l4t-jetpack:r36.4.0");
        assert_eq!(tegra.torch_index, "https://pypi.jetson-ai-lab.io/jp6/cu126/+simple/");
        for (k, v) in [
            ("io.jetdoc.l4t", "36.4.0"),
            ("io.jetdoc.jetpack", "6.1"),
            ("io.jetdoc.cuda", "12.6"),
            ("io.jetdoc.tensorrt", "10.3"),
        ] {
            assert_eq!(tegra.labels[k], v, "{k}");
        }
        assert_eq!(tegra.labels["org.opencontainers.image.version"], "1.2.0");
        assert_eq!(tegra.labels["org.opencontainers.image.revision"], "0123456789abcdef");
        assert_eq!(tegra.labels["org.opencontainers.image.created"], "2025-07-01T00:00:00Z");
        assert!(
            tegra.apt.contains(&"python3-libnvinfer".to_string())
                && tegra.apt.contains(&"fuse-overlayfs".to_string())
        );
    }

    #[test]
    fn the_jetson_variant_follows_the_chosen_l4t() {
        let p = plan_with(
            &["base_edge_node_arm64_tegra".into()],
            Some((L4tVersion::new(36, 3, 0), L4tFrom::Flag)),
            None,
            MetaFlags::default(),
        )
        .unwrap();
        let t = &p.variants[0];
        assert_eq!(t.base, "nvcr.io/nvidia/l4t-jetpack:r36.3.0");
        assert_eq!(t.primary_tag(), "arm64-py3.10-th2.8.0-tr8.6-dind");
        assert!(t.torch_index.contains("jp6/cu122"));
        // JetPack 7 has no TensorRT in its ubuntu:24.04 base: no -tr part, and a warning.
        let p = plan_with(
            &["base_edge_node_arm64_tegra".into()],
            Some((L4tVersion::new(38, 2, 0), L4tFrom::Detected)),
            None,
            MetaFlags::default(),
        )
        .unwrap();
        assert_eq!(p.variants[0].primary_tag(), "arm64-py3.12-th2.8.0-dind");
        assert!(p.warnings[0].contains("no TensorRT"));
        let e = plan_with(&[], Some((L4tVersion::new(99, 1, 0), L4tFrom::Flag)), None, MetaFlags::default())
            .unwrap_err();
        assert!(e.to_string().contains("L4T 99.1.0 is not in the tables"), "{e}");
    }

    #[test]
    fn only_never_replaces_an_index_with_one_platform() {
        let p = plan_with(&["base_edge_node_arm64_cpu".into()], None, None, MetaFlags::default()).unwrap();
        assert_eq!(p.variants.len(), 1);
        assert!(p.indexes.is_empty());
        assert!(!p.images.contains(&"base_edge_node_cpu:latest".to_string()), "{:?}", p.images);
        assert!(p.images.contains(&"base_edge_node_cpu:arm64-py3.13-th2.8.0-dind".to_string()));
        assert!(
            p.warnings.iter().any(|w| w.contains("base_edge_node_cpu:latest is an image index")),
            "{:?}",
            p.warnings
        );
        let e = plan_with(&["nope".into()], None, None, MetaFlags::default()).unwrap_err().to_string();
        assert!(e.contains("no variant named `nope`") && e.contains("base_edge_node_amd64_gpu"), "{e}");
    }

    #[test]
    fn two_variants_of_one_architecture_cannot_share_a_reference() {
        let text = Matrix::load("edge-node").unwrap().file.variants.len();
        assert_eq!(text, 4);
        let src = include_str!("../../../profiles/edge-node.matrix.toml").replace(
            "torch_index = \"https://download.pytorch.org/whl/cu128\"",
            "torch_index = \"https://download.pytorch.org/whl/cu128\"\npublish_as = [\"base_edge_node_cpu\"]",
        );
        let m = Matrix::parse(&src, "m.toml", None).unwrap();
        let bases = BTreeMap::new();
        let meta = meta(MetaFlags::default());
        let input = PlanInput {
            only: &[],
            l4t: None,
            python_fallback: false,
            registry: None,
            bases: &bases,
            meta: &meta,
        };
        let e = resolve(&m, &Knowledge::builtin(), &input).unwrap_err().to_string();
        assert!(
            e.contains("claimed by base_edge_node_amd64_gpu and base_edge_node_amd64_cpu, both linux/amd64"),
            "{e}"
        );
    }

    /// Tables from checks.d or --checks-dir are input too: a value that would change the
    /// Dockerfile (a base with a newline goes into FROM as written) is refused, naming the table.
    #[test]
    fn hostile_table_values_are_refused() {
        let family = |field: &str, value: &str| {
            let mut row = [
                ("major", "36".to_string()),
                ("from_minor", "4".to_string()),
                ("jetpack", "\"6.1\"".to_string()),
                ("ubuntu", "\"22.04\"".to_string()),
                ("python", "\"3.10\"".to_string()),
                ("cuda", "\"12.6\"".to_string()),
                ("wheel_index", "\"jp6/cu126\"".to_string()),
                ("base_image", "\"nvcr.io/nvidia/l4t-jetpack:r36.4.0\"".to_string()),
                ("tensorrt", "\"10.3\"".to_string()),
            ];
            for (k, v) in row.iter_mut() {
                if *k == field {
                    *v = value.to_string();
                }
            }
            let body: String = row.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            format!("[[family]]\n{body}")
        };
        let cases = [
            (family("base_image", r#""nvcr.io/nvidia/l4t-jetpack:r36.4.0\nRUN touch /pwned""#), "base_image"),
            (family("python", r#""3.10\nRUN touch /pwned""#), "python"),
            (family("tensorrt", r#""10.3\ntorch>=0""#), "tensorrt"),
            (
                "[[wheel_index]]\nname = \"jp6/cu126\"\nurls = [\"file:///etc/\"]\n".to_string(),
                "wheel index URL",
            ),
        ];
        let m = Matrix::load("edge-node").unwrap();
        let bases = BTreeMap::new();
        let meta = meta(MetaFlags::default());
        let only = ["base_edge_node_arm64_tegra".to_string()];
        let input = PlanInput {
            only: &only,
            l4t: None,
            python_fallback: false,
            registry: None,
            bases: &bases,
            meta: &meta,
        };
        for (table, what) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("zz-site.toml"), &table).unwrap();
            let k = Knowledge::load(Some(dir.path())).unwrap();
            let e = resolve(&m, &k, &input).unwrap_err().to_string();
            assert!(
                e.contains(&format!("L4T 36.4.0): {what} `")) && e.contains("zz-site.toml"),
                "{table}\n=> {e}"
            );
        }
    }

    #[test]
    fn python_fallback_and_base_overrides() {
        let m = Matrix::load("edge-node").unwrap();
        let bases: BTreeMap<String, String> =
            [("base_edge_node_arm64_tegra".to_string(), "jdmx/l4t:1".to_string())].into();
        let meta = meta(MetaFlags::default());
        let input = PlanInput {
            only: &[],
            l4t: None,
            python_fallback: true,
            registry: None,
            bases: &bases,
            meta: &meta,
        };
        let p = resolve(&m, &Knowledge::builtin(), &input).unwrap();
        assert_eq!(p.variants[0].primary_tag(), "amd64-py3.12-th2.8.0-dind");
        assert_eq!(p.variants[3].primary_tag(), "arm64-py3.10-th2.8.0-tr10.3-dind");
        assert_eq!(
            (p.variants[3].base.as_str(), p.variants[3].base_from.as_str()),
            ("jdmx/l4t:1", "override")
        );
        // Without an L4T in the base's tag, the target's is recorded.
        assert_eq!(p.variants[3].labels["io.jetdoc.l4t"], "36.4.0");
        let bad: BTreeMap<String, String> =
            [("base_edge_node_amd64_cpu".to_string(), "a b".to_string())].into();
        let input = PlanInput { bases: &bad, ..input };
        assert!(resolve(&m, &Knowledge::builtin(), &input)
            .unwrap_err()
            .to_string()
            .contains("--base base_edge_node_amd64_cpu=a b"));
    }
}
