//! Compatibility rules: does a candidate image fit this host? The bands, platform classes, label
//! keys and reasons are data (`checks/images.toml`); this file applies them. An image's facts come
//! from its labels and config first and from its tag only as a fallback, and every decision names
//! the rule that made it and where each fact came from.

use regex::Regex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::context::Context;
use crate::fact::Fact;
use crate::host::Reason;
use crate::knowledge::{ImageL4t, Knowledge, L4tVersion};
use crate::probes::{Identity, Software};

/// What the image does not say: nothing to hold against it (a generic `ubuntu:22.04` has no L4T).
fn not_stated<T>() -> Fact<T> {
    Fact::absent("image", Reason::NotApplicable("not stated by the image".into()))
}

/// What the rules need to know about the host; each fact says where it was read.
#[derive(Debug, Clone, Serialize)]
pub struct HostFacts {
    pub jetson: bool,
    /// Docker architecture (`arm64`, `amd64`).
    pub arch: Fact<String>,
    pub l4t: Fact<L4tVersion>,
    /// CUDA `major.minor`.
    pub cuda: Fact<String>,
    pub ubuntu: Fact<String>,
    /// `tegra`, `sbsa` or `x86_64`.
    pub platform: Fact<String>,
}

impl HostFacts {
    pub fn probe(ctx: &Context) -> HostFacts {
        let id = ctx.get::<Identity>();
        let sw = ctx.get::<Software>();
        let k = &ctx.knowledge;
        let arch = match id.arch.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Fact::known(docker_arch(a), "dpkg architecture"),
            None => Fact::absent("dpkg architecture", Reason::Missing),
        };
        let l4t = id.l4t.clone();
        let from_table = || match l4t.value().and_then(|v| k.release(v).map(|info| (v, info))) {
            Some((v, info)) => match cuda_major_minor(info.cuda()) {
                Some(c) => Fact::known(c, format!("L4T {v} table")),
                None => not_known("L4T table"),
            },
            None => sw.cuda.clone(),
        };
        let cuda = match sw.cuda.value().and_then(|v| cuda_major_minor(v)) {
            Some(c) => Fact::known(c, sw.cuda.source()),
            None => from_table(),
        };
        let ubuntu = match sw.os_id.as_deref() {
            Some("ubuntu") => sw.ubuntu.clone(),
            _ => Fact::absent("/etc/os-release", Reason::NotApplicable("not Ubuntu".into())),
        };
        let platform = if id.jetson {
            match l4t.value().and_then(|v| band_for(k, v)) {
                Some(b) => Fact::known(b.platform.clone(), format!("Jetson, {}", b.id)),
                None => Fact::known("tegra".to_string(), "Jetson"),
            }
        } else {
            match arch.value().map(String::as_str) {
                Some("arm64") => Fact::known("sbsa".to_string(), "arm64, not a Jetson"),
                Some("amd64") => Fact::known("x86_64".to_string(), "amd64"),
                _ => Fact::absent("architecture", Reason::NotApplicable("no platform class".into())),
            }
        };
        HostFacts { jetson: id.jetson, arch, l4t, cuda, ubuntu, platform }
    }

    /// The Docker platform to ask registries for (`linux/arm64`).
    pub fn docker_platform(&self) -> Option<String> {
        self.arch.value().map(|a| format!("linux/{a}"))
    }
}

fn not_known<T>(source: &str) -> Fact<T> {
    Fact::absent(source, Reason::Missing)
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

/// What an image says about itself, each fact with where it was read (`label io.jetdoc.l4t`,
/// `env CUDA_VERSION`, `image config`, `/etc/nv_tegra_release` in the layers, `tag`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageFacts {
    pub os: Fact<String>,
    pub arch: Fact<String>,
    pub l4t: Fact<L4tVersion>,
    pub cuda: Fact<String>,
    pub ubuntu: Fact<String>,
    pub platform: Fact<String>,
}

