//! The wheelhouse and its lock file: every planned wheel downloaded (through the engine, with
//! the index's hash and size) and placed in the output directory without a second write, then
//! pinned by hash in `requirements.lock`.

use std::path::{Path, PathBuf};

use super::{Choice, Plan, PlanItem};
use crate::fetch::{Artifact, FetchError, Fetched, Fetcher, Reporter};

/// (normalised name, version, sha256) of each wheel placed in the wheelhouse.
pub type Pinned = Vec<(String, String, String)>;

/// The lock file: every wheel pinned with its hash, in the format
/// `pip install --require-hashes --no-index --find-links wheelhouse -r requirements.lock` takes.
pub fn lock_file(header: &str, pinned: &[(String, String, String)]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("# {line}\n"));
    }
    let mut rows: Vec<&(String, String, String)> = pinned.iter().collect();
    rows.sort();
    for (name, version, sha) in rows {
        out.push_str(&format!("{name}=={version} \\\n    --hash=sha256:{sha}\n"));
    }
    out
}

/// The artifact for a planned wheel.
pub fn artifact(item: &PlanItem) -> Option<Artifact> {
    match &item.choice {
        Choice::Wheel { filename, url, sha256, size, .. } => {
            Some(Artifact { size: *size, ..Artifact::new(filename.clone(), url.clone(), sha256.clone()) })
        }
        _ => None,
    }
}

/// Downloads every planned wheel and places it in `out_dir`; returns (name, version, sha256).
pub fn download(
    fetcher: &Fetcher,
    plan: &Plan,
    out_dir: &Path,
    rep: &dyn Reporter,
) -> (Pinned, Vec<(String, FetchError)>) {
    let items: Vec<&PlanItem> = plan.wheels().collect();
    let artifacts: Vec<Artifact> = items.iter().filter_map(|i| artifact(i)).collect();
    let mut pinned = Vec::new();
    let mut failed = Vec::new();
    for ((item, a), r) in items.iter().zip(&artifacts).zip(fetcher.fetch_all(&artifacts, rep)) {
        let Choice::Wheel { version, .. } = &item.choice else { continue };
        match r.and_then(|f: Fetched| crate::fetch::cache::place(&f.path, &out_dir.join(&a.name)).map(|_| f))
        {
            Ok(f) => pinned.push((item.name.clone(), version.clone(), f.sha256)),
            Err(e) => failed.push((a.name.clone(), e)),
        }
    }
    (pinned, failed)
}

pub fn lock_path(out_dir: &Path) -> PathBuf {
    out_dir.join("requirements.lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_format() {
        let lock = lock_file(
            "made by jetdoc",
            &[("b".into(), "2".into(), "f".repeat(64)), ("a".into(), "1".into(), "e".repeat(64))],
        );
        assert!(lock.starts_with("# made by jetdoc\na==1 \\\n    --hash=sha256:eee"), "{lock}");
    }
}
