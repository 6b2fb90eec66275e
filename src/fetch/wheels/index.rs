//! A simple-repository client: PEP 691 JSON when the server offers it, PEP 503 HTML otherwise.
//! `#sha256=` fragments, `data-yanked`, `data-requires-python` and PEP 658/714 metadata links are
//! kept; relative links are resolved against the page URL.

use regex::Regex;
use reqwest::Url;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndexFile {
    pub filename: String,
    /// Absolute, without the hash fragment.
    pub url: String,
    pub sha256: Option<String>,
    pub requires_python: Option<String>,
    pub yanked: bool,
    /// PEP 658: the wheel's METADATA is served at `url + ".metadata"`, with this hash if given.
    pub metadata: Option<Option<String>>,
    /// PEP 700 (JSON pages): the file's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A parsed project page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub files: Vec<IndexFile>,
    /// Links whose file name cannot be a file in the wheelhouse (a path, a dot-file, longer
    /// than NAME_MAX): left out, and counted so that the plan can say so.
    pub refused: usize,
}

pub const ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";

/// Parses a project page, choosing the format by `Content-Type`. A page listing more than
/// `max_files` files is refused (each costs memory, and no real project has that many).
pub fn parse(page_url: &str, content_type: &str, body: &str, max_files: usize) -> Result<Page, String> {
    let base = Url::parse(page_url).map_err(|e| format!("bad page URL: {e}"))?;
    let page = if content_type.contains("json") { parse_json(&base, body)? } else { parse_html(&base, body) };
    if page.files.len() > max_files {
        return Err(format!("the page lists {} files, over jetdoc's cap of {max_files}", page.files.len()));
    }
    Ok(page)
}

#[derive(Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: HashMap<String, String>,
    #[serde(default, rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: serde_json::Value,
    #[serde(default, rename = "core-metadata")]
    core_metadata: serde_json::Value,
    #[serde(default, rename = "dist-info-metadata")]
    dist_info_metadata: serde_json::Value,
    #[serde(default)]
    size: Option<u64>,
}

pub fn parse_json(base: &Url, body: &str) -> Result<Page, String> {
    let page: JsonPage =
        serde_json::from_str(body).map_err(|e| format!("not a PEP 691 project page: {e}"))?;
    let mut refused = 0;
    let files = page
        .files
        .into_iter()
        .filter_map(|f| {
            // A file name is used as a path in the wheelhouse: no directories, no dot-files.
            if crate::fetch::engine::safe_file_name(&f.filename).as_deref() != Some(f.filename.as_str()) {
                refused += 1;
                return None;
            }
            let (url, frag_hash) = absolute(base, &f.url)?;
            let metadata = match (&f.core_metadata, &f.dist_info_metadata) {
                (serde_json::Value::Object(m), _)
                | (serde_json::Value::Null, serde_json::Value::Object(m)) => {
                    Some(m.get("sha256").and_then(|v| v.as_str()).and_then(super::super::normalize_sha256))
                }
                (serde_json::Value::Bool(true), _)
                | (serde_json::Value::Null, serde_json::Value::Bool(true)) => Some(None),
                _ => None,
            };
            Some(IndexFile {
                sha256: f.hashes.get("sha256").and_then(|h| super::super::normalize_sha256(h)).or(frag_hash),
                filename: f.filename,
                url,
                requires_python: f.requires_python.filter(|s| !s.trim().is_empty()),
                yanked: match f.yanked {
                    serde_json::Value::Bool(b) => b,
                    serde_json::Value::String(_) => true,
                    _ => false,
                },
                metadata,
                size: f.size,
            })
        })
        .collect();
    Ok(Page { files, refused })
}

