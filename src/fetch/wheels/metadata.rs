//! `Requires-Dist` of a chosen wheel: from its PEP 658 `.metadata` file when the index announces
//! one, else from `*.dist-info/METADATA` inside the wheel. Only the header block is read (the
//! description after the first blank line is not needed), within `Limits::metadata_header`, so a
//! huge metadata file or a zip bomb costs at most that.

use pep508_rs::Requirement;
use std::path::Path;
use std::str::FromStr;

use crate::fetch::body::header_block;

/// The header block of `*.dist-info/METADATA` in a wheel, at most `cap` bytes of it inflated.
pub fn wheel_metadata(path: &Path, cap: usize) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a zip: {e}"))?;
    let name = zip
        .file_names()
        .find(|n| n.matches('/').count() == 1 && n.ends_with(".dist-info/METADATA"))
        .map(str::to_string)
        .ok_or("no *.dist-info/METADATA")?;
    let entry = zip.by_name(&name).map_err(|e| e.to_string())?;
    header_block(entry, cap, &name)
}

/// The header block of a PEP 658 metadata file in the cache.
pub fn metadata_file(path: &Path, cap: usize) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    header_block(file, cap, &path.display().to_string())
}

/// `Requires-Dist:` headers of a METADATA file (the header block ends at the first blank line).
pub fn requires_dist(metadata: &str) -> Vec<Requirement> {
    metadata
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("Requires-Dist:"))
        .filter_map(|r| Requirement::from_str(r.trim()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::wheels::{marker_env, tags::Target};
    use pep508_rs::ExtraName;

    #[test]
    fn requires_dist_reads_the_header_block_only() {
        let md = "Metadata-Version: 2.1\nName: demo\nRequires-Dist: numpy (>=1.22)\nRequires-Dist: filelock ; python_version >= \"3.8\"\nRequires-Dist: pytest ; extra == 'test'\n\nRequires-Dist: not-a-header\n";
        let r = requires_dist(md);
        assert_eq!(r.len(), 3);
        let env = marker_env(&Target { python: (3, 10), platform: "linux_aarch64".into(), glibc: None });
        assert!(r[1].evaluate_markers(&env, &[]));
        assert!(!r[2].evaluate_markers(&env, &[]));
        assert!(r[2].evaluate_markers(&env, &[ExtraName::from_str("test").unwrap()]));
    }
}
