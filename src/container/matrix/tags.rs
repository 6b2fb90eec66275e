//! Tags: the template (`<arch>-py<python>-th<torch>[-tr<tensorrt>][-dind]`), the CI tags
//! (`latest`, `sha-<7 hex>`, `<YYYYMMDD>`, `v<semver>`), and Docker's grammar for names and tags
//! (distribution/reference), so that a tag Docker would refuse is refused here, with the reason,
//! before anything is built.

use jiff::civil::Date;
use jiff::Timestamp;
use regex::Regex;
use std::sync::LazyLock;

/// distribution/reference `path-component`.
static COMPONENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$").expect("pattern"));
/// distribution/reference `domain` (a name or an IPv6 address in brackets, optional port).
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$",
    )
    .expect("pattern")
});

/// A placeholder of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    Arch,
    Python,
    Torch,
    Tensorrt,
    Cuda,
    Variant,
}

impl Var {
    const ALL: [(&'static str, Var); 6] = [
        ("arch", Var::Arch),
        ("python", Var::Python),
        ("torch", Var::Torch),
        ("tensorrt", Var::Tensorrt),
        ("cuda", Var::Cuda),
        ("variant", Var::Variant),
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(Var),
    /// `[...]`: left out when a placeholder inside has no value.
    Group(Vec<Part>),
    /// `[-dind]`: kept when the variant carries Docker-in-Docker.
    Dind(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a variant fills the template with.
#[derive(Debug, Clone, Default)]
pub struct TagValues<'a> {
    pub arch: &'a str,
    pub python: &'a str,
    pub torch: &'a str,
    pub tensorrt: Option<&'a str>,
    pub cuda: Option<&'a str>,
    pub variant: &'a str,
    pub dind: bool,
}

impl Template {
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut group: Option<Vec<Part>> = None;
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let in_group = group.is_some();
            let target = group.as_mut().unwrap_or(&mut parts);
            match c {
                '<' => {
                    let rest = &s[i + 1..];
                    let end =
                        rest.find('>').ok_or_else(|| format!("`<` at {} is not closed by `>`", i + 1))?;
                    let name = &rest[..end];
                    let var =
                        Var::ALL.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).ok_or_else(|| {
                            format!(
                                "unknown placeholder <{name}> (known: {})",
                                Var::ALL.iter().map(|(n, _)| format!("<{n}>")).collect::<Vec<_>>().join(", ")
                            )
                        })?;
                    target.push(Part::Var(var));
                    for _ in 0..=end {
                        chars.next();
                    }
                }
                '[' if !in_group => group = Some(Vec::new()),
                '[' => return Err("groups `[...]` cannot nest".into()),
                ']' => {
                    let g = group.take().ok_or("`]` without `[`")?;
                    if g.iter().any(|p| matches!(p, Part::Var(_))) {
                        parts.push(Part::Group(g));
                    } else {
                        let text: String =
                            g.iter().map(|p| if let Part::Lit(l) = p { l.as_str() } else { "" }).collect();
                        if text.trim_matches(|c| "-._".contains(c)) != "dind" {
                            return Err(format!(
                                "group [{text}] has no placeholder: only [-dind] may be a plain word"
                            ));
                        }
                        parts.push(Part::Dind(text));
                    }
                }
                c if c.is_ascii_alphanumeric() || "_.-".contains(c) => match target.last_mut() {
                    Some(Part::Lit(l)) => l.push(c),
                    _ => target.push(Part::Lit(c.to_string())),
                },
                c => return Err(format!("{c:?} cannot be in a Docker tag (letters, digits, `_`, `.`, `-`)")),
            }
        }
        if group.is_some() {
            return Err("`[` is not closed by `]`".into());
        }
        if parts.is_empty() {
            return Err("the template is empty".into());
        }
        Ok(Template { parts })
    }

