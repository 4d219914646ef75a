//! Embedding: integer indices to rows of a trainable table.

use super::init::new_variable;
use super::regularizer::{total_penalty, Regularizer};
use super::{weight, NewWeight};
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Maps each integer index in `[0, input_dim)` (held as a float in the input) to row
/// `index` of `embeddings` `(input_dim, output_dim)`; the output has the input's shape
/// plus a last axis of `output_dim`.
pub struct Embedding<T: Float = f32> {
    /// The trainable table, `(input_dim, output_dim)`.
    pub embeddings: Tensor<T>,
    /// Penalty on `embeddings` (Keras's `embeddings_regularizer`).
    pub embeddings_regularizer: Option<Regularizer>,
}

impl<T: Float> Embedding<T> {
    /// The layer of a Keras `Embedding` config sharing the `embeddings` variable.
    pub fn from_config(config: &Value, weights: &[Tensor<T>]) -> Result<Self> {
        let args = Args::new("Embedding", config)?;
        let embeddings = weight("Embedding", weights, 0, 1)?;
        let dims: [Option<usize>; 2] = [args.opt("input_dim")?, args.opt("output_dim")?];
        let fits = embeddings.rank() == 2
            && dims
                .iter()
                .zip(embeddings.shape())
                .all(|(d, &s)| d.is_none_or(|d| d == s));
        if !fits {
            bail!(
                Shape,
                "Embedding: expected embeddings of shape (input_dim, output_dim) = ({}, {}), got {}",
                dims[0].map_or("?".into(), |d| d.to_string()),
                dims[1].map_or("?".into(), |d| d.to_string()),
                fmt_shape(embeddings.shape())
            );
        }
        Ok(Embedding {
            embeddings,
            embeddings_regularizer: Regularizer::from_keras(args.value("embeddings_regularizer"))?,
        })
    }

    /// The rows of `embeddings` at the indices in `x`: shape `x.shape() + (output_dim,)`.
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.embeddings.take_rows(x)
    }

    /// The penalty of the embeddings regularizer, if any.
    pub fn regularization(&self) -> Result<Option<Tensor<T>>> {
        total_penalty(&[(self.embeddings_regularizer, Some(&self.embeddings))])
    }
}

impl Embedding<f32> {
    /// The `embeddings` `(input_dim, output_dim)` of a new layer of `config`, drawn by
    /// its `embeddings_initializer` (Keras's default: uniform in ±0.05).
    pub fn new_weights(config: &Value, _input_shape: &[usize]) -> Result<Vec<NewWeight>> {
        let args = Args::new("Embedding", config)?;
        let dim = |key: &str| -> Result<usize> {
            match args.opt::<usize>(key)? {
                Some(d) if d > 0 => Ok(d),
                _ => bail!(
                    InvalidArgument,
                    "Embedding: `{key}` must be a positive integer, got {}",
                    args.value(key)
                ),
            }
        };
        let (input_dim, output_dim) = (dim("input_dim")?, dim("output_dim")?);
        Ok(vec![NewWeight::trainable(
            "embeddings",
            new_variable(
                &args,
                "embeddings_initializer",
                "uniform",
                &[input_dim, output_dim],
                (input_dim, output_dim),
            )?,
        )])
    }
}

impl Layer for Embedding<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Embedding::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        Embedding::regularization(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn lookup_gradient_and_errors() {
        let config = json!({"input_dim": 5, "output_dim": 3});
        let idx = Tensor::<f64>::from_vec(vec![4., 0., 4.], &[3]).unwrap();
        check_grad(&[rand(&[5, 3], 1)], |t| {
            Embedding::from_config(&config, t)?.forward(&idx)
        });
        let e = Embedding::from_config(&config, &[rand(&[5, 3], 1)]).unwrap();
        assert_eq!(e.forward(&idx).unwrap().shape(), &[3, 3]);
        let err = e.forward(&Tensor::scalar(5.0)).unwrap_err().to_string();
        assert!(
            err.contains("index 5") && err.contains("input_dim 5"),
            "{err}"
        );
        assert!(Embedding::from_config(&config, &[rand(&[4, 3], 1)]).is_err());
        assert!(e.regularization().unwrap().is_none());
    }
}
