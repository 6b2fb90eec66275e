//! `/etc/docker/daemon.json`: Docker's daemon configuration. Parsed as JSON with key order kept
//! (serde_json `preserve_order`), so an edit changes only what it must. A missing or empty file
//! means `{}` to dockerd, and so to us. Anything dockerd would refuse (trailing comma, comments,
//! truncation, binary) is a `Syntax` error with line and column, never "fixed" silently.

use serde_json::{Map, Value};
use std::fmt;

pub const PATH: &str = "/etc/docker/daemon.json";
/// The runtime name and program NVIDIA documents (`nvidia-ctk runtime configure` writes the same).
pub const NVIDIA: &str = "nvidia";
pub const NVIDIA_RUNTIME: &str = "nvidia-container-runtime";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonJsonError {
    /// Not valid JSON: dockerd would refuse to start with this file.
    Syntax { line: usize, column: usize, message: String },
    /// Valid JSON, but not an object (`[]`, `"x"`, `null`).
    NotAnObject(&'static str),
    /// A key jetdoc must edit holds the wrong type (`"runtimes": []`).
    WrongType { key: String, expected: &'static str },
}

impl fmt::Display for DaemonJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaemonJsonError::Syntax { line, column, message } => {
                write!(f, "line {line}, column {column}: {message}")
            }
            DaemonJsonError::NotAnObject(kind) => write!(f, "the top level is {kind}, not a JSON object"),
            DaemonJsonError::WrongType { key, expected } => write!(f, "`{key}` must be {expected}"),
        }
    }
}

impl std::error::Error for DaemonJsonError {}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses the file's bytes. Empty (or whitespace-only) is `{}`, as dockerd treats it.
pub fn parse(bytes: &[u8]) -> Result<Map<String, Value>, DaemonJsonError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| DaemonJsonError::Syntax {
        line: e.line(),
        column: e.column(),
        message: syntax_message(&e, bytes),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(DaemonJsonError::NotAnObject(kind_of(&other))),
    }
}

/// serde_json's message without its own " at line L column C" suffix, plus a word on the usual
/// culprits (JSON has no comments and no trailing commas, unlike what people expect).
fn syntax_message(e: &serde_json::Error, bytes: &[u8]) -> String {
    let text = e.to_string();
    let msg = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let line = bytes.split(|b| *b == b'\n').nth(e.line().saturating_sub(1)).unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    if line.trim_start().starts_with("//")
        || line.trim_start().starts_with("/*")
        || line.trim_start().starts_with('#')
    {
        format!("{msg} (JSON does not allow comments)")
    } else if msg.contains("trailing comma") {
        format!("{msg} (remove the comma before the closing bracket)")
    } else if e.is_eof() {
        format!("{msg} (the file is cut short)")
    } else {
        msg
    }
}

/// The `runtimes` entry of a daemon.json: path and runtime arguments. Docker's field is
/// `runtimeArgs`; `nvidia-ctk` writes `args`, which Docker ignores (harmless), so both are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEntry {
    pub path: Option<String>,
    pub args: Vec<String>,
}

pub fn runtimes(map: &Map<String, Value>) -> Vec<(String, RuntimeEntry)> {
    let Some(Value::Object(rt)) = map.get("runtimes") else { return Vec::new() };
    rt.iter()
        .map(|(name, v)| {
            let path = v.get("path").and_then(Value::as_str).map(str::to_string);
            let args = v
                .get("runtimeArgs")
                .or_else(|| v.get("args"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            (name.clone(), RuntimeEntry { path, args })
        })
        .collect()
}

pub fn default_runtime(map: &Map<String, Value>) -> Option<&str> {
    map.get("default-runtime").and_then(Value::as_str)
}

/// `nvidia-container-runtime` by bare name (found on dockerd's PATH) or by absolute path.
pub fn is_nvidia_runtime_path(path: &str) -> bool {
    path == NVIDIA_RUNTIME || path.ends_with(&format!("/{NVIDIA_RUNTIME}"))
}

/// Keys of `map` that are not in `known` (dockerd's configuration keys): noted, never dropped.
pub fn unknown_keys<'a>(map: &'a Map<String, Value>, known: &[String]) -> Vec<&'a str> {
    map.keys().filter(|k| !known.iter().any(|n| n == *k)).map(String::as_str).collect()
}

