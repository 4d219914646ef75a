//! Weight initializers, with Keras's names and formulas.

use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// How to fill a new weight. Fans are computed from a Keras-layout kernel shape
/// `(fan_in, fan_out)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    /// All zeros (Keras's `zeros`).
    Zeros,
    /// All ones (Keras's `ones`).
    Ones,
    /// Every element set to the value (Keras's `Constant`).
    Constant(f64),
    /// Uniform on `[min, max)` (Keras's `RandomUniform`, by default ±0.05).
    RandomUniform {
        /// The lower bound.
        min: f64,
        /// The upper bound (excluded).
        max: f64,
    },
    /// Normal with `mean` and `stddev` (Keras's `RandomNormal`, by default 0 and 0.05).
    RandomNormal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        stddev: f64,
    },
    /// Normal with `mean` and `stddev`, redrawn beyond two standard deviations (Keras's
    /// `TruncatedNormal`).
    TruncatedNormal {
        /// The mean.
        mean: f64,
        /// The standard deviation before truncation.
        stddev: f64,
    },
    /// Uniform on `±sqrt(6 / (fan_in + fan_out))` (Keras's `glorot_uniform`).
    GlorotUniform,
    /// Truncated normal of variance `2 / (fan_in + fan_out)` (Keras's `glorot_normal`).
    GlorotNormal,
    /// Uniform on `±sqrt(6 / fan_in)` (Keras's `he_uniform`).
    HeUniform,
    /// Truncated normal of variance `2 / fan_in` (Keras's `he_normal`).
    HeNormal,
    /// Uniform on `±sqrt(3 / fan_in)` (Keras's `lecun_uniform`).
    LecunUniform,
    /// Truncated normal of variance `1 / fan_in` (Keras's `lecun_normal`).
    LecunNormal,
}

/// A new variable of `shape` drawn by the initializer a layer's `args` give under `key`
/// (Keras's name or serialized form), or by `default` when the key is not given.
pub(crate) fn new_variable(
    args: &Args,
    key: &str,
    default: &str,
    shape: &[usize],
    (fan_in, fan_out): (usize, usize),
) -> Result<Tensor> {
    let spec = match args.given(key) {
        None => Value::String(default.to_string()),
        Some(v) => v.clone(),
    };
    let (init, seed) = Initializer::from_keras(&spec)?;
    Ok(init
        .sample_seeded::<f32>(shape, fan_in, fan_out, seed)?
        .to_variable())
}

/// Keras's names of the initializers, aliases included, with the class each names:
/// the one list that the Rust registry and the Python package read.
pub const INITIALIZER_NAMES: &[(&str, &str)] = &[
    ("zeros", "Zeros"),
    ("zero", "Zeros"),
    ("ones", "Ones"),
    ("one", "Ones"),
    ("constant", "Constant"),
    ("random_uniform", "RandomUniform"),
    ("uniform", "RandomUniform"),
    ("random_normal", "RandomNormal"),
    ("normal", "RandomNormal"),
    ("truncated_normal", "TruncatedNormal"),
    ("glorot_uniform", "GlorotUniform"),
    ("glorot_normal", "GlorotNormal"),
    ("he_uniform", "HeUniform"),
    ("he_normal", "HeNormal"),
    ("lecun_uniform", "LecunUniform"),
    ("lecun_normal", "LecunNormal"),
];

/// Keras's `scale / (stddev of a normal truncated at ±2)`, for the variance-scaling family.
const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;

