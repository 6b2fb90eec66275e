//! A Registry v2 / OCI distribution client: enough to tell, before a pull, whether an image
//! exists, which platforms it has, how many layers and bytes the chosen one weighs, and what its
//! config says (labels, ENV).
//!
//! Auth follows the distribution token spec: a `401` carries `WWW-Authenticate`; `Basic` gets the
//! credentials of `~/.docker/config.json`, `Bearer realm=...,service=...,scope=...` gets a token
//! from the realm (anonymously, or with those credentials). Credentials are never logged or put
//! in an error, and every URL, client message or response body in an error passes through
//! `redact` first. Loopback registries are spoken to over plain HTTP, as Docker does by default.
//!
//! `reference` parses image references, `auth` reads credentials and challenges, this file is
//! the client.

mod auth;
use crate::redact;
mod reference;

use base64::Engine as _;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

pub use auth::{parse_challenge, Challenge, Credentials};
pub use reference::{Platform, Reference};

use reference::DOCKER_HUB;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
/// Manifests and configs are small; anything bigger is not one.
const MAX_DOCUMENT_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{reference}: not an image reference ({why}); expected [REGISTRY/]REPOSITORY[:TAG][@DIGEST]")]
    BadReference { reference: String, why: String },
    #[error("{url}: {message}\n  check the registry address and that it is reachable from this machine")]
    Http { url: String, message: String },
    #[error("{url}: the registry refused access ({status}){hint}")]
    Unauthorized { url: String, status: u16, hint: String },
    #[error("{url}: not found (404): the registry has no such repository or tag")]
    NotFound { url: String },
    #[error("{url}: unexpected HTTP {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url}: {message}")]
    BadDocument { url: String, message: String },
    #[error("{reference}: no {wanted} image in its index; it has {available}")]
    NoPlatform { reference: String, wanted: String, available: String },
    #[error("{path}: {message}\n  fix the file (it is Docker's client config) or move it aside to query anonymously")]
    Config { path: String, message: String },
}

/// Docker Hub's pull quota as the registry reported it (`ratelimit-remaining: 76;w=21600`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    pub limit: Option<String>,
    pub remaining: Option<String>,
}

/// The parts of an image config the selection reads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageConfig {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub env: Vec<String>,
    /// `rootfs.diff_ids`: the filesystem layers Docker stacks (the 125-layer limit counts these).
    pub diff_ids: usize,
}

/// One image as the registry describes it, without pulling it.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteImage {
    pub reference: String,
    /// Digest of what the tag points to (an index or a manifest).
    pub digest: String,
    pub media_type: String,
    /// Platforms of the index (empty for a single-platform manifest).
    pub platforms: Vec<String>,
    /// The manifest chosen for the wanted platform.
    pub manifest_digest: String,
    pub platform: Option<Platform>,
    pub layers: usize,
    pub compressed_bytes: u64,
    pub config: ImageConfig,
    pub rate_limit: Option<RateLimit>,
}

/// A manifest as an image index lists it (OCI descriptor: media type, digest, size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestRef {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct ManifestDoc {
    #[serde(rename = "schemaVersion", default)]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
struct ConfigDoc {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
    #[serde(default)]
    config: Option<ConfigInner>,
    #[serde(default)]
    rootfs: Option<RootFs>,
}

