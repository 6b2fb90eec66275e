//! Image references, normalised as Docker does, and platforms (`os/arch[/variant]`).

use serde::{Deserialize, Serialize};

use super::{redact, RegistryError};

pub(super) const DOCKER_HUB: &str = "registry-1.docker.io";
/// The key `docker login` uses for Docker Hub in `config.json`.
pub(super) const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// `[registry/]repository[:tag][@digest]`, normalised as Docker does (`ubuntu` is
/// `registry-1.docker.io/library/ubuntu:latest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Host (and port) to speak the API to.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference, RegistryError> {
        let bad = |why: &str| RegistryError::BadReference { reference: redact::url(s), why: why.to_string() };
        if s.is_empty() || s.chars().any(char::is_whitespace) {
            return Err(bad("empty or contains spaces"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) if d.starts_with("sha256:") && d.len() == 71 => (r, Some(d.to_string())),
            Some(_) => return Err(bad("a digest must be sha256:<64 hex digits>")),
            None => (s, None),
        };
        let (name, tag) = crate::container::rules::split_tag(rest);
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                (first.to_string(), path.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = if registry == "docker.io" || registry == "index.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository.is_empty()
            || !repository.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
        {
            return Err(bad("the repository must be lowercase letters, digits and . _ - /"));
        }
        let tag = match tag {
            Some(t)
                if t.is_empty()
                    || t.len() > 128
                    || !t.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
            {
                return Err(bad("a tag is up to 128 letters, digits, . _ -"))
            }
            Some(t) => Some(t.to_string()),
            None if digest.is_none() => Some("latest".to_string()),
            None => None,
        };
        Ok(Reference { registry, repository, tag, digest })
    }

    /// What the manifest URL names: the digest if pinned, else the tag.
    pub fn object(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// Loopback registries speak plain HTTP (Docker trusts 127.0.0.0/8 as insecure by default).
    pub fn is_loopback(&self) -> bool {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                self.registry.as_str()
            }
        });
        host == "localhost"
            || host == "[::1]"
            || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
    }

    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.is_loopback() { "http" } else { "https" }, self.registry)
    }

    /// The key of this registry in `config.json` `auths`.
    pub(super) fn auth_key(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_AUTH_KEY
        } else {
            &self.registry
        }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    pub fn parse(s: &str) -> Option<Platform> {
        let mut p = s.split('/');
        let os = p.next().filter(|s| !s.is_empty())?.to_string();
        let architecture = p.next().filter(|s| !s.is_empty())?.to_string();
        let variant = p.next().map(str::to_string);
        Some(Platform { os, architecture, variant })
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_like_docker() {
        let r = Reference::parse("ubuntu").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            (DOCKER_HUB, "library/ubuntu", Some("latest"))
        );
        let r = Reference::parse("dustynv/l4t-pytorch:r36.4.0").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), (DOCKER_HUB, "dustynv/l4t-pytorch"));
        let r = Reference::parse("127.0.0.1:5000/dustynv/l4t-pytorch:r36.4.0").unwrap();
        assert_eq!((r.registry.as_str(), r.base_url().as_str()), ("127.0.0.1:5000", "http://127.0.0.1:5000"));
        assert_eq!(
            Reference::parse("nvcr.io/nvidia/l4t-jetpack:r36.4.0").unwrap().base_url(),
            "https://nvcr.io"
        );
        assert!(Reference::parse("localhost:5000/x").unwrap().is_loopback());
        let pinned = format!("nvcr.io/nvidia/x@sha256:{}", "a".repeat(64));
        assert_eq!(Reference::parse(&pinned).unwrap().object(), format!("sha256:{}", "a".repeat(64)));
        assert!(Reference::parse("Bad/Name:x").is_err());
        assert!(Reference::parse("a b").is_err());
        assert!(Reference::parse("x@sha256:short").is_err());
    }
}
