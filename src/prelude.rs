//! What a Rust model needs, in one import: `use kandle::prelude::*;`.
//!
//! ```
//! use kandle::prelude::*;
//! let model = Sequential::new()
//!     .add(Input::new([784]))
//!     .add(Dense::new(100).activation("relu"))
//!     .add(Dense::new(10));
//! assert_eq!(model.layers().len(), 2);
//! ```

pub use crate::model::layers::{
    AveragePooling1D, AveragePooling2D, BatchNormalization, Conv1D, Conv2D, Dense, Dropout,
    Embedding, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, Input, LayerNormalization, MaxPooling1D, MaxPooling2D, Reshape,
};
pub use crate::model::losses::{
    BinaryCrossentropy, CategoricalCrossentropy, MeanAbsoluteError, MeanSquaredError,
    SparseCategoricalCrossentropy,
};
pub use crate::model::optimizers::{Adam, AdamW, RMSprop, SGD};
pub use crate::model::{
    Callback, Control, EarlyStopping, FitOptions, History, Logs, ProgressBar, Sequential, Spec,
};
pub use crate::tensor::Tensor;
pub use crate::train::Mode;
pub use crate::{load_model, Result};
