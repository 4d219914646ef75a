//! Embedding: integer indices to rows of a trainable table.

use super::regularizer::{total_penalty, Regularizer};
use super::{config_or, weight};
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Maps each integer index in `[0, input_dim)` (held as a float in the input) to row
/// `index` of `embeddings` `(input_dim, output_dim)`; the output has the input's shape
/// plus a last axis of `output_dim`.
pub struct Embedding<T: Float = f32> {
    pub embeddings: Tensor<T>,
    pub embeddings_regularizer: Option<Regularizer>,
}

impl<T: Float> Embedding<T> {
    /// The layer of a Keras `Embedding` config sharing the `embeddings` variable.
    pub fn from_config(config: &Value, weights: &[Tensor<T>]) -> Result<Self> {
        let embeddings = weight("Embedding", weights, 0, 1)?;
        let dims: [Option<usize>; 2] = [
            config_or(config, "input_dim", None)?,
            config_or(config, "output_dim", None)?,
        ];
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
            embeddings_regularizer: Regularizer::from_keras(
                config.get("embeddings_regularizer").unwrap_or(&Value::Null),
            )?,
        })
    }

    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.embeddings.take_rows(x)
    }

    pub fn regularization(&self) -> Result<Option<Tensor<T>>> {
        total_penalty(&[(self.embeddings_regularizer, Some(&self.embeddings))])
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