/// The configuration with `runtimes.nvidia` registered (and `default-runtime: nvidia` when
/// `make_default`). Every other key, its value and the key order stay as they were; an existing
/// `runtimes.nvidia` keeps its extra fields and an absolute path to the same program.
pub fn with_nvidia_runtime(
    map: &Map<String, Value>,
    make_default: bool,
) -> Result<Map<String, Value>, DaemonJsonError> {
    let mut out = map.clone();
    let runtimes = out.entry("runtimes").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(runtimes) = runtimes else {
        return Err(DaemonJsonError::WrongType { key: "runtimes".into(), expected: "an object" });
    };
    let nvidia = runtimes.entry(NVIDIA).or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(nvidia) = nvidia else {
        return Err(DaemonJsonError::WrongType { key: "runtimes.nvidia".into(), expected: "an object" });
    };
    let path_ok = nvidia.get("path").and_then(Value::as_str).is_some_and(is_nvidia_runtime_path);
    if !path_ok {
        nvidia.insert("path".into(), Value::String(NVIDIA_RUNTIME.into()));
    }
    if !nvidia.contains_key("runtimeArgs") && !nvidia.contains_key("args") {
        nvidia.insert("runtimeArgs".into(), Value::Array(Vec::new()));
    }
    if make_default && default_runtime(&out) != Some(NVIDIA) {
        out.insert("default-runtime".into(), Value::String(NVIDIA.into()));
    }
    Ok(out)
}

/// Serializes like the original file was indented (first indented line's leading whitespace;
/// two spaces for a new file), with a final newline.
pub fn render(map: &Map<String, Value>, original: &[u8]) -> Vec<u8> {
    let indent = detect_indent(original);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(map, &mut ser).expect("serializing a JSON map to memory cannot fail");
    buf.push(b'\n');
    buf
}

/// The new file text for an edit from `current` (parsed from `original`) to `wanted`. The edit
/// goes through a concrete syntax tree of the file (jsonc-parser's CST) and touches only the
/// members that change: every other byte stays as the user wrote it, numbers included
/// (`12345678901234567890123` and `1E2` are not re-serialized as `1.2345678901234568e22` and
/// `100.0`), and so do the indentation and the line endings (CRLF stays CRLF). A new member is
/// appended to its object (which then spans several lines). The result must parse back to
/// `wanted`; if it does not, the whole file is rendered anew with its indentation.
pub fn render_edit(original: &[u8], current: &Map<String, Value>, wanted: &Map<String, Value>) -> Vec<u8> {
    if let Some(text) = edit_in_place(original, current, wanted) {
        if parse(text.as_bytes()).ok().as_ref() == Some(wanted) {
            return text.into_bytes();
        }
    }
    render(wanted, original)
}

fn edit_in_place(
    original: &[u8],
    current: &Map<String, Value>,
    wanted: &Map<String, Value>,
) -> Option<String> {
    use jsonc_parser::cst::CstRootNode;
    let text = std::str::from_utf8(original).ok()?;
    let root = CstRootNode::parse(text, &jsonc_parser::ParseOptions::default()).ok()?;
    edit_object(&root.object_value_or_set(), current, wanted)?;
    let mut out = root.to_string();
    if text.trim().is_empty() {
        // An empty file becomes a new one: end it with a newline, as `render` does.
        out = format!("{}\n", out.trim());
    }
    Some(out)
}

/// Makes `obj` (holding `current`) hold `wanted`: unchanged members are not touched, a changed
/// object is edited member by member, any other changed value is replaced, new members appended.
fn edit_object(
    obj: &jsonc_parser::cst::CstObject,
    current: &Map<String, Value>,
    wanted: &Map<String, Value>,
) -> Option<()> {
    for key in current.keys().filter(|k| !wanted.contains_key(*k)) {
        obj.get(key)?.remove();
    }
    for (key, value) in wanted {
        match (current.get(key), value) {
            (Some(old), new) if old == new => {}
            (Some(Value::Object(old)), Value::Object(new)) => {
                edit_object(&obj.get(key)?.object_value()?, old, new)?
            }
            (Some(_), new) => obj.get(key)?.set_value(cst_value(new)),
            (None, new) => {
                obj.append(key, cst_value(new));
            }
        }
    }
    Some(())
}

