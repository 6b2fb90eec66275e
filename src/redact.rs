//! Secrets out of messages and off disk, for every network client of jetdoc (downloads, wheel
//! indexes, registries). Errors carry URLs (an index with `user:password@`, a token realm, a blob
//! redirect signed with `X-Amz-Signature=...`), HTTP client messages that repeat them, and
//! response bodies: each passes through here before it is shown or stored. As pip does, the
//! userinfo of a URL is redacted (`https://user:****@host`; a lone user name is taken for a
//! token: `https://****@host`); so are the values of query parameters that carry credentials,
//! and `Basic`/`Bearer` values in free text. URLs are stored without any userinfo
//! (`strip_credentials`).

/// Query parameters whose values are credentials (compared case-insensitively; a name that ends
/// in one of these counts too: `X-Amz-Signature`, `access_token`).
const SECRET_PARAMS: [&str; 10] =
    ["token", "signature", "sig", "secret", "password", "passwd", "credential", "key", "apikey", "auth"];

const HIDDEN: &str = "****";

fn secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| n == *s || n.ends_with(&format!("_{s}")) || n.ends_with(&format!("-{s}")))
}

/// A URL with its userinfo and credential-bearing query values replaced by `****`. Text that
/// does not parse as a URL is returned with any `user:password@` before the host redacted.
pub fn url(text: &str) -> String {
    // `user:pw@host/x` parses as a URL of scheme `user`: only `scheme://` text is a URL here.
    let parsed = if text.contains("://") { reqwest::Url::parse(text).ok() } else { None };
    let Some(mut u) = parsed else { return userinfo_in(text) };
    if u.password().is_some() && !u.username().is_empty() {
        let _ = u.set_password(Some(HIDDEN));
    } else if u.password().is_some() || !u.username().is_empty() {
        // `https://:secret@host` has nothing worth showing before the secret either.
        let _ = u.set_password(None);
        let _ = u.set_username(HIDDEN);
    }
    hide_secret_params(&mut u);
    u.to_string()
}

/// A URL as the cache and lock files store it: no userinfo at all, secret query values masked.
/// Two URLs that differ only in their credentials name the same file.
pub fn strip_credentials(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut u) if u.has_authority() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            hide_secret_params(&mut u);
            u.to_string()
        }
        _ => self::text(text),
    }
}

/// Serde helper: serialize a URL field redacted.
pub fn serialize_url<S: serde::Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&url(value))
}

/// Serde helper: serialize a list of URLs redacted.
pub fn serialize_urls<S: serde::Serializer>(values: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter().map(|u| url(u)))
}