    /// `<arch>` outside any group: inside one it could be left out, and two architectures would
    /// then share a tag.
    pub fn has_arch(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Var(Var::Arch)))
    }

    /// The tag for one variant, checked against Docker's tag grammar.
    pub fn render(&self, v: &TagValues) -> Result<String, String> {
        fn value<'a>(var: Var, v: &TagValues<'a>) -> Option<&'a str> {
            match var {
                Var::Arch => Some(v.arch),
                Var::Python => Some(v.python),
                Var::Torch => Some(v.torch),
                Var::Tensorrt => v.tensorrt,
                Var::Cuda => v.cuda,
                Var::Variant => Some(v.variant),
            }
        }
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Var(var) => match value(*var, v) {
                    Some(x) => out.push_str(x),
                    None => {
                        let name = Var::ALL.iter().find(|(_, x)| x == var).map(|(n, _)| *n).unwrap_or("?");
                        return Err(format!(
                            "<{name}> has no value for this variant: put it in an optional group, e.g. [-tr<{name}>]"
                        ));
                    }
                },
                Part::Group(g) => {
                    let mut text = String::new();
                    let mut complete = true;
                    for q in g {
                        match q {
                            Part::Lit(l) => text.push_str(l),
                            Part::Var(var) => match value(*var, v) {
                                Some(x) => text.push_str(x),
                                None => complete = false,
                            },
                            _ => {}
                        }
                    }
                    if complete {
                        out.push_str(&text);
                    }
                }
                Part::Dind(text) => {
                    if v.dind {
                        out.push_str(text);
                    }
                }
            }
        }
        check_tag(&out).map(|_| out)
    }
}

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("a tag cannot be empty".into());
    }
    if tag.len() > 128 {
        return Err(format!("tag `{tag}` is {} characters long; Docker allows 128", tag.len()));
    }
    if let Some(c) = tag.chars().find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c))) {
        return Err(format!(
            "tag `{tag}` contains {c:?}: Docker tags allow only letters, digits, `_`, `.` and `-`"
        ));
    }
    if tag.starts_with(['.', '-']) {
        return Err(format!(
            "tag `{tag}` starts with {:?}: Docker tags start with a letter, digit or `_`",
            &tag[..1]
        ));
    }
    Ok(())
}

/// A repository path without a registry: `/`-separated components of lowercase letters and
/// digits joined by `.`, `_`, `__` or dashes (distribution/reference `path-component`).
pub fn check_repository(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err("a repository name has 1 to 255 characters".into());
    }
    for c in name.split('/') {
        if !COMPONENT.is_match(c) {
            return Err(format!(
                "`{c}` is not a repository name component (lowercase letters and digits, separated by `.`, `_`, `__` or `-`)"
            ));
        }
    }
    Ok(())
}

/// A registry host (`host[:port]`) optionally followed by a namespace (`registry.example.com/robots`).
pub fn check_registry(s: &str) -> Result<(), String> {
    let (host, path) = match s.split_once('/') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if !DOMAIN.is_match(host) {
        return Err(format!("`{host}` is not a registry host (name or address, optional :port)"));
    }
    // A bare word would be read by Docker as a Docker Hub namespace, not a registry.
    if path.is_none() && !(host.contains('.') || host.contains(':') || host == "localhost") {
        return Err(format!(
            "`{s}` does not name a registry: Docker reads a plain word as a Docker Hub namespace; write docker.io/{s} for that"
        ));
    }
    if let Some(p) = path {
        check_repository(p)?;
    }
    Ok(())
}

/// An image reference as written in a Dockerfile's FROM: `[registry/]repo[:tag][@sha256:...]`.
pub fn check_reference(s: &str) -> Result<(), String> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let ok = d
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
        if !ok {
            return Err(format!("`{d}` is not a sha256 digest"));
        }
    }
    // The tag is after the last `:` that comes after the last `/` (a registry port is not a tag).
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        check_tag(t)?;
    }
    match name.split_once('/') {
        Some((first, path)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            check_registry(first)?;
            check_repository(path)
        }
        _ => check_repository(name),
    }
}

/// What a CI run (or the flags) says about this build: the source revision, the date, a release
/// version, when the image was created, and where its source lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildMeta {
    /// The full commit id, lowercase hex.
    pub sha: Option<String>,
    /// The build date, for the `<YYYYMMDD>` tag.
    pub date: Option<Date>,
    pub version: Option<semver::Version>,
    /// `org.opencontainers.image.created`.
    pub created: Timestamp,
    pub source: Option<String>,
}

/// The flags that override the environment.
#[derive(Debug, Clone, Default)]
pub struct MetaFlags {
    pub sha: Option<String>,
    pub date: Option<String>,
    pub version: Option<String>,
    pub source: Option<String>,
}

