//! The build context of a provision: a directory under jetdoc's cache holding exactly what the
//! generated Dockerfile copies: the profile's `[[files]]` (from the profile's directory or
//! `--context`), the wheelhouse with its hash-pinned `requirements.lock`, the ZED installer and
//! the pyzed wheel. Downloads are hard-linked from the cache's content-addressed blobs (same
//! filesystem) or copied. Nothing outside this directory is written; it is rebuilt from scratch
//! on every build so a file removed from the profile never lingers in an image.

use std::path::{Component, Path, PathBuf};

use super::build::Staged;
use super::profile::FileCopy;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{path}: {source}\n  check that the cache directory is writable (--cache-dir)")]
    Io { path: String, source: std::io::Error },
    #[error("[[files]] src `{src}` is not in {context}: pass --context DIR holding the profile's files")]
    Missing { src: String, context: String },
    #[error(
        "[[files]] src `{src}` leads out of {context} (a symlink to {target}): copy the file in instead"
    )]
    Escapes { src: String, context: String, target: String },
}

fn io(path: &Path, source: std::io::Error) -> StageError {
    StageError::Io { path: path.display().to_string(), source }
}

/// A download to place in the context, as `rel` (`zed/ZED_SDK_...run`).
pub struct Placed<'a> {
    pub from: &'a Path,
    pub rel: String,
}

/// Where each part goes in the context.
pub const WHEELS_DIR: &str = "wheels";
pub const ZED_DIR: &str = "zed";

/// Builds the context in `dir` (emptied first). `files` are taken from `context`.
pub fn stage(
    dir: &Path,
    context: &Path,
    files: &[FileCopy],
    wheels: &[Placed],
    requirements_lock: Option<&str>,
    zed_installer: Option<Placed>,
    pyzed: Option<Placed>,
) -> Result<Staged, StageError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut staged = Staged::default();
    if let Some(lock) = requirements_lock {
        let w = dir.join(WHEELS_DIR);
        std::fs::create_dir_all(&w).map_err(|e| io(&w, e))?;
        for p in wheels {
            place(p.from, &dir.join(&p.rel))?;
        }
        let lock_path = w.join("requirements.lock");
        std::fs::write(&lock_path, lock).map_err(|e| io(&lock_path, e))?;
        staged.wheelhouse = Some(WHEELS_DIR.into());
        staged.requirements = Some(format!("{WHEELS_DIR}/requirements.lock"));
    }
    if let Some(p) = zed_installer {
        place(p.from, &dir.join(&p.rel))?;
        staged.zed_installer = Some(p.rel);
    }
    if let Some(p) = pyzed {
        place(p.from, &dir.join(&p.rel))?;
        staged.pyzed = Some(p.rel);
    }
    let canonical_context = context.canonicalize().map_err(|e| io(context, e))?;
    for f in files {
        let src = context.join(&f.src);
        let real = src.canonicalize().map_err(|_| StageError::Missing {
            src: f.src.clone(),
            context: context.display().to_string(),
        })?;
        if !real.starts_with(&canonical_context) {
            return Err(StageError::Escapes {
                src: f.src.clone(),
                context: context.display().to_string(),
                target: real.display().to_string(),
            });
        }
        copy_tree(&real, &dir.join(clean(&f.src)))?;
    }
    // Docker sends the whole context: nothing else is in it.
    let ignore = dir.join(".dockerignore");
    std::fs::write(&ignore, "Dockerfile\n").map_err(|e| io(&ignore, e))?;
    Ok(staged)
}

/// `./app/` -> `app`.
fn clean(rel: &str) -> PathBuf {
    Path::new(rel).components().filter(|c| matches!(c, Component::Normal(_))).collect()
}

/// A hard link to the cache blob when possible (no copy of a 1 GB installer), else a copy.
fn place(from: &Path, to: &Path) -> Result<(), StageError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| io(to, e))?;
    }
    Ok(())
}

/// Copies a file or a directory tree; symlinks inside it are copied as links (Docker's COPY
/// keeps them), never followed.
fn copy_tree(from: &Path, to: &Path) -> Result<(), StageError> {
    let meta = std::fs::symlink_metadata(from).map_err(|e| io(from, e))?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
        for entry in std::fs::read_dir(from).map_err(|e| io(from, e))? {
            let entry = entry.map_err(|e| io(from, e))?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        std::fs::set_permissions(to, meta.permissions()).map_err(|e| io(to, e))?;
    } else if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(|e| io(from, e))?;
        std::os::unix::fs::symlink(&target, to).map_err(|e| io(to, e))?;
    } else {
        std::fs::copy(from, to).map_err(|e| io(to, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_files_downloads_and_refuses_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        let ctx = tmp.path().join("profile");
        std::fs::create_dir_all(ctx.join("app/sub")).unwrap();
        std::fs::write(ctx.join("app/sub/x.py"), "print(1)\n").unwrap();
        std::os::unix::fs::symlink("sub/x.py", ctx.join("app/link.py")).unwrap();
        let blob = tmp.path().join("blob");
        std::fs::write(&blob, "installer").unwrap();
        let wheel = tmp.path().join("w");
        std::fs::write(&wheel, "wheel").unwrap();
        let out = tmp.path().join("stage");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("stale"), "from an earlier build").unwrap();
        let files = vec![FileCopy { src: "./app/".into(), dest: "/opt/app".into(), chown: None }];
        let staged = stage(
            &out,
            &ctx,
            &files,
            &[Placed { from: &wheel, rel: "wheels/a-1-py3-none-any.whl".into() }],
            Some("a==1 --hash=sha256:00\n"),
            Some(Placed { from: &blob, rel: "zed/ZED.run".into() }),
            None,
        )
        .unwrap();
        assert_eq!(staged.zed_installer.as_deref(), Some("zed/ZED.run"));
        assert_eq!(staged.requirements.as_deref(), Some("wheels/requirements.lock"));
        assert!(!out.join("stale").exists());
        assert_eq!(std::fs::read_to_string(out.join("app/sub/x.py")).unwrap(), "print(1)\n");
        assert_eq!(std::fs::read_link(out.join("app/link.py")).unwrap(), Path::new("sub/x.py"));
        assert_eq!(std::fs::read_to_string(out.join("wheels/a-1-py3-none-any.whl")).unwrap(), "wheel");

        std::os::unix::fs::symlink("/etc", ctx.join("etc")).unwrap();
        let bad = vec![FileCopy { src: "etc".into(), dest: "/x".into(), chown: None }];
        let e = stage(&out, &ctx, &bad, &[], None, None, None).unwrap_err();
        assert!(matches!(e, StageError::Escapes { .. }), "{e}");
        let missing = vec![FileCopy { src: "nope".into(), dest: "/x".into(), chown: None }];
        assert!(matches!(
            stage(&out, &ctx, &missing, &[], None, None, None),
            Err(StageError::Missing { .. })
        ));
    }
}