#[derive(Deserialize, Default)]
struct ConfigInner {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

pub struct RegistryClient {
    http: Client,
    creds: Credentials,
    /// Bearer tokens by (realm, service, scope).
    tokens: HashMap<String, String>,
}

/// A fetched document: body, headers, and the digest the registry gave it.
struct Fetched {
    body: Vec<u8>,
    headers: HeaderMap,
    url: String,
}

impl RegistryClient {
    pub fn new(creds: Credentials, timeout: Duration) -> Result<RegistryClient, RegistryError> {
        let http = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("jetdoc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Http { url: String::new(), message: e.to_string() })?;
        Ok(RegistryClient { http, creds, tokens: HashMap::new() })
    }

    /// Does the tag exist? `HEAD` only (on Docker Hub a HEAD does not count against the pull quota).
    /// Returns the digest and the rate-limit headers.
    pub fn head(&mut self, r: &Reference) -> Result<(Option<String>, Option<RateLimit>), RegistryError> {
        let url = format!("{}/v2/{}/manifests/{}", r.base_url(), r.repository, r.object());
        let resp = self.send(r, reqwest::Method::HEAD, &url, Some(ACCEPT_MANIFESTS))?;
        let headers = resp.headers().clone();
        Ok((header(&headers, "docker-content-digest"), rate_limit(&headers)))
    }

    /// Reads what a pull of `r` for `want` would fetch: the manifest (through the index when
    /// there is one), the layer count and compressed size, and the config blob.
    pub fn inspect(&mut self, r: &Reference, want: &Platform) -> Result<RemoteImage, RegistryError> {
        let (head_digest, mut limit) = self.head(r)?;
        // GET by the digest HEAD returned: the tag cannot move between the two requests.
        let object = head_digest.clone().unwrap_or_else(|| r.object().to_string());
        let top = self.get(r, &format!("manifests/{object}"), Some(ACCEPT_MANIFESTS))?;
        limit = rate_limit(&top.headers).or(limit);
        let digest = header(&top.headers, "docker-content-digest")
            .or(head_digest)
            .unwrap_or_else(|| sha256_digest(&top.body));
        let doc: ManifestDoc = parse_json(&top)?;
        let media_type =
            doc.media_type.clone().or_else(|| header(&top.headers, "content-type")).unwrap_or_default();
        if doc.schema_version == 1 || media_type.contains("prettyjws") {
            return Err(RegistryError::BadDocument {
                url: redact::url(&top.url),
                message:
                    "a schema 1 manifest: Docker no longer pulls these; ask the publisher for a current one"
                        .into(),
            });
        }

        let (manifest, manifest_digest, platform, platforms) = match doc.manifests {
            Some(entries) => {
                let platforms: Vec<Platform> = entries
                    .iter()
                    .filter_map(|e| e.platform.clone())
                    // BuildKit attestations are `unknown/unknown` entries, not images.
                    .filter(|p| p.os != "unknown")
                    .collect();
                let chosen = pick_platform(&entries, want).ok_or_else(|| RegistryError::NoPlatform {
                    reference: r.to_string(),
                    wanted: want.to_string(),
                    available: if platforms.is_empty() {
                        "no platforms listed".into()
                    } else {
                        platforms.iter().map(Platform::to_string).collect::<Vec<_>>().join(", ")
                    },
                })?;
                let accept = if chosen.media_type.is_empty() {
                    ACCEPT_MANIFESTS.to_string()
                } else {
                    chosen.media_type.clone()
                };
                let fetched = self.get(r, &format!("manifests/{}", chosen.digest), Some(&accept))?;
                let m: ManifestDoc = parse_json(&fetched)?;
                (
                    m,
                    chosen.digest.clone(),
                    chosen.platform.clone(),
                    platforms.iter().map(Platform::to_string).collect(),
                )
            }
            None => (doc, digest.clone(), None, Vec::new()),
        };

        let layers = manifest.layers.unwrap_or_default();
        let config_desc = manifest.config.ok_or_else(|| RegistryError::BadDocument {
            url: format!("{}/v2/{}/manifests/{}", r.base_url(), r.repository, manifest_digest),
            message: "the manifest has no config descriptor".into(),
        })?;
        let blob = self.get(r, &format!("blobs/{}", config_desc.digest), None)?;
        let cfg: ConfigDoc = parse_json(&blob)?;
        let inner = cfg.config.unwrap_or_default();
        let config = ImageConfig {
            os: cfg.os,
            architecture: cfg.architecture,
            variant: cfg.variant,
            labels: inner.labels.unwrap_or_default(),
            env: inner.env.unwrap_or_default(),
            diff_ids: cfg.rootfs.map(|r| r.diff_ids.len()).unwrap_or(0),
        };
        let platform = platform.or_else(|| {
            Some(Platform {
                os: config.os.clone()?,
                architecture: config.architecture.clone()?,
                variant: config.variant.clone(),
            })
        });
        Ok(RemoteImage {
            reference: r.to_string(),
            digest,
            media_type,
            platforms,
            manifest_digest,
            platform,
            layers: layers.len(),
            compressed_bytes: layers.iter().map(|l| l.size).sum(),
            config,
            rate_limit: limit,
        })
    }

    /// The manifest `r` names, as an image index entry describes it. The digest is computed from
    /// the bytes served (and must match the registry's `Docker-Content-Digest` when it sends one).
    pub fn manifest_ref(&mut self, r: &Reference) -> Result<ManifestRef, RegistryError> {
        let f = self.get(r, &format!("manifests/{}", r.object()), Some(ACCEPT_MANIFESTS))?;
        let doc: ManifestDoc = parse_json(&f)?;
        let media_type = doc.media_type.or_else(|| header(&f.headers, "content-type")).unwrap_or_default();
        let digest = sha256_digest(&f.body);
        if let Some(served) = header(&f.headers, "docker-content-digest") {
            if served != digest {
                return Err(RegistryError::BadDocument {
                    url: f.url,
                    message: format!("served digest {served}, but the bytes hash to {digest}"),
                });
            }
        }
        Ok(ManifestRef { media_type, digest, size: f.body.len() as u64 })
    }

    /// Stores a manifest (e.g. an OCI image index) under `r`'s tag; returns its digest. The
    /// registry checks that every manifest it lists is in the repository.
    pub fn put_manifest(
        &mut self,
        r: &Reference,
        media_type: &str,
        body: &[u8],
    ) -> Result<String, RegistryError> {
        let url = format!("{}/v2/{}/manifests/{}", r.base_url(), r.repository, r.object());
        let resp = self.send_with(r, reqwest::Method::PUT, &url, None, Some((media_type, body)))?;
        Ok(header(resp.headers(), "docker-content-digest").unwrap_or_else(|| sha256_digest(body)))
    }

    fn get(&mut self, r: &Reference, path: &str, accept: Option<&str>) -> Result<Fetched, RegistryError> {
        let url = format!("{}/v2/{}/{}", r.base_url(), r.repository, path);
        let resp = self.send(r, reqwest::Method::GET, &url, accept)?;
        let headers = resp.headers().clone();
        if resp.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES) {
            return Err(RegistryError::BadDocument {
                url: redact::url(&url),
                message: format!("larger than {MAX_DOCUMENT_BYTES} bytes: not a manifest or config"),
            });
        }
        let body = resp.bytes().map_err(|e| http_error(&url, e))?.to_vec();
        Ok(Fetched { body, headers, url })
    }

