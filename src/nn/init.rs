//! Weight initializers, with Keras's names and formulas.

use crate::bail;
use crate::error::Result;
use crate::tensor::{Float, Tensor};

/// How to fill a new weight. Fans are computed from a Keras-layout kernel shape
/// `(fan_in, fan_out)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    Zeros,
    Ones,
    Constant(f64),
    RandomUniform { min: f64, max: f64 },
    RandomNormal { mean: f64, stddev: f64 },
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunUniform,
    LecunNormal,
}

/// Keras's `scale / (stddev of a normal truncated at ±2)`, for the variance-scaling family.
const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;

impl Initializer {
    /// The initializer Keras calls `name`.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            "random_uniform" => Initializer::RandomUniform { min: -0.05, max: 0.05 },
            "random_normal" => Initializer::RandomNormal { mean: 0.0, stddev: 0.05 },
            "glorot_uniform" => Initializer::GlorotUniform,
            "glorot_normal" => Initializer::GlorotNormal,
            "he_uniform" => Initializer::HeUniform,
            "he_normal" => Initializer::HeNormal,
            "lecun_uniform" => Initializer::LecunUniform,
            "lecun_normal" => Initializer::LecunNormal,
            _ => bail!(
                InvalidArgument,
                "unknown initializer: {name:?}; expected one of zeros, ones, random_uniform, random_normal, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal"
            ),
        })
    }

    /// A tensor of `shape` whose fans are `(fan_in, fan_out)`.
    pub fn sample<T: Float>(
        &self,
        shape: &[usize],
        fan_in: usize,
        fan_out: usize,
    ) -> Result<Tensor<T>> {
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        let uniform = |scale: f64| {
            let limit = (3.0 * scale).sqrt();
            Tensor::rand_uniform(shape, -limit, limit)
        };
        let normal =
            |scale: f64| Tensor::rand_truncated_normal(shape, 0.0, scale.sqrt() / TRUNCATED_STD);
        match *self {
            Initializer::Zeros => Tensor::zeros(shape),
            Initializer::Ones => Tensor::ones(shape),
            Initializer::Constant(v) => Tensor::full(shape, T::from_f64(v)),
            Initializer::RandomUniform { min, max } => Tensor::rand_uniform(shape, min, max),
            Initializer::RandomNormal { mean, stddev } => Tensor::rand_normal(shape, mean, stddev),
            Initializer::GlorotUniform => uniform(2.0 / (fi + fo)),
            Initializer::GlorotNormal => normal(2.0 / (fi + fo)),
            Initializer::HeUniform => uniform(2.0 / fi),
            Initializer::HeNormal => normal(2.0 / fi),
            Initializer::LecunUniform => uniform(1.0 / fi),
            Initializer::LecunNormal => normal(1.0 / fi),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_uniform_limit() {
        let w: Tensor<f32> = Initializer::GlorotUniform
            .sample(&[300, 400], 400, 300)
            .unwrap();
        let limit = (6.0f32 / 700.0).sqrt();
        let v = w.to_vec();
        assert!(v.iter().all(|x| x.abs() <= limit));
        let std = (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        assert!((std - limit / 3f32.sqrt()).abs() < 0.02 * limit);
        assert!(Initializer::from_name("nope").is_err());
    }
}
