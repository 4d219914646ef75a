//! Keras's pooling layers, channels last: `MaxPooling1D`/`2D` and `AveragePooling1D`/`2D`
//! (windows, on the pooling op), and `GlobalMaxPooling1D`/`2D` and
//! `GlobalAveragePooling1D`/`2D` (a max or mean over the spatial axes).

use super::conv::{check_channels_last, check_rank, spatial_tuple};
use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::ops::{Padding, PoolMode};
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// A pooling window over `pool_size.len()` spatial axes.
pub struct Pooling {
    /// Keras's class name, for errors.
    pub class_name: &'static str,
    /// Max or average.
    pub mode: PoolMode,
    /// The window's size per spatial axis.
    pub pool_size: Vec<usize>,
    /// The window's step per spatial axis (Keras's default: `pool_size`).
    pub strides: Vec<usize>,
    /// `Valid` or `Same`.
    pub padding: Padding,
}

impl Pooling {
    /// The layer of a Keras pooling config over `rank` spatial axes. Keras's default
    /// `pool_size` is 2 per axis.
    pub fn from_config(
        class_name: &'static str,
        rank: usize,
        mode: PoolMode,
        config: &Value,
    ) -> Result<Self> {
        let args = Args::new(class_name, config)?;
        let pool_size = spatial_tuple(&args, "pool_size", rank, Some(2))?;
        let strides = match args.given("strides") {
            None => pool_size.clone(),
            Some(_) => spatial_tuple(&args, "strides", rank, None)?,
        };
        let padding_name: String = args.or("padding", "valid".to_string())?;
        let padding = Padding::from_name(&padding_name, false)
            .map_err(|e| crate::Error::InvalidArgument(format!("{class_name}: {e}")))?;
        check_channels_last(&args)?;
        Ok(Pooling {
            class_name,
            mode,
            pool_size,
            strides,
            padding,
        })
    }

    /// Pools `x` of shape `(batch, [height,] width, channels)`.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        check_rank(self.class_name, self.pool_size.len(), x.shape())?;
        x.pool(self.mode, &self.pool_size, &self.strides, self.padding)
            .map_err(|e| match e {
                crate::Error::Shape(m) => {
                    crate::Error::Shape(m.replacen("pool", self.class_name, 1))
                }
                other => other,
            })
    }
}

impl Layer for Pooling {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Pooling::forward(self, x)
    }
}

/// A max or mean over all spatial axes of a channels-last input.
pub struct GlobalPooling {
    /// Keras's class name, for errors.
    pub class_name: &'static str,
    /// The number of spatial axes (1 or 2).
    pub rank: usize,
    /// Max or average.
    pub mode: PoolMode,
    /// Keep the spatial axes, with size 1 (Keras's `keepdims`).
    pub keepdims: bool,
}

impl GlobalPooling {
    /// The layer of a Keras global pooling config over `rank` spatial axes.
    pub fn from_config(
        class_name: &'static str,
        rank: usize,
        mode: PoolMode,
        config: &Value,
    ) -> Result<Self> {
        let args = Args::new(class_name, config)?;
        check_channels_last(&args)?;
        Ok(GlobalPooling {
            class_name,
            rank,
            mode,
            keepdims: args.or("keepdims", false)?,
        })
    }

    /// Reduces the spatial axes of `x` of shape `(batch, [height,] width, channels)`.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        check_rank(self.class_name, self.rank, x.shape())?;
        let axes: Vec<isize> = (1..=self.rank as isize).collect();
        match self.mode {
            PoolMode::Max => x.max(Some(&axes), self.keepdims),
            PoolMode::Average => x.mean(Some(&axes), self.keepdims),
        }
    }
}

impl Layer for GlobalPooling {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        GlobalPooling::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn keras_defaults_and_shapes() {
        let max = Pooling::from_config("MaxPooling2D", 2, PoolMode::Max, &json!({})).unwrap();
        assert_eq!(
            (max.pool_size.clone(), max.strides.clone()),
            (vec![2, 2], vec![2, 2])
        );
        let x = rand(&[2, 5, 7, 3], 1);
        assert_eq!(max.forward(&x).unwrap().shape(), &[2, 2, 3, 3]);
        let avg = Pooling::from_config(
            "AveragePooling1D",
            1,
            PoolMode::Average,
            &json!({"pool_size": 3, "strides": 1, "padding": "same"}),
        )
        .unwrap();
        assert_eq!(
            avg.forward(&rand(&[2, 5, 3], 1)).unwrap().shape(),
            &[2, 5, 3]
        );
        let global = GlobalPooling::from_config(
            "GlobalAveragePooling2D",
            2,
            PoolMode::Average,
            &json!({"keepdims": true}),
        )
        .unwrap();
        assert_eq!(global.forward(&x).unwrap().shape(), &[2, 1, 1, 3]);
        check_grad(&[x.clone()], |t| global.forward(&t[0]));
        let gmax =
            GlobalPooling::from_config("GlobalMaxPooling1D", 1, PoolMode::Max, &json!({})).unwrap();
        let seq = rand(&[2, 6, 4], 2);
        assert_eq!(gmax.forward(&seq).unwrap().shape(), &[2, 4]);
        check_grad(&[seq], |t| gmax.forward(&t[0]));
        let err = gmax.forward(&x).unwrap_err().to_string();
        assert!(
            err.contains("GlobalMaxPooling1D") && err.contains("rank 3"),
            "{err}"
        );
    }

    #[test]
    fn bad_configs_name_the_argument() {
        let make = |config: Value| {
            Pooling::from_config("MaxPooling2D", 2, PoolMode::Max, &config)
                .err()
                .unwrap()
                .to_string()
        };
        assert!(make(json!({"pool_size": 0})).contains("pool_size"));
        assert!(make(json!({"pool_size": [2, -1]})).contains("pool_size"));
        assert!(make(json!({"strides": 0})).contains("strides"));
        assert!(make(json!({"padding": "causal"})).contains("padding"));
        assert!(make(json!({"data_format": "channels_first"})).contains("data_format"));
        let big = Pooling::from_config("MaxPooling2D", 2, PoolMode::Max, &json!({"pool_size": 4}))
            .unwrap();
        let err = big
            .forward(&rand(&[1, 3, 3, 1], 1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MaxPooling2D") && err.contains("pool_size"),
            "{err}"
        );
    }
}
