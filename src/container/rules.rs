//! Compatibility rules: does a candidate image fit this host? The bands, platform classes, label
//! keys and reasons are data (`checks/images.toml`); this file applies them. An image's facts come
//! from its labels and config first and from its tag only as a fallback, and every decision names
//! the rule that made it and where each fact came from.

use regex::Regex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::context::Context;
use crate::knowledge::{ImageL4t, Knowledge, L4tVersion};
use crate::probes::{Identity, Software};

/// A value and where it was read (`label io.jetdoc.l4t`, `tag`, `/etc/nv_tegra_release`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stated<T> {
    pub value: T,
    pub from: String,
}

fn stated<T>(value: T, from: impl Into<String>) -> Stated<T> {
    Stated { value, from: from.into() }
}

/// What the rules need to know about the host.
#[derive(Debug, Clone, Serialize)]
pub struct HostFacts {
    pub jetson: bool,
    /// Docker architecture (`arm64`, `amd64`).
    pub arch: Option<Stated<String>>,
    pub l4t: Option<Stated<L4tVersion>>,
    /// CUDA `major.minor`.
    pub cuda: Option<Stated<String>>,
    pub ubuntu: Option<Stated<String>>,
    /// `tegra`, `sbsa` or `x86_64`.
    pub platform: Option<Stated<String>>,
}

impl HostFacts {
    pub fn probe(ctx: &Context) -> HostFacts {
        let id = ctx.get::<Identity>();
        let sw = ctx.get::<Software>();
        let k = &ctx.knowledge;
        let arch = id.arch.as_deref().map(|a| stated(docker_arch(a), "dpkg architecture"));
        let l4t = match &id.l4t {
            crate::fact::Fact::Known { value, source } => Some(stated(*value, source.clone())),
            crate::fact::Fact::Absent(_) => None,
        };
        let cuda = match &sw.cuda {
            crate::fact::Fact::Known { value, source } => {
                cuda_major_minor(value).map(|c| stated(c, source.clone()))
            }
            crate::fact::Fact::Absent(_) => None,
        }
        .or_else(|| {
            let v = l4t.as_ref()?;
            let info = k.release(&v.value)?;
            cuda_major_minor(info.cuda()).map(|c| stated(c, format!("L4T {} table", v.value)))
        });
        let ubuntu = match (&sw.ubuntu, sw.os_id.as_deref()) {
            (crate::fact::Fact::Known { value, source }, Some("ubuntu")) => {
                Some(stated(value.clone(), source.clone()))
            }
            _ => None,
        };
        let platform = if id.jetson {
            let band = l4t.as_ref().and_then(|v| band_for(k, &v.value));
            Some(match band {
                Some(b) => stated(b.platform.clone(), format!("Jetson, {}", b.id)),
                None => stated("tegra".to_string(), "Jetson"),
            })
        } else {
            arch.as_ref().and_then(|a| match a.value.as_str() {
                "arm64" => Some(stated("sbsa".to_string(), "arm64, not a Jetson")),
                "amd64" => Some(stated("x86_64".to_string(), "amd64")),
                _ => None,
            })
        };
        HostFacts { jetson: id.jetson, arch, l4t, cuda, ubuntu, platform }
    }

    /// The Docker platform to ask registries for (`linux/arm64`).
    pub fn docker_platform(&self) -> Option<String> {
        self.arch.as_ref().map(|a| format!("linux/{}", a.value))
    }
}

/// The L4T band row covering a host release: the last matching row, so user rows override.
pub fn band_for<'k>(k: &'k Knowledge, v: &L4tVersion) -> Option<&'k ImageL4t> {
    k.image_l4t.iter().rev().find(|b| b.covers_host(v))
}

/// Whether an image built for L4T `image` runs on a host of L4T `host`, by the bands of
/// `checks/images.toml` (the same major.minor when no band covers the host).
pub fn l4t_runs_on(k: &Knowledge, host: &L4tVersion, image: &L4tVersion) -> bool {
    match band_for(k, host) {
        Some(band) => band.accepts_image(image),
        None => (image.major, image.minor) == (host.major, host.minor),
    }
}

/// What an image says about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImageFacts {
    pub os: Option<Stated<String>>,
    pub arch: Option<Stated<String>>,
    pub l4t: Option<Stated<L4tVersion>>,
    pub cuda: Option<Stated<String>>,
    pub ubuntu: Option<Stated<String>>,
    pub platform: Option<Stated<String>>,
}