fn hide_secret_params(u: &mut reqwest::Url) {
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret_param(&k) { HIDDEN.to_string() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
}

/// `user:pass@host/...` (no scheme) -> `****@host/...`.
fn userinfo_in(text: &str) -> String {
    match text.split_once('@') {
        // A digest (`repo@sha256:...`) is not userinfo.
        Some((before, after)) if !after.starts_with("sha256:") && !before.contains('/') => {
            format!("{HIDDEN}@{after}")
        }
        _ => text.to_string(),
    }
}

/// Free text (an HTTP client's error, a response body) with every URL in it redacted, and the
/// values after `Basic `/`Bearer ` hidden.
pub fn text(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = find_url(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')' | '`'))
            .unwrap_or(tail.len());
        // A URL ending a sentence or a list keeps its punctuation outside.
        let end = tail[..end].trim_end_matches(['.', ',', ';', ':']).len();
        out.push_str(&url(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    auth_values(&out)
}

/// Where the next `scheme://` URL starts (any scheme: `https`, `http`, `oci`, `docker`...).
fn find_url(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("://").map(|i| i + from) {
        let start = s[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |p| p + 1);
        if start < i && s.as_bytes()[start].is_ascii_alphabetic() {
            return Some(start);
        }
        from = i + 3;
    }
    None
}

fn auth_values(s: &str) -> String {
    let mut out = s.to_string();
    for scheme in ["Basic ", "Bearer ", "basic ", "bearer "] {
        let mut from = 0;
        while let Some(i) = out[from..].find(scheme).map(|i| i + from) {
            let value_start = i + scheme.len();
            let value_end = out[value_start..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ')'))
                .map_or(out.len(), |e| e + value_start);
            // `Basic realm="..."` is a challenge parameter, not a credential.
            if value_start == value_end || out[value_end..].starts_with('"') {
                from = value_end.max(value_start);
                continue;
            }
            out.replace_range(value_start..value_end, HIDDEN);
            from = value_start + HIDDEN.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_and_token_parameters_are_hidden() {
        assert_eq!(url("https://jet:s3cret@reg.io/v2/x"), "https://jet:****@reg.io/v2/x");
        assert_eq!(url("https://ghp_TOKEN@reg.io/v2/"), "https://****@reg.io/v2/");
        assert_eq!(
            url("https://s3.example/blob?X-Amz-Signature=abcd&X-Amz-Expires=60&access_token=t0k"),
            "https://s3.example/blob?X-Amz-Signature=****&X-Amz-Expires=60&access_token=****"
        );
        assert_eq!(
            url("https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Ax%3Apull"),
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Ax%3Apull"
        );
        assert_eq!(url("user:pw@127.0.0.1:5000/x:1"), "****@127.0.0.1:5000/x:1");
        assert_eq!(url("reg.io/x@sha256:abc"), "reg.io/x@sha256:abc");
    }

    #[test]
    fn urls_inside_messages_and_auth_values_are_hidden() {
        let m = text("error sending request for url (https://u:pw@r.io/v2/?token=abc): connection refused.");
        assert_eq!(
            m,
            "error sending request for url (https://u:****@r.io/v2/?token=****): connection refused."
        );
        assert_eq!(
            text("sent Authorization: Basic am9objpwdw== back"),
            "sent Authorization: Basic **** back"
        );
        assert_eq!(text("Bearer eyJhbGciOi.x.y"), "Bearer ****");
        assert_eq!(text(r#"Basic realm="Registry Realm""#), r#"Basic realm="Registry Realm""#);
    }

    #[test]
    fn index_urls_are_masked_as_pip_does() {
        assert_eq!(url("https://user:s3cret@host/simple/"), "https://user:****@host/simple/");
        assert_eq!(url("https://tok3n@host/simple/"), "https://****@host/simple/");
        assert_eq!(url("https://:s3cret@host/"), "https://****@host/");
        assert_eq!(url("http://host/x.whl"), "http://host/x.whl");
        assert_eq!(
            text("error sending request for url (http://a:b@127.0.0.1:9/x?token=zz&v=1): refused"),
            "error sending request for url (http://a:****@127.0.0.1:9/x?token=****&v=1): refused"
        );
        assert_eq!(
            url("https://b.s3/x.run?X-Amz-Credential=AK%2F1&X-Amz-Signature=abc&api_key=k&apikey=k"),
            "https://b.s3/x.run?X-Amz-Credential=****&X-Amz-Signature=****&api_key=****&apikey=****"
        );
        assert_eq!(
            text("see ftp://u:p@mirror/x and oci://t@reg/x"),
            "see ftp://u:****@mirror/x and oci://****@reg/x"
        );
        // An address in a message is not a URL's userinfo.
        assert_eq!(text("mail admin@example.com"), "mail admin@example.com");
    }

    #[test]
    fn stored_urls_have_no_userinfo() {
        assert_eq!(strip_credentials("https://user:s3cret@host:8443/a/b.whl"), "https://host:8443/a/b.whl");
        assert_eq!(strip_credentials("https://tok3n@host/a?token=t"), "https://host/a?token=****");
        assert_eq!(strip_credentials("http://[::1"), "http://[::1");
    }
}