impl Initializer {
    /// The initializer Keras calls `name` ([`INITIALIZER_NAMES`]), with its class's
    /// defaults.
    pub fn from_name(name: &str) -> Result<Self> {
        match INITIALIZER_NAMES.iter().find(|(n, _)| *n == name) {
            Some((_, class)) => {
                Ok(Self::from_keras(&serde_json::json!({ "class_name": class }))?.0)
            }
            None => bail!(
                InvalidArgument,
                "unknown initializer: {name:?}; expected one of {}",
                INITIALIZER_NAMES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The initializer of a Keras config entry: a name (`"glorot_uniform"`) or a
    /// serialized object `{"class_name": "RandomNormal", "config": {"mean": 0.0, ...}}`;
    /// also returns its `seed`, if any.
    pub fn from_keras(value: &Value) -> Result<(Self, Option<u64>)> {
        let (class_name, config) = match value {
            Value::String(name) => return Ok((Self::from_name(name)?, None)),
            Value::Object(o) => match o.get("class_name") {
                Some(Value::String(c)) => (c.as_str(), o.get("config").unwrap_or(&Value::Null)),
                _ => bail!(
                    InvalidArgument,
                    "invalid initializer config {value}: expected a name or an object with a `class_name`"
                ),
            },
            _ => bail!(
                InvalidArgument,
                "invalid initializer config {value}: expected a name or an object with a `class_name`"
            ),
        };
        let args = Args::new(class_name, config)?;
        let num = |key: &str, default: f64| args.or::<f64>(key, default);
        let seed = args.opt::<u64>("seed")?;
        let init = match class_name {
            "Zeros" => Initializer::Zeros,
            "Ones" => Initializer::Ones,
            "Constant" => Initializer::Constant(num("value", 0.0)?),
            "RandomUniform" => Initializer::RandomUniform {
                min: num("minval", -0.05)?,
                max: num("maxval", 0.05)?,
            },
            "RandomNormal" => Initializer::RandomNormal {
                mean: num("mean", 0.0)?,
                stddev: num("stddev", 0.05)?,
            },
            "TruncatedNormal" => Initializer::TruncatedNormal {
                mean: num("mean", 0.0)?,
                stddev: num("stddev", 0.05)?,
            },
            "GlorotUniform" => Initializer::GlorotUniform,
            "GlorotNormal" => Initializer::GlorotNormal,
            "HeUniform" => Initializer::HeUniform,
            "HeNormal" => Initializer::HeNormal,
            "LecunUniform" => Initializer::LecunUniform,
            "LecunNormal" => Initializer::LecunNormal,
            other => Self::from_name(other)?,
        };
        Ok((init, seed))
    }

    /// [`Initializer::sample`], from a generator seeded with `seed` when given (the same
    /// values on every call, as a seeded Keras initializer) or else the global one.
    pub fn sample_seeded<T: Float>(
        &self,
        shape: &[usize],
        fan_in: usize,
        fan_out: usize,
        seed: Option<u64>,
    ) -> Result<Tensor<T>> {
        match seed {
            Some(s) => crate::tensor::random::with_seed(s, || self.sample(shape, fan_in, fan_out)),
            None => self.sample(shape, fan_in, fan_out),
        }
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
            Initializer::TruncatedNormal { mean, stddev } => {
                Tensor::rand_truncated_normal(shape, mean, stddev)
            }
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
    use serde_json::json;

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

    #[test]
    fn from_keras_configs_and_seeds() {
        let (init, seed) = Initializer::from_keras(&json!({
            "class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5, "seed": 7}
        }))
        .unwrap();
        assert_eq!(
            init,
            Initializer::RandomNormal {
                mean: 1.0,
                stddev: 0.5
            }
        );
        assert_eq!(seed, Some(7));
        let draw = || {
            init.sample_seeded::<f32>(&[5], 5, 5, seed)
                .unwrap()
                .to_vec()
        };
        assert_eq!(draw(), draw());
        assert_eq!(
            Initializer::from_keras(&json!("uniform")).unwrap().0,
            Initializer::RandomUniform {
                min: -0.05,
                max: 0.05
            }
        );
        let (c, _) =
            Initializer::from_keras(&json!({"class_name": "Constant", "config": {"value": 2.5}}))
                .unwrap();
        assert_eq!(
            c.sample::<f32>(&[2], 1, 1).unwrap().to_vec(),
            vec![2.5, 2.5]
        );
        assert!(Initializer::from_keras(&json!({"class_name": "Nope", "config": {}})).is_err());
        assert!(Initializer::from_keras(&json!(3)).is_err());
    }
}
