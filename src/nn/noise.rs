//! The noise layers of Keras, active only in training: GaussianNoise (additive),
//! GaussianDropout (multiplicative) and AlphaDropout (dropout that keeps SELU's mean
//! and variance). Their noise comes from kandle's generator, or the layer's own when it
//! has a `seed`, as Dropout's masks do.

use super::dropout::{noise_mask_shape, LayerRng};
use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::kernels::pool::alloc_for_overwrite;
use crate::nn::Layer;
use crate::tensor::shape::checked_numel;
use crate::tensor::{Float, Tensor};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::Value;

/// A constant tensor of `shape` whose elements are `draw`n from the layer's stream.
fn noise<T: Float>(rng: &LayerRng, shape: &[usize], draw: impl Fn(f64) -> T) -> Result<Tensor<T>> {
    let n = checked_numel(shape, std::mem::size_of::<T>())?;
    let mut data = alloc_for_overwrite::<T>(n)?;
    rng.draw(|rng| {
        for v in data.iter_mut() {
            *v = draw(StandardNormal.sample(rng));
        }
    });
    Tensor::from_vec(data, shape)
}

/// Checks a rate in `[0, 1)`: a rate of 1 has no finite noise scale in training.
pub(super) fn check_rate(layer: &str, rate: f64) -> Result<f64> {
    if !(0.0..1.0).contains(&rate) {
        bail!(
            InvalidArgument,
            "{layer}: `rate` must be a number in [0, 1), got {rate}"
        );
    }
    Ok(rate)
}

/// Adds zero-centred normal noise of standard deviation `stddev` in training.
pub struct GaussianNoise {
    /// The noise's standard deviation, in `[0, 1]`.
    pub stddev: f64,
    rng: LayerRng,
}

impl GaussianNoise {
    /// A layer of Keras's `GaussianNoise(stddev, seed)`; `stddev` must be in `[0, 1]`.
    pub fn new(stddev: f64, seed: Option<u64>) -> Result<Self> {
        if !(0.0..=1.0).contains(&stddev) {
            bail!(
                InvalidArgument,
                "GaussianNoise: `stddev` must be a number in [0, 1], got {stddev}"
            );
        }
        Ok(GaussianNoise {
            stddev,
            rng: LayerRng::new(seed),
        })
    }

    /// The layer of a Keras `GaussianNoise` config (`stddev`, `seed`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("GaussianNoise", config)?;
        GaussianNoise::new(args.required_f64("stddev")?, args.opt("seed")?)
    }

    /// `x` plus fresh noise when `training`; `x` itself otherwise.
    pub fn forward<T: Float>(&self, x: &Tensor<T>, training: bool) -> Result<Tensor<T>> {
        if !training || self.stddev == 0.0 {
            return Ok(x.clone());
        }
        let stddev = self.stddev;
        x.add(&noise(&self.rng, x.shape(), |z| T::from_f64(stddev * z))?)
    }
}

/// Multiplies by normal noise of mean 1 and standard deviation `sqrt(rate / (1 - rate))`
/// in training.
pub struct GaussianDropout {
    /// Keras's drop probability, in `[0, 1)`: the noise's standard deviation is
    /// `sqrt(rate / (1 - rate))`.
    pub rate: f64,
    rng: LayerRng,
}

impl GaussianDropout {
    /// A layer of Keras's `GaussianDropout(rate, seed)`; `rate` must be in `[0, 1)`.
    pub fn new(rate: f64, seed: Option<u64>) -> Result<Self> {
        Ok(GaussianDropout {
            rate: check_rate("GaussianDropout", rate)?,
            rng: LayerRng::new(seed),
        })
    }

    /// The layer of a Keras `GaussianDropout` config (`rate`, `seed`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("GaussianDropout", config)?;
        GaussianDropout::new(args.required_f64("rate")?, args.opt("seed")?)
    }

    /// `x` times fresh noise when `training`; `x` itself otherwise.
    pub fn forward<T: Float>(&self, x: &Tensor<T>, training: bool) -> Result<Tensor<T>> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let stddev = (self.rate / (1.0 - self.rate)).sqrt();
        x.mul(&noise(&self.rng, x.shape(), |z| {
            T::from_f64(1.0 + stddev * z)
        })?)
    }
}

