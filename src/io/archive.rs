//! Zip archives (the .keras file and the .npz inside it), read defensively: every entry
//! is a plain relative name, appears once, and inflates to no more than it declares, at
//! a ratio deflate can actually reach. Entries are read whole into memory, growing only
//! as real bytes arrive (never allocated from a declared size).

use crate::error::{Error, Result};
use std::collections::HashSet;
use std::io::{Cursor, Read, Seek, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Deflate expands at most about 1032:1; a member declaring more than this ratio (plus
/// a small allowance for tiny members) is a decompression bomb.
const MAX_EXPANSION: u64 = 1100;
const EXPANSION_ALLOWANCE: u64 = 1 << 20;

/// An archive's members, in the order of its central directory.
pub type Members = Vec<(String, Vec<u8>)>;

fn format_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(format!("{what}: not a valid zip archive ({e})"))
}

/// Refuses names that could leave the archive's folder when extracted, or that no
/// writer of these formats produces: absolute paths, `..`, backslashes, drive letters,
/// NUL bytes.
fn check_member_name(what: &str, name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').any(|part| part == "..")
        || name.as_bytes().get(1) == Some(&b':');
    if bad {
        return Err(Error::Io(format!(
            "{what}: refusing the zip entry named {name:?} (an absolute path, a `..` \
             component or a drive letter could write outside the archive)"
        )));
    }
    Ok(())
}

/// The number of records the central directory declares, read from the end-of-central-
/// directory record (and its zip64 form). The zip crate keys entries by name, so a name
/// given twice shows up only as a record count larger than the entries it returns.
fn declared_entry_count(bytes: &[u8]) -> Option<u64> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const ZIP64_LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    const ZIP64_EOCD: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    let search_from = bytes.len().saturating_sub(22 + 65535);
    let at = (search_from..=bytes.len().checked_sub(22)?)
        .rev()
        .find(|&i| bytes[i..i + 4] == EOCD)?;
    let count = u16::from_le_bytes([bytes[at + 10], bytes[at + 11]]);
    if count != u16::MAX {
        return Some(count as u64);
    }
    let loc = at.checked_sub(20)?;
    if bytes[loc..loc + 4] != ZIP64_LOCATOR {
        return Some(count as u64);
    }
    let offset = u64::from_le_bytes(bytes[loc + 8..loc + 16].try_into().ok()?) as usize;
    let record = bytes.get(offset..offset.checked_add(40)?)?;
    if record[..4] != ZIP64_EOCD {
        return None;
    }
    Some(u64::from_le_bytes(record[32..40].try_into().ok()?))
}

/// Every member of the zip archive `bytes` (`what` names it in errors), checked as the
/// module documentation says. Folder entries are skipped.
pub fn read_members(what: &str, bytes: &[u8]) -> Result<Members> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| format_error(what, e))?;
    if let Some(declared) = declared_entry_count(bytes) {
        if declared != archive.len() as u64 {
            return Err(Error::Io(format!(
                "{what}: the zip central directory lists {declared} entries but only {} \
                 distinct names; refusing an archive with a duplicated entry",
                archive.len()
            )));
        }
    }
    let mut seen = HashSet::new();
    let mut members = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| format_error(what, e))?;
        let name = entry.name().to_string();
        check_member_name(what, &name)?;
        if !seen.insert(name.clone()) {
            return Err(Error::Io(format!(
                "{what}: the zip entry {name:?} appears twice; refusing the archive"
            )));
        }
        if entry.is_dir() {
            continue;
        }
        let declared = entry.size();
        let stored = entry.compressed_size();
        let limit = stored
            .saturating_mul(MAX_EXPANSION)
            .saturating_add(EXPANSION_ALLOWANCE);
        if declared > limit {
            return Err(Error::Io(format!(
                "{what}: the zip entry {name:?} declares {declared} bytes from {stored} \
                 compressed bytes, more than deflate can produce; refusing a decompression \
                 bomb"
            )));
        }
        let mut data = Vec::new();
        entry
            .take(declared.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| {
                Error::Io(format!(
                    "{what}: the zip entry {name:?} is damaged ({e}); the file may be \
                     truncated or corrupted"
                ))
            })?;
        if data.len() as u64 != declared {
            return Err(Error::Io(format!(
                "{what}: the zip entry {name:?} holds {} bytes where its header declares \
                 {declared}; the file is damaged",
                data.len()
            )));
        }
        members.push((name, data));
    }
    Ok(members)
}

