//! Dropout: inverted dropout, active only in training.

use super::noise::check_rate;
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::tensor::random::with_rng;
use crate::tensor::{Float, Tensor};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::sync::Mutex;

/// Zeroes each input element with probability `rate` in training and scales the kept
/// ones by `1 / (1 - rate)`, so that expected values match inference, where the layer
/// is the identity. Masks come from kandle's global generator, or from the layer's own
/// generator when it has a `seed`.
pub struct Dropout {
    /// The probability of dropping each element, in `[0, 1)`.
    pub rate: f64,
    /// The mask's shape: `None` entries take the input's size; size-1 entries share
    /// one mask value along that axis (Keras's `noise_shape`).
    pub noise_shape: Option<Vec<Option<usize>>>,
    rng: LayerRng,
}

/// The random stream of a layer with noise: its own generator when it has a `seed`
/// (reproducible whatever else draws), else kandle's global one.
pub(crate) struct LayerRng(Option<Mutex<ChaCha8Rng>>);

impl LayerRng {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        LayerRng(seed.map(|s| Mutex::new(ChaCha8Rng::seed_from_u64(s))))
    }

    /// Runs `fill` with the layer's generator.
    pub(crate) fn draw(&self, fill: impl FnOnce(&mut ChaCha8Rng)) {
        match &self.0 {
            Some(own) => fill(&mut own.lock().unwrap_or_else(|e| e.into_inner())),
            None => with_rng(fill),
        }
    }
}

/// The shape of a noise mask for an input of shape `input`: Keras's `noise_shape`, whose
/// `None` entries take the input's size and whose size-1 entries share one value along
/// that axis; the input's shape when there is none.
pub(crate) fn noise_mask_shape(
    layer: &str,
    noise_shape: Option<&[Option<usize>]>,
    input: &[usize],
) -> Result<Vec<usize>> {
    let Some(noise) = noise_shape else {
        return Ok(input.to_vec());
    };
    let shape: Vec<usize> = noise
        .iter()
        .zip(input)
        .map(|(n, &d)| n.unwrap_or(d))
        .collect();
    let fits =
        noise.len() == input.len() && shape.iter().zip(input).all(|(&m, &d)| m == d || m == 1);
    if !fits {
        bail!(
            Shape,
            "{layer}: noise_shape {} does not broadcast to the input shape {}",
            fmt_shape(
                &noise
                    .iter()
                    .map(|n| n.map_or("None".to_string(), |v| v.to_string()))
                    .collect::<Vec<_>>()
            ),
            fmt_shape(input)
        );
    }
    Ok(shape)
}

impl Dropout {
    /// A layer of Keras's `Dropout(rate, noise_shape, seed)`; `rate` must be in `[0, 1)`.
    pub fn new(
        rate: f64,
        noise_shape: Option<Vec<Option<usize>>>,
        seed: Option<u64>,
    ) -> Result<Self> {
        if !(0.0..1.0).contains(&rate) {
            bail!(
                InvalidArgument,
                "Dropout: `rate` must be a number in [0, 1), got {rate}"
            );
        }
        Ok(Dropout {
            rate,
            noise_shape,
            rng: LayerRng::new(seed),
        })
    }

    /// The layer of a Keras `Dropout` config (`rate`, `noise_shape`, `seed`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("Dropout", config)?;
        let Some(rate) = args.opt::<f64>("rate")? else {
            bail!(InvalidArgument, "Dropout: the config has no `rate`");
        };
        Dropout::new(rate, args.opt("noise_shape")?, args.opt("seed")?)
    }

    /// `x` with inverted dropout applied when `training`; `x` itself otherwise.
    pub fn forward<T: Float>(&self, x: &Tensor<T>, training: bool) -> Result<Tensor<T>> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let shape = noise_mask_shape("Dropout", self.noise_shape.as_deref(), x.shape())?;
        let n = crate::tensor::shape::checked_numel(&shape, std::mem::size_of::<T>())?;
        let keep = 1.0 - self.rate;
        let scale = T::from_f64(1.0 / keep);
        // Kept when a uniform 32-bit draw is below keep · 2³²: one draw of the generator
        // per element, half of what a 53-bit float takes (a mask is a visible share of
        // a convnet's step). rate < 1, so the threshold is positive.
        let threshold = (keep * 4_294_967_296.0).round() as u64;
        let mut mask = crate::kernels::pool::alloc_for_overwrite::<T>(n)?;
        self.rng.draw(|rng| {
            for m in mask.iter_mut() {
                *m = match u64::from(rng.next_u32()) < threshold {
                    true => scale,
                    false => T::zero(),
                };
            }
        });
        x.mul(&Tensor::from_vec(mask, &shape)?)
    }
}

/// SpatialDropout1D/2D: dropout of whole channels. In training each channel of each
/// sample, `(batch, steps, channels)` or `(batch, rows, cols, channels)`, is zeroed with
/// probability `rate` and otherwise scaled by `1 / (1 - rate)`; in inference the
/// identity. It is Dropout whose mask is shared along the spatial axes.
pub struct SpatialDropout {
    class_name: &'static str,
    spatial: usize,
    dropout: Dropout,
}

