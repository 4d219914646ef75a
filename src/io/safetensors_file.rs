//! `.safetensors` weights files through the `safetensors` crate, which checks the header
//! (length, UTF-8, JSON) and the offsets (in range, contiguous, matching each shape,
//! without overflow). kandle adds: float32 only, names unique and non-empty.

use super::atomic::write_atomic;
use crate::error::{fmt_shape, Error, Result};
use crate::tensor::Tensor;
use safetensors::tensor::{Dtype, SafeTensorError, TensorView};
use safetensors::SafeTensors;
use std::collections::HashSet;
use std::path::Path;

fn format_error(path: &Path, e: SafeTensorError) -> Error {
    let why = match &e {
        SafeTensorError::InvalidHeader(_) => "its header is not UTF-8".to_string(),
        SafeTensorError::InvalidHeaderDeserialization(_) => {
            "its header is not the expected JSON".to_string()
        }
        SafeTensorError::HeaderTooLarge | SafeTensorError::InvalidHeaderLength => {
            "its header length runs past the end of the file".to_string()
        }
        SafeTensorError::HeaderTooSmall => "it is too short to hold a header".to_string(),
        SafeTensorError::ValidationOverflow => {
            "a tensor's shape overflows its element count".to_string()
        }
        SafeTensorError::InvalidOffset(name) => {
            format!("the data offsets of tensor {name:?} overlap or leave a gap")
        }
        SafeTensorError::MetadataIncompleteBuffer | SafeTensorError::TensorInvalidInfo => {
            "the data offsets do not match the shapes and the file's length (is it \
             truncated?)"
                .to_string()
        }
        other => other.to_string(),
    };
    Error::Io(format!(
        "{}: not a valid safetensors file: {why}",
        path.display()
    ))
}

/// The little-endian bytes of `values`.
fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes `tensors` (name, float32 tensor) to `path` as safetensors, atomically.
/// Names must be unique.
pub fn save_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut seen = HashSet::new();
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            if name.is_empty() || !seen.insert(name.as_str()) {
                return Err(Error::InvalidArgument(format!(
                    "save_safetensors: tensor names must be unique and non-empty, got \
                     {name:?} twice or empty"
                )));
            }
            Ok((name.clone(), t.shape().to_vec(), le_bytes(&t.data())))
        })
        .collect::<Result<_>>()?;
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), data)
                .map_err(|e| Error::Internal(format!("save_safetensors: {e}")))?;
            Ok((name.as_str(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = safetensors::serialize(views, None)
        .map_err(|e| Error::Io(format!("save_safetensors {}: {e}", path.display())))?;
    write_atomic(path, &out)
}

/// The tensors of the safetensors bytes `bytes` (read from `path`), in the order of
/// their data in the file.
pub fn parse_safetensors(path: &Path, bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| format_error(path, e))?;
    let mut views = file.tensors();
    views.sort_by_key(|(_, v)| v.data().as_ptr() as usize);
    views
        .into_iter()
        .map(|(name, view)| {
            if view.dtype() != Dtype::F32 {
                return Err(Error::DType(format!(
                    "{}: tensor {name:?} has dtype {:?}; kandle loads float32 (F32) \
                     tensors only",
                    path.display(),
                    view.dtype()
                )));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let tensor = Tensor::from_vec(values, view.shape()).map_err(|e| {
                Error::Io(format!(
                    "{}: tensor {name:?} of shape {}: {e}",
                    path.display(),
                    fmt_shape(view.shape())
                ))
            })?;
            Ok((name, tensor))
        })
        .collect()
}

/// The tensors of the safetensors file at `path`, in the order of their data.
pub fn load_safetensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    parse_safetensors(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::super::tests::scratch_dir;
    use super::*;

    fn sample() -> Vec<(String, Tensor)> {
        vec![
            (
                "dense.weight".into(),
                Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap(),
            ),
            (
                "dense.bias".into(),
                Tensor::from_vec(vec![0.5, -0.5, 0.25], &[3]).unwrap(),
            ),
        ]
    }

    fn same(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> bool {
        let key = |v: &[(String, Tensor)]| {
            let mut v: Vec<_> = v
                .iter()
                .map(|(n, t)| (n.clone(), t.shape().to_vec(), t.to_vec()))
                .collect();
            v.sort_by(|x, y| x.0.cmp(&y.0));
            v
        };
        key(a) == key(b)
    }

    #[test]
    fn tensors_round_trip() {
        let dir = scratch_dir("st");
        let path = dir.join("m.safetensors");
        save_safetensors(&path, &sample()).unwrap();
        assert!(same(&load_safetensors(&path).unwrap(), &sample()));
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn load(bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
        parse_safetensors(Path::new("x.safetensors"), bytes)
    }

    #[test]
    fn hostile_files_are_refused() {
        let ok = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        assert!(load(&file(ok, &[0; 8])).is_ok());
        let io = |bytes: &[u8], what: &str| {
            let err = load(bytes).unwrap_err();
            assert!(
                matches!(err, Error::Io(ref m) if m.contains(what)),
                "{what}: {err}"
            );
        };
        // Truncated data, and a truncated file.
        io(&file(ok, &[0; 7]), "truncated");
        let whole = file(ok, &[0; 8]);
        for cut in 0..whole.len() {
            assert!(load(&whole[..cut]).is_err(), "cut at {cut}");
        }
        // A header length past the end of the file.
        let mut long = whole.clone();
        long[..8].copy_from_slice(&(1u64 << 20).to_le_bytes());
        io(&long, "past the end");
        long[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        io(&long, "past the end");
        // Overlapping and out-of-range offsets.
        let overlap = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#;
        io(&file(overlap, &[0; 12]), "offsets");
        let out_of_range = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}"#;
        assert!(matches!(
            load(&file(out_of_range, &[0; 8])),
            Err(Error::Io(_))
        ));
        // A shape whose element count overflows.
        let overflow =
            r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#;
        io(&file(overflow, &[0; 8]), "overflows");
        // A header that is not UTF-8, or not JSON.
        let mut binary = whole.clone();
        binary[9] = 0xff;
        io(&binary, "UTF-8");
        io(&file("not json at all", &[]), "JSON");
    }

    #[test]
    fn other_dtypes_are_refused() {
        let header = r#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#;
        let err = load(&file(header, &[0; 8])).unwrap_err();
        assert!(
            matches!(err, Error::DType(ref m) if m.contains("F64")),
            "{err}"
        );
    }
}