fn cst_value(v: &Value) -> jsonc_parser::cst::CstInputValue {
    use jsonc_parser::cst::CstInputValue as In;
    match v {
        Value::Null => In::Null,
        Value::Bool(b) => In::Bool(*b),
        Value::Number(n) => In::Number(n.to_string()),
        Value::String(s) => In::String(s.clone()),
        Value::Array(a) => In::Array(a.iter().map(cst_value).collect()),
        Value::Object(o) => In::Object(o.iter().map(|(k, v)| (k.clone(), cst_value(v))).collect()),
    }
}

fn detect_indent(original: &[u8]) -> String {
    let text = String::from_utf8_lossy(original);
    text.lines()
        .map(|l| l.chars().take_while(|c| *c == ' ' || *c == '\t').collect::<String>())
        .find(|ws| !ws.is_empty())
        .unwrap_or_else(|| "  ".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a JetPack 6 device has after `nvidia-ctk runtime configure` (4-space indent, `args`).
    const JETPACK: &str = r#"{
    "runtimes": {
        "nvidia": {
            "args": [],
            "path": "nvidia-container-runtime"
        }
    }
}
"#;

    #[test]
    fn empty_and_whitespace_are_an_empty_object() {
        assert!(parse(b"").unwrap().is_empty());
        assert!(parse(b" \n\t\n").unwrap().is_empty());
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let trailing = b"{\n  \"data-root\": \"/ssd/docker\",\n}\n";
        match parse(trailing).unwrap_err() {
            DaemonJsonError::Syntax { line, column, message } => {
                assert_eq!((line, column), (3, 1));
                assert!(message.contains("trailing comma"), "{message}");
            }
            e => panic!("{e:?}"),
        }
        let comment = b"{\n  // GPU by default\n  \"default-runtime\": \"nvidia\"\n}\n";
        let e = parse(comment).unwrap_err();
        assert!(matches!(&e, DaemonJsonError::Syntax { line: 2, .. }), "{e:?}");
        assert!(e.to_string().contains("comments"), "{e}");
        let cut = b"{\n  \"runtimes\": {\n    \"nvidia\": {";
        let e = parse(cut).unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
        assert!(matches!(
            parse(b"\x7fELF\x02\x01\x01\0\0\0").unwrap_err(),
            DaemonJsonError::Syntax { line: 1, .. }
        ));
        assert_eq!(parse(b"[]").unwrap_err(), DaemonJsonError::NotAnObject("an array"));
    }

    #[test]
    fn reads_runtimes_with_either_args_field() {
        let map = parse(JETPACK.as_bytes()).unwrap();
        let rt = runtimes(&map);
        assert_eq!(rt[0].0, "nvidia");
        assert_eq!(rt[0].1.path.as_deref(), Some("nvidia-container-runtime"));
        assert_eq!(default_runtime(&map), None);
    }

    #[test]
    fn adding_the_runtime_keeps_order_values_and_unknown_keys() {
        let src = br#"{
  "data-root": "/ssd/docker",
  "log-opts": {"max-size": "10m"},
  "my-own-key": [1, 2, 3],
  "features": {"buildkit": true}
}
"#;
        let map = parse(src).unwrap();
        let out = with_nvidia_runtime(&map, true).unwrap();
        let keys: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(keys, ["data-root", "log-opts", "my-own-key", "features", "runtimes", "default-runtime"]);
        assert_eq!(out["my-own-key"], serde_json::json!([1, 2, 3]));
        assert_eq!(
            out["runtimes"]["nvidia"],
            serde_json::json!({"path": "nvidia-container-runtime", "runtimeArgs": []})
        );
        let text = String::from_utf8(render(&out, src)).unwrap();
        assert!(text.starts_with("{\n  \"data-root\""), "{text}");
        assert!(text.ends_with("}\n"));
        assert_eq!(
            unknown_keys(
                &out,
                &[
                    "data-root".into(),
                    "log-opts".into(),
                    "features".into(),
                    "runtimes".into(),
                    "default-runtime".into()
                ]
            ),
            ["my-own-key"]
        );
    }

    #[test]
    fn appending_keeps_every_original_byte() {
        let src =
            b"{\n  \"data-root\": \"/ssd/docker\",\n  \"registry-mirrors\": [\"http://127.0.0.1:5000\"]\n}\n";
        let cur = parse(src).unwrap();
        let want = with_nvidia_runtime(&cur, true).unwrap();
        let out = String::from_utf8(render_edit(src, &cur, &want)).unwrap();
        assert!(out.starts_with("{\n  \"data-root\": \"/ssd/docker\",\n  \"registry-mirrors\": [\"http://127.0.0.1:5000\"],\n  \"runtimes\": {\n    \"nvidia\": {"), "{out}");
        assert!(out.ends_with("  \"default-runtime\": \"nvidia\"\n}\n"), "{out}");
        assert_eq!(parse(out.as_bytes()).unwrap(), want);
        // A one-line object gains its new members on lines of their own; its own bytes stay.
        let one = br#"{"data-root": "/ssd/docker"}"#;
        let cur = parse(one).unwrap();
        let want = with_nvidia_runtime(&cur, false).unwrap();
        let out = String::from_utf8(render_edit(one, &cur, &want)).unwrap();
        assert_eq!(
            out,
            "{\n  \"data-root\": \"/ssd/docker\",\n  \"runtimes\": {\n    \"nvidia\": {\n      \"path\": \"nvidia-container-runtime\",\n      \"runtimeArgs\": []\n    }\n  }\n}"
        );
        // A changed value is replaced where it stands.
        let runc = b"{\n  \"default-runtime\": \"runc\", \"debug\": true,\n  \"runtimes\": {\"nvidia\": {\"path\": \"nvidia-container-runtime\", \"runtimeArgs\": []}}\n}\n";
        let cur = parse(runc).unwrap();
        let want = with_nvidia_runtime(&cur, true).unwrap();
        let out = String::from_utf8(render_edit(runc, &cur, &want)).unwrap();
        assert_eq!(out, String::from_utf8_lossy(runc).replace("runc", "nvidia"));
        assert_eq!(parse(out.as_bytes()).unwrap(), want);
    }

    #[test]
    fn untouched_values_keep_their_bytes_and_line_endings() {
        // Numbers serde_json would re-serialize differently, CRLF endings, a 4-space indent, an
        // existing runtimes object with another runtime, and a default to change.
        let src = "{\r\n    \"big\": 12345678901234567890123,\r\n    \"e\": 1E2,\r\n    \"neg\": -0.0,\r\n    \"runtimes\": {\"crun\": {\"path\": \"/usr/bin/crun\"}},\r\n    \"default-runtime\": \"crun\"\r\n}\r\n";
        let cur = parse(src.as_bytes()).unwrap();
        let want = with_nvidia_runtime(&cur, true).unwrap();
        let out = String::from_utf8(render_edit(src.as_bytes(), &cur, &want)).unwrap();
        for kept in [
            "\"big\": 12345678901234567890123,\r\n",
            "\"e\": 1E2,\r\n",
            "\"neg\": -0.0,\r\n",
            "\"crun\": {\"path\": \"/usr/bin/crun\"}",
        ] {
            assert!(out.contains(kept), "{kept:?} lost in {out:?}");
        }
        assert!(out.contains("\"default-runtime\": \"nvidia\"\r\n}\r\n"), "{out:?}");
        assert!(!out.replace("\r\n", "").contains('\n'), "only CRLF line endings: {out:?}");
        assert_eq!(parse(out.as_bytes()).unwrap(), want);
    }

    #[test]
    fn an_existing_entry_is_kept_and_the_edit_is_idempotent() {
        let map = parse(JETPACK.as_bytes()).unwrap();
        let once = with_nvidia_runtime(&map, true).unwrap();
        // `args` (nvidia-ctk's spelling) is kept; no `runtimeArgs` added beside it.
        assert_eq!(
            once["runtimes"]["nvidia"],
            serde_json::json!({"args": [], "path": "nvidia-container-runtime"})
        );
        assert_eq!(with_nvidia_runtime(&once, true).unwrap(), once);
        let text = String::from_utf8(render(&once, JETPACK.as_bytes())).unwrap();
        assert!(text.contains("\n    \"runtimes\""), "keeps the 4-space indent: {text}");

        let abs = parse(br#"{"runtimes":{"nvidia":{"path":"/usr/bin/nvidia-container-runtime"}}}"#).unwrap();
        let out = with_nvidia_runtime(&abs, false).unwrap();
        assert_eq!(out["runtimes"]["nvidia"]["path"], "/usr/bin/nvidia-container-runtime");
        assert!(!out.contains_key("default-runtime"));

        let bad = parse(br#"{"runtimes": []}"#).unwrap();
        assert!(matches!(with_nvidia_runtime(&bad, true), Err(DaemonJsonError::WrongType { .. })));
    }
}