pub fn parse_html(base: &Url, body: &str) -> Page {
    static ANCHOR: OnceLock<Regex> = OnceLock::new();
    static ATTR: OnceLock<Regex> = OnceLock::new();
    let anchor = ANCHOR.get_or_init(|| Regex::new(r#"(?is)<a\s([^>]*)>(.*?)</a\s*>"#).unwrap());
    let attr = ATTR.get_or_init(|| {
        Regex::new(r#"(?s)([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"#)
            .unwrap()
    });
    let mut out = Vec::new();
    let mut refused = 0;
    for a in anchor.captures_iter(body) {
        let attrs: HashMap<String, Option<String>> = attr
            .captures_iter(&a[1])
            .map(|c| {
                let v = c.get(2).or(c.get(3)).or(c.get(4)).map(|m| unescape(m.as_str()));
                (c[1].to_ascii_lowercase(), v)
            })
            .collect();
        let Some(Some(href)) = attrs.get("href") else { continue };
        let Some((url, sha256)) = absolute(base, href) else { continue };
        let text = unescape(a[2].trim());
        let filename = if text.is_empty() || text.contains('<') {
            url.rsplit('/').next().unwrap_or("").to_string()
        } else {
            text
        };
        if crate::fetch::engine::safe_file_name(&filename).as_deref() != Some(filename.as_str()) {
            refused += 1;
            continue;
        }
        let metadata = match attrs.get("data-core-metadata").or(attrs.get("data-dist-info-metadata")) {
            None => None,
            Some(Some(v)) if v == "false" => None,
            Some(v) => Some(
                v.as_deref().and_then(|s| s.strip_prefix("sha256=")).and_then(super::super::normalize_sha256),
            ),
        };
        out.push(IndexFile {
            filename,
            url,
            sha256,
            requires_python: attrs
                .get("data-requires-python")
                .cloned()
                .flatten()
                .filter(|s| !s.trim().is_empty()),
            yanked: attrs.contains_key("data-yanked"),
            metadata,
            size: None,
        });
    }
    Page { files: out, refused }
}

/// `url` with the credentials of `asked` when both name the same host (scheme, host, port).
pub fn with_credentials_of(asked: &str, url: &Url) -> String {
    let mut out = url.clone();
    if let Ok(a) = Url::parse(asked) {
        if same_origin(&a, url) && url.username().is_empty() && url.password().is_none() {
            let _ = out.set_username(a.username());
            let _ = out.set_password(a.password());
        }
    }
    out.to_string()
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Resolves a link against the page and splits off a `#sha256=` fragment. A file on the index's
/// own host gets the index's credentials (as pip does for its index URL's netloc).
fn absolute(base: &Url, href: &str) -> Option<(String, Option<String>)> {
    let mut url = base.join(href).ok()?;
    if same_origin(base, &url) && url.username().is_empty() && url.password().is_none() {
        let _ = url.set_username(base.username());
        let _ = url.set_password(base.password());
    }
    let frag = url.fragment().map(str::to_string);
    url.set_fragment(None);
    let sha =
        frag.as_deref().and_then(|f| f.strip_prefix("sha256=")).and_then(super::super::normalize_sha256);
    Some((url.to_string(), sha))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The project page URL on an index: `{index}/{normalized name}/`.
pub fn project_url(index: &str, name: &str) -> String {
    format!("{}/{}/", index.trim_end_matches('/'), super::tags::normalize(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_pages_as_devpi_and_pypi_write_them() {
        let base = Url::parse("https://pypi.jetson-ai-lab.io/jp6/cu126/+simple/torch/").unwrap();
        let page = r#"<!DOCTYPE html><html><body><h1>Links for torch</h1>
<a href="../../+f/02f/de421eabbf626/torch-2.9.1-cp310-cp310-linux_aarch64.whl#sha256=02FDE421EABBF626000000000000000000000000000000000000000000000000" data-requires-python="&gt;=3.9">torch-2.9.1-cp310-cp310-linux_aarch64.whl</a><br/>
<a href='https://files.example/torch-1.0.tar.gz' data-yanked="">torch-1.0.tar.gz</a>
<a href="/x/torch-2.0-cp310-cp310-linux_aarch64.whl" data-core-metadata="sha256=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">torch-2.0-cp310-cp310-linux_aarch64.whl</a>
</body></html>"#;
        let files = parse_html(&base, page).files;
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].url, "https://pypi.jetson-ai-lab.io/jp6/cu126/+f/02f/de421eabbf626/torch-2.9.1-cp310-cp310-linux_aarch64.whl");
        assert_eq!(
            files[0].sha256.as_deref(),
            Some("02fde421eabbf626000000000000000000000000000000000000000000000000")
        );
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.9"));
        assert!(!files[0].yanked && files[1].yanked);
        assert_eq!(files[0].metadata, None);
        assert_eq!(files[2].metadata, Some(Some("a".repeat(64))));
        assert_eq!(files[2].url, "https://pypi.jetson-ai-lab.io/x/torch-2.0-cp310-cp310-linux_aarch64.whl");
    }

    #[test]
    fn json_pages_per_pep_691() {
        let base = Url::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        let body = r#"{"meta":{"api-version":"1.1"},"name":"demo","files":[
 {"filename":"demo-1.0-py3-none-any.whl","url":"../../files/demo-1.0-py3-none-any.whl","hashes":{"sha256":"BB"},"requires-python":">=3.8","core-metadata":{"sha256":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"}},
 {"filename":"demo-0.9-py3-none-any.whl","url":"http://h/demo-0.9-py3-none-any.whl#sha256=dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","hashes":{},"yanked":"broken"}]}"#;
        let files = parse_json(&base, body).unwrap().files;
        assert_eq!(files[0].url, "http://127.0.0.1:1/files/demo-1.0-py3-none-any.whl");
        assert_eq!(files[0].sha256, None, "a short hash is not a sha256");
        assert_eq!(files[0].metadata, Some(Some("c".repeat(64))));
        assert!(files[1].yanked);
        assert_eq!(files[1].sha256.as_deref(), Some("d".repeat(64).as_str()));
        assert!(parse_json(&base, "<html>").is_err());
        // Files on the index's host carry its credentials; files elsewhere do not.
        let auth = Url::parse("https://u:p@idx.example/simple/demo/").unwrap();
        let page = parse_html(
            &auth,
            r#"<a href="/f/a-1-py3-none-any.whl">a-1-py3-none-any.whl</a><a href="https://cdn.example/b-1-py3-none-any.whl">b-1-py3-none-any.whl</a>"#,
        );
        assert_eq!(page.files[0].url, "https://u:p@idx.example/f/a-1-py3-none-any.whl");
        assert_eq!(page.files[1].url, "https://cdn.example/b-1-py3-none-any.whl");
        let evil = r#"{"files":[{"filename":"../../x-1.0-py3-none-any.whl","url":"x.whl","hashes":{}}]}"#;
        let page = parse_json(&base, evil).unwrap();
        assert_eq!((page.files, page.refused), (vec![], 1), "a file name with a path is refused");
        let page = parse_html(&base, r#"<a href="x.whl">../x-1.0-py3-none-any.whl</a>"#);
        assert_eq!((page.files, page.refused), (vec![], 1));
        let long = format!("{}-1.0-py3-none-any.whl", "x".repeat(300));
        let page = parse_html(&base, &format!("<a href=\"/f/{long}\">{long}</a>"));
        assert_eq!((page.files.len(), page.refused), (0, 1), "a name over NAME_MAX cannot be a file");
        assert!(parse("http://h/p/", "text/html", &"<a href=x>x</a>".repeat(11), 10).is_err());
    }
}
