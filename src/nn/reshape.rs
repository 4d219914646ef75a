//! Layers that move elements: Flatten, Reshape, RepeatVector, Permute and Identity.

use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::tensor::shape::infer_shape;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Flattens every axis but the first (the batch): `(batch, ...) -> (batch, prod(...))`;
/// a 1-D input becomes `(batch, 1)`, as in Keras.
pub struct Flatten;

impl Flatten {
    /// `x` reshaped to `(batch, prod(other axes))`.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let Some(&batch) = x.shape().first() else {
            bail!(
                Shape,
                "Flatten: expected an input with a batch axis, got a scalar (shape ())"
            );
        };
        x.reshape(&[batch, x.shape()[1..].iter().product()])
    }
}

/// Reshapes the non-batch axes to `target_shape`, where one entry may be -1 (inferred).
pub struct Reshape {
    /// The per-sample shape, without the batch axis; at most one entry is -1.
    pub target_shape: Vec<isize>,
}

impl Reshape {
    /// A layer of Keras's `Reshape(target_shape)`; refuses more than one -1 or sizes below -1.
    pub fn new(target_shape: Vec<isize>) -> Result<Self> {
        let unknown = target_shape.iter().filter(|&&d| d == -1).count();
        if unknown > 1 || target_shape.iter().any(|&d| d < -1) {
            bail!(
                InvalidArgument,
                "Reshape: `target_shape` may hold one -1 and otherwise non-negative sizes, got {}",
                fmt_shape(&target_shape)
            );
        }
        Ok(Reshape { target_shape })
    }

    /// The layer of a Keras `Reshape` config (`target_shape`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("Reshape", config)?;
        let Some(target) = args.opt::<Vec<isize>>("target_shape")? else {
            bail!(InvalidArgument, "Reshape: the config has no `target_shape`");
        };
        Reshape::new(target)
    }

    /// `x` reshaped to `(batch, *target_shape)`, with a -1 inferred from the sample size.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let Some(&batch) = x.shape().first() else {
            bail!(
                Shape,
                "Reshape: expected an input with a batch axis, got a scalar (shape ())"
            );
        };
        let per_sample: usize = x.shape()[1..].iter().product();
        let shape = infer_shape(per_sample, &x.shape()[1..], &self.target_shape).map_err(|_| {
            crate::Error::Shape(format!(
                "Reshape: the total size of the new array must be unchanged: cannot reshape samples of shape {} ({per_sample} elements) into target_shape {}",
                fmt_shape(&x.shape()[1..]),
                fmt_shape(&self.target_shape)
            ))
        })?;
        let mut full = vec![batch];
        full.extend(shape);
        x.reshape(&full)
    }
}

/// The input, unchanged (Keras's placeholder layer).
pub struct Identity;

/// `(batch, features) -> (batch, n, features)`: each sample repeated `n` times.
pub struct RepeatVector {
    /// How many times each sample is repeated.
    pub n: usize,
}

impl RepeatVector {
    /// A layer of Keras's `RepeatVector(n)`; `n` must be positive.
    pub fn new(n: usize) -> Result<Self> {
        if n == 0 {
            bail!(
                InvalidArgument,
                "RepeatVector: `n` must be a positive integer, got {n}"
            );
        }
        Ok(RepeatVector { n })
    }

    /// The layer of a Keras `RepeatVector` config (`n`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("RepeatVector", config)?;
        let Some(n) = args.opt::<usize>("n")? else {
            bail!(InvalidArgument, "RepeatVector: the config has no `n`");
        };
        RepeatVector::new(n)
    }

    /// `x` `(batch, features)` repeated to `(batch, n, features)`.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let &[batch, features] = x.shape() else {
            bail!(
                Shape,
                "RepeatVector: expected a 2-D input (batch, features), got shape {}",
                fmt_shape(x.shape())
            );
        };
        x.reshape(&[batch, 1, features])?
            .broadcast_to(&[batch, self.n, features])
    }
}

/// Permutes the non-batch axes: `dims` lists them, numbered from 1, in their new order.
pub struct Permute {
    /// The new order of the non-batch axes, numbered from 1 (Keras's `dims`).
    pub dims: Vec<usize>,
}

