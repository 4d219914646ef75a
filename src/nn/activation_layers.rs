//! Keras's activation layers with parameters: ReLU, LeakyReLU, Softmax, ELU and PReLU
//! (whose negative slope, `alpha`, is a trained weight).

use super::regularizer::{total_penalty, Regularizer};
use super::{weight, NewWeight};
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::tensor::shape::normalize_axis;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Refuses a negative (or non-finite) value of a layer's argument.
fn non_negative(layer: &str, arg: &str, value: f64) -> Result<f64> {
    if !(value >= 0.0 && value.is_finite()) {
        bail!(
            InvalidArgument,
            "{layer}: `{arg}` must be a number >= 0, got {arg}={value}"
        );
    }
    Ok(value)
}

/// Keras's `ReLU(max_value, negative_slope, threshold)`: `x` above `threshold` (else 0),
/// clipped at `max_value`, minus `negative_slope · max(threshold - x, 0)`.
pub struct ReLU {
    /// The largest output; None is unbounded.
    pub max_value: Option<f64>,
    /// The slope below the threshold.
    pub negative_slope: f64,
    /// Inputs at or below it give 0 (before the slope term).
    pub threshold: f64,
}

impl ReLU {
    /// A layer of Keras's `ReLU`; every argument must be >= 0.
    pub fn new(max_value: Option<f64>, negative_slope: f64, threshold: f64) -> Result<Self> {
        if let Some(m) = max_value {
            non_negative("ReLU", "max_value", m)?;
        }
        Ok(ReLU {
            max_value,
            negative_slope: non_negative("ReLU", "negative_slope", negative_slope)?,
            threshold: non_negative("ReLU", "threshold", threshold)?,
        })
    }

    /// The layer of a Keras `ReLU` config (`max_value`, `negative_slope`, `threshold`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("ReLU", config)?;
        ReLU::new(
            args.opt("max_value")?,
            args.or("negative_slope", 0.0)?,
            args.or("threshold", 0.0)?,
        )
    }

    /// The activation of `x`.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        x.relu_with(self.negative_slope, self.max_value, self.threshold)
    }
}

/// Keras's `LeakyReLU(negative_slope=0.3)`: `x` for `x >= 0`, else `negative_slope · x`.
pub struct LeakyReLU {
    /// The slope for negative inputs.
    pub negative_slope: f64,
}

impl LeakyReLU {
    /// The layer of a Keras `LeakyReLU` config (`negative_slope`, by default 0.3).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("LeakyReLU", config)?;
        let slope = args.or("negative_slope", 0.3)?;
        Ok(LeakyReLU {
            negative_slope: non_negative("LeakyReLU", "negative_slope", slope)?,
        })
    }
}

/// Keras's `ELU(alpha=1.0)`: `x` for `x > 0`, else `alpha · (exp(x) - 1)`.
pub struct ELU {
    /// The scale of the negative part.
    pub alpha: f64,
}

impl ELU {
    /// The layer of a Keras `ELU` config (`alpha`, by default 1.0).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("ELU", config)?;
        Ok(ELU {
            alpha: args.or("alpha", 1.0)?,
        })
    }
}

/// Keras's `Softmax(axis=-1)`: `exp(x) / sum(exp(x))` over one axis or several.
pub struct Softmax {
    /// The axes normalized over (negative counts from the end).
    pub axes: Vec<isize>,
}

impl Softmax {
    /// The layer of a Keras `Softmax` config (`axis`: an int or a list of ints).
    pub fn from_config(config: &Value) -> Result<Self> {
        let axes = Args::new("Softmax", config)?.one_or_list("axis", vec![-1])?;
        if axes.is_empty() {
            bail!(
                InvalidArgument,
                "Softmax: `axis` must be an int or a non-empty list of ints, got axis=[]"
            );
        }
        Ok(Softmax { axes })
    }

    /// The softmax of `x` over the layer's axes.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        if let [axis] = self.axes[..] {
            return x.softmax(axis);
        }
        // Several axes: move them last, merge them into one, and normalize over it.
        let rank = x.rank();
        let mut axes = self
            .axes
            .iter()
            .map(|&a| normalize_axis(a, rank, "Softmax"))
            .collect::<Result<Vec<_>>>()?;
        axes.sort_unstable();
        axes.dedup();
        let kept: Vec<usize> = (0..rank).filter(|d| !axes.contains(d)).collect();
        let order: Vec<usize> = kept.iter().chain(&axes).copied().collect();
        let perm: Vec<isize> = order.iter().map(|&d| d as isize).collect();
        let moved = x.permute(Some(&perm))?;
        let mut merged: Vec<usize> = kept.iter().map(|&d| x.shape()[d]).collect();
        merged.push(axes.iter().map(|&d| x.shape()[d]).product());
        let normalized = moved
            .reshape(&merged)?
            .softmax(-1)?
            .reshape(moved.shape())?;
        let mut inverse = vec![0isize; rank];
        for (i, &d) in order.iter().enumerate() {
            inverse[d] = i as isize;
        }
        normalized.permute(Some(&inverse))
    }
}