    /// Sends a request, answering one auth challenge if the registry asks.
    fn send(
        &mut self,
        r: &Reference,
        method: reqwest::Method,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Response, RegistryError> {
        self.send_with(r, method, url, accept, None)
    }

    /// `send` with a body and its content type (a manifest PUT).
    fn send_with(
        &mut self,
        r: &Reference,
        method: reqwest::Method,
        url: &str,
        accept: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> Result<Response, RegistryError> {
        let build = |client: &Client, auth: Option<&str>| {
            let mut req = client.request(method.clone(), url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let Some((content_type, bytes)) = body {
                req = req.header(reqwest::header::CONTENT_TYPE, content_type).body(bytes.to_vec());
            }
            if let Some(a) = auth {
                req = req.header(AUTHORIZATION, a);
            }
            req
        };
        let cached = self.tokens.get(&token_key_for(r)).cloned();
        let first = build(&self.http, cached.as_deref()).send().map_err(|e| http_error(url, e))?;
        let resp = if first.status() == StatusCode::UNAUTHORIZED {
            let challenge =
                first.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).and_then(parse_challenge);
            let auth = self.answer(r, url, challenge)?;
            build(&self.http, Some(&auth)).send().map_err(|e| http_error(url, e))?
        } else {
            first
        };
        match resp.status() {
            s if s.is_success() => Ok(resp),
            StatusCode::NOT_FOUND => Err(RegistryError::NotFound { url: redact::url(url) }),
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => Err(RegistryError::Unauthorized {
                url: redact::url(url),
                status: s.as_u16(),
                hint: self.login_hint(r, true),
            }),
            s => {
                let body: String = resp.text().unwrap_or_default().chars().take(300).collect();
                Err(RegistryError::Status {
                    url: redact::url(url),
                    status: s.as_u16(),
                    body: redact::text(body.trim()),
                })
            }
        }
    }

    /// The `Authorization` value answering a challenge.
    fn answer(
        &mut self,
        r: &Reference,
        url: &str,
        challenge: Option<Challenge>,
    ) -> Result<String, RegistryError> {
        let creds = self.creds.for_registry(r).cloned();
        let basic = |(u, p): &(String, String)| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))
        };
        let url = &redact::url(url);
        let Some(ch) = challenge else {
            return Err(RegistryError::Unauthorized {
                url: url.to_string(),
                status: 401,
                hint: "; it sent no WWW-Authenticate challenge".into(),
            });
        };
        if ch.scheme.eq_ignore_ascii_case("basic") {
            return match &creds {
                Some(c) => Ok(basic(c)),
                None => Err(RegistryError::Unauthorized {
                    url: url.to_string(),
                    status: 401,
                    hint: self.login_hint(r, false),
                }),
            };
        }
        if !ch.scheme.eq_ignore_ascii_case("bearer") {
            return Err(RegistryError::Unauthorized {
                url: url.to_string(),
                status: 401,
                hint: format!("; it asks for `{}` auth, which jetdoc does not speak", ch.scheme),
            });
        }
        let realm = ch.params.get("realm").cloned().ok_or_else(|| RegistryError::Unauthorized {
            url: url.to_string(),
            status: 401,
            hint: "; its Bearer challenge names no realm".into(),
        })?;
        let scope =
            ch.params.get("scope").cloned().unwrap_or_else(|| format!("repository:{}:pull", r.repository));
        let mut token_url = reqwest::Url::parse(&realm).map_err(|e| RegistryError::Http {
            url: redact::url(&realm),
            message: format!("the token realm is not a URL: {e}"),
        })?;
        {
            let existing: Vec<String> = token_url.query_pairs().map(|(k, _)| k.into_owned()).collect();
            let mut q = token_url.query_pairs_mut();
            if let Some(service) = ch.params.get("service") {
                q.append_pair("service", service);
            }
            // nvcr.io puts the scope inside the realm already.
            if !existing.iter().any(|k| k == "scope") {
                q.append_pair("scope", &scope);
            }
        }
        let shown = redact::url(token_url.as_str());
        let mut req = self.http.get(token_url);
        if let Some(c) = &creds {
            req = req.header(AUTHORIZATION, basic(c));
        }
        let resp = req.send().map_err(|e| http_error(&shown, e))?;
        if !resp.status().is_success() {
            return Err(RegistryError::Unauthorized {
                url: shown,
                status: resp.status().as_u16(),
                hint: self.login_hint(r, creds.is_some()),
            });
        }
        let body: TokenResponse = resp.json().map_err(|e| RegistryError::BadDocument {
            url: shown.clone(),
            message: format!("not a token response: {e}"),
        })?;
        let token = body.token.or(body.access_token).filter(|t| !t.is_empty()).ok_or_else(|| {
            RegistryError::BadDocument {
                url: shown,
                message: "the token response has neither `token` nor `access_token`".into(),
            }
        })?;
        let value = format!("Bearer {token}");
        self.tokens.insert(token_key_for(r), value.clone());
        Ok(value)
    }

