//! `requirements.txt` as pip reads it: one PEP 508 requirement a line, `#` comments, `\`
//! continuations, `-r other.txt`, and per-line `--hash=sha256:` pins. Index options are reported
//! and ignored (the index comes from jetdoc's table or `--index`).

use pep508_rs::Requirement;
use std::path::{Path, PathBuf};
use std::str::FromStr;

#[derive(Debug, Clone)]
pub struct Line {
    pub requirement: Requirement,
    /// Hashes given on the line (`--hash=sha256:...`), lower hex.
    pub hashes: Vec<String>,
    /// `file:line`, for messages.
    pub origin: String,
}

#[derive(Debug, Default)]
pub struct Requirements {
    pub lines: Vec<Line>,
    /// Options jetdoc does not apply, with where they were.
    pub ignored: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RequirementsError {
    #[error(
        "{origin}: {message}\n  fix the line (PEP 508: `name[extras] specifiers ; markers`) or remove it"
    )]
    Line { origin: String, message: String },
    #[error("{path}: {source}\n  pass an existing requirements file with -r")]
    Read { path: String, source: std::io::Error },
}

pub fn read(path: &Path) -> Result<Requirements, RequirementsError> {
    let mut out = Requirements::default();
    read_into(path, &mut out, 0)?;
    Ok(out)
}

fn read_into(path: &Path, out: &mut Requirements, depth: u32) -> Result<(), RequirementsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| RequirementsError::Read { path: path.display().to_string(), source })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for (origin, line) in logical_lines(&path.display().to_string(), &text) {
        if let Some(rest) = line
            .strip_prefix("-r ")
            .or(line.strip_prefix("--requirement "))
            .or(line.strip_prefix("--requirement="))
        {
            if depth > 8 {
                return Err(RequirementsError::Line {
                    origin,
                    message: "-r nested too deeply (a loop?)".into(),
                });
            }
            let p: PathBuf = base.join(rest.trim());
            read_into(&p, out, depth + 1)?;
            continue;
        }
        if line.starts_with('-') {
            out.ignored.push(format!("{origin}: `{line}`"));
            continue;
        }
        out.lines.push(parse_line(&origin, &line)?);
    }
    Ok(())
}

/// Parses a requirement with optional trailing `--hash=` options.
pub fn parse_line(origin: &str, line: &str) -> Result<Line, RequirementsError> {
    let mut spec = line;
    let mut hashes = Vec::new();
    if let Some(i) = line.find(" --") {
        spec = &line[..i];
        for opt in line[i..].split_whitespace() {
            match opt.strip_prefix("--hash=") {
                Some(h) => match h.strip_prefix("sha256:").and_then(crate::fetch::normalize_sha256) {
                    Some(h) => hashes.push(h),
                    None => {
                        return Err(RequirementsError::Line {
                            origin: origin.into(),
                            message: format!("only sha256 hashes are supported, got `{opt}`"),
                        })
                    }
                },
                None => {
                    return Err(RequirementsError::Line {
                        origin: origin.into(),
                        message: format!("unsupported per-requirement option `{opt}`"),
                    })
                }
            }
        }
    }
    let requirement = Requirement::from_str(spec.trim())
        .map_err(|e| RequirementsError::Line { origin: origin.into(), message: e.to_string() })?;
    Ok(Line { requirement, hashes, origin: origin.into() })
}

/// Joins `\` continuations and drops comments and blank lines; yields (`file:line`, text).
fn logical_lines(file: &str, text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut acc = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if acc.is_empty() {
            start = i + 1;
        }
        // A comment starts at `#` at the line start or after whitespace (a URL fragment has none).
        let no_comment = match raw.find(" #").or(raw.find("\t#")) {
            Some(p) => &raw[..p],
            None if raw.trim_start().starts_with('#') => "",
            None => raw,
        };
        match no_comment.trim_end().strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                acc.push(' ');
            }
            None => {
                acc.push_str(no_comment);
                let line = acc.split_whitespace().collect::<Vec<_>>().join(" ");
                if !line.is_empty() {
                    out.push((format!("{file}:{start}"), line));
                }
                acc.clear();
            }
        }
    }
    let line = acc.split_whitespace().collect::<Vec<_>>().join(" ");
    if !line.is_empty() {
        out.push((format!("{file}:{start}"), line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_pip_reads() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("base.txt"), "numpy<2 # pinned for torch\n").unwrap();
        std::fs::write(
            d.path().join("req.txt"),
            "# jetson stack\n-r base.txt\n--extra-index-url https://x\ntorch==2.5.0 ; platform_machine == 'aarch64'\nonnxruntime-gpu \\\n    >=1.19 \\\n    --hash=sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\nrequests[socks]>=2\n",
        )
        .unwrap();
        let r = read(&d.path().join("req.txt")).unwrap();
        let names: Vec<String> = r.lines.iter().map(|l| l.requirement.name.to_string()).collect();
        assert_eq!(names, ["numpy", "torch", "onnxruntime-gpu", "requests"]);
        assert_eq!(r.lines[2].hashes, vec!["a".repeat(64)]);
        assert!(r.lines[2].origin.ends_with("req.txt:5"), "{}", r.lines[2].origin);
        assert_eq!(r.ignored.len(), 1);
        assert_eq!(r.lines[3].requirement.extras.len(), 1);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("req.txt"), "torch\ntorch >>= 2\n").unwrap();
        let e = read(&d.path().join("req.txt")).unwrap_err().to_string();
        assert!(e.contains("req.txt:2"), "{e}");
        assert!(read(&d.path().join("missing.txt")).is_err());
    }
}