/// SELU's negative saturation value, `-alpha · scale`.
const ALPHA_P: f64 = -1.673_263_242_354_377_3 * 1.050_700_987_355_480_5;

/// In training, sets each element (or each `noise_shape` group) with probability `rate`
/// to SELU's saturation value `alpha_p`, then applies the affine map `a·x + b` that
/// restores the input's mean and variance, as Keras's AlphaDropout.
pub struct AlphaDropout {
    /// The probability of dropping each element (or group), in `[0, 1)`.
    pub rate: f64,
    /// The mask's shape: `None` entries take the input's size; size-1 entries share one
    /// mask value along that axis (Keras's `noise_shape`).
    pub noise_shape: Option<Vec<Option<usize>>>,
    rng: LayerRng,
}

impl AlphaDropout {
    /// A layer of Keras's `AlphaDropout(rate, noise_shape, seed)`; `rate` must be in `[0, 1)`.
    pub fn new(
        rate: f64,
        noise_shape: Option<Vec<Option<usize>>>,
        seed: Option<u64>,
    ) -> Result<Self> {
        Ok(AlphaDropout {
            rate: check_rate("AlphaDropout", rate)?,
            noise_shape,
            rng: LayerRng::new(seed),
        })
    }

    /// The layer of a Keras `AlphaDropout` config (`rate`, `noise_shape`, `seed`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("AlphaDropout", config)?;
        AlphaDropout::new(
            args.required_f64("rate")?,
            args.opt("noise_shape")?,
            args.opt("seed")?,
        )
    }

    /// `a` and `b` of the affine map for `rate`.
    pub fn affine(rate: f64) -> (f64, f64) {
        let a = ((1.0 - rate) * (1.0 + rate * ALPHA_P * ALPHA_P)).powf(-0.5);
        (a, -a * ALPHA_P * rate)
    }

    /// The output for a given keep mask (1 kept, 0 dropped) broadcastable to `x`:
    /// `a · (x · kept + alpha_p · (1 - kept)) + b`.
    pub fn apply_mask<T: Float>(&self, x: &Tensor<T>, kept: &Tensor<T>) -> Result<Tensor<T>> {
        let (a, b) = Self::affine(self.rate);
        let (a_t, b_t) = (T::from_f64(a), T::from_f64(b));
        let alpha_p = T::from_f64(ALPHA_P);
        let scale = kept.map(move |k| a_t * k)?;
        let shift = kept.map(move |k| a_t * (alpha_p * (T::one() - k)) + b_t)?;
        x.mul(&scale)?.add(&shift)
    }

    /// `x` with a fresh mask applied by [`AlphaDropout::apply_mask`] when `training`; `x`
    /// itself otherwise.
    pub fn forward<T: Float>(&self, x: &Tensor<T>, training: bool) -> Result<Tensor<T>> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let shape = noise_mask_shape("AlphaDropout", self.noise_shape.as_deref(), x.shape())?;
        let n = checked_numel(&shape, std::mem::size_of::<T>())?;
        let mut kept = alloc_for_overwrite::<T>(n)?;
        let rate = self.rate;
        self.rng.draw(|rng| {
            for k in kept.iter_mut() {
                // Kept where a uniform draw is >= rate, as Keras.
                *k = if rng.random::<f64>() >= rate {
                    T::one()
                } else {
                    T::zero()
                };
            }
        });
        self.apply_mask(x, &Tensor::from_vec(kept, &shape)?)
    }
}

impl Layer for GaussianNoise {
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        GaussianNoise::forward(self, x, training)
    }
}

impl Layer for GaussianDropout {
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        GaussianDropout::forward(self, x, training)
    }
}

impl Layer for AlphaDropout {
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        AlphaDropout::forward(self, x, training)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    fn moments(v: &[f64]) -> (f64, f64) {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        (mean, var.sqrt())
    }

