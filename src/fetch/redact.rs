//! Credentials never reach output or disk: an index URL such as
//! `https://user:password@host/simple/` or `https://TOKEN@host/` is shown as pip shows it
//! (`https://user:****@host/simple/`, `https://****@host/`), and stored without its userinfo.
//! Query parameters that carry tokens (`?token=`, signed-URL signatures) are masked too.

use regex::Regex;
use std::sync::OnceLock;

fn userinfo() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    // scheme://USERINFO@ where USERINFO has no '/', '?', '#', '@' or white space.
    R.get_or_init(|| Regex::new(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^\s/?#@]+)@").unwrap())
}

fn query_secret() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"(?i)([?&](?:access_token|token|auth|api_key|apikey|key|password|passwd|secret|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential)=)[^&\s#]*",
        )
        .unwrap()
    })
}

/// A URL (or any text that may hold URLs, such as an error message) with passwords, tokens
/// and secret query values replaced by `****`.
pub fn redact_text(text: &str) -> String {
    // Most text has neither: skip building the regexes (a warm fetch is a few milliseconds).
    let mut out = std::borrow::Cow::Borrowed(text);
    if text.contains("://") && text.contains('@') {
        out = userinfo()
            .replace_all(text, |c: &regex::Captures| match c[2].split_once(':') {
                Some((user, _)) if !user.is_empty() => format!("{}{user}:****@", &c[1]),
                _ => format!("{}****@", &c[1]),
            })
            .into_owned()
            .into();
    }
    if out.contains('=') {
        out = query_secret().replace_all(&out, "${1}****").into_owned().into();
    }
    out.into_owned()
}

/// A URL as output shows it.
pub fn redact_url(url: &str) -> String {
    redact_text(url)
}

/// A URL as the cache stores it: no userinfo at all, secret query values masked. Two URLs that
/// differ only in their credentials name the same file.
pub fn strip_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.has_authority() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            query_secret().replace_all(u.as_str(), "${1}****").into_owned()
        }
        _ => redact_text(url),
    }
}

/// Serde helper: serialize a URL field masked.
pub fn serialize_redacted<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

/// Serde helper: serialize a list of URLs masked.
pub fn serialize_redacted_all<S: serde::Serializer>(urls: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(urls.iter().map(|u| redact_url(u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens_are_masked_as_pip_does() {
        assert_eq!(redact_url("https://user:s3cret@host/simple/"), "https://user:****@host/simple/");
        assert_eq!(redact_url("https://tok3n@host/simple/"), "https://****@host/simple/");
        assert_eq!(redact_url("https://:s3cret@host/"), "https://****@host/");
        assert_eq!(redact_url("http://host/x.whl"), "http://host/x.whl");
        assert_eq!(
            redact_text("error sending request for url (http://a:b@127.0.0.1:9/x?token=zz&v=1): refused"),
            "error sending request for url (http://a:****@127.0.0.1:9/x?token=****&v=1): refused"
        );
        assert_eq!(
            redact_url("https://b.s3/x.run?X-Amz-Credential=AK%2F1&X-Amz-Signature=abc"),
            "https://b.s3/x.run?X-Amz-Credential=****&X-Amz-Signature=****"
        );
        // An address in a message is not a URL's userinfo.
        assert_eq!(redact_text("mail admin@example.com"), "mail admin@example.com");
    }

    #[test]
    fn stored_urls_have_no_userinfo() {
        assert_eq!(strip_credentials("https://user:s3cret@host:8443/a/b.whl"), "https://host:8443/a/b.whl");
        assert_eq!(strip_credentials("https://tok3n@host/a"), "https://host/a");
        assert_eq!(strip_credentials("http://[::1"), "http://[::1");
    }
}
