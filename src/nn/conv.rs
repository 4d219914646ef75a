//! Keras's `Conv1D` and `Conv2D`: `activation(conv(x, kernel) + bias)`, channels last,
//! with the kernel held in Keras's layout `([kh,] kw, in / groups, filters)`, which is
//! exactly the right-hand matrix of the op's im2col product (no transpose needed); and
//! `DepthwiseConv2D` and `SeparableConv2D`, which are the same op with one group per
//! input channel (then, for the separable one, a 1x1 convolution).

use super::init::new_variable;
use super::regularizer::{total_penalty, Regularizer};
use super::{weight, NewWeight};
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::ops::{window_output_shape, Activation, ActivationFn, ConvOptions, Padding};
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// One integer per spatial axis from a config entry holding an integer or a list (as
/// Keras's `standardize_tuple` reads `kernel_size`, `strides`, ...), each positive.
pub(crate) fn spatial_tuple(
    args: &Args,
    key: &str,
    rank: usize,
    default: Option<usize>,
) -> Result<Vec<usize>> {
    let bad = |got: &Value| {
        crate::Error::InvalidArgument(format!(
            "{}: `{key}` must be a positive integer or a list of {rank} positive \
             integers, got {key}={got}",
            args.owner()
        ))
    };
    let value = args.value(key);
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
pub(crate) fn check_channels_last(args: &Args) -> Result<()> {
    match args.given("data_format") {
        None => Ok(()),
        Some(Value::String(s)) if s == "channels_last" => Ok(()),
        Some(other) => bail!(
            InvalidArgument,
            "{}: only `data_format`=\"channels_last\" is supported, got {other}",
            args.owner()
        ),
    }
}

/// The arguments of a convolution layer's config, checked as Keras checks them.
struct ConvConfig {
    filters: usize,
    kernel_size: Vec<usize>,
    options: ConvOptions,
    use_bias: bool,
    /// Conv2DTranspose: the kernel is `(..., filters, in)` and the op its adjoint.
    transposed: bool,
}

impl ConvConfig {
    fn from_args(args: &Args, rank: usize) -> Result<Self> {
        let class_name = args.owner();
        let transposed = class_name.ends_with("Transpose");
        if let Some(output_padding) = args.given("output_padding").filter(|_| transposed) {
            bail!(
                InvalidArgument,
                "{class_name}: only `output_padding`=None is supported, got {output_padding}"
            );
        }
        let filters = match args.get("filters").and_then(Value::as_i64) {
            Some(f) if f > 0 => f as usize,
            _ => bail!(
                InvalidArgument,
                "{class_name}: `filters` must be a positive integer, got filters={}",
                args.value("filters")
            ),
        };
        let kernel_size = spatial_tuple(args, "kernel_size", rank, None)?;
        let strides = spatial_tuple(args, "strides", rank, Some(1))?;
        let dilation = spatial_tuple(args, "dilation_rate", rank, Some(1))?;
        if strides.iter().any(|&s| s > 1) && dilation.iter().any(|&d| d > 1) {
            bail!(
                InvalidArgument,
                "{class_name}: `strides` > 1 is not supported together with \
                 `dilation_rate` > 1, got strides={strides:?} and dilation_rate={dilation:?}"
            );
        }
        let groups: usize = match args.or::<i64>("groups", 1)? {
            g if g > 0 && filters % g as usize == 0 => g as usize,
            g => bail!(
                InvalidArgument,
                "{class_name}: `groups` must be a positive integer dividing filters={filters}, \
                 got groups={g}"
            ),
        };
        let padding_name: String = args.or("padding", "valid".to_string())?;
        let padding = Padding::from_name(&padding_name, rank == 1)
            .map_err(|e| crate::Error::InvalidArgument(format!("{class_name}: {e}")))?;
        check_channels_last(args)?;
        Ok(ConvConfig {
            filters,
            kernel_size,
            options: ConvOptions {
                strides,
                dilation,
                padding,
                groups,
            },
            use_bias: args.or("use_bias", true)?,
            transposed,
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
        match self.transposed {
            true => shape.extend([self.filters, channels]),
            false => shape.extend([channels / groups, self.filters]),
        }
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
    /// Conv2DTranspose: the adjoint op, kernel `(..., filters, in)`.
    pub transposed: bool,
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
        let args = Args::new(class_name, config)?;
        let c = ConvConfig::from_args(&args, rank)?;
        let kernel = weight(class_name, weights, 0, 1 + usize::from(c.use_bias))?;
        let bias = match c.use_bias {
            true => Some(weight(class_name, weights, 1, 2)?),
            false => None,
        };
        let ks = kernel.shape();
        let filters_axis = if c.transposed { rank } else { rank + 1 };
        if ks.len() != rank + 2 || ks[..rank] != c.kernel_size[..] || ks[filters_axis] != c.filters
        {
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
        let regularizer = |key| Regularizer::from_keras(args.value(key));
        Ok(Conv {
            class_name,
            kernel_size: c.kernel_size,
            options: c.options,
            activation: ActivationFn::from_keras(args.value("activation"))?,
            kernel_regularizer: regularizer("kernel_regularizer")?,
            bias_regularizer: regularizer("bias_regularizer")?,
            transposed: c.transposed,
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
        let channels = match self.transposed {
            true => ks[rank + 1],
            false => ks[rank] * self.options.groups,
        };
        if x.shape()[rank + 1] != channels {
            bail!(
                Shape,
                "{}: expected an input with {channels} channels (last axis), got shape {}",
                self.class_name,
                fmt_shape(x.shape())
            );
        }
        let conv = |act| {
            let y = match self.transposed {
                true => x.conv_transpose(&self.kernel, self.bias.as_ref(), act, &self.options),
                false => x.conv(&self.kernel, self.bias.as_ref(), act, &self.options),
            };
            y.map_err(|e| match e {
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
        let args = Args::new(class_name, config)?;
        let c = ConvConfig::from_args(&args, rank)?;
        let shape = c.kernel_shape(class_name, input_shape)?;
        // The window must fit the (padded) input: checked now, before any weight exists.
        // (A transposed convolution's output always holds its window.)
        if !c.transposed {
            window_output_shape(
                class_name,
                "kernel_size",
                input_shape,
                &c.kernel_size,
                &c.options,
            )?;
        }
        let receptive: usize = c.kernel_size.iter().product();
        // Keras's fans of a kernel (..., a, b): a and b times the receptive field.
        let fans = (shape[rank] * receptive, shape[rank + 1] * receptive);
        let mut weights = vec![NewWeight::trainable(
            "kernel",
            new_variable(&args, "kernel_initializer", "glorot_uniform", &shape, fans)?,
        )];
        if c.use_bias {
            weights.push(NewWeight::trainable(
                "bias",
                new_variable(&args, "bias_initializer", "zeros", &[c.filters], fans)?,
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

/// Keras's `DepthwiseConv2D` (each input channel convolved with its own
/// `depth_multiplier` filters) and `SeparableConv2D` (that, then a 1x1 convolution to
/// `filters` channels): the conv op with one group per input channel.
pub struct DepthwiseConv<T: Float = f32> {
    /// Keras's class name, for errors.
    pub class_name: &'static str,
    /// The window's size per spatial axis.
    pub kernel_size: Vec<usize>,
    /// Strides, dilation and padding of the depthwise step; groups = input channels.
    pub options: ConvOptions,
    /// Applied after the bias; relu, sigmoid and tanh fuse into the last op.
    pub activation: ActivationFn,
    /// Penalties on the depthwise kernel, the pointwise kernel and the bias.
    pub regularizers: [Option<Regularizer>; 3],
    depthwise: Tensor<T>,
    pointwise: Option<Tensor<T>>,
    bias: Option<Tensor<T>>,
}

/// The arguments of a depthwise or separable config, checked as Keras checks them.
struct DepthwiseConfig {
    kernel_size: Vec<usize>,
    strides: Vec<usize>,
    dilation: Vec<usize>,
    padding: Padding,
    depth_multiplier: usize,
    filters: Option<usize>,
    use_bias: bool,
}

impl DepthwiseConfig {
    fn from_args(args: &Args, separable: bool) -> Result<Self> {
        let class_name = args.owner();
        let positive = |key: &str, default: Option<i64>| -> Result<usize> {
            match args.get(key).and_then(Value::as_i64).or(default) {
                Some(v) if v > 0 => Ok(v as usize),
                _ => bail!(
                    InvalidArgument,
                    "{class_name}: `{key}` must be a positive integer, got {key}={}",
                    args.value(key)
                ),
            }
        };
        let padding_name: String = args.or("padding", "valid".to_string())?;
        check_channels_last(args)?;
        Ok(DepthwiseConfig {
            kernel_size: spatial_tuple(args, "kernel_size", 2, None)?,
            strides: spatial_tuple(args, "strides", 2, Some(1))?,
            dilation: spatial_tuple(args, "dilation_rate", 2, Some(1))?,
            padding: Padding::from_name(&padding_name, false)
                .map_err(|e| crate::Error::InvalidArgument(format!("{class_name}: {e}")))?,
            depth_multiplier: positive("depth_multiplier", Some(1))?,
            filters: if separable {
                Some(positive("filters", None)?)
            } else {
                None
            },
            use_bias: args.or("use_bias", true)?,
        })
    }
}

impl<T: Float> DepthwiseConv<T> {
    /// The layer of a Keras `DepthwiseConv2D` config (weights: kernel `(kh, kw, in,
    /// depth_multiplier)`, bias `(in · depth_multiplier,)`) or `SeparableConv2D` config
    /// (depthwise kernel, pointwise kernel `(1, 1, in · depth_multiplier, filters)`,
    /// bias `(filters,)`), sharing `weights`.
    pub fn from_config(
        class_name: &'static str,
        separable: bool,
        config: &Value,
        weights: &[Tensor<T>],
    ) -> Result<Self> {
        let args = Args::new(class_name, config)?;
        let c = DepthwiseConfig::from_args(&args, separable)?;
        let expected = 1 + usize::from(separable) + usize::from(c.use_bias);
        let depthwise = weight(class_name, weights, 0, expected)?;
        let pointwise = match separable {
            true => Some(weight(class_name, weights, 1, expected)?),
            false => None,
        };
        let bias = match c.use_bias {
            true => Some(weight(class_name, weights, expected - 1, expected)?),
            false => None,
        };
        let ds = depthwise.shape();
        if ds.len() != 4 || ds[..2] != c.kernel_size[..] || ds[3] != c.depth_multiplier {
            bail!(
                Shape,
                "{class_name}: expected a depthwise kernel of shape ({}, {}, in, {}), got {}",
                c.kernel_size[0],
                c.kernel_size[1],
                c.depth_multiplier,
                fmt_shape(ds)
            );
        }
        let channels = ds[2] * ds[3];
        if let Some(p) = &pointwise {
            if p.shape() != [1, 1, channels, c.filters.unwrap_or(0)] {
                bail!(
                    Shape,
                    "{class_name}: expected a pointwise kernel of shape (1, 1, {channels}, {}), \
                     got {}",
                    c.filters.unwrap_or(0),
                    fmt_shape(p.shape())
                );
            }
        }
        let outputs = c.filters.unwrap_or(channels);
        if bias.as_ref().is_some_and(|b| b.shape() != [outputs]) {
            bail!(
                Shape,
                "{class_name}: expected a bias of shape ({outputs},), got {}",
                fmt_shape(bias.as_ref().map_or(&[][..], |b| b.shape()))
            );
        }
        let regularizer = |key| Regularizer::from_keras(args.value(key));
        Ok(DepthwiseConv {
            class_name,
            options: ConvOptions {
                strides: c.strides,
                dilation: c.dilation,
                padding: c.padding,
                groups: ds[2],
            },
            kernel_size: c.kernel_size,
            activation: ActivationFn::from_keras(args.value("activation"))?,
            regularizers: [
                regularizer("depthwise_regularizer")?,
                regularizer("pointwise_regularizer")?,
                regularizer("bias_regularizer")?,
            ],
            depthwise,
            pointwise,
            bias,
        })
    }

    /// Applies the layer to `x` of shape `(batch, height, width, channels)`.
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        check_rank(self.class_name, 2, x.shape())?;
        let ds = self.depthwise.shape();
        if x.shape()[3] != ds[2] {
            bail!(
                Shape,
                "{}: expected an input with {} channels (last axis), got shape {}",
                self.class_name,
                ds[2],
                fmt_shape(x.shape())
            );
        }
        // (kh, kw, in, multiplier) is, value for value, the grouped conv's kernel
        // (kh, kw, 1, in · multiplier): output channel c · multiplier + m of group c.
        let kernel = self.depthwise.reshape(&[ds[0], ds[1], 1, ds[2] * ds[3]])?;
        let run = |act| match &self.pointwise {
            None => x.conv(&kernel, self.bias.as_ref(), act, &self.options),
            Some(pointwise) => {
                let depthwise = x.conv(&kernel, None, Activation::Linear, &self.options)?;
                let pointwise_options = ConvOptions {
                    strides: vec![1, 1],
                    dilation: vec![1, 1],
                    padding: Padding::Valid,
                    groups: 1,
                };
                depthwise.conv(pointwise, self.bias.as_ref(), act, &pointwise_options)
            }
        };
        let run = |act| {
            run(act).map_err(|e| match e {
                crate::Error::Shape(m) => {
                    crate::Error::Shape(m.replacen("conv", self.class_name, 1))
                }
                other => other,
            })
        };
        match self.activation.fused() {
            Some(act) => run(act),
            None => self.activation.apply(&run(Activation::Linear)?),
        }
    }

    /// The penalties of the regularizers, if any.
    pub fn regularization(&self) -> Result<Option<Tensor<T>>> {
        let [depthwise, pointwise, bias] = self.regularizers;
        total_penalty(&[
            (depthwise, Some(&self.depthwise)),
            (pointwise, self.pointwise.as_ref()),
            (bias, self.bias.as_ref()),
        ])
    }
}

impl DepthwiseConv<f32> {
    /// The weights of a new layer of `config` for inputs of `input_shape`, drawn by the
    /// config's initializers (Keras's defaults: glorot_uniform kernels, zero bias).
    pub fn new_weights(
        class_name: &str,
        separable: bool,
        config: &Value,
        input_shape: &[usize],
    ) -> Result<Vec<NewWeight>> {
        let args = Args::new(class_name, config)?;
        let c = DepthwiseConfig::from_args(&args, separable)?;
        check_rank(class_name, 2, input_shape)?;
        let channels = input_shape[3];
        let options = ConvOptions {
            strides: c.strides.clone(),
            dilation: c.dilation.clone(),
            padding: c.padding,
            groups: channels.max(1),
        };
        window_output_shape(
            class_name,
            "kernel_size",
            input_shape,
            &c.kernel_size,
            &options,
        )?;
        let receptive = c.kernel_size[0] * c.kernel_size[1];
        let shape = [
            c.kernel_size[0],
            c.kernel_size[1],
            channels,
            c.depth_multiplier,
        ];
        let fans = (channels * receptive, c.depth_multiplier * receptive);
        let (kernel_name, kernel_key) = match separable {
            true => ("depthwise_kernel", "depthwise_initializer"),
            false => ("kernel", "depthwise_initializer"),
        };
        let mut weights = vec![NewWeight::trainable(
            kernel_name,
            new_variable(&args, kernel_key, "glorot_uniform", &shape, fans)?,
        )];
        let mut outputs = channels * c.depth_multiplier;
        if let Some(filters) = c.filters {
            let fans = (outputs, filters);
            weights.push(NewWeight::trainable(
                "pointwise_kernel",
                new_variable(
                    &args,
                    "pointwise_initializer",
                    "glorot_uniform",
                    &[1, 1, outputs, filters],
                    fans,
                )?,
            ));
            outputs = filters;
        }
        if c.use_bias {
            weights.push(NewWeight::trainable(
                "bias",
                new_variable(&args, "bias_initializer", "zeros", &[outputs], fans)?,
            ));
        }
        Ok(weights)
    }
}

impl Layer for DepthwiseConv<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        DepthwiseConv::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        DepthwiseConv::regularization(self)
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
    fn depthwise_and_separable_match_per_channel_convolutions() {
        let x = rand(&[2, 5, 5, 3], 1);
        let (dk, pk, b) = (
            rand(&[3, 3, 3, 2], 2),
            rand(&[1, 1, 6, 4], 3),
            rand(&[4], 4),
        );
        let config = json!({"kernel_size": 3, "depth_multiplier": 2, "padding": "same",
                            "filters": 4, "activation": "relu"});
        let sep = DepthwiseConv::from_config(
            "SeparableConv2D",
            true,
            &config,
            &[dk.clone(), pk.clone(), b.clone()],
        )
        .unwrap();
        let y = sep.forward(&x).unwrap();
        assert_eq!(y.shape(), &[2, 5, 5, 4]);
        // Reference: each input channel through a plain conv with its 2 filters, then 1x1.
        let same = ConvOptions {
            strides: vec![1, 1],
            dilation: vec![1, 1],
            padding: Padding::Same,
            groups: 1,
        };
        let dkv = dk.to_vec();
        let mut per_channel = vec![];
        for c in 0..3 {
            let xc = x.narrow(3, c, 1).unwrap();
            let kc: Vec<f64> = (0..9)
                .flat_map(|t| (0..2).map(move |m| (t, m)))
                .map(|(t, m)| dkv[(t * 3 + c) * 2 + m])
                .collect();
            let kc = Tensor::from_vec(kc, &[3, 3, 1, 2]).unwrap();
            per_channel.push(xc.conv(&kc, None, Activation::Linear, &same).unwrap());
        }
        let depth = Tensor::concatenate(&per_channel, -1).unwrap();
        let want = depth
            .conv(
                &pk,
                Some(&b),
                Activation::Relu,
                &ConvOptions {
                    padding: Padding::Valid,
                    ..same.clone()
                },
            )
            .unwrap();
        for (g, w) in y.to_vec().iter().zip(&want.to_vec()) {
            assert!((g - w).abs() < 1e-12);
        }
        check_grad(&[dk.clone(), pk.clone(), b.clone()], |t| {
            DepthwiseConv::from_config("SeparableConv2D", true, &config, t)?.forward(&x)
        });
        let depthwise = json!({"kernel_size": [3, 2], "depth_multiplier": 2, "strides": 2});
        let dk2 = rand(&[3, 2, 3, 2], 5);
        let layer = DepthwiseConv::from_config(
            "DepthwiseConv2D",
            false,
            &depthwise,
            &[dk2.clone(), rand(&[6], 6)],
        )
        .unwrap();
        assert_eq!(layer.forward(&x).unwrap().shape(), &[2, 2, 2, 6]);
        check_grad(&[x.clone()], |t| layer.forward(&t[0]));
        let new =
            DepthwiseConv::new_weights("SeparableConv2D", true, &config, &[1, 5, 5, 3]).unwrap();
        let shapes: Vec<_> = new.iter().map(|w| w.value.shape().to_vec()).collect();
        assert_eq!(shapes, vec![vec![3, 3, 3, 2], vec![1, 1, 6, 4], vec![4]]);
    }

    #[test]
    fn conv2d_transpose_layer() {
        let config = json!({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"});
        let new = Conv::new_weights("Conv2DTranspose", 2, &config, &[1, 5, 6, 3]).unwrap();
        assert_eq!(new[0].value.shape(), &[3, 3, 4, 3]);
        let (w, b) = (rand(&[3, 3, 4, 3], 1), rand(&[4], 2));
        let layer = Conv::from_config("Conv2DTranspose", 2, &config, &[w, b]).unwrap();
        let x = rand(&[2, 5, 6, 3], 3);
        assert_eq!(layer.forward(&x).unwrap().shape(), &[2, 10, 12, 4]);
        check_grad(&[x], |t| layer.forward(&t[0]));
        let padded = json!({"filters": 4, "kernel_size": 3, "output_padding": 1});
        assert!(
            Conv::new_weights("Conv2DTranspose", 2, &padded, &[1, 5, 6, 3])
                .err()
                .unwrap()
                .to_string()
                .contains("output_padding")
        );
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