impl Permute {
    /// A layer of Keras's `Permute(dims)`; `dims` must be a permutation of `1..=dims.len()`.
    pub fn new(dims: Vec<usize>) -> Result<Self> {
        let mut sorted = dims.clone();
        sorted.sort_unstable();
        if sorted != (1..=dims.len()).collect::<Vec<_>>() {
            bail!(
                InvalidArgument,
                "Permute: `dims` must be a permutation of 1..={}, got {}",
                dims.len(),
                fmt_shape(&dims)
            );
        }
        Ok(Permute { dims })
    }

    /// The layer of a Keras `Permute` config (`dims`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("Permute", config)?;
        let Some(dims) = args.opt::<Vec<usize>>("dims")? else {
            bail!(InvalidArgument, "Permute: the config has no `dims`");
        };
        Permute::new(dims)
    }

    /// `x` with its non-batch axes in the order `dims`; the batch axis stays first.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        if x.rank() != self.dims.len() + 1 {
            bail!(
                Shape,
                "Permute: dims {} expect inputs of rank {}, got shape {}",
                fmt_shape(&self.dims),
                self.dims.len() + 1,
                fmt_shape(x.shape())
            );
        }
        let axes: Vec<isize> = std::iter::once(0)
            .chain(self.dims.iter().map(|&d| d as isize))
            .collect();
        x.permute(Some(&axes))
    }
}

impl Layer for Flatten {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Flatten::forward(self, x)
    }
}

impl Layer for Reshape {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Reshape::forward(self, x)
    }
}

impl Layer for RepeatVector {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        RepeatVector::forward(self, x)
    }
}

impl Layer for Permute {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Permute::forward(self, x)
    }
}

impl Layer for Identity {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn shapes() {
        let x = Tensor::<f32>::zeros(&[2, 3, 4]).unwrap();
        assert_eq!(Flatten.forward(&x).unwrap().shape(), &[2, 12]);
        assert_eq!(
            Flatten
                .forward(&Tensor::<f32>::zeros(&[5]).unwrap())
                .unwrap()
                .shape(),
            &[5, 1]
        );
        assert_eq!(
            Reshape::new(vec![4, -1])
                .unwrap()
                .forward(&x)
                .unwrap()
                .shape(),
            &[2, 4, 3]
        );
        assert_eq!(
            Reshape::new(vec![12]).unwrap().forward(&x).unwrap().shape(),
            &[2, 12]
        );
        let err = Reshape::new(vec![5, -1])
            .unwrap()
            .forward(&x)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(3, 4)") && err.contains("(5, -1)"), "{err}");
        assert!(Reshape::new(vec![7]).unwrap().forward(&x).is_err());
        assert!(Reshape::new(vec![-1, -1]).is_err());
    }

    #[test]
    fn repeat_vector_and_permute() {
        let x = Tensor::<f64>::from_vec(vec![1., 2., 3., 4.], &[2, 2]).unwrap();
        let r = RepeatVector::new(3).unwrap();
        let y = r.forward(&x).unwrap();
        assert_eq!(y.shape(), &[2, 3, 2]);
        assert_eq!(
            y.to_vec(),
            vec![1., 2., 1., 2., 1., 2., 3., 4., 3., 4., 3., 4.]
        );
        assert!(r.forward(&rand(&[2, 2, 2], 1)).is_err());
        assert!(RepeatVector::new(0).is_err());
        check_grad(&[rand(&[2, 3], 1)], |t| r.forward(&t[0]));
        let p = Permute::new(vec![2, 1]).unwrap();
        let z = Tensor::<f64>::from_vec((0..6).map(f64::from).collect(), &[1, 2, 3]).unwrap();
        let y = p.forward(&z).unwrap();
        assert_eq!(y.shape(), &[1, 3, 2]);
        assert_eq!(y.to_vec(), vec![0., 3., 1., 4., 2., 5.]);
        check_grad(&[rand(&[2, 3, 4], 1)], |t| {
            Permute::new(vec![2, 1])?.forward(&t[0])
        });
        assert!(p.forward(&x).is_err());
        for bad in [vec![0, 1], vec![1, 1], vec![2, 3]] {
            assert!(Permute::new(bad).is_err());
        }
    }

    #[test]
    fn gradients() {
        check_grad(&[rand(&[2, 3, 2], 1)], |t| Flatten.forward(&t[0]));
        let r = Reshape::new(vec![-1, 3]).unwrap();
        check_grad(&[rand(&[2, 6], 1)], |t| r.forward(&t[0]));
    }
}