/// Keras's `PReLU`: `x` for `x > 0`, else `alpha · x`, with a trained `alpha` of the
/// input's shape without the batch axis, of size 1 along `shared_axes`.
pub struct PReLU {
    alpha: Tensor,
    /// Penalty on alpha (Keras's `alpha_regularizer`).
    pub alpha_regularizer: Option<Regularizer>,
}

impl PReLU {
    /// The shape of alpha for inputs of `input_shape` (batch axis first): the input's
    /// shape without the batch axis, with 1 along each of `shared_axes` (numbered from 1).
    pub fn alpha_shape(input_shape: &[usize], shared_axes: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() < 2 {
            bail!(
                Shape,
                "PReLU: expected inputs with a batch axis and at least one more, got shape {}",
                fmt_shape(input_shape)
            );
        }
        let mut shape = input_shape[1..].to_vec();
        for &axis in shared_axes {
            if axis == 0 || axis > shape.len() {
                bail!(
                    InvalidArgument,
                    "PReLU: `shared_axes` must name non-batch axes of the input (1 to {}), got {}",
                    shape.len(),
                    fmt_shape(shared_axes)
                );
            }
            shape[axis - 1] = 1;
        }
        Ok(shape)
    }

    /// The layer of a Keras `PReLU` config (`alpha_regularizer`, `shared_axes`) sharing
    /// its one weight, alpha.
    pub fn from_config(config: &Value, weights: &[Tensor]) -> Result<Self> {
        let args = Args::new("PReLU", config)?;
        let alpha = weight("PReLU", weights, 0, 1)?;
        Ok(PReLU {
            alpha,
            alpha_regularizer: Regularizer::from_keras(args.value("alpha_regularizer"))?,
        })
    }

    /// Alpha of a new layer of `config` for inputs of `input_shape`, drawn by the
    /// config's `alpha_initializer` (by default zeros).
    pub fn new_weights(config: &Value, input_shape: &[usize]) -> Result<Vec<NewWeight>> {
        let args = Args::new("PReLU", config)?;
        // Null, an int, or a list of ints.
        let shared = args.one_or_list("shared_axes", Vec::new())?;
        let shape = PReLU::alpha_shape(input_shape, &shared)?;
        let size = shape.iter().product();
        let alpha =
            super::init::new_variable(&args, "alpha_initializer", "zeros", &shape, (size, size))?;
        Ok(vec![NewWeight::trainable("alpha", alpha)])
    }

    /// The activation of `x`, whose non-batch axes must match alpha's (or be shared).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let fits = x.rank() == self.alpha.rank() + 1
            && x.shape()[1..]
                .iter()
                .zip(self.alpha.shape())
                .all(|(&d, &a)| a == d || a == 1);
        if !fits {
            bail!(
                Shape,
                "PReLU: expected inputs whose non-batch axes match alpha's shape {} (its size-1 axes are shared), got shape {}",
                fmt_shape(self.alpha.shape()),
                fmt_shape(x.shape())
            );
        }
        x.prelu(&self.alpha)
    }
}

impl Layer for ReLU {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ReLU::forward(self, x)
    }
}

impl Layer for LeakyReLU {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        x.leaky_relu(self.negative_slope)
    }
}

impl Layer for ELU {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        x.elu(self.alpha)
    }
}

impl Layer for Softmax {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Softmax::forward(self, x)
    }
}