impl Default for ImageFacts {
    fn default() -> ImageFacts {
        ImageFacts {
            os: not_stated(),
            arch: not_stated(),
            l4t: not_stated(),
            cuda: not_stated(),
            ubuntu: not_stated(),
            platform: not_stated(),
        }
    }
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
        let from_tag = |v: Option<String>| v.map_or_else(not_stated, |v| Fact::known(v, "tag"));
        let mut cuda = tag_cuda(tag);
        if cuda.is_none() && (last == "cuda" || last == "l4t-cuda") {
            cuda = leading_version(tag).and_then(|v| cuda_major_minor(&v));
        }
        let mut ubuntu = tag_ubuntu(tag);
        if ubuntu.is_none() && last == "ubuntu" {
            ubuntu = leading_version(tag).filter(|v| v.len() == 5);
        }
        ImageFacts {
            l4t: tag_l4t(tag).map_or_else(not_stated, |v| Fact::known(v, "tag")),
            cuda: from_tag(cuda),
            ubuntu: from_tag(ubuntu),
            platform: from_tag(tag_platform(tag, k)),
            ..ImageFacts::default()
        }
    }

    /// Facts read from the image's files (`image doctor` reads the layers): the L4T release of
    /// `/etc/nv_tegra_release` and the CUDA of `/usr/local/cuda-X.Y/version.json`.
    pub fn from_files(nv_tegra_release: Option<&str>, cuda_version_json: Option<(&str, &str)>) -> ImageFacts {
        let l4t = nv_tegra_release
            .and_then(|text| crate::facts::nv_tegra_release::parse(text).ok())
            .map_or_else(not_stated, |r| Fact::known(r.version, "/etc/nv_tegra_release"));
        let cuda = cuda_version_json
            .and_then(|(path, text)| {
                let v = crate::facts::cuda_version::from_version_json(text).ok()?;
                Some(Fact::known(cuda_major_minor(&v)?, path))
            })
            .unwrap_or_else(not_stated);
        ImageFacts { l4t, cuda, ..ImageFacts::default() }
    }

    /// Field by field: this fact, or where this one is not stated, `other`'s.
    pub fn or(self, other: ImageFacts) -> ImageFacts {
        ImageFacts {
            os: self.os.or_else(|| other.os),
            arch: self.arch.or_else(|| other.arch),
            l4t: self.l4t.or_else(|| other.l4t),
            cuda: self.cuda.or_else(|| other.cuda),
            ubuntu: self.ubuntu.or_else(|| other.ubuntu),
            platform: self.platform.or_else(|| other.platform),
        }
    }

    /// Facts from an image config, falling back to `fallback` (the tag's, or the files' then the
    /// tag's) field by field. Labels and ENV win over the tag: tags get renamed and re-pushed,
    /// the config travels with the image.
    pub fn from_config(config: &ConfigView, fallback: &ImageFacts, k: &Knowledge) -> ImageFacts {
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
        let fact = |v: Option<(String, String)>| v.map_or_else(not_stated, |(v, from)| Fact::known(v, from));
        let l4t = lookup("l4t").and_then(|(v, from)| L4tVersion::parse(&v).map(|v| Fact::known(v, from)));
        let cuda = lookup("cuda").and_then(|(v, from)| cuda_major_minor(&v).map(|v| (v, from)));
        let from_config = |v: Option<&str>, f: fn(&str) -> String| {
            v.filter(|s| !s.is_empty()).map_or_else(not_stated, |v| Fact::known(f(v), "image config"))
        };
        ImageFacts {
            os: from_config(config.os, str::to_string),
            arch: from_config(config.arch, docker_arch),
            l4t: l4t.unwrap_or_else(not_stated),
            cuda: fact(cuda),
            ubuntu: fact(lookup("ubuntu")),
            platform: fact(lookup("platform")),
        }
        .or(fallback.clone())
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

/// How one fact of the image is compared with the host's, and how the outcome reads.
struct Compared {
    rule: &'static str,
    /// Put before a value: `CUDA 12.6`, `Ubuntu 22.04`.
    label: &'static str,
    /// `this host is arm64`, `this host has CUDA 12.6`, `this host runs Ubuntu 22.04`.
    host_verb: &'static str,
    /// The message when the image does not state the fact.
    unstated: &'static str,
    /// What the host fact is called when the host's is unknown.
    host_fact: &'static str,
}

const ARCH: Compared = Compared {
    rule: "image.arch",
    label: "",
    host_verb: "is",
    unstated: "not known before the manifest is read",
    host_fact: "architecture",
};
const PLATFORM: Compared = Compared {
    rule: "image.platform",
    label: "",
    host_verb: "is",
    unstated: "the image does not name a platform class",
    host_fact: "class",
};
const CUDA: Compared = Compared {
    rule: "image.cuda",
    label: "CUDA ",
    host_verb: "has",
    unstated: "the image does not state its CUDA version",
    host_fact: "CUDA",
};
const UBUNTU: Compared = Compared {
    rule: "image.ubuntu",
    label: "Ubuntu ",
    host_verb: "runs",
    unstated: "the image does not state its Ubuntu release",
    host_fact: "release",
};

/// Equal values pass, different ones fail; a fact either side lacks decides nothing.
fn compare(c: &Compared, image: &Fact<String>, host: &Fact<String>) -> (Verdict, String) {
    let l = c.label;
    match (image, host) {
        (Fact::Known { value: i, source: from }, Fact::Known { value: h, .. }) if i == h => {
            (Verdict::Pass, format!("{l}{i} (from {from})"))
        }
        (Fact::Known { value: i, source: from }, Fact::Known { value: h, source: hfrom }) => (
            Verdict::Fail,
            format!("{l}{i} image (from {from}); this host {} {l}{h} (from {hfrom})", c.host_verb),
        ),
        (Fact::Absent(_), _) => (Verdict::Unknown, c.unstated.to_string()),
        (Fact::Known { value: i, .. }, Fact::Absent(_)) => {
            (Verdict::Unknown, format!("{l}{i}; the host's {} is unknown", c.host_fact))
        }
    }
}

/// The one judgement of an image against this host: every rule, in a fixed order. `image
/// select` accepts an image only when none fails; `image doctor` reports each as a check.
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
        Fact::Known { value, .. } if value == "linux" => decide("image.os", Verdict::Pass, "linux".into()),
        Fact::Known { value, source } => decide(
            "image.os",
            Verdict::Fail,
            format!("a {value} image (from {source}); Jetson runs linux images"),
        ),
        Fact::Absent(_) => {
            decide("image.os", Verdict::Unknown, "not known before the manifest is read".into())
        }
    });
    let compared = |c: &Compared, i: &Fact<String>, h: &Fact<String>| {
        let (verdict, message) = compare(c, i, h);
        decide(c.rule, verdict, message)
    };
    out.push(compared(&ARCH, &image.arch, &host.arch));
    out.push(compared(&PLATFORM, &image.platform, &host.platform));
    out.push(l4t_decision(host, image, k, &decide));
    out.push(compared(&CUDA, &image.cuda, &host.cuda));
    out.push(compared(&UBUNTU, &image.ubuntu, &host.ubuntu));
    out
}

