//! Keras 3's `.keras` file: a zip archive of `metadata.json`, `config.json` (the
//! model's serialized config) and the weights, `model.weights.npz` (written and read
//! here) or `model.weights.h5` (Keras's default, which needs HDF5: the Python package
//! reads and writes it through h5py, and this module only carries its bytes).
//!
//! The weights `.npz` holds one float32 array per variable, keyed by Keras's H5 dataset
//! paths (`layers/dense/vars/0`, `optimizer/vars/1`, ...), plus int64 scalars for
//! counters such as the optimizer's `optimizer/vars/0` (`iteration`). Keras 3's own
//! `.npz` store pickles a dict per layer, which kandle neither writes nor reads.

use super::archive;
use super::atomic::write_atomic_with;
use super::npz::{read_npz, write_npz, NpyArray, NpyData};
use crate::error::{fmt_shape, Error, Result};
use crate::tensor::Tensor;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The archive member holding the model's serialized config.
pub const CONFIG_JSON: &str = "config.json";
/// The archive member holding `keras_version` and `date_saved`.
pub const METADATA_JSON: &str = "metadata.json";
/// The archive member holding the weights as `.npz` (kandle's format).
pub const WEIGHTS_NPZ: &str = "model.weights.npz";
/// The archive member holding the weights as HDF5 (Keras's default).
pub const WEIGHTS_H5: &str = "model.weights.h5";
/// The Keras release whose file format kandle writes, recorded as `keras_version`.
pub const KERAS_VERSION: &str = "3.10.0";

/// A `.keras` file whose weights are `.npz` arrays.
#[derive(Debug)]
pub struct KerasFile {
    /// `config.json`: the model's serialized config.
    pub config: Value,
    /// `metadata.json` (`keras_version`, `date_saved`, ...); `{}` if absent.
    pub metadata: Value,
    /// The float32 arrays, in file order.
    pub weights: Vec<(String, Tensor)>,
    /// The int64 scalars (counters), in file order.
    pub integers: Vec<(String, i64)>,
}

/// The weights member of a `.keras` archive.
#[derive(Debug)]
pub enum KerasWeights {
    /// `model.weights.npz`, parsed: float32 arrays and int64 scalars, in file order.
    Npz {
        /// The float32 arrays, keyed by Keras's variable paths.
        weights: Vec<(String, Tensor)>,
        /// The int64 scalars (counters such as the optimizer's iteration).
        integers: Vec<(String, i64)>,
    },
    /// `model.weights.h5`, unparsed: the bytes of an HDF5 file.
    H5(Vec<u8>),
}

/// A `.keras` archive, checked, with its weights in either format.
#[derive(Debug)]
pub struct KerasArchive {
    /// `config.json`: the model's serialized config.
    pub config: Value,
    /// `metadata.json`; `{}` if absent.
    pub metadata: Value,
    /// The weights member, parsed (`.npz`) or as bytes (`.h5`).
    pub weights: KerasWeights,
}

/// Keras's `date_saved` (`%Y-%m-%d@%H:%M:%S`), in UTC.
fn date_saved() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}@{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn metadata_json() -> String {
    json!({
        "keras_version": KERAS_VERSION,
        "date_saved": date_saved(),
        "kandle_version": env!("CARGO_PKG_VERSION"),
    })
    .to_string()
}

fn check_keras_path(path: &Path) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()) != Some("keras") {
        return Err(Error::InvalidArgument(format!(
            "The filename must end in `.keras`. Received: filepath={}",
            path.display()
        )));
    }
    Ok(())
}

/// Writes the archive of `config` and the weights member `(name, bytes)` atomically.
fn write_archive(path: &Path, config: &Value, weights: (&str, &[u8])) -> Result<()> {
    check_keras_path(path)?;
    if !config.is_object() {
        return Err(Error::InvalidArgument(format!(
            "save_keras: the config must be a JSON object, got {config}"
        )));
    }
    let metadata = metadata_json();
    let config = config.to_string();
    let members = [
        (METADATA_JSON, metadata.as_bytes()),
        (CONFIG_JSON, config.as_bytes()),
        weights,
    ];
    write_atomic_with(path, |file| {
        archive::write_members(&mut *file, &members)
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

/// Writes a `.keras` file (atomically) of the model `config` (Keras's serialized form:
/// `module`, `class_name`, `config`, `build_config`, `compile_config`...), the float32
/// `weights` and the int64 scalar `integers`, keyed by Keras's paths (see the module
/// documentation), with a `metadata.json` of Keras's fields. `path` must end in
/// `.keras`; keys must be unique.
pub fn save_keras(
    path: &Path,
    config: &Value,
    weights: &[(String, Tensor)],
    integers: &[(String, i64)],
) -> Result<()> {
    let mut arrays: Vec<(String, NpyArray)> = weights
        .iter()
        .map(|(key, t)| (key.clone(), NpyArray::f32(t.shape(), t.to_vec())))
        .collect();
    arrays.extend(
        integers
            .iter()
            .map(|(key, v)| (key.clone(), NpyArray::i64(&[], vec![*v]))),
    );
    let mut keys = std::collections::HashSet::new();
    if let Some((key, _)) = arrays.iter().find(|(k, _)| !keys.insert(k.as_str())) {
        return Err(Error::InvalidArgument(format!(
            "save_keras: the weight key {key:?} appears twice"
        )));
    }
    let npz = write_npz(&arrays)?;
    write_archive(path, config, (WEIGHTS_NPZ, &npz))
}

/// Writes a `.keras` file (atomically) whose weights are the HDF5 bytes `h5` (a
/// `model.weights.h5` made by the caller, as Keras writes it by default).
pub fn save_keras_h5(path: &Path, config: &Value, h5: &[u8]) -> Result<()> {
    if !h5.starts_with(b"\x89HDF\r\n\x1a\n") {
        return Err(Error::InvalidArgument(
            "save_keras_h5: the weights are not an HDF5 file (bad signature)".into(),
        ));
    }
    write_archive(path, config, (WEIGHTS_H5, h5))
}

fn json_member(path: &Path, name: &str, bytes: &[u8]) -> Result<Value> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::Io(format!(
            "{}: {name} is not UTF-8 text; the file is damaged",
            path.display()
        ))
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Error::Io(format!(
            "{}: {name} is not valid JSON ({e}); the file is damaged",
            path.display()
        ))
    })?;
    if !value.is_object() {
        return Err(Error::Io(format!(
            "{}: {name} must hold a JSON object",
            path.display()
        )));
    }
    Ok(value)
}

