//! `jetdoc check --textfile DIR`: writes `DIR/jetdoc.prom` for node_exporter's textfile collector
//! the way its documentation asks, so that a scrape never sees half a file: the text goes to a
//! temporary file in DIR (same filesystem), which is flushed and then renamed over the old one.
//! The temporary name does not end in `.prom`, the only files the collector reads.

use anyhow::{Context as _, Result};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "jetdoc.prom";
/// `.jetdoc.prom.<random>.tmp`: hidden, and ignored by the collector.
pub const TEMP_PREFIX: &str = ".jetdoc.prom.";

/// Writes `text` to `dir/jetdoc.prom` atomically and returns that path.
pub fn write(dir: &Path, text: &str) -> Result<PathBuf> {
    let target = dir.join(FILE_NAME);
    let next = "pass a directory that exists and that this user may write to \
                (node_exporter's --collector.textfile.directory)";
    let context = || format!("cannot write the Prometheus textfile {}", target.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in --textfile {}: {next}", dir.display()))?;
    tmp.write_all(text.as_bytes()).with_context(context)?;
    // node_exporter usually runs as its own user; tempfile creates files readable by the owner only.
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).with_context(context)?;
    tmp.as_file().sync_all().with_context(context)?;
    // On failure the temporary file is removed when `tmp` is dropped.
    tmp.persist(&target).map_err(|e| e.error).with_context(context)?;
    // The rename is durable once the directory is synced; a failure here loses nothing that the
    // next run would not rewrite, so it is not an error.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_readable_by_all_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "old\n").unwrap();
        let path = write(dir.path(), "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir");
        let err = format!("{:#}", write(&missing, "x\n").unwrap_err());
        assert!(err.contains(&missing.display().to_string()) && err.contains("--textfile"), "{err}");
    }
}
