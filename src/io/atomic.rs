//! Atomic file replacement: a reader of `path` sees the old file or the new one, never a
//! part of either, even if the process dies in the middle of a save.

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of concurrent saves in one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{what} {}: {e}", path.display()))
}

/// A temporary name next to `path` (same folder, hence same file system, so that the
/// rename is atomic), hidden and unique to this process and call.
fn temporary_path(path: &Path) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        Error::Io(format!(
            "cannot save to {}: not a file name",
            path.display()
        ))
    })?;
    let unique = format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Ok(path.with_file_name(unique))
}

/// Writes `bytes` to `path` atomically: to a temporary file in the same folder, fsynced,
/// then renamed over `path`; on unix the folder is fsynced too, so that the rename
/// itself survives a power cut. On any error the temporary file is removed and `path`
/// is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// [`write_atomic`] with the content written by `fill` into the temporary file.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temporary_path(path)?;
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_error("cannot create", &tmp, e))?;
        fill(&mut file).map_err(|e| io_error("cannot write", &tmp, e))?;
        file.sync_all()
            .map_err(|e| io_error("cannot fsync", &tmp, e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| io_error("cannot rename onto", path, e))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_parent(path)
}

#[cfg(unix)]
fn sync_parent(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| io_error("cannot fsync the folder", parent, e))
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::scratch_dir;
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = scratch_dir("atomic");
        let path = dir.join("a.bin");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = scratch_dir("atomic-fail");
        let path = dir.join("a.bin");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |f| {
            f.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(
            matches!(err, Error::Io(ref m) if m.contains("disk full")),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_an_io_error() {
        let err = write_atomic(Path::new("/nonexistent-kandle-dir/x.bin"), b"x").unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err}");
    }
}