/// Writes a zip archive of `members` (in order) to `out`. Small text members are
/// deflated; the rest are stored, which is faster and lets a reader map them.
pub fn write_members<W: Write + Seek>(out: W, members: &[(&str, &[u8])]) -> Result<W> {
    let mut zip = ZipWriter::new(out);
    for (name, data) in members {
        let method = if name.ends_with(".json") {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(data.len() as u64 >= u32::MAX as u64);
        zip.start_file(*name, options)
            .map_err(|e| Error::Io(format!("cannot write the zip entry {name:?}: {e}")))?;
        zip.write_all(data)?;
    }
    zip.finish()
        .map_err(|e| Error::Io(format!("cannot finish the zip archive: {e}")))
}

/// [`write_members`] into memory.
pub fn zip_bytes(members: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    Ok(write_members(Cursor::new(Vec::new()), members)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_round_trip_in_order() {
        let bytes = zip_bytes(&[("b.json", b"{}"), ("a.npy", &[1, 2, 3])]).unwrap();
        let members = read_members("test", &bytes).unwrap();
        assert_eq!(
            members,
            vec![
                ("b.json".into(), b"{}".to_vec()),
                ("a.npy".into(), vec![1, 2, 3])
            ]
        );
    }

    #[test]
    fn parent_and_absolute_names_are_refused() {
        for name in [
            "../evil.npy",
            "a/../../evil",
            "/etc/passwd",
            "c:/x",
            "a\\..\\b",
        ] {
            let bytes = zip_bytes(&[(name, b"x")]).unwrap();
            let err = read_members("test", &bytes).unwrap_err();
            assert!(
                matches!(err, Error::Io(ref m) if m.contains("refusing")),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn a_duplicated_entry_is_refused() {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        // The zip crate refuses to write a name twice, so rename the second after writing.
        for name in ["a.npy", "b.npy"] {
            zip.start_file(name, SimpleFileOptions::default()).unwrap();
            zip.write_all(b"x").unwrap();
        }
        let mut bytes = zip.finish().unwrap().into_inner();
        for i in 0..bytes.len() - 5 {
            if &bytes[i..i + 5] == b"b.npy" {
                bytes[i] = b'a';
            }
        }
        let err = read_members("test", &bytes).unwrap_err();
        assert!(
            matches!(err, Error::Io(ref m) if m.contains("duplicated")),
            "{err}"
        );
    }

    #[test]
    fn truncated_and_flipped_archives_are_io_errors() {
        let payload = vec![7u8; 4096];
        let bytes = zip_bytes(&[("a.npy", &payload)]).unwrap();
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            let err = read_members("test", &bytes[..cut]).unwrap_err();
            assert!(matches!(err, Error::Io(_)), "{err}");
        }
        // A flipped data byte fails the CRC check.
        let mut flipped = bytes.clone();
        flipped[100] ^= 0x10;
        let err = read_members("test", &flipped).unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err}");
    }

    #[test]
    fn a_member_declaring_more_than_it_holds_is_refused() {
        let bytes = zip_bytes(&[("a.npy", b"abcd")]).unwrap();
        let mut forged = bytes.clone();
        // The central directory's uncompressed size (offset 24 of its record) says 1 GiB.
        let cd = (0..forged.len() - 4)
            .find(|&i| forged[i..i + 4] == [0x50, 0x4b, 0x01, 0x02])
            .unwrap();
        forged[cd + 24..cd + 28].copy_from_slice(&(1u32 << 30).to_le_bytes());
        let err = read_members("test", &forged).unwrap_err();
        assert!(
            matches!(err, Error::Io(ref m) if m.contains("bomb")),
            "{err}"
        );
    }
}