    fn login_hint(&self, r: &Reference, had_creds: bool) -> String {
        let login = if r.registry == DOCKER_HUB {
            "docker login".to_string()
        } else {
            format!("docker login {}", r.registry)
        };
        if had_creds {
            let from =
                self.creds.source.as_ref().map(|p| format!(" (from {})", p.display())).unwrap_or_default();
            format!("\n  the stored credentials{from} were rejected: run `{login}` again")
        } else if !self.creds.helpers.is_empty() {
            format!("\n  credentials come from a credential helper, which jetdoc does not call: run `{login}` with a plain config, or make the image public")
        } else {
            format!("\n  log in first: `{login}` (jetdoc reads the credentials docker stores in ~/.docker/config.json)")
        }
    }
}

/// Tokens are scoped to one repository's pull.
fn token_key_for(r: &Reference) -> String {
    format!("{}/{}", r.registry, r.repository)
}

/// The index entry for `want`: os and architecture must match; a wanted variant must match when
/// the entry names one (arm64 entries are `v8` or unnamed).
fn pick_platform<'a>(entries: &'a [Descriptor], want: &Platform) -> Option<&'a Descriptor> {
    let fits = |e: &&Descriptor| {
        e.platform.as_ref().is_some_and(|p| {
            p.os == want.os
                && crate::container::rules::docker_arch(&p.architecture)
                    == crate::container::rules::docker_arch(&want.architecture)
        })
    };
    let variant_of = |e: &Descriptor| e.platform.as_ref().and_then(|p| p.variant.clone());
    match &want.variant {
        Some(v) => entries.iter().filter(fits).find(|e| variant_of(e).as_deref().is_none_or(|ev| ev == v)),
        None => entries
            .iter()
            .filter(fits)
            .find(|e| variant_of(e).is_none_or(|ev| ev == "v8"))
            .or_else(|| entries.iter().find(fits)),
    }
}

