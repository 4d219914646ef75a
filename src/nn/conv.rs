//! Keras's `Conv1D` and `Conv2D`: `activation(conv(x, kernel) + bias)`, channels last,
//! with the kernel held in Keras's layout `([kh,] kw, in / groups, filters)`, which is
//! exactly the right-hand matrix of the op's im2col product (no transpose needed).

use super::init::new_variable;
use super::regularizer::{total_penalty, Regularizer};
use super::{config_or, weight, NewWeight};
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::ops::{window_output_shape, Activation, ActivationFn, ConvOptions, Padding};
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// One integer per spatial axis from a config entry holding an integer or a list (as
/// Keras's `standardize_tuple` reads `kernel_size`, `strides`, ...), each positive.
pub(crate) fn spatial_tuple(
    class_name: &str,
    config: &Value,
    key: &str,
    rank: usize,
    default: Option<usize>,
) -> Result<Vec<usize>> {
    let bad = |got: &Value| {
        crate::Error::InvalidArgument(format!(
            "{class_name}: `{key}` must be a positive integer or a list of {rank} positive \
             integers, got {key}={got}"
        ))
    };
    let value = config.get(key).unwrap_or(&Value::Null);
    let values: Vec<i64> = match value {
        Value::Null => match default {
            Some(d) => vec![d as i64; rank],
            None => return Err(bad(value)),
        },
        Value::Number(n) => vec![n.as_i64().ok_or_else(|| bad(value))?; rank],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_i64().ok_or_else(|| bad(value)))
            .collect::<Result<_>>()?,
        _ => return Err(bad(value)),
    };
    if values.len() != rank || values.iter().any(|&v| v <= 0) {
        return Err(bad(value));
    }
    Ok(values.into_iter().map(|v| v as usize).collect())
}

/// Refuses Keras's `channels_first`: kandle computes channels last only.
pub(crate) fn check_channels_last(class_name: &str, config: &Value) -> Result<()> {
    match config.get("data_format") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == "channels_last" => Ok(()),
        Some(other) => bail!(
            InvalidArgument,
            "{class_name}: only `data_format`=\"channels_last\" is supported, got {other}"
        ),
    }
}

/// The arguments of a convolution layer's config, checked as Keras checks them.
struct ConvConfig {
    filters: usize,
    kernel_size: Vec<usize>,
    options: ConvOptions,
    use_bias: bool,
}

impl ConvConfig {
    fn from_keras(class_name: &str, rank: usize, config: &Value) -> Result<Self> {
        let filters = match config.get("filters").and_then(Value::as_i64) {
            Some(f) if f > 0 => f as usize,
            _ => bail!(
                InvalidArgument,
                "{class_name}: `filters` must be a positive integer, got filters={}",
                config.get("filters").unwrap_or(&Value::Null)
            ),
        };
        let kernel_size = spatial_tuple(class_name, config, "kernel_size", rank, None)?;
        let strides = spatial_tuple(class_name, config, "strides", rank, Some(1))?;
        let dilation = spatial_tuple(class_name, config, "dilation_rate", rank, Some(1))?;
        if strides.iter().any(|&s| s > 1) && dilation.iter().any(|&d| d > 1) {
            bail!(
                InvalidArgument,
                "{class_name}: `strides` > 1 is not supported together with \
                 `dilation_rate` > 1, got strides={strides:?} and dilation_rate={dilation:?}"
            );
        }
        let groups: usize = match config_or::<i64>(config, "groups", 1)? {
            g if g > 0 && filters % g as usize == 0 => g as usize,
            g => bail!(
                InvalidArgument,
                "{class_name}: `groups` must be a positive integer dividing filters={filters}, \
                 got groups={g}"
            ),
        };
        let padding_name: String = config_or(config, "padding", "valid".to_string())?;
        let padding = Padding::from_name(&padding_name, rank == 1)
            .map_err(|e| crate::Error::InvalidArgument(format!("{class_name}: {e}")))?;
        check_channels_last(class_name, config)?;
        Ok(ConvConfig {
            filters,
            kernel_size,
            options: ConvOptions {
                strides,
                dilation,
                padding,
                groups,
            },
            use_bias: config_or(config, "use_bias", true)?,
        })
    }

    /// The kernel's shape for `channels` input channels, after checking that the
    /// groups divide them and that the window fits the input of `input_shape`.
    fn kernel_shape(&self, class_name: &str, input_shape: &[usize]) -> Result<Vec<usize>> {
        let rank = self.kernel_size.len();
        check_rank(class_name, rank, input_shape)?;
        let channels = input_shape[rank + 1];
        let groups = self.options.groups;
        if channels == 0 || channels % groups != 0 {
            bail!(
                InvalidArgument,
                "{class_name}: the number of input channels must be divisible by `groups`, \
                 got groups={groups} for an input of shape {}",
                fmt_shape(input_shape)
            );
        }
        let mut shape = self.kernel_size.clone();
        shape.extend([channels / groups, self.filters]);
        Ok(shape)
    }
}

