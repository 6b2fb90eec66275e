//! Credentials from Docker's client config (`~/.docker/config.json`) and the registry's
//! `WWW-Authenticate` challenges. A credential never reaches a message: errors about the config
//! name the registry key and the position, never a value.

use base64::Engine as _;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use std::path::{Path, PathBuf};

use super::reference::{Reference, DOCKER_HUB};
use super::RegistryError;

/// Credentials from Docker's client config, by registry key. Debug never prints them.
#[derive(Clone, Default)]
pub struct Credentials {
    by_registry: HashMap<String, (String, String)>,
    /// Where they were read, for messages.
    pub source: Option<PathBuf>,
    /// Registries configured through a credential helper, which jetdoc does not call.
    pub helpers: Vec<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("registries", &self.by_registry.keys().collect::<Vec<_>>())
            .field("source", &self.source)
            .finish()
    }
}

impl Credentials {
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`, as the docker CLI looks.
    pub fn default_path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
        if let Some(dir) = env("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return Some(Path::new(&dir).join("config.json"));
        }
        env("HOME").filter(|h| !h.is_empty()).map(|h| Path::new(&h).join(".docker/config.json"))
    }

    /// Reads a config file; a missing file is "no credentials", a broken one an error.
    pub fn load(path: &Path) -> Result<Credentials, RegistryError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::default()),
            Err(e) => return Err(RegistryError::Config { path: shown, message: e.to_string() }),
        };
        let config_error = |message: String| RegistryError::Config { path: shown.clone(), message };
        // Parsed as plain JSON first and walked by hand: serde's messages for a value of the
        // wrong type repeat the value, which here is a credential.
        let file: Value = serde_json::from_str(&text).map_err(|e| {
            config_error(format!("not valid JSON (syntax error at line {}, column {})", e.line(), e.column()))
        })?;
        let Some(file) = file.as_object() else {
            return Err(config_error("the top level is not a JSON object".into()));
        };
        let mut by_registry = HashMap::new();
        let auths = match file.get("auths") {
            None | Some(Value::Null) => Default::default(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(config_error("`auths` is not an object of registries".into())),
        };
        for (key, entry) in &auths {
            // Name the registry and the field only: the values are secrets.
            let at = |field: &str| format!("auths.\"{}\"{field}", super::redact::url(key));
            let Some(entry) = entry.as_object() else {
                return Err(config_error(format!(
                    "{} is not an object: `docker login` writes {{\"auth\": \"<base64 of user:password>\"}}",
                    at("")
                )));
            };
            let field = |name: &str| -> Result<Option<String>, RegistryError> {
                match entry.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(v)) => Ok(Some(v.clone())),
                    Some(_) => Err(config_error(format!("{} is not a string", at(&format!(".{name}"))))),
                }
            };
            let pair = match (field("auth")?, field("username")?, field("password")?) {
                (Some(auth), _, _) if !auth.is_empty() => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(auth.trim())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok());
                    match decoded.as_deref().and_then(|d| d.split_once(':')) {
                        Some((u, p)) => (u.to_string(), p.to_string()),
                        None => {
                            return Err(config_error(format!(
                                "{} is not base64 of user:password",
                                at(".auth")
                            )))
                        }
                    }
                }
                (_, Some(u), Some(p)) => (u, p),
                _ => continue,
            };
            by_registry.insert(normalise_auth_key(key), pair);
        }
        let mut helpers: Vec<String> = match file.get("credHelpers") {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        if let Some(store) = file.get("credsStore").and_then(Value::as_str) {
            helpers.push(format!("* (credsStore {store})"));
        }
        helpers.sort();
        Ok(Credentials { by_registry, source: Some(path.to_path_buf()), helpers })
    }

    pub fn from_pairs(pairs: &[(&str, &str, &str)]) -> Credentials {
        let by_registry =
            pairs.iter().map(|(r, u, p)| (normalise_auth_key(r), (u.to_string(), p.to_string()))).collect();
        Credentials { by_registry, source: None, helpers: Vec::new() }
    }

    /// Whether a login for `registry` (`nvcr.io`) is configured, and where: `Some(source)` for
    /// stored credentials or a credential helper. Never returns the credentials themselves.
    pub fn login_for(&self, registry: &str) -> Option<String> {
        let key = normalise_auth_key(registry);
        if self.by_registry.contains_key(&key) {
            return Some(
                self.source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "credentials".into()),
            );
        }
        self.helpers
            .iter()
            .find(|h| normalise_auth_key(h) == key || h.starts_with("* "))
            .map(|h| format!("credential helper ({h})"))
    }

    pub(super) fn for_registry(&self, r: &Reference) -> Option<&(String, String)> {
        self.by_registry.get(&normalise_auth_key(r.auth_key()))
    }
}

/// `https://index.docker.io/v1/` and `index.docker.io` name the same registry; so do
/// `http://127.0.0.1:5000` and `127.0.0.1:5000`.
fn normalise_auth_key(key: &str) -> String {
    let k = key.trim_start_matches("https://").trim_start_matches("http://");
    let k = k.split('/').next().unwrap_or(k);
    match k {
        "index.docker.io" | "docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        other => other.to_string(),
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

/// Parses `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."`.
/// Values are quoted strings that may contain `=` and `,` (nvcr.io puts the scope inside the
/// realm URL), so this is a small tokenizer, not a split on commas.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(char::is_whitespace).unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',' && !c.is_whitespace())).collect();
        if key.is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next_if_eq(&'=').is_none() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value =
                std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>().trim().to_string();
        }
        params.insert(key.to_ascii_lowercase(), value);
    }
    Some(Challenge { scheme: scheme.to_string(), params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_with_quoted_commas_and_equals_parse() {
        let c = parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:dustynv/l4t-pytorch:pull""#).unwrap();
        assert_eq!(c.scheme, "Bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["scope"], "repository:dustynv/l4t-pytorch:pull");
        // nvcr.io: the scope sits inside the quoted realm (MESOS-9968).
        let c = parse_challenge(
            r#"Bearer realm="https://nvcr.io/proxy_auth?scope=repository:nvidia/tensorflow:pull,push""#,
        )
        .unwrap();
        assert_eq!(
            c.params["realm"],
            "https://nvcr.io/proxy_auth?scope=repository:nvidia/tensorflow:pull,push"
        );
        assert_eq!(c.params.len(), 1);
        let c = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!((c.scheme.as_str(), c.params["realm"].as_str()), ("Basic", "Registry Realm"));
        assert!(parse_challenge("").is_none());
    }

    #[test]
    fn config_json_credentials_decode_and_stay_out_of_debug() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("jet:s3cret-pw");
        std::fs::write(&path, format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"username":"u","password":"p"}}}},"credHelpers":{{"nvcr.io":"pass"}}}}"#)).unwrap();
        let c = Credentials::load(&path).unwrap();
        let hub = Reference::parse("dustynv/x:1").unwrap();
        assert_eq!(c.for_registry(&hub).unwrap().1, "s3cret-pw");
        assert_eq!(c.for_registry(&Reference::parse("127.0.0.1:5000/x").unwrap()).unwrap().0, "u");
        assert_eq!(c.helpers, vec!["nvcr.io"]);
        assert!(!format!("{c:?}").contains("s3cret"));
        std::fs::write(&path, r#"{"auths":{"r.io":{"auth":"bm9jb2xvbg=="}}}"#).unwrap();
        let err = Credentials::load(&path).unwrap_err().to_string();
        assert!(err.contains("auths.\"r.io\".auth") && !err.contains("bm9jb2xvbg"), "{err}");
        assert!(Credentials::load(&dir.path().join("none.json")).unwrap().by_registry.is_empty());
        // Entries of the wrong shape: serde would quote the value; the message names the key.
        let secret = base64::engine::general_purpose::STANDARD.encode("jet:hunter2-pw");
        for body in [
            format!(r#"{{"auths":{{"r.io":"{secret}"}}}}"#),
            format!(r#"{{"auths":{{"r.io":{{"auth":["{secret}"]}}}}}}"#),
            format!(r#"{{"auths":{{"r.io":{{"username":"jet","password":7}}}}, "x": "{secret}""#),
            format!(r#"{{"auths":{{"r.io":{{"auth":"{secret}!"}}}}}}"#),
            format!(r#"{{"auths":["{secret}"]}}"#),
        ] {
            std::fs::write(&path, &body).unwrap();
            let err = Credentials::load(&path).unwrap_err().to_string();
            assert!(!err.contains(&secret) && !err.contains("hunter2"), "{err}");
            assert!(err.contains(&path.display().to_string()), "{err}");
        }
    }
}