fn parse_json<T: for<'de> Deserialize<'de>>(f: &Fetched) -> Result<T, RegistryError> {
    serde_json::from_slice(&f.body).map_err(|e| RegistryError::BadDocument {
        url: redact::url(&f.url),
        // The position and the kind of mistake only: serde repeats offending values.
        message: format!(
            "not the JSON expected ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn rate_limit(h: &HeaderMap) -> Option<RateLimit> {
    let limit = header(h, "ratelimit-limit");
    let remaining = header(h, "ratelimit-remaining");
    (limit.is_some() || remaining.is_some()).then_some(RateLimit { limit, remaining })
}

fn sha256_digest(body: &[u8]) -> String {
    format!("sha256:{}", crate::digest::sha256_hex(body))
}

fn http_error(url: &str, e: reqwest::Error) -> RegistryError {
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    RegistryError::Http { url: redact::url(url), message: redact::text(&message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_selection_prefers_the_plain_arm64_entry() {
        let entries: Vec<Descriptor> = serde_json::from_str(
            r#"[{"mediaType":"m","digest":"sha256:1","size":1,"platform":{"os":"linux","architecture":"amd64"}},
                {"mediaType":"m","digest":"sha256:2","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}},
                {"mediaType":"m","digest":"sha256:3","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
                {"mediaType":"m","digest":"sha256:4","size":1,"platform":{"os":"unknown","architecture":"unknown"}}]"#,
        )
        .unwrap();
        let arm64 = Platform::parse("linux/arm64").unwrap();
        assert_eq!(pick_platform(&entries, &arm64).unwrap().digest, "sha256:3");
        assert_eq!(
            pick_platform(&entries, &Platform::parse("linux/amd64").unwrap()).unwrap().digest,
            "sha256:1"
        );
        assert!(pick_platform(&entries, &Platform::parse("linux/riscv64").unwrap()).is_none());
    }
}