    #[test]
    fn gaussian_noise_adds_noise_of_the_given_stddev_in_training_only() {
        let layer = GaussianNoise::from_config(&json!({"stddev": 0.5, "seed": 3})).unwrap();
        let x = Tensor::<f64>::full(&[200, 100], 2.0).unwrap();
        assert_eq!(layer.forward(&x, false).unwrap().to_vec(), x.to_vec());
        let (mean, std) = moments(&layer.forward(&x, true).unwrap().to_vec());
        assert!(
            (mean - 2.0).abs() < 0.01 && (std - 0.5).abs() < 0.01,
            "{mean} {std}"
        );
        // A seeded layer repeats; the stream advances between calls.
        let again = GaussianNoise::new(0.5, Some(3)).unwrap();
        let first = again.forward(&x, true).unwrap().to_vec();
        assert_eq!(
            first,
            GaussianNoise::new(0.5, Some(3))
                .unwrap()
                .forward(&x, true)
                .unwrap()
                .to_vec()
        );
        assert_ne!(first, again.forward(&x, true).unwrap().to_vec());
        for bad in [-0.1, 1.5, f64::NAN] {
            assert!(GaussianNoise::new(bad, None).is_err());
        }
        assert!(GaussianNoise::from_config(&json!({})).is_err());
    }

    #[test]
    fn gaussian_dropout_multiplies_by_noise_of_mean_one() {
        let layer = GaussianDropout::new(0.2, Some(1)).unwrap();
        let x = Tensor::<f64>::full(&[200, 100], 3.0).unwrap();
        let (mean, std) = moments(&layer.forward(&x, true).unwrap().to_vec());
        let expected_std = 3.0 * (0.2f64 / 0.8).sqrt();
        assert!((mean - 3.0).abs() < 0.02 && (std - expected_std).abs() < 0.02);
        assert_eq!(layer.forward(&x, false).unwrap().to_vec(), x.to_vec());
        for bad in [-0.1, 1.0] {
            assert!(GaussianDropout::new(bad, None).is_err());
        }
    }

    #[test]
    fn alpha_dropout_keeps_mean_and_variance_of_standard_inputs() {
        let layer = AlphaDropout::new(0.3, None, Some(4)).unwrap();
        let x = rand(&[400, 100], 2).map(|v| v * 3f64.sqrt()).unwrap(); // unit variance
        let y = layer.forward(&x, true).unwrap().to_vec();
        let (mean, std) = moments(&y);
        assert!(
            mean.abs() < 0.03 && (std - 1.0).abs() < 0.03,
            "{mean} {std}"
        );
        // Every output is either a·x + b (kept) or a·alpha_p + b (dropped).
        let (a, b) = AlphaDropout::affine(0.3);
        let dropped = a * ALPHA_P + b;
        let share = y
            .iter()
            .zip(x.to_vec())
            .filter(|(yv, xv)| {
                assert!((**yv - dropped).abs() < 1e-12 || (**yv - (a * xv + b)).abs() < 1e-12);
                (**yv - dropped).abs() < 1e-12
            })
            .count() as f64
            / y.len() as f64;
        assert!((share - 0.3).abs() < 0.01, "{share}");
        assert_eq!(layer.forward(&x, false).unwrap().to_vec(), x.to_vec());
    }

    #[test]
    fn alpha_dropout_noise_shape_and_gradients() {
        let layer =
            AlphaDropout::from_config(&json!({"rate": 0.5, "noise_shape": [null, 1], "seed": 7}))
                .unwrap();
        let x = rand(&[4, 6], 1);
        let y = layer.forward(&x, true).unwrap().to_vec();
        let (a, b) = AlphaDropout::affine(0.5);
        for (row, xs) in y.chunks(6).zip(x.to_vec().chunks(6)) {
            let kept = (row[0] - (a * xs[0] + b)).abs() < 1e-12;
            for (yv, xv) in row.iter().zip(xs) {
                let expected = if kept { a * xv + b } else { a * ALPHA_P + b };
                assert!((yv - expected).abs() < 1e-12);
            }
        }
        assert!(AlphaDropout::new(0.5, Some(vec![Some(3), None]), None)
            .unwrap()
            .forward(&x, true)
            .is_err());
        // A fixed seed per evaluation: the numeric and analytic passes see one mask.
        check_grad(&[rand(&[3, 4], 1)], |t| {
            AlphaDropout::new(0.4, None, Some(5))?.forward(&t[0], true)
        });
        check_grad(&[rand(&[3, 4], 1)], |t| {
            GaussianDropout::new(0.4, Some(5))?.forward(&t[0], true)
        });
        check_grad(&[rand(&[3, 4], 1)], |t| {
            GaussianNoise::new(0.4, Some(5))?.forward(&t[0], true)
        });
    }
}