/// Checks that `input_shape` is `(batch, <rank spatial axes>, channels)`.
pub(crate) fn check_rank(class_name: &str, rank: usize, input_shape: &[usize]) -> Result<()> {
    if input_shape.len() != rank + 2 {
        bail!(
            Shape,
            "{class_name}: expected an input of rank {} ({}), got shape {}",
            rank + 2,
            if rank == 1 {
                "batch, steps, channels"
            } else {
                "batch, height, width, channels"
            },
            fmt_shape(input_shape)
        );
    }
    Ok(())
}

/// A convolution layer over `kernel_size.len()` spatial axes (1: Conv1D, 2: Conv2D).
pub struct Conv<T: Float = f32> {
    /// Keras's class name, for errors.
    pub class_name: &'static str,
    /// The window's size per spatial axis.
    pub kernel_size: Vec<usize>,
    /// Strides, dilation, padding and groups.
    pub options: ConvOptions,
    /// Applied after the bias; relu, sigmoid and tanh fuse into the op.
    pub activation: ActivationFn,
    /// Penalty on the kernel (Keras's `kernel_regularizer`).
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias (Keras's `bias_regularizer`).
    pub bias_regularizer: Option<Regularizer>,
    kernel: Tensor<T>,
    bias: Option<Tensor<T>>,
}

impl<T: Float> Conv<T> {
    /// The layer of a Keras `Conv1D` (`rank` 1) or `Conv2D` (`rank` 2) config sharing
    /// `weights`: kernel `([kh,] kw, in / groups, filters)`, then bias `(filters,)` when
    /// `use_bias`.
    pub fn from_config(
        class_name: &'static str,
        rank: usize,
        config: &Value,
        weights: &[Tensor<T>],
    ) -> Result<Self> {
        let c = ConvConfig::from_keras(class_name, rank, config)?;
        let kernel = weight(class_name, weights, 0, 1 + usize::from(c.use_bias))?;
        let bias = match c.use_bias {
            true => Some(weight(class_name, weights, 1, 2)?),
            false => None,
        };
        let ks = kernel.shape();
        if ks.len() != rank + 2 || ks[..rank] != c.kernel_size[..] || ks[rank + 1] != c.filters {
            bail!(
                Shape,
                "{class_name}: expected a kernel of shape ({}, in, {}) (kernel_size, in / \
                 groups, filters), got {}",
                c.kernel_size
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                c.filters,
                fmt_shape(ks)
            );
        }
        if let Some(b) = &bias {
            if b.shape() != [c.filters] {
                bail!(
                    Shape,
                    "{class_name}: expected a bias of shape ({},), got {}",
                    c.filters,
                    fmt_shape(b.shape())
                );
            }
        }
        let regularizer = |key| Regularizer::from_keras(config.get(key).unwrap_or(&Value::Null));
        Ok(Conv {
            class_name,
            kernel_size: c.kernel_size,
            options: c.options,
            activation: ActivationFn::from_keras(config.get("activation").unwrap_or(&Value::Null))?,
            kernel_regularizer: regularizer("kernel_regularizer")?,
            bias_regularizer: regularizer("bias_regularizer")?,
            kernel,
            bias,
        })
    }

    /// The kernel, in Keras's layout.
    pub fn kernel(&self) -> &Tensor<T> {
        &self.kernel
    }

    /// The bias, unless `use_bias` is false.
    pub fn bias(&self) -> Option<&Tensor<T>> {
        self.bias.as_ref()
    }

    /// Applies the layer to `x` of shape `(batch, [height,] width, channels)`.
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let rank = self.kernel_size.len();
        check_rank(self.class_name, rank, x.shape())?;
        let ks = self.kernel.shape();
        let channels = ks[rank] * self.options.groups;
        if x.shape()[rank + 1] != channels {
            bail!(
                Shape,
                "{}: expected an input with {channels} channels (last axis), got shape {}",
                self.class_name,
                fmt_shape(x.shape())
            );
        }
        let conv = |act| {
            x.conv(&self.kernel, self.bias.as_ref(), act, &self.options)
                .map_err(|e| match e {
                    crate::Error::Shape(m) => {
                        crate::Error::Shape(m.replacen("conv", self.class_name, 1))
                    }
                    other => other,
                })
        };
        match self.activation.fused() {
            Some(act) => conv(act),
            None => self.activation.apply(&conv(Activation::Linear)?),
        }
    }

