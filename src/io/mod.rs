//! Model files: Keras's `.keras` archive, NumPy's `.npz`, and `.safetensors`. The one
//! implementation that the Rust API and the Python package share.
//!
//! Every reader treats its input as hostile: sizes are checked against the bytes that
//! are actually there before anything is allocated, element counts are checked for
//! overflow, zip entries must be plain relative names that appear once, headers must be
//! UTF-8 and well-formed, and only float32 data (plus int64 counters in `.npz`) is
//! accepted. Each failure is an [`Error`](crate::Error) naming the file and the reason,
//! never a panic. Every writer replaces its file atomically ([`write_atomic`]).

mod archive;
mod atomic;
mod keras_file;
mod npz;
mod safetensors_file;

pub use atomic::{write_atomic, write_atomic_with};
pub use keras_file::{
    load_keras, read_keras, save_keras, save_keras_h5, KerasArchive, KerasFile, KerasWeights,
    KERAS_VERSION, WEIGHTS_H5, WEIGHTS_NPZ,
};
pub use npz::{read_npy, read_npz, write_npy, write_npz, NpyArray, NpyData};
pub use safetensors_file::{load_safetensors, parse_safetensors, save_safetensors};

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    static DIRS: AtomicU64 = AtomicU64::new(0);

    /// A fresh folder for one test's files.
    pub(crate) fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "kandle-io-{name}-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