/// Splits `.npz` arrays into float32 tensors and int64 scalars.
fn split_arrays(path: &Path, arrays: Vec<(String, NpyArray)>) -> Result<KerasWeights> {
    let (mut weights, mut integers) = (Vec::new(), Vec::new());
    for (key, array) in arrays {
        match array.data {
            NpyData::F32(values) => {
                let t = Tensor::from_vec(values, &array.shape)?;
                weights.push((key, t));
            }
            NpyData::I64(values) => match (array.shape.as_slice(), values.as_slice()) {
                ([], [v]) => integers.push((key, *v)),
                (shape, _) => {
                    return Err(Error::DType(format!(
                        "{}: {WEIGHTS_NPZ}: {key:?} is an integer array of shape {}; \
                         kandle reads integer scalars (counters) only",
                        path.display(),
                        fmt_shape(shape)
                    )))
                }
            },
        }
    }
    Ok(KerasWeights::Npz { weights, integers })
}

/// Reads and checks the `.keras` archive at `path`; the weights come parsed (`.npz`) or
/// as the bytes of their HDF5 file.
pub fn read_keras(path: &Path) -> Result<KerasArchive> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    let what = path.display().to_string();
    let members = archive::read_members(&what, &bytes)?;
    let find = |name: &str| members.iter().find(|(n, _)| n == name).map(|(_, d)| d);
    let config = match find(CONFIG_JSON) {
        Some(data) => json_member(path, CONFIG_JSON, data)?,
        None => {
            return Err(Error::Io(format!(
                "{what}: not a .keras file: it has no {CONFIG_JSON}"
            )))
        }
    };
    let metadata = match find(METADATA_JSON) {
        Some(data) => json_member(path, METADATA_JSON, data)?,
        None => json!({}),
    };
    let weights = match (find(WEIGHTS_NPZ), find(WEIGHTS_H5)) {
        (Some(_), Some(_)) => {
            return Err(Error::Io(format!(
                "{what}: the archive holds both {WEIGHTS_NPZ} and {WEIGHTS_H5}; refusing \
                 to guess which weights to load"
            )))
        }
        (Some(npz), None) => split_arrays(path, read_npz(&format!("{what}: {WEIGHTS_NPZ}"), npz)?)?,
        (None, Some(h5)) => KerasWeights::H5(h5.clone()),
        (None, None) => {
            return Err(Error::Io(format!(
                "{what}: Expected a {WEIGHTS_H5} or {WEIGHTS_NPZ} file."
            )))
        }
    };
    Ok(KerasArchive {
        config,
        metadata,
        weights,
    })
}