impl SpatialDropout {
    /// The layer of a Keras `SpatialDropout1D`/`2D` config (`rate`, `seed`, and
    /// `data_format`, which must be channels_last) over `spatial` axes.
    pub fn from_config(class_name: &'static str, config: &Value, spatial: usize) -> Result<Self> {
        let args = Args::new(class_name, config)?;
        super::conv::check_channels_last(&args)?;
        let rate = check_rate(class_name, args.required_f64("rate")?)?;
        // One mask value per sample and channel: size 1 along the spatial axes.
        let mut noise_shape = vec![None];
        noise_shape.extend(std::iter::repeat_n(Some(1), spatial));
        noise_shape.push(None);
        Ok(SpatialDropout {
            class_name,
            spatial,
            dropout: Dropout::new(rate, Some(noise_shape), args.opt("seed")?)?,
        })
    }

    /// `x` with whole channels dropped when `training`; `x` itself otherwise.
    pub fn forward<T: Float>(&self, x: &Tensor<T>, training: bool) -> Result<Tensor<T>> {
        super::conv::check_rank(self.class_name, self.spatial, x.shape())?;
        self.dropout.forward(x, training)
    }
}

impl Layer for SpatialDropout {
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        SpatialDropout::forward(self, x, training)
    }
}

impl Layer for Dropout {
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        Dropout::forward(self, x, training)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn zeroes_about_rate_and_scales_the_rest() {
        let d = Dropout::new(0.3, None, Some(1)).unwrap();
        let x = Tensor::<f32>::ones(&[100, 100]).unwrap();
        let y = d.forward(&x, true).unwrap().to_vec();
        let zeros = y.iter().filter(|v| **v == 0.0).count() as f64 / y.len() as f64;
        assert!((zeros - 0.3).abs() < 0.02, "{zeros}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
        assert_eq!(d.forward(&x, false).unwrap().to_vec(), x.to_vec());
    }

    #[test]
    fn seeded_layers_repeat_and_noise_shape_shares_the_mask() {
        let x = Tensor::<f32>::ones(&[4, 6]).unwrap();
        let (a, b) = (
            Dropout::new(0.5, None, Some(9)).unwrap(),
            Dropout::new(0.5, None, Some(9)).unwrap(),
        );
        let first = a.forward(&x, true).unwrap().to_vec();
        assert_eq!(first, b.forward(&x, true).unwrap().to_vec());
        assert_ne!(first, a.forward(&x, true).unwrap().to_vec()); // the stream advances
        let shared = Dropout::new(0.5, Some(vec![Some(1), None]), Some(3)).unwrap();
        let y = shared.forward(&x, true).unwrap().to_vec();
        for row in y.chunks(6) {
            assert_eq!(row, &y[..6]);
        }
        assert!(Dropout::new(0.5, Some(vec![Some(2), None]), None)
            .unwrap()
            .forward(&x, true)
            .is_err());
    }

    #[test]
    fn spatial_dropout_drops_whole_channels() {
        let config = serde_json::json!({"rate": 0.5, "seed": 4});
        let d2 = SpatialDropout::from_config("SpatialDropout2D", &config, 2).unwrap();
        let x = Tensor::<f32>::ones(&[8, 3, 2, 16]).unwrap();
        let y = d2.forward(&x, true).unwrap().to_vec();
        // Every sample's channel is either all zero or all 2 over the 3 x 2 positions.
        for b in 0..8 {
            for c in 0..16 {
                let at = |r: usize, k: usize| y[((b * 3 + r) * 2 + k) * 16 + c];
                let first = at(0, 0);
                assert!(first == 0.0 || first == 2.0);
                assert!((0..3).all(|r| (0..2).all(|k| at(r, k) == first)));
            }
        }
        let dropped = y.iter().filter(|v| **v == 0.0).count();
        assert!(dropped > 0 && dropped < y.len());
        assert_eq!(d2.forward(&x, false).unwrap().to_vec(), x.to_vec());
        let d1 = SpatialDropout::from_config("SpatialDropout1D", &config, 1).unwrap();
        let err = d1.forward(&x, true).err().unwrap().to_string();
        assert!(
            err.contains("SpatialDropout1D") && err.contains("rank 3"),
            "{err}"
        );
        check_grad(&[rand(&[2, 3, 4], 2)], |t| {
            SpatialDropout::from_config("SpatialDropout1D", &config, 1)?.forward(&t[0], true)
        });
        for bad in [
            serde_json::json!({"rate": 1.0}),
            serde_json::json!({"rate": -0.5}),
            serde_json::json!({}),
            serde_json::json!({"rate": 0.5, "data_format": "channels_first"}),
        ] {
            assert!(SpatialDropout::from_config("SpatialDropout2D", &bad, 2).is_err());
        }
    }

    #[test]
    fn gradient_and_bad_rates() {
        let d = Dropout::new(0.4, None, Some(5)).unwrap();
        // A fixed seed per evaluation, so the numeric and analytic passes see one mask.
        check_grad(&[rand(&[3, 4], 1)], |t| {
            Dropout::new(0.4, None, Some(5))
                .unwrap()
                .forward(&t[0], true)
        });
        assert!(d.forward(&rand(&[2], 1), false).is_ok());
        for bad in [-0.1, 1.0, 1.5, f64::NAN] {
            assert!(Dropout::new(bad, None, None).is_err());
        }
    }
}
