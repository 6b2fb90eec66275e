//! A test-owned `docker-registry` (distribution) on 127.0.0.1 with storage in a temp dir,
//! optionally behind htpasswd basic auth, and a small pusher that uploads images through the
//! registry HTTP API (blobs, manifests, OCI indexes) the way `docker push` / buildx do.

use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

pub const BINARY: &str = "/usr/bin/docker-registry";

pub struct TestRegistry {
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub auth: Option<(String, String)>,
    child: Option<Child>,
    http: reqwest::blocking::Client,
}

/// One platform variant of an image to push.
pub struct Variant<'a> {
    pub arch: &'a str,
    pub labels: &'a [(&'a str, &'a str)],
    pub env: &'a [&'a str],
    /// Each entry becomes one layer holding one file (path, content).
    pub layers: &'a [(&'a str, &'a [u8])],
}

pub fn available() -> bool {
    Path::new(BINARY).exists() || which::which("docker-registry").is_ok()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl TestRegistry {
    /// Starts a registry without auth. Without docker-registry the test stops here: ignored
    /// locally, failed in CI (`support::require`).
    pub fn start() -> TestRegistry {
        Self::start_inner(None)
    }

    /// Starts a registry that requires `user`/`password` (bcrypt htpasswd).
    pub fn start_with_auth(user: &str, password: &str) -> TestRegistry {
        Self::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(auth: Option<(String, String)>) -> TestRegistry {
        super::require(available(), "docker-registry (Debian package docker-registry)");
        let dir = tempfile::Builder::new().prefix("jd-reg-").tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: jetdoc-test\n",
            storage.display()
        );
        if let Some((user, password)) = &auth {
            let hash = bcrypt::hash(password, 5).unwrap();
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: jetdoc-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let binary = if Path::new(BINARY).exists() {
            PathBuf::from(BINARY)
        } else {
            which::which("docker-registry").unwrap()
        };
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let mut reg = TestRegistry { dir, addr, auth, child: Some(child), http };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("http://{}/v2/", self.addr);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(&url).send() {
                if r.status().is_success() || r.status().as_u16() == 401 {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("docker-registry exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not answer on {url} within 30s:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::blocking::RequestBuilder {
        let req = self.http.request(method, url);
        match &self.auth {
            Some((u, p)) => req.basic_auth(u, Some(p)),
            None => req,
        }
    }

    /// Uploads a blob (monolithic: POST an upload session, then PUT with the digest).
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let start = self
            .request(reqwest::Method::POST, &format!("http://{}/v2/{repo}/blobs/uploads/", self.addr))
            .send()
            .unwrap();
        assert_eq!(start.status().as_u16(), 202, "start upload: {}", start.text().unwrap_or_default());
        let location = start.headers()["location"].to_str().unwrap().to_string();
        let location =
            if location.starts_with("http") { location } else { format!("http://{}{location}", self.addr) };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = self
            .request(reqwest::Method::PUT, &format!("{location}{sep}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .unwrap();
        assert_eq!(put.status().as_u16(), 201, "finish upload: {}", put.text().unwrap_or_default());
        digest
    }

    /// Puts a manifest (or index) under a tag or digest; returns its digest.
    pub fn push_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) -> String {
        let put = self
            .request(reqwest::Method::PUT, &format!("http://{}/v2/{repo}/manifests/{reference}", self.addr))
            .header("content-type", media_type)
            .body(bytes.to_vec())
            .send()
            .unwrap();
        assert_eq!(
            put.status().as_u16(),
            201,
            "put manifest {repo}:{reference}: {}",
            put.text().unwrap_or_default()
        );
        sha256(bytes)
    }

    /// Pushes one platform image (layers, config, manifest); returns (manifest digest, size).
    pub fn push_variant(&self, repo: &str, v: &Variant) -> (String, usize) {
        let mut layer_descs = Vec::new();
        let mut diff_ids = Vec::new();
        for (i, (path, content)) in v.layers.iter().enumerate() {
            let (tar, gz) = layer_tar(
                &self.dir.path().join(format!("layer-{}-{}-{i}", repo.replace('/', "_"), v.arch)),
                path,
                content,
            );
            diff_ids.push(sha256(&tar));
            let digest = self.push_blob(repo, &gz);
            layer_descs.push(json!({"mediaType": OCI_LAYER_GZIP, "digest": digest, "size": gz.len()}));
        }
        let labels: serde_json::Map<String, serde_json::Value> =
            v.labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let config = serde_json::to_vec(&json!({
            "architecture": v.arch,
            "os": "linux",
            "created": "2025-01-08T00:00:00Z",
            "config": {"Env": v.env, "Labels": labels, "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": []
        }))
        .unwrap();
        let config_digest = self.push_blob(repo, &config);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": layer_descs
        }))
        .unwrap();
        let digest = sha256(&manifest);
        self.push_manifest(repo, &digest, OCI_MANIFEST, &manifest);
        (digest, manifest.len())
    }

    /// Pushes every variant and an OCI index over them under `tag`. Returns `host:port/repo:tag`.
    pub fn push_index(&self, repo: &str, tag: &str, variants: &[Variant]) -> String {
        let manifests: Vec<serde_json::Value> = variants
            .iter()
            .map(|v| {
                let (digest, size) = self.push_variant(repo, v);
                let mut platform = json!({"architecture": v.arch, "os": "linux"});
                if v.arch == "arm64" {
                    platform["variant"] = json!("v8");
                }
                json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "platform": platform})
            })
            .collect();
        let index =
            serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
                .unwrap();
        self.push_manifest(repo, tag, OCI_INDEX, &index);
        format!("{}/{repo}:{tag}", self.addr)
    }

    /// Pushes a single-platform image (a plain manifest, no index) under `tag`.
    pub fn push_single(&self, repo: &str, tag: &str, v: &Variant) -> String {
        let (digest, _) = self.push_variant(repo, v);
        let url = format!("http://{}/v2/{repo}/manifests/{digest}", self.addr);
        let body = self
            .request(reqwest::Method::GET, &url)
            .header("accept", OCI_MANIFEST)
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        self.push_manifest(repo, tag, OCI_MANIFEST, &body);
        format!("{}/{repo}:{tag}", self.addr)
    }
}

/// A one-file layer: (uncompressed tar, gzip of it). Built with the system `tar` and `gzip -n`
/// (no timestamp in the gzip header, so identical content gives an identical digest).
fn layer_tar(work: &Path, path: &str, content: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let root = work.join("root");
    let file = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, content).unwrap();
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .args(["--numeric-owner", "--owner=0", "--group=0", "-cf", "-", "."])
        .output()
        .unwrap();
    assert!(tar.status.success(), "tar: {}", String::from_utf8_lossy(&tar.stderr));
    let mut gzip =
        Command::new("gzip").args(["-n", "-c"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    gzip.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let gz = gzip.wait_with_output().unwrap();
    assert!(gz.status.success());
    (tar.stdout, gz.stdout)
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A token-auth front for a `TestRegistry`, as Docker Hub and nvcr.io put one before theirs:
/// `/v2/...` without `Authorization: Bearer <token>` gets `401` and a `WWW-Authenticate: Bearer
/// realm=...,service=...,scope=...` challenge; `/token` hands out the token (recording each
/// query); authorised requests are forwarded to the registry. Every answer carries Docker Hub's
/// rate-limit headers. GET and HEAD only, one request per connection.
pub struct TokenFront {
    pub addr: String,
    /// Query strings of the token requests, with whether they carried basic credentials.
    pub token_requests: std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>,
}

pub const FRONT_TOKEN: &str = "jetdoc-test-token-0f9c";
pub const FRONT_REMAINING: &str = "97;w=21600";

impl TokenFront {
    pub fn start(upstream: &TestRegistry) -> TokenFront {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let upstream = upstream.addr.clone();
        let token_requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = token_requests.clone();
        let realm = format!("http://{addr}/token");
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                let mut parts = request_line.split_whitespace();
                let (method, target) =
                    (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("/").to_string());
                let limits =
                    format!("ratelimit-limit: 100;w=21600\r\nratelimit-remaining: {FRONT_REMAINING}\r\n");
                let reply = if let Some(query) = target.strip_prefix("/token?") {
                    let basic = header("authorization").is_some_and(|a| a.starts_with("Basic "));
                    log.lock().unwrap().push((query.to_string(), basic));
                    let body = format!(r#"{{"token":"{FRONT_TOKEN}","expires_in":300}}"#);
                    (
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                            body.len()
                        ),
                        body.into_bytes(),
                    )
                } else if header("authorization").as_deref() != Some(&format!("Bearer {FRONT_TOKEN}")) {
                    let repo = target
                        .trim_start_matches("/v2/")
                        .split("/manifests/")
                        .next()
                        .unwrap_or("")
                        .split("/blobs/")
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                        .to_vec();
                    (
                        format!(
                            "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm=\"{realm}\",service=\"jetdoc-test\",scope=\"repository:{repo}:pull\"\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{limits}",
                            body.len()
                        ),
                        body,
                    )
                } else {
                    let m = if method == "HEAD" { reqwest::Method::HEAD } else { reqwest::Method::GET };
                    let mut req = http.request(m, format!("http://{upstream}{target}"));
                    if let Some(a) = header("accept") {
                        req = req.header("accept", a);
                    }
                    let resp = req.send().unwrap();
                    let mut head = format!("HTTP/1.1 {}\r\n{limits}", resp.status());
                    for name in ["content-type", "docker-content-digest", "location", "content-length"] {
                        if let Some(v) = resp.headers().get(name) {
                            head.push_str(&format!("{name}: {}\r\n", v.to_str().unwrap()));
                        }
                    }
                    (head, resp.bytes().unwrap().to_vec())
                };
                let (head, body) = reply;
                let _ = stream.write_all(format!("{head}connection: close\r\n\r\n").as_bytes());
                if method != "HEAD" {
                    let _ = stream.write_all(&body);
                }
            }
        });
        TokenFront { addr, token_requests }
    }
}