/// The parts of an image config the rules read (from `docker image inspect` or a registry blob).
#[derive(Debug, Clone, Default)]
pub struct ConfigView<'a> {
    pub os: Option<&'a str>,
    pub arch: Option<&'a str>,
    pub labels: Option<&'a BTreeMap<String, String>>,
    pub env: &'a [String],
}

impl ImageFacts {
    /// Facts parsed from the reference's tag (and repository name): the fallback.
    pub fn from_tag(reference: &str, k: &Knowledge) -> ImageFacts {
        let (repo, tag) = split_tag(reference);
        let last = repo.rsplit('/').next().unwrap_or(repo);
        let Some(tag) = tag else { return ImageFacts::default() };
        let mut f = ImageFacts {
            l4t: tag_l4t(tag).map(|v| stated(v, "tag")),
            cuda: tag_cuda(tag).map(|v| stated(v, "tag")),
            ubuntu: tag_ubuntu(tag).map(|v| stated(v, "tag")),
            ..ImageFacts::default()
        };
        if f.cuda.is_none() && (last == "cuda" || last == "l4t-cuda") {
            f.cuda = leading_version(tag).and_then(|v| cuda_major_minor(&v)).map(|v| stated(v, "tag"));
        }
        if f.ubuntu.is_none() && last == "ubuntu" {
            f.ubuntu = leading_version(tag).filter(|v| v.len() == 5).map(|v| stated(v, "tag"));
        }
        f.platform = tag_platform(tag, k).map(|v| stated(v, "tag"));
        f
    }

