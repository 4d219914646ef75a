//! CategoryEncoding: integer features in `[0, num_tokens)` as one-hot, multi-hot or
//! count vectors.

use super::encoding::{check_count_weights, check_index, encode, OutputMode};
use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Encodes integer inputs (whole numbers held as floats) with `num_tokens` classes.
/// The output is a constant: integer inputs have no gradient.
pub struct CategoryEncoding {
    /// The number of classes: inputs must lie in `[0, num_tokens)`.
    pub num_tokens: usize,
    /// The encoding: one_hot, multi_hot or count (Keras's `output_mode`).
    pub output_mode: OutputMode,
}

const MODES: &[&str] = &["one_hot", "multi_hot", "count"];

impl CategoryEncoding {
    /// A layer of Keras's `CategoryEncoding(num_tokens, output_mode)`; `num_tokens` must be
    /// positive and `output_mode` not `Int`.
    pub fn new(num_tokens: usize, output_mode: OutputMode) -> Result<Self> {
        if num_tokens == 0 {
            bail!(
                InvalidArgument,
                "CategoryEncoding: `num_tokens` must be >= 1, got {num_tokens}"
            );
        }
        if output_mode == OutputMode::Int {
            bail!(
                InvalidArgument,
                "CategoryEncoding: `output_mode` must be one of \"one_hot\", \"multi_hot\", \"count\", got \"int\""
            );
        }
        Ok(CategoryEncoding {
            num_tokens,
            output_mode,
        })
    }

    /// The layer of a Keras `CategoryEncoding` config (`num_tokens`, `output_mode`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("CategoryEncoding", config)?;
        let Some(num_tokens) = args.opt::<usize>("num_tokens")? else {
            bail!(
                InvalidArgument,
                "CategoryEncoding: `num_tokens` must be set; use IntegerLookup when the number of tokens is not known"
            );
        };
        let mode = OutputMode::from_args(&args, "multi_hot", MODES)?;
        CategoryEncoding::new(num_tokens, mode)
    }

    /// The encoding of `x`, with `count_weights` (of `x`'s shape) weighting each count.
    pub fn encode<T: Float>(
        &self,
        x: &Tensor<T>,
        count_weights: Option<&Tensor<T>>,
    ) -> Result<Tensor<T>> {
        if let Some(w) = count_weights {
            check_count_weights("CategoryEncoding", self.output_mode, w.shape(), x.shape())?;
        }
        let indices = x
            .data()
            .iter()
            .map(|&v| check_index("CategoryEncoding", v, self.num_tokens).map(Some))
            .collect::<Result<Vec<_>>>()?;
        let weights = count_weights.map(|w| w.to_vec());
        encode(
            &indices,
            x.shape(),
            self.output_mode,
            self.num_tokens,
            weights.as_deref(),
        )
    }

    /// The encoding of `x`, without count weights.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.encode(x, None)
    }
}

impl Layer for CategoryEncoding {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        CategoryEncoding::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_and_errors() {
        let x = Tensor::<f32>::from_vec(vec![0., 1., 0., 0., 1., 2., 3., 1.], &[4, 2]).unwrap();
        let layer =
            CategoryEncoding::from_config(&json!({"num_tokens": 4, "output_mode": "count"}))
                .unwrap();
        let y = layer.forward(&x).unwrap();
        assert_eq!(y.shape(), &[4, 4]);
        assert_eq!(&y.to_vec()[..4], &[1., 1., 0., 0.]);
        assert_eq!(&y.to_vec()[4..8], &[2., 0., 0., 0.]);
        let w = Tensor::<f32>::full(&[4, 2], 0.5).unwrap();
        assert_eq!(layer.encode(&x, Some(&w)).unwrap().to_vec()[4], 1.0);
        assert!(layer
            .encode(&x, Some(&Tensor::ones(&[4]).unwrap()))
            .is_err());
        let default = CategoryEncoding::from_config(&json!({"num_tokens": 4})).unwrap();
        assert_eq!(default.output_mode, OutputMode::MultiHot);
        assert!(default.encode(&x, Some(&w)).is_err());
        let err = default
            .forward(&Tensor::from_vec(vec![4.0f32], &[1, 1]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("[0, 4)") && err.contains('4'), "{err}");
        assert!(CategoryEncoding::from_config(&json!({"num_tokens": 0})).is_err());
        assert!(CategoryEncoding::from_config(&json!({})).is_err());
        assert!(
            CategoryEncoding::from_config(&json!({"num_tokens": 3, "output_mode": "int"})).is_err()
        );
    }
}