/// Reads the `.keras` file at `path` whose weights are `.npz` arrays. A file with
/// `model.weights.h5` (Keras's default, and the Python package's wherever h5py is) is
/// an error saying how to get one this reads: the Python package reads h5 through h5py.
pub fn load_keras(path: &Path) -> Result<KerasFile> {
    let archive = read_keras(path)?;
    match archive.weights {
        KerasWeights::Npz { weights, integers } => Ok(KerasFile {
            config: archive.config,
            metadata: archive.metadata,
            weights,
            integers,
        }),
        KerasWeights::H5(_) => Err(Error::Io(format!(
            "{}: the weights are {WEIGHTS_H5} (HDF5), which the Rust crate does not read: \
             load the file from Python (with h5py: `pip install kandle[h5]`), or save it \
             there with `model.save(path, weights_format=\"npz\")` for Rust",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::scratch_dir;
    use super::*;

    type Sample = (Value, Vec<(String, Tensor)>, Vec<(String, i64)>);

    fn sample() -> Sample {
        let config = json!({"module": "keras", "class_name": "Sequential", "config": {}});
        let weights = vec![
            (
                "layers/dense/vars/0".to_string(),
                Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap(),
            ),
            (
                "layers/dense/vars/1".to_string(),
                Tensor::from_vec(vec![0.5, 0.25], &[2]).unwrap(),
            ),
            ("optimizer/vars/1".to_string(), Tensor::scalar(0.01)),
        ];
        (config, weights, vec![("optimizer/vars/0".to_string(), 12)])
    }

    #[test]
    fn a_model_round_trips() {
        let dir = scratch_dir("keras");
        let path = dir.join("m.keras");
        let (config, weights, integers) = sample();
        save_keras(&path, &config, &weights, &integers).unwrap();
        let file = load_keras(&path).unwrap();
        assert_eq!(file.config, config);
        assert_eq!(file.metadata["keras_version"], KERAS_VERSION);
        let date = file.metadata["date_saved"].as_str().unwrap();
        assert_eq!(date.len(), 19, "{date}");
        assert_eq!(&date[10..11], "@");
        let got: Vec<_> = file
            .weights
            .iter()
            .map(|(k, t)| (k.clone(), t.shape().to_vec(), t.to_vec()))
            .collect();
        let want: Vec<_> = weights
            .iter()
            .map(|(k, t)| (k.clone(), t.shape().to_vec(), t.to_vec()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(file.integers, integers);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_path_must_end_in_keras() {
        let (config, weights, integers) = sample();
        let err = save_keras(Path::new("m.h5"), &config, &weights, &integers).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(ref m) if m.contains(".keras")),
            "{err}"
        );
    }

    #[test]
    fn h5_weights_are_carried_and_name_the_extra() {
        let dir = scratch_dir("keras-h5");
        let path = dir.join("m.keras");
        let h5 = b"\x89HDF\r\n\x1a\nrest of an hdf5 file".to_vec();
        save_keras_h5(&path, &json!({}), &h5).unwrap();
        match read_keras(&path).unwrap().weights {
            KerasWeights::H5(bytes) => assert_eq!(bytes, h5),
            other => panic!("{other:?}"),
        }
        let err = load_keras(&path).unwrap_err();
        assert!(
            matches!(err, Error::Io(ref m) if m.contains("kandle[h5]")),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn archive_file(dir: &Path, members: &[(&str, &[u8])]) -> std::path::PathBuf {
        let path = dir.join("x.keras");
        std::fs::write(&path, archive::zip_bytes(members).unwrap()).unwrap();
        path
    }

    #[test]
    fn damaged_archives_are_refused() {
        let dir = scratch_dir("keras-bad");
        let npz = write_npz(&[("a".into(), NpyArray::f32(&[1], vec![1.0]))]).unwrap();
        let io = |members: &[(&str, &[u8])], what: &str| {
            let err = load_keras(&archive_file(&dir, members)).unwrap_err();
            assert!(
                matches!(err, Error::Io(ref m) if m.contains(what)),
                "{what}: {err}"
            );
        };
        io(&[(WEIGHTS_NPZ, &npz)], "no config.json");
        io(&[(CONFIG_JSON, b"{}")], "Expected a");
        io(&[(CONFIG_JSON, b"\xff\xfe"), (WEIGHTS_NPZ, &npz)], "UTF-8");
        io(&[(CONFIG_JSON, b"{not json"), (WEIGHTS_NPZ, &npz)], "JSON");
        io(&[(CONFIG_JSON, b"[]"), (WEIGHTS_NPZ, &npz)], "JSON object");
        io(
            &[
                (CONFIG_JSON, b"{}"),
                ("../../evil", b"x"),
                (WEIGHTS_NPZ, &npz),
            ],
            "refusing",
        );
        io(&[(CONFIG_JSON, b"{}"), (WEIGHTS_NPZ, b"garbage")], "zip");
        let h5 = b"\x89HDF\r\n\x1a\n";
        io(
            &[(CONFIG_JSON, b"{}"), (WEIGHTS_NPZ, &npz), (WEIGHTS_H5, h5)],
            "both",
        );
        // A matrix of integers is not a counter.
        let ints = write_npz(&[("a".into(), NpyArray::i64(&[2], vec![1, 2]))]).unwrap();
        let err = load_keras(&archive_file(
            &dir,
            &[(CONFIG_JSON, b"{}"), (WEIGHTS_NPZ, &ints)],
        ))
        .unwrap_err();
        assert!(matches!(err, Error::DType(_)), "{err}");
        // Truncated and bit-flipped whole files.
        let (config, weights, integers) = sample();
        let path = dir.join("m.keras");
        save_keras(&path, &config, &weights, &integers).unwrap();
        let good = std::fs::read(&path).unwrap();
        for cut in (0..good.len()).step_by(37) {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(load_keras(&path).is_err(), "cut at {cut}");
        }
        let mut flips = 0;
        for i in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[i] ^= 0x04;
            std::fs::write(&path, &bad).unwrap();
            // A flip may land in an unchecked field (a timestamp); it must never panic,
            // and a flip in any member's data must be caught by its CRC.
            if load_keras(&path).is_err() {
                flips += 1;
            }
        }
        assert!(flips > 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