    /// Facts from an image config, falling back to `tag_facts` field by field. Labels and ENV win
    /// over the tag: tags get renamed and re-pushed, the config travels with the image.
    pub fn from_config(config: &ConfigView, tag_facts: &ImageFacts, k: &Knowledge) -> ImageFacts {
        let lookup = |field: &str| -> Option<(String, String)> {
            // Last row first, so a user's table can add a preferred key.
            k.image_label.iter().rev().filter(|r| r.field == field).find_map(|r| {
                if let (Some(key), Some(labels)) = (&r.label, config.labels) {
                    if let Some(v) = labels.get(key).filter(|v| !v.trim().is_empty()) {
                        return Some((v.trim().to_string(), format!("label {key}")));
                    }
                }
                let name = r.env.as_ref()?;
                config.env.iter().find_map(|e| {
                    let (k, v) = e.split_once('=')?;
                    (k == name && !v.trim().is_empty()).then(|| (v.trim().to_string(), format!("env {name}")))
                })
            })
        };
        let l4t = lookup("l4t").and_then(|(v, from)| L4tVersion::parse(&v).map(|v| stated(v, from)));
        let cuda = lookup("cuda").and_then(|(v, from)| cuda_major_minor(&v).map(|v| stated(v, from)));
        let ubuntu = lookup("ubuntu").map(|(v, from)| stated(v, from));
        let platform = lookup("platform").map(|(v, from)| stated(v, from));
        ImageFacts {
            os: config.os.filter(|s| !s.is_empty()).map(|o| stated(o.to_string(), "image config")),
            arch: config.arch.filter(|s| !s.is_empty()).map(|a| stated(docker_arch(a), "image config")),
            l4t: l4t.or_else(|| tag_facts.l4t.clone()),
            cuda: cuda.or_else(|| tag_facts.cuda.clone()),
            ubuntu: ubuntu.or_else(|| tag_facts.ubuntu.clone()),
            platform: platform.or_else(|| tag_facts.platform.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The image does not state this fact; nothing to hold against it (yet).
    Unknown,
}

/// One rule's decision about one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub rule: String,
    pub verdict: Verdict,
    pub message: String,
    /// The rule's reason, from `checks/images.toml`.
    pub why: String,
}

pub fn accepted(decisions: &[Decision]) -> bool {
    decisions.iter().all(|d| d.verdict != Verdict::Fail)
}

/// The first failing decision, the one to show in a one-line summary.
pub fn first_failure(decisions: &[Decision]) -> Option<&Decision> {
    decisions.iter().find(|d| d.verdict == Verdict::Fail)
}

/// Applies every rule, in a fixed order, to one image.
pub fn evaluate(host: &HostFacts, image: &ImageFacts, k: &Knowledge) -> Vec<Decision> {
    let why =
        |id: &str| k.image_rule.iter().rev().find(|r| r.id == id).map(|r| r.why.clone()).unwrap_or_default();
    let decide = |rule: &str, verdict: Verdict, message: String| Decision {
        rule: rule.to_string(),
        verdict,
        message,
        why: why(rule),
    };
    let mut out = Vec::new();

    out.push(match &image.os {
        Some(os) if os.value == "linux" => decide("image.os", Verdict::Pass, "linux".into()),
        Some(os) => decide(
            "image.os",
            Verdict::Fail,
            format!("a {} image (from {}); Jetson runs linux images", os.value, os.from),
        ),
        None => decide("image.os", Verdict::Unknown, "not known before the manifest is read".into()),
    });

    out.push(match (&image.arch, &host.arch) {
        (Some(i), Some(h)) if i.value == h.value => {
            decide("image.arch", Verdict::Pass, format!("{} (from {})", i.value, i.from))
        }
        (Some(i), Some(h)) => decide(
            "image.arch",
            Verdict::Fail,
            format!("{} image (from {}); this host is {} (from {})", i.value, i.from, h.value, h.from),
        ),
        (None, _) => decide("image.arch", Verdict::Unknown, "not known before the manifest is read".into()),
        (Some(i), None) => {
            decide("image.arch", Verdict::Unknown, format!("{}; the host's architecture is unknown", i.value))
        }
    });

    out.push(match (&image.platform, &host.platform) {
        (Some(i), Some(h)) if i.value == h.value => {
            decide("image.platform", Verdict::Pass, format!("{} (from {})", i.value, i.from))
        }
        (Some(i), Some(h)) => decide(
            "image.platform",
            Verdict::Fail,
            format!("built for {} (from {}); this host is {} ({})", i.value, i.from, h.value, h.from),
        ),
        (None, _) => {
            decide("image.platform", Verdict::Unknown, "the image does not name a platform class".into())
        }
        (Some(i), None) => {
            decide("image.platform", Verdict::Unknown, format!("{}; the host's class is unknown", i.value))
        }
    });

    out.push(l4t_decision(host, image, k, &decide));

    out.push(match (&image.cuda, &host.cuda) {
        (Some(i), Some(h)) if i.value == h.value => {
            decide("image.cuda", Verdict::Pass, format!("CUDA {} (from {})", i.value, i.from))
        }
        (Some(i), Some(h)) => decide(
            "image.cuda",
            Verdict::Fail,
            format!(
                "CUDA {} image (from {}); this host has CUDA {} (from {})",
                i.value, i.from, h.value, h.from
            ),
        ),
        (None, _) => {
            decide("image.cuda", Verdict::Unknown, "the image does not state its CUDA version".into())
        }
        (Some(i), None) => {
            decide("image.cuda", Verdict::Unknown, format!("CUDA {}; the host's CUDA is unknown", i.value))
        }
    });

    out.push(match (&image.ubuntu, &host.ubuntu) {
        (Some(i), Some(h)) if i.value == h.value => {
            decide("image.ubuntu", Verdict::Pass, format!("Ubuntu {} (from {})", i.value, i.from))
        }
        (Some(i), Some(h)) => decide(
            "image.ubuntu",
            Verdict::Fail,
            format!(
                "Ubuntu {} image (from {}); this host runs Ubuntu {} (from {})",
                i.value, i.from, h.value, h.from
            ),
        ),
        (None, _) => {
            decide("image.ubuntu", Verdict::Unknown, "the image does not state its Ubuntu release".into())
        }
        (Some(i), None) => decide(
            "image.ubuntu",
            Verdict::Unknown,
            format!("Ubuntu {}; the host's release is unknown", i.value),
        ),
    });
    out
}

fn l4t_decision(
    host: &HostFacts,
    image: &ImageFacts,
    k: &Knowledge,
    decide: &dyn Fn(&str, Verdict, String) -> Decision,
) -> Decision {
    let Some(img) = &image.l4t else {
        return decide(
            "image.l4t",
            Verdict::Unknown,
            "states no L4T release: a generic image, not built against L4T".into(),
        );
    };
    let Some(h) = &host.l4t else {
        return if host.jetson {
            decide(
                "image.l4t",
                Verdict::Fail,
                format!(
                    "built for L4T {} (from {}); this Jetson's L4T release is unknown",
                    img.value, img.from
                ),
            )
        } else {
            decide(
                "image.l4t",
                Verdict::Fail,
                format!(
                    "built for L4T {} (from {}) for Jetson; this host is not a Jetson",
                    img.value, img.from
                ),
            )
        };
    };
    match band_for(k, &h.value) {
        Some(band) if band.accepts_image(&img.value) => decide(
            "image.l4t",
            Verdict::Pass,
            format!("built for L4T {} (from {}); an L4T {} host runs {} images ({})", img.value, img.from, h.value, band.image_band(), band.id),
        ),
        Some(band) => Decision {
            rule: "image.l4t".into(),
            verdict: Verdict::Fail,
            message: format!(
                "built for L4T {} (from {}); an L4T {} host runs only {} images ({})",
                img.value,
                img.from,
                h.value,
                band.image_band(),
                band.id
            ),
            why: band.why.clone(),
        },
        None if (img.value.major, img.value.minor) == (h.value.major, h.value.minor) => {
            decide("image.l4t", Verdict::Pass, format!("built for L4T {} (from {}): same release as the host", img.value, img.from))
        }
        None => decide(
            "image.l4t",
            Verdict::Fail,
            format!(
                "built for L4T {} (from {}); no band in the tables covers L4T {}, so only r{}.{} images are accepted",
                img.value, img.from, h.value, h.value.major, h.value.minor
            ),
        ),
    }
}

/// `aarch64` -> `arm64`, `x86_64` -> `amd64`: Docker's names.
pub fn docker_arch(a: &str) -> String {
    match a {
        "aarch64" | "arm64" => "arm64",
        "x86_64" | "amd64" => "amd64",
        other => other,
    }
    .to_string()
}

/// `12.6.10` -> `12.6`.
pub fn cuda_major_minor(v: &str) -> Option<String> {
    let mut parts = v.trim().split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    Some(format!("{major}.{minor}"))
}

/// `repo:tag` -> (`repo`, Some(`tag`)); a `:port` in the registry host is not a tag, and a
/// `@digest` is dropped.
pub fn split_tag(reference: &str) -> (&str, Option<&str>) {
    let reference = reference.split('@').next().unwrap_or(reference);
    let name_start = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    match reference[name_start..].rfind(':') {
        Some(i) => (&reference[..name_start + i], Some(&reference[name_start + i + 1..])),
        None => (reference, None),
    }
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex"))
}

/// `r36.4.0`, `r36.4` and the current `r36.4.tegra-aarch64` form, anywhere between dashes.
fn tag_l4t(tag: &str) -> Option<L4tVersion> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let c = regex(&RE, r"(?:^|-)r(\d{2})\.(\d{1,2})(?:\.(\d{1,2}))?(?:$|[-.])").captures(tag)?;
    let n = |i: usize| c.get(i).map_or(Some(0), |m| m.as_str().parse().ok());
    Some(L4tVersion::new(n(1)?, n(2)?, n(3)?))
}

/// `cu126` -> 12.6, `cu118` -> 11.8, `cu92` -> 9.2.
fn tag_cuda(tag: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let digits = regex(&RE, r"(?:^|[-.])cu(\d{2,3})(?:$|[-.])").captures(tag)?.get(1)?.as_str();
    let (major, minor) = digits.split_at(digits.len() - 1);
    Some(format!("{}.{}", major.parse::<u32>().ok()?, minor))
}

/// `-22.04` after another part (jetson-containers puts the LSB release last), or `ubuntu22.04`.
/// A leading `24.10` is an NGC `YY.MM` release, not Ubuntu.
fn tag_ubuntu(tag: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    static RE2: OnceLock<Regex> = OnceLock::new();
    if let Some(c) = regex(&RE2, r"ubuntu(\d{2}\.\d{2})").captures(tag) {
        return Some(c[1].to_string());
    }
    regex(&RE, r"-(\d{2}\.04)(?:$|-)").captures(tag).map(|c| c[1].to_string())
}

fn tag_platform(tag: &str, k: &Knowledge) -> Option<String> {
    let bounded = |marker: &str| {
        tag.match_indices(marker).any(|(i, m)| {
            let before = tag[..i].chars().last();
            let after = tag[i + m.len()..].chars().next();
            before.is_none_or(|c| c == '-' || c == '.') && after.is_none_or(|c| c == '-' || c == '.')
        })
    };
    k.image_platform.iter().find(|p| p.tag_markers.iter().any(|m| bounded(m))).map(|p| p.class.clone())
}

/// `12.6.11-runtime` -> `12.6.11`; `24.04` -> `24.04`.
fn leading_version(tag: &str) -> Option<String> {
    let v: String = tag.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    (v.contains('.') && !v.ends_with('.')).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k() -> Knowledge {
        Knowledge::builtin()
    }

    fn orin_r36_4_3() -> HostFacts {
        HostFacts {
            jetson: true,
            arch: Some(stated("arm64".into(), "dpkg")),
            l4t: Some(stated(L4tVersion::new(36, 4, 3), "/etc/nv_tegra_release")),
            cuda: Some(stated("12.6".into(), "version.json")),
            ubuntu: Some(stated("22.04".into(), "/etc/os-release")),
            platform: Some(stated("tegra".into(), "Jetson")),
        }
    }

    fn verdicts(host: &HostFacts, f: &ImageFacts) -> Vec<(String, Verdict)> {
        evaluate(host, f, &k())
            .into_iter()
            .filter(|d| d.verdict != Verdict::Unknown)
            .map(|d| (d.rule, d.verdict))
            .collect()
    }

    #[test]
    fn tags_of_every_grammar_parse() {
        let k = k();
        let f = ImageFacts::from_tag("dustynv/pytorch:2.7-r36.4.0-cu128-24.04", &k);
        assert_eq!(f.l4t.unwrap().value, L4tVersion::new(36, 4, 0));
        assert_eq!(f.cuda.unwrap().value, "12.8");
        assert_eq!(f.ubuntu.unwrap().value, "24.04");
        let f = ImageFacts::from_tag("dustynv/pytorch:2.8-r36.4.tegra-aarch64-cu126-22.04", &k);
        assert_eq!(
            (f.l4t.unwrap().value, f.platform.unwrap().value),
            (L4tVersion::new(36, 4, 0), "tegra".to_string())
        );
        let f = ImageFacts::from_tag("dustynv/vllm:r38.4.arm64-sbsa-cu130-24.04", &k);
        assert_eq!(
            (f.cuda.unwrap().value, f.platform.unwrap().value),
            ("13.0".to_string(), "sbsa".to_string())
        );
        let f = ImageFacts::from_tag("127.0.0.1:5000/dustynv/l4t-pytorch:r36.3.0-cu124", &k);
        assert_eq!(
            (f.l4t.unwrap().value, f.cuda.unwrap().value),
            (L4tVersion::new(36, 3, 0), "12.4".to_string())
        );
        let f = ImageFacts::from_tag("nvcr.io/nvidia/pytorch:24.10-py3-igpu", &k);
        assert_eq!((f.ubuntu, f.platform.unwrap().value), (None, "tegra".to_string()));
        let f = ImageFacts::from_tag("nvcr.io/nvidia/l4t-cuda:12.6.11-runtime", &k);
        assert_eq!(f.cuda.unwrap().value, "12.6");
        assert_eq!(ImageFacts::from_tag("ubuntu:24.04", &k).ubuntu.unwrap().value, "24.04");
        assert_eq!(
            ImageFacts::from_tag("dustynv/ros:humble-desktop-l4t-r36.4.0", &k).l4t.unwrap().value,
            L4tVersion::new(36, 4, 0)
        );
        assert_eq!(ImageFacts::from_tag("localhost:5000/x", &k), ImageFacts::default());
        assert_eq!(split_tag("127.0.0.1:5000/a/b:r1@sha256:ab"), ("127.0.0.1:5000/a/b", Some("r1")));
    }

    #[test]
    fn the_r36_4_split_is_a_hard_line() {
        let host = orin_r36_4_3();
        let k = k();
        let v = |r: &str| verdicts(&host, &ImageFacts::from_tag(r, &k));
        assert_eq!(v("dustynv/l4t-pytorch:r36.4.0"), vec![("image.l4t".into(), Verdict::Pass)]);
        assert!(v("dustynv/l4t-pytorch:r36.3.0-cu124").contains(&("image.l4t".into(), Verdict::Fail)));
        assert!(v("dustynv/l4t-pytorch:r36.2.0").contains(&("image.l4t".into(), Verdict::Fail)));
        assert!(v("dustynv/l4t-pytorch:r35.4.1").contains(&("image.l4t".into(), Verdict::Fail)));
        let cu128 = v("dustynv/pytorch:2.7-r36.4.0-cu128-24.04");
        assert!(
            cu128.contains(&("image.cuda".into(), Verdict::Fail))
                && cu128.contains(&("image.ubuntu".into(), Verdict::Fail))
        );

        let mut old = host.clone();
        old.l4t = Some(stated(L4tVersion::new(36, 3, 0), "t"));
        old.cuda = Some(stated("12.2".into(), "t"));
        assert!(verdicts(&old, &ImageFacts::from_tag("x:r36.2.0", &k))
            .iter()
            .all(|(_, v)| *v == Verdict::Pass));
        assert!(verdicts(&old, &ImageFacts::from_tag("x:r36.4.0", &k))
            .contains(&("image.l4t".into(), Verdict::Fail)));
    }

    #[test]
    fn thor_is_sbsa_and_rejects_r36() {
        let mut thor = orin_r36_4_3();
        thor.l4t = Some(stated(L4tVersion::new(38, 4, 0), "t"));
        thor.platform =
            Some(stated(band_for(&k(), &L4tVersion::new(38, 4, 0)).unwrap().platform.clone(), "t"));
        thor.cuda = Some(stated("13.0".into(), "t"));
        thor.ubuntu = Some(stated("24.04".into(), "t"));
        let k = k();
        let d = evaluate(&thor, &ImageFacts::from_tag("dustynv/nano_llm:r36.4.0", &k), &k);
        let l4t = d.iter().find(|d| d.rule == "image.l4t").unwrap();
        assert_eq!(l4t.verdict, Verdict::Fail);
        assert!(l4t.why.contains("#1557"), "{}", l4t.why);
        assert!(accepted(&evaluate(
            &thor,
            &ImageFacts::from_tag("dustynv/vllm:r38.4.arm64-sbsa-cu130-24.04", &k),
            &k
        )));
        assert!(!accepted(&evaluate(
            &thor,
            &ImageFacts::from_tag("x:r38.4.tegra-aarch64-cu130-24.04", &k),
            &k
        )));
    }

    #[test]
    fn labels_beat_the_tag_and_arch_is_checked() {
        let k = k();
        let tag = ImageFacts::from_tag("dustynv/l4t-pytorch:r36.4.0", &k);
        let labels: BTreeMap<String, String> = [("io.jetdoc.l4t".to_string(), "35.4.1".to_string())].into();
        let env = vec!["CUDA_VERSION=12.6.11".to_string()];
        let cfg = ConfigView { os: Some("linux"), arch: Some("amd64"), labels: Some(&labels), env: &env };
        let f = ImageFacts::from_config(&cfg, &tag, &k);
        assert_eq!(f.l4t.as_ref().unwrap().from, "label io.jetdoc.l4t");
        assert_eq!(f.cuda.as_ref().unwrap().from, "env CUDA_VERSION");
        let d = evaluate(&orin_r36_4_3(), &f, &k);
        let failed: Vec<&str> =
            d.iter().filter(|d| d.verdict == Verdict::Fail).map(|d| d.rule.as_str()).collect();
        assert_eq!(failed, vec!["image.arch", "image.l4t"]);
        assert!(first_failure(&d)
            .unwrap()
            .message
            .contains("amd64 image (from image config); this host is arm64"));
    }

    #[test]
    fn a_non_jetson_host_rejects_l4t_images() {
        let x86 = HostFacts {
            jetson: false,
            arch: Some(stated("amd64".into(), "dpkg")),
            l4t: None,
            cuda: None,
            ubuntu: Some(stated("22.04".into(), "os-release")),
            platform: Some(stated("x86_64".into(), "amd64")),
        };
        let k = k();
        let d = evaluate(&x86, &ImageFacts::from_tag("dustynv/l4t-pytorch:r36.4.0", &k), &k);
        assert!(first_failure(&d).unwrap().message.contains("not a Jetson"));
        assert!(accepted(&evaluate(&x86, &ImageFacts::from_tag("ubuntu:22.04", &k), &k)));
    }
}