    /// The penalties of the kernel and bias regularizers, if any.
    pub fn regularization(&self) -> Result<Option<Tensor<T>>> {
        total_penalty(&[
            (self.kernel_regularizer, Some(&self.kernel)),
            (self.bias_regularizer, self.bias.as_ref()),
        ])
    }
}

impl Conv<f32> {
    /// The weights of a new layer of `config` for inputs of `input_shape`: `kernel`
    /// (Keras's glorot_uniform by default, fans over the receptive field as Keras
    /// computes them) then `bias` (zeros by default).
    pub fn new_weights(
        class_name: &str,
        rank: usize,
        config: &Value,
        input_shape: &[usize],
    ) -> Result<Vec<NewWeight>> {
        let c = ConvConfig::from_keras(class_name, rank, config)?;
        let shape = c.kernel_shape(class_name, input_shape)?;
        // The window must fit the (padded) input: checked now, before any weight exists.
        window_output_shape(
            class_name,
            "kernel_size",
            input_shape,
            &c.kernel_size,
            &c.options,
        )?;
        let receptive: usize = c.kernel_size.iter().product();
        let fans = (shape[rank] * receptive, c.filters * receptive);
        let mut weights = vec![NewWeight::trainable(
            "kernel",
            new_variable(config, "kernel_initializer", "glorot_uniform", &shape, fans)?,
        )];
        if c.use_bias {
            weights.push(NewWeight::trainable(
                "bias",
                new_variable(config, "bias_initializer", "zeros", &[c.filters], fans)?,
            ));
        }
        Ok(weights)
    }
}

impl Layer for Conv<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Conv::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        Conv::regularization(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn new_weights_have_keras_shapes_and_fans() {
        let config = json!({"filters": 8, "kernel_size": 3});
        let w = Conv::new_weights("Conv2D", 2, &config, &[1, 10, 10, 4]).unwrap();
        assert_eq!(w[0].value.shape(), &[3, 3, 4, 8]);
        assert_eq!(w[1].value.to_vec(), vec![0.0; 8]);
        // glorot_uniform's limit with fans 36 and 72.
        let limit = (6.0f32 / 108.0).sqrt();
        assert!(w[0].value.to_vec().iter().all(|v| v.abs() <= limit));
        let grouped = json!({"filters": 6, "kernel_size": [2], "groups": 3, "use_bias": false});
        let w = Conv::new_weights("Conv1D", 1, &grouped, &[1, 5, 9]).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].value.shape(), &[2, 3, 6]);
    }

    #[test]
    fn bad_configs_name_the_argument() {
        let err = |config: Value, shape: &[usize]| {
            Conv::new_weights("Conv2D", 2, &config, shape)
                .err()
                .unwrap()
                .to_string()
        };
        let shape = [1, 5, 5, 2];
        assert!(err(json!({"filters": 0, "kernel_size": 3}), &shape).contains("filters"));
        assert!(err(json!({"filters": 2, "kernel_size": -1}), &shape).contains("kernel_size"));
        assert!(err(
            json!({"filters": 2, "kernel_size": 3, "strides": 0}),
            &shape
        )
        .contains("strides"));
        let both = json!({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2});
        assert!(err(both, &shape).contains("dilation_rate"));
        assert!(
            err(json!({"filters": 4, "kernel_size": 3, "groups": 4}), &shape).contains("groups")
        );
        assert!(err(json!({"filters": 2, "kernel_size": 6}), &shape).contains("kernel_size"));
        assert!(err(json!({"filters": 2, "kernel_size": 3}), &[1, 5, 2]).contains("rank 4"));
        let first = json!({"filters": 2, "kernel_size": 3, "data_format": "channels_first"});
        assert!(err(first, &shape).contains("data_format"));
        let causal = json!({"filters": 2, "kernel_size": 3, "padding": "causal"});
        assert!(err(causal, &shape).contains("padding"));
    }

    #[test]
    fn layer_gradient_with_unfused_activation_and_regularizer() {
        let config = json!({
            "filters": 3, "kernel_size": [2, 2], "padding": "same", "activation": "gelu",
            "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}},
        });
        let (w, b) = (rand(&[2, 2, 2, 3], 1), rand(&[3], 2));
        let layer = Conv::from_config("Conv2D", 2, &config, &[w.clone(), b.clone()]).unwrap();
        let x = rand(&[2, 4, 3, 2], 3);
        assert_eq!(layer.forward(&x).unwrap().shape(), &[2, 4, 3, 3]);
        check_grad(&[x.clone()], |t| layer.forward(&t[0]));
        check_grad(&[w, b], |t| {
            Conv::from_config("Conv2D", 2, &config, t)?.forward(&x)
        });
        assert!(layer.regularization().unwrap().is_some());
        let err = layer
            .forward(&rand(&[2, 4, 3, 5], 3))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Conv2D") && err.contains("channels"), "{err}");
    }
}