impl BuildMeta {
    /// Flags first, then the CI environment: GitHub Actions (`GITHUB_SHA`, a `v*` tag in
    /// `GITHUB_REF_NAME`, `GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`), GitLab CI (`CI_COMMIT_SHA`,
    /// `CI_COMMIT_TAG`, `CI_PROJECT_URL`), `SOURCE_DATE_EPOCH` (reproducible builds). A git tag
    /// that is not a `v` semantic version gives no version tag; a flag that is not one is an error.
    pub fn gather(
        flags: &MetaFlags,
        env: impl Fn(&str) -> Option<String>,
        now: Timestamp,
    ) -> Result<BuildMeta, String> {
        let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let sha = match flags.sha.clone().or_else(|| env("GITHUB_SHA")).or_else(|| env("CI_COMMIT_SHA")) {
            Some(s) => Some(parse_sha(&s)?),
            None => None,
        };
        let epoch = match env("SOURCE_DATE_EPOCH") {
            Some(s) => {
                let secs: i64 = s
                    .trim()
                    .parse()
                    .map_err(|_| format!("SOURCE_DATE_EPOCH `{s}` is not a number of seconds"))?;
                Some(Timestamp::from_second(secs).map_err(|e| format!("SOURCE_DATE_EPOCH `{s}`: {e}"))?)
            }
            None => None,
        };
        let (date, created) = match (&flags.date, epoch) {
            (Some(d), _) => {
                let date: Date =
                    d.parse().map_err(|_| format!("--date `{d}` is not a date such as 2025-06-30"))?;
                let ts =
                    date.to_zoned_datetime(jiff::tz::TimeZone::UTC).map_err(|e| e.to_string())?.timestamp();
                (Some(date), ts)
            }
            (None, Some(ts)) => (Some(ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()), ts),
            // In CI a date tag marks each scheduled build; locally there is none unless asked.
            (None, None) if is_ci(&env) => (Some(now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()), now),
            (None, None) => (None, now),
        };
        let version = match &flags.version {
            Some(v) => Some(parse_version(v)?),
            None => {
                let github_tag = (env("GITHUB_REF_TYPE").as_deref() == Some("tag"))
                    .then(|| env("GITHUB_REF_NAME").map(|t| ("GITHUB_REF_NAME", t)))
                    .flatten();
                let tag = github_tag.or_else(|| env("CI_COMMIT_TAG").map(|t| ("CI_COMMIT_TAG", t)));
                match tag {
                    Some((var, t)) => match t.strip_prefix('v').and_then(|v| v.parse::<semver::Version>().ok()) {
                        // A release tag whose build metadata no Docker tag can carry: said, not
                        // left to fail later as a bad tag of some variant.
                        Some(v) if !v.build.is_empty() => {
                            return Err(format!(
                                "{var} `{t}`: build metadata (`+{}`) cannot be in a Docker tag (`+` is not allowed); pass --version {}",
                                v.build,
                                t.split('+').next().unwrap_or_default()
                            ))
                        }
                        v => v,
                    },
                    None => None,
                }
            }
        };
        let source = match &flags.source {
            Some(s) => Some(s.clone()),
            None => match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY")) {
                (Some(server), Some(repo)) => Some(format!("{}/{repo}", server.trim_end_matches('/'))),
                _ => env("CI_PROJECT_URL"),
            },
        };
        if let Some(s) = &source {
            super::schema::check_url(s).map_err(|why| format!("source: {why}"))?;
        }
        Ok(BuildMeta { sha, date, version, created, source })
    }

    /// `sha-<7 hex>`, `<YYYYMMDD>` and `v<semver>`, those that are known.
    pub fn extra_tags(&self) -> Vec<String> {
        let mut tags = Vec::new();
        if let Some(sha) = &self.sha {
            tags.push(format!("sha-{}", &sha[..7]));
        }
        if let Some(d) = &self.date {
            tags.push(d.strftime("%Y%m%d").to_string());
        }
        if let Some(v) = &self.version {
            tags.push(format!("v{v}"));
        }
        tags
    }

    /// RFC 3339, seconds, UTC (`2025-06-30T00:00:00Z`).
    pub fn created_rfc3339(&self) -> String {
        self.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

fn is_ci(env: &impl Fn(&str) -> Option<String>) -> bool {
    env("CI").is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// A commit id: 7 to 64 hex digits (SHA-1 or SHA-256 object names, possibly abbreviated).
pub fn parse_sha(s: &str) -> Result<String, String> {
    let s = s.trim();
    if (7..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("`{s}` is not a git commit id (7 to 64 hex digits)"))
    }
}

/// `v1.2.3` or `1.2.3` (with pre-release); build metadata (`+...`) cannot go into a tag.
pub fn parse_version(s: &str) -> Result<semver::Version, String> {
    let bare = s.trim().strip_prefix('v').unwrap_or(s.trim());
    let v: semver::Version =
        bare.parse().map_err(|e| format!("version `{s}` is not a semantic version such as v1.2.3: {e}"))?;
    if !v.build.is_empty() {
        return Err(format!(
            "version `{s}`: build metadata (`+{}`) cannot be in a Docker tag (`+` is not allowed); leave it out",
            v.build
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(
        arch: &'a str,
        python: &'a str,
        torch: &'a str,
        tr: Option<&'a str>,
        dind: bool,
    ) -> TagValues<'a> {
        TagValues { arch, python, torch, tensorrt: tr, cuda: None, variant: "v", dind }
    }

    /// The upgrade plan's pattern and its variants (issue 14).
    #[test]
    fn the_upgrade_plan_examples() {
        let t = Template::parse("<arch>-py<python>-th<torch>[-tr<tensorrt>][-dind]").unwrap();
        let cases = [
            (values("amd64", "3.13", "2.8.0", None, true), "amd64-py3.13-th2.8.0-dind"),
            (values("amd64", "3.13", "2.8.0", None, false), "amd64-py3.13-th2.8.0"),
            (values("arm64", "3.12", "2.8.0", None, true), "arm64-py3.12-th2.8.0-dind"),
            (values("arm64", "3.10", "2.8.0", Some("10.3"), true), "arm64-py3.10-th2.8.0-tr10.3-dind"),
            (values("arm64", "3.10", "2.5", Some("10.3"), false), "arm64-py3.10-th2.5-tr10.3"),
        ];
        for (v, want) in cases {
            assert_eq!(t.render(&v).unwrap(), want);
        }
    }

    #[test]
    fn templates_are_checked() {
        assert!(Template::parse("<arch>-<bogus>").unwrap_err().contains("unknown placeholder <bogus>"));
        assert!(Template::parse("<arch>[-x[y]]").unwrap_err().contains("cannot nest"));
        assert!(Template::parse("<arch>[-tr<tensorrt>").unwrap_err().contains("not closed"));
        assert!(Template::parse("<arch>[-gpu]").unwrap_err().contains("only [-dind]"));
        assert!(Template::parse("<arch>+<torch>").unwrap_err().contains("'+'"));
        assert!(Template::parse("<arch").unwrap_err().contains("not closed by `>`"));
        assert!(Template::parse("py<python>").is_ok_and(|t| !t.has_arch()));
        assert!(Template::parse("[<arch>-]py<python>").is_ok_and(|t| !t.has_arch()));
        // A required placeholder without a value is an error, not an empty string.
        let t = Template::parse("<arch>-tr<tensorrt>").unwrap();
        assert!(t
            .render(&values("amd64", "3.13", "2.8", None, false))
            .unwrap_err()
            .contains("optional group"));
    }

    #[test]
    fn invalid_docker_tags_are_refused_with_the_reason() {
        assert!(check_tag("amd64-py3.13").is_ok());
        assert!(check_tag("_x").is_ok());
        assert!(check_tag("").unwrap_err().contains("empty"));
        assert!(check_tag("-x").unwrap_err().contains("starts with"));
        assert!(check_tag(".x").unwrap_err().contains("starts with"));
        assert!(check_tag("a+b").unwrap_err().contains("'+'"));
        assert!(check_tag("a/b").unwrap_err().contains("'/'"));
        assert!(check_tag(&"a".repeat(129)).unwrap_err().contains("128"));
        let long = Template::parse("<variant>-<variant>").unwrap();
        let name = "n".repeat(80);
        let v = TagValues { variant: &name, ..Default::default() };
        assert!(long.render(&v).unwrap_err().contains("128"));
    }

    #[test]
    fn names_and_references() {
        assert!(check_repository("base_edge_node_amd64_gpu").is_ok());
        assert!(check_repository("team/base__x").is_ok());
        assert!(check_repository("Base").is_err());
        assert!(check_repository("a_").is_err());
        assert!(check_repository("a/").is_err());
        assert!(check_registry("127.0.0.1:5000").is_ok());
        assert!(check_registry("registry.example.com/robots").is_ok());
        assert!(check_registry("localhost:5000/a/b").is_ok());
        assert!(check_registry("myteam").unwrap_err().contains("Docker Hub namespace"));
        assert!(check_registry("http://x").is_err());
        assert!(check_reference("amd64/ubuntu:24.04").is_ok());
        assert!(check_reference("nvcr.io/nvidia/l4t-jetpack:r36.4.0").is_ok());
        assert!(check_reference("127.0.0.1:5000/a:b").is_ok());
        assert!(check_reference(&format!("ubuntu@sha256:{}", "a".repeat(64))).is_ok());
        assert!(check_reference("ubuntu:24.04 AS x").is_err());
        assert!(check_reference("ubuntu:+x").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any template text and any values (from a matrix file, the tables or the flags): no
        /// panic, and whatever renders is a tag Docker accepts.
        #[test]
        fn hostile_templates_and_values_never_panic_nor_make_a_bad_tag(
            template in "([<>\\[\\]a-z_.+/ -]|<arch>|<python>|<torch>|<tensorrt>|<cuda>|<variant>|\\PC){0,40}",
            value in "\\PC{0,12}",
            long in 0usize..140,
        ) {
            if let Ok(t) = Template::parse(&template) {
                let big = "9".repeat(long);
                for v in [
                    TagValues { arch: "amd64", python: &value, torch: &big, tensorrt: Some(&value), cuda: None, variant: "v", dind: true },
                    TagValues { arch: &value, python: "3.13", torch: "2.8.0", tensorrt: None, cuda: Some(&big), variant: &value, dind: false },
                ] {
                    if let Ok(tag) = t.render(&v) {
                        // distribution/reference: [\w][\w.-]{0,127}
                        let ok = tag.len() <= 128
                            && tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                            && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
                        proptest::prop_assert!(ok, "{}", tag);
                    }
                }
            }
            let _ = check_reference(&value);
            let _ = check_registry(&template);
            let _ = parse_version(&value);
            let _ = parse_sha(&value);
        }
    }

    fn env_of<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn ci_metadata_from_github_gitlab_and_flags() {
        let now: Timestamp = "2025-07-01T12:34:56Z".parse().unwrap();
        let gh = [
            ("CI", "true"),
            ("GITHUB_SHA", "0123456789ABCDEF0123456789abcdef01234567"),
            ("GITHUB_REF_TYPE", "tag"),
            ("GITHUB_REF_NAME", "v1.4.0"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/edge-node"),
        ];
        let m = BuildMeta::gather(&MetaFlags::default(), env_of(&gh), now).unwrap();
        assert_eq!(m.extra_tags(), ["sha-0123456", "20250701", "v1.4.0"]);
        assert_eq!(m.sha.as_deref(), Some("0123456789abcdef0123456789abcdef01234567"));
        assert_eq!(m.source.as_deref(), Some("https://github.com/acme/edge-node"));
        assert_eq!(m.created_rfc3339(), "2025-07-01T12:34:56Z");

        // A branch build on GitLab with SOURCE_DATE_EPOCH: no version tag.
        let gl = [
            ("CI_COMMIT_SHA", "abcdef0123"),
            ("SOURCE_DATE_EPOCH", "1700000000"),
            ("CI_COMMIT_TAG", "release-5"),
        ];
        let m = BuildMeta::gather(&MetaFlags::default(), env_of(&gl), now).unwrap();
        assert_eq!(m.extra_tags(), ["sha-abcdef0", "20231114"]);
        assert_eq!(m.created_rfc3339(), "2023-11-14T22:13:20Z");

        // Nothing given outside CI: only the creation time.
        let m = BuildMeta::gather(&MetaFlags::default(), env_of(&[]), now).unwrap();
        assert!(m.extra_tags().is_empty());

        // Flags win over the environment.
        let flags = MetaFlags {
            sha: Some("feedface".into()),
            date: Some("2025-06-30".into()),
            version: Some("2.0.0-rc.1".into()),
            source: None,
        };
        let m = BuildMeta::gather(&flags, env_of(&gh), now).unwrap();
        assert_eq!(m.extra_tags(), ["sha-feedfac", "20250630", "v2.0.0-rc.1"]);
        assert_eq!(m.created_rfc3339(), "2025-06-30T00:00:00Z");

        // A release tag with build metadata: refused, naming the variable and the way out.
        let tagged = [("GITHUB_REF_TYPE", "tag"), ("GITHUB_REF_NAME", "v1.4.0+jp6")];
        let e = BuildMeta::gather(&MetaFlags::default(), env_of(&tagged), now).unwrap_err();
        assert!(
            e.starts_with("GITHUB_REF_NAME `v1.4.0+jp6`: build metadata") && e.ends_with("--version v1.4.0"),
            "{e}"
        );
        let flags = MetaFlags { version: Some("1.4.0".into()), ..Default::default() };
        assert_eq!(BuildMeta::gather(&flags, env_of(&tagged), now).unwrap().extra_tags(), ["v1.4.0"]);

        let bad = |f: MetaFlags| BuildMeta::gather(&f, env_of(&[]), now).unwrap_err();
        assert!(bad(MetaFlags { version: Some("v1.2.3+build.5".into()), ..Default::default() })
            .contains("`+` is not allowed"));
        assert!(bad(MetaFlags { version: Some("release".into()), ..Default::default() })
            .contains("semantic version"));
        assert!(bad(MetaFlags { sha: Some("xyz".into()), ..Default::default() }).contains("commit id"));
        assert!(bad(MetaFlags { date: Some("30/06/2025".into()), ..Default::default() }).contains("--date"));
    }
}