fn l4t_decision(
    host: &HostFacts,
    image: &ImageFacts,
    k: &Knowledge,
    decide: &dyn Fn(&str, Verdict, String) -> Decision,
) -> Decision {
    let Fact::Known { value: img, source: from } = &image.l4t else {
        return decide(
            "image.l4t",
            Verdict::Unknown,
            "states no L4T release: a generic image, not built against L4T".into(),
        );
    };
    let Some(h) = host.l4t.value() else {
        let message = if host.jetson {
            format!("built for L4T {img} (from {from}); this Jetson's L4T release is unknown")
        } else {
            format!("built for L4T {img} (from {from}) for Jetson; this host is not a Jetson")
        };
        return decide("image.l4t", Verdict::Fail, message);
    };
    match band_for(k, h) {
        Some(band) if band.accepts_image(img) => decide(
            "image.l4t",
            Verdict::Pass,
            format!(
                "built for L4T {img} (from {from}); an L4T {h} host runs {} images ({})",
                band.image_band(),
                band.id
            ),
        ),
        Some(band) => Decision {
            rule: "image.l4t".into(),
            verdict: Verdict::Fail,
            message: format!(
                "built for L4T {img} (from {from}); an L4T {h} host runs only {} images ({})",
                band.image_band(),
                band.id
            ),
            why: band.why.clone(),
        },
        None if (img.major, img.minor) == (h.major, h.minor) => decide(
            "image.l4t",
            Verdict::Pass,
            format!("built for L4T {img} (from {from}): same release as the host"),
        ),
        None => decide(
            "image.l4t",
            Verdict::Fail,
            format!(
                "built for L4T {img} (from {from}); no band in the tables covers L4T {h}, so only r{}.{} images are accepted",
                h.major, h.minor
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
            arch: Fact::known("arm64".into(), "dpkg"),
            l4t: Fact::known(L4tVersion::new(36, 4, 3), "/etc/nv_tegra_release"),
            cuda: Fact::known("12.6".into(), "version.json"),
            ubuntu: Fact::known("22.04".into(), "/etc/os-release"),
            platform: Fact::known("tegra".into(), "Jetson"),
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
        assert_eq!(f.l4t.value().cloned().unwrap(), L4tVersion::new(36, 4, 0));
        assert_eq!(f.cuda.value().cloned().unwrap(), "12.8");
        assert_eq!(f.ubuntu.value().cloned().unwrap(), "24.04");
        let f = ImageFacts::from_tag("dustynv/pytorch:2.8-r36.4.tegra-aarch64-cu126-22.04", &k);
        assert_eq!(
            (f.l4t.value().cloned().unwrap(), f.platform.value().cloned().unwrap()),
            (L4tVersion::new(36, 4, 0), "tegra".to_string())
        );
        let f = ImageFacts::from_tag("dustynv/vllm:r38.4.arm64-sbsa-cu130-24.04", &k);
        assert_eq!(
            (f.cuda.value().cloned().unwrap(), f.platform.value().cloned().unwrap()),
            ("13.0".to_string(), "sbsa".to_string())
        );
        let f = ImageFacts::from_tag("127.0.0.1:5000/dustynv/l4t-pytorch:r36.3.0-cu124", &k);
        assert_eq!(
            (f.l4t.value().cloned().unwrap(), f.cuda.value().cloned().unwrap()),
            (L4tVersion::new(36, 3, 0), "12.4".to_string())
        );
        let f = ImageFacts::from_tag("nvcr.io/nvidia/pytorch:24.10-py3-igpu", &k);
        assert_eq!((f.ubuntu.value(), f.platform.value().cloned().unwrap()), (None, "tegra".to_string()));
        let f = ImageFacts::from_tag("nvcr.io/nvidia/l4t-cuda:12.6.11-runtime", &k);
        assert_eq!(f.cuda.value().cloned().unwrap(), "12.6");
        assert_eq!(ImageFacts::from_tag("ubuntu:24.04", &k).ubuntu.value().cloned().unwrap(), "24.04");
        assert_eq!(
            ImageFacts::from_tag("dustynv/ros:humble-desktop-l4t-r36.4.0", &k).l4t.value().cloned().unwrap(),
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
        old.l4t = Fact::known(L4tVersion::new(36, 3, 0), "t");
        old.cuda = Fact::known("12.2".into(), "t");
        assert!(verdicts(&old, &ImageFacts::from_tag("x:r36.2.0", &k))
            .iter()
            .all(|(_, v)| *v == Verdict::Pass));
        assert!(verdicts(&old, &ImageFacts::from_tag("x:r36.4.0", &k))
            .contains(&("image.l4t".into(), Verdict::Fail)));
    }

    #[test]
    fn thor_is_sbsa_and_rejects_r36() {
        let mut thor = orin_r36_4_3();
        thor.l4t = Fact::known(L4tVersion::new(38, 4, 0), "t");
        thor.platform =
            Fact::known(band_for(&k(), &L4tVersion::new(38, 4, 0)).unwrap().platform.clone(), "t");
        thor.cuda = Fact::known("13.0".into(), "t");
        thor.ubuntu = Fact::known("24.04".into(), "t");
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
        assert_eq!(f.l4t.source(), "label io.jetdoc.l4t");
        assert_eq!(f.cuda.source(), "env CUDA_VERSION");
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
            arch: Fact::known("amd64".into(), "dpkg"),
            l4t: not_known("/etc/nv_tegra_release"),
            cuda: not_known("/usr/local/cuda/version.json"),
            ubuntu: Fact::known("22.04".into(), "os-release"),
            platform: Fact::known("x86_64".into(), "amd64"),
        };
        let k = k();
        let d = evaluate(&x86, &ImageFacts::from_tag("dustynv/l4t-pytorch:r36.4.0", &k), &k);
        assert!(first_failure(&d).unwrap().message.contains("not a Jetson"));
        assert!(accepted(&evaluate(&x86, &ImageFacts::from_tag("ubuntu:22.04", &k), &k)));
    }
}