impl Layer for PReLU {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        PReLU::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        total_penalty(&[(self.alpha_regularizer, Some(&self.alpha))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn relu_layer_reads_keras_config_and_refuses_negative_arguments() {
        let layer =
            ReLU::from_config(&json!({"max_value": 10.0, "negative_slope": 0.5, "threshold": 0}))
                .unwrap();
        let x = Tensor::<f64>::from_vec(vec![-10.0, -5.0, 0.0, 5.0, 10.0, 20.0], &[2, 3]).unwrap();
        // Keras's docstring example, plus a value past max_value.
        assert_eq!(
            layer.forward(&x).unwrap().to_vec(),
            vec![-5.0, -2.5, 0.0, 5.0, 10.0, 10.0]
        );
        for bad in [
            json!({"max_value": -1.0}),
            json!({"negative_slope": -0.1}),
            json!({"threshold": -2.0}),
        ] {
            let err = ReLU::from_config(&bad).err().unwrap().to_string();
            assert!(err.contains("must be a number >= 0"), "{err}");
        }
        assert!(LeakyReLU::from_config(&json!({"negative_slope": -1})).is_err());
        assert_eq!(
            LeakyReLU::from_config(&json!({})).unwrap().negative_slope,
            0.3
        );
    }

    #[test]
    fn softmax_over_several_axes_normalizes_their_product() {
        let x = rand(&[2, 3, 4], 5);
        let one = Softmax::from_config(&json!({"axis": 1})).unwrap();
        assert_eq!(
            one.forward(&x).unwrap().to_vec(),
            x.softmax(1).unwrap().to_vec()
        );
        let two = Softmax::from_config(&json!({"axis": [1, 2]})).unwrap();
        let y = two.forward(&x).unwrap();
        let flat = x.reshape(&[2, 12]).unwrap().softmax(-1).unwrap();
        for (a, b) in y.to_vec().iter().zip(flat.to_vec()) {
            assert!((a - b).abs() < 1e-12);
        }
        let outer = Softmax::from_config(&json!({"axis": [0, 2]})).unwrap();
        let sums = outer
            .forward(&x)
            .unwrap()
            .sum(Some(&[0, 2]), false)
            .unwrap();
        assert!(sums.to_vec().iter().all(|s| (s - 1.0).abs() < 1e-12));
        check_grad(&[x.clone()], |t| outer.forward(&t[0]));
        check_grad(&[x.clone()], |t| two.forward(&t[0]));
        assert!(Softmax::from_config(&json!({"axis": []})).is_err());
        assert!(Softmax::from_config(&json!({"axis": [0, 5]}))
            .unwrap()
            .forward(&x)
            .is_err());
    }

    #[test]
    fn prelu_weights_shapes_and_gradients() {
        let config = json!({"shared_axes": [1, 2], "alpha_initializer": "ones"});
        let weights = PReLU::new_weights(&config, &[5, 4, 3, 2]).unwrap();
        assert_eq!(weights[0].name, "alpha");
        assert_eq!(weights[0].value.shape(), &[1, 1, 2]);
        assert_eq!(weights[0].value.to_vec(), vec![1.0, 1.0]);
        let zeros = PReLU::new_weights(&json!({}), &[5, 3]).unwrap();
        assert_eq!(zeros[0].value.shape(), &[3]);
        assert_eq!(zeros[0].value.to_vec(), vec![0.0; 3]);
        assert_eq!(PReLU::alpha_shape(&[5, 4, 3], &[2]).unwrap(), vec![4, 1]);
        assert!(PReLU::alpha_shape(&[5, 4, 3], &[3]).is_err());
        assert!(PReLU::alpha_shape(&[5], &[]).is_err());
        assert!(PReLU::new_weights(&json!({"shared_axes": 0}), &[5, 4]).is_err());

        let alpha = Tensor::<f32>::from_vec(vec![0.5, 0.25], &[1, 2])
            .unwrap()
            .to_variable();
        let layer = PReLU::from_config(
            &json!({"alpha_regularizer": {"class_name": "L2", "config": {"l2": 0.5}}}),
            &[alpha],
        )
        .unwrap();
        let x = Tensor::<f32>::from_vec(vec![-2.0, 3.0, -4.0, -8.0], &[1, 2, 2]).unwrap();
        assert_eq!(
            layer.forward(&x).unwrap().to_vec(),
            vec![-1.0, 3.0, -2.0, -2.0]
        );
        let penalty = Layer::regularization(&layer)
            .unwrap()
            .unwrap()
            .item()
            .unwrap();
        assert!((penalty - 0.5 * (0.25 + 0.0625)).abs() < 1e-6);
        assert!(layer.forward(&Tensor::zeros(&[1, 2, 3]).unwrap()).is_err());
        assert!(layer.forward(&Tensor::zeros(&[2, 2]).unwrap()).is_err());
        // The layer's op, with alpha shared over the middle axis.
        check_grad(&[rand(&[3, 4, 2], 7), rand(&[1, 2], 8)], |t| {
            t[0].prelu(&t[1])
        });
    }

    #[test]
    fn elu_and_leaky_relu_layers_apply_their_parameters() {
        let x = Tensor::<f32>::from_vec(vec![-1.0, 2.0], &[1, 2]).unwrap();
        let elu = ELU::from_config(&json!({"alpha": 0.5})).unwrap();
        let y = Layer::forward(&elu, &x, false).unwrap().to_vec();
        assert!((y[0] - 0.5 * ((-1.0f32).exp() - 1.0)).abs() < 1e-7 && y[1] == 2.0);
        let leaky = LeakyReLU::from_config(&json!({"negative_slope": 0.1})).unwrap();
        assert_eq!(
            Layer::forward(&leaky, &x, false).unwrap().to_vec(),
            vec![-0.1, 2.0]
        );
        let relu = ReLU::from_config(&json!({})).unwrap();
        check_grad(
            &[rand(&[3, 4], 3)
                .map(|v| if v.abs() < 0.05 { 0.3 } else { v })
                .unwrap()],
            |t| relu.forward(&t[0]),
        );
    }
}
