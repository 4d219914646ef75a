//! Activation functions with Keras 3's definitions and defaults, and [`ActivationFn`],
//! the activation a layer config names. Each elementwise activation is one call of the
//! `unary` helper: its forward and its derivative (from the input `x` and output `y`)
//! side by side.

use super::binary::broadcast_zip;
use super::unary::{sigmoid, unary};
use super::Activation;
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::{Float, Tensor};

/// Keras's SELU constants (Klambauer et al., 2017).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// Keras's SELU scale (Klambauer et al., 2017).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// `sqrt(2 / pi)`, of GELU's tanh approximation.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// `1 / sqrt(2 pi)`, the standard normal density at 0.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
const GELU_CUBIC: f64 = 0.044_715;

fn f<T: Float>(v: f64) -> T {
    T::from_f64(v)
}

/// `log(1 + exp(x))` without overflow for large x or loss of precision for very negative x.
fn softplus<T: Float>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

/// Keras 3's hard_sigmoid: `relu6(x + 3) / 6`.
fn hard_sigmoid<T: Float>(x: T) -> T {
    (x + f(3.0)).max(T::zero()).min(f(6.0)) / f(6.0)
}

impl<T: Float> Tensor<T> {
    /// Gaussian error linear unit: `x · Φ(x)` with the normal CDF `Φ(x) = (1 + erf(x/√2)) / 2`
    /// (Keras's default), or with `approximate` its tanh approximation
    /// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    pub fn gelu(&self, approximate: bool) -> Result<Tensor<T>> {
        if approximate {
            let inner = |x: T| f::<T>(SQRT_2_OVER_PI) * (x + f::<T>(GELU_CUBIC) * x * x * x);
            unary(
                self,
                move |x| f::<T>(0.5) * x * (T::one() + inner(x).tanh()),
                move |x, _| {
                    let t = inner(x).tanh();
                    let du = f::<T>(SQRT_2_OVER_PI) * (T::one() + f::<T>(3.0 * GELU_CUBIC) * x * x);
                    f::<T>(0.5) * (T::one() + t) + f::<T>(0.5) * x * (T::one() - t * t) * du
                },
            )
        } else {
            let cdf = |x: T| f::<T>(0.5 * (1.0 + libm::erf(x.to_f64() / std::f64::consts::SQRT_2)));
            unary(
                self,
                move |x| x * cdf(x),
                move |x, _| cdf(x) + x * f::<T>(INV_SQRT_2PI) * (-(x * x) / f(2.0)).exp(),
            )
        }
    }

    /// Sigmoid linear unit (swish): `x · sigmoid(x)`.
    pub fn silu(&self) -> Result<Tensor<T>> {
        unary(
            self,
            |x| x * sigmoid(x),
            |x, _| {
                let s = sigmoid(x);
                s * (T::one() + x * (T::one() - s))
            },
        )
    }

    /// Exponential linear unit: `x` for `x > 0`, else `alpha · (exp(x) - 1)`.
    pub fn elu(&self, alpha: f64) -> Result<Tensor<T>> {
        let a = f::<T>(alpha);
        unary(
            self,
            move |x| if x > T::zero() { x } else { a * x.exp_m1() },
            move |x, _| if x > T::zero() { T::one() } else { a * x.exp() },
        )
    }

    /// Scaled exponential linear unit: `scale · elu(x, alpha)` with Keras's constants.
    pub fn selu(&self) -> Result<Tensor<T>> {
        let (a, s) = (f::<T>(SELU_ALPHA), f::<T>(SELU_SCALE));
        unary(
            self,
            move |x| s * if x > T::zero() { x } else { a * x.exp_m1() },
            move |x, _| s * if x > T::zero() { T::one() } else { a * x.exp() },
        )
    }

    /// `log(1 + exp(x))`, computed stably.
    pub fn softplus(&self) -> Result<Tensor<T>> {
        unary(self, softplus, |x, _| sigmoid(x))
    }

    /// `x` for `x >= 0`, else `negative_slope · x` (Keras's default slope is 0.2).
    pub fn leaky_relu(&self, negative_slope: f64) -> Result<Tensor<T>> {
        let slope = f::<T>(negative_slope);
        unary(
            self,
            move |x| if x >= T::zero() { x } else { slope * x },
            move |x, _| if x > T::zero() { T::one() } else { slope },
        )
    }

    /// Keras's `relu(x, negative_slope, max_value, threshold)`: `x` above `threshold`
    /// (else 0), clipped to `[0, max_value]`, minus `negative_slope · max(threshold - x, 0)`.
    /// With the defaults (0, None, 0) it is `max(x, 0)`.
    pub fn relu_with(
        &self,
        negative_slope: f64,
        max_value: Option<f64>,
        threshold: f64,
    ) -> Result<Tensor<T>> {
        let (slope, top, t) = (
            f::<T>(negative_slope),
            f::<T>(max_value.unwrap_or(f64::INFINITY)),
            f::<T>(threshold),
        );
        unary(
            self,
            move |x| {
                let kept = if x > t { x } else { T::zero() };
                let below = if t > x { t - x } else { T::zero() };
                kept.max(T::zero()).min(top) - slope * below
            },
            move |x, _| {
                let kept = if x > t && x > T::zero() && x < top {
                    T::one()
                } else {
                    T::zero()
                };
                kept + if x < t { slope } else { T::zero() }
            },
        )
    }

    /// Parametric ReLU: `x` for `x > 0`, else `alpha · x`, with a learned `alpha` that
    /// broadcasts against `x` (Keras's PReLU, `relu(x) - alpha · relu(-x)`).
    pub fn prelu(&self, alpha: &Tensor<T>) -> Result<Tensor<T>> {
        let (data, shape) =
            broadcast_zip(
                self,
                alpha,
                "prelu",
                |x, a| {
                    if x > T::zero() {
                        x
                    } else {
                        a * x
                    }
                },
            )?;
        if shape != self.shape() {
            bail!(
                Shape,
                "prelu: alpha of shape {} must broadcast to the input shape {}, got the shape {}",
                fmt_shape(alpha.shape()),
                fmt_shape(self.shape()),
                fmt_shape(&shape)
            );
        }
        Ok(Tensor::from_op(data, shape, &[self, alpha], |a| {
            let [x, alpha] = [&a.inputs[0], &a.inputs[1]];
            // d/dx = 1 where x > 0, else alpha; d/dalpha = min(x, 0), summed over the
            // axes alpha is shared along.
            let (slope, _) =
                broadcast_zip(
                    x,
                    alpha,
                    "prelu",
                    |x, a| {
                        if x > T::zero() {
                            T::one()
                        } else {
                            a
                        }
                    },
                )?;
            let slope = Tensor::from_vec(slope, x.shape())?;
            let dx = a.grad.zip_map(&slope, |g, s| g * s)?;
            let dalpha = a
                .grad
                .zip_map(x, |g, x| if x < T::zero() { g * x } else { T::zero() })?
                .sum_to_shape(alpha.shape())?;
            Ok(vec![Some(dx), Some(dalpha)])
        }))
    }

    /// `min(max(x, 0), 6)`.
    pub fn relu6(&self) -> Result<Tensor<T>> {
        unary(
            self,
            |x| {
                let r = super::unary::relu(x);
                if r > f(6.0) {
                    f(6.0)
                } else {
                    r
                }
            },
            |x, _| {
                if x > T::zero() && x < f(6.0) {
                    T::one()
                } else {
                    T::zero()
                }
            },
        )
    }

    /// `x / (1 + |x|)`.
    pub fn softsign(&self) -> Result<Tensor<T>> {
        unary(
            self,
            |x| x / (T::one() + x.abs()),
            |x, _| (T::one() + x.abs()).powi(-2),
        )
    }

    /// `x · tanh(softplus(x))`.
    pub fn mish(&self) -> Result<Tensor<T>> {
        unary(
            self,
            |x| x * softplus(x).tanh(),
            |x, _| {
                let t = softplus(x).tanh();
                t + x * (T::one() - t * t) * sigmoid(x)
            },
        )
    }

    /// Keras 3's piecewise-linear sigmoid: `relu6(x + 3) / 6`.
    pub fn hard_sigmoid(&self) -> Result<Tensor<T>> {
        unary(self, hard_sigmoid, |x, _| {
            if x > f(-3.0) && x < f(3.0) {
                f(1.0 / 6.0)
            } else {
                T::zero()
            }
        })
    }

    /// `x · hard_sigmoid(x)` (hard swish).
    pub fn hard_silu(&self) -> Result<Tensor<T>> {
        unary(
            self,
            |x| x * hard_sigmoid(x),
            |x, _| {
                if x <= f(-3.0) {
                    T::zero()
                } else if x >= f(3.0) {
                    T::one()
                } else {
                    (x + x + f(3.0)) / f(6.0)
                }
            },
        )
    }

    /// `log(sigmoid(x)) = -softplus(-x)`, computed stably.
    pub fn log_sigmoid(&self) -> Result<Tensor<T>> {
        unary(self, |x| -softplus(-x), |x, _| sigmoid(-x))
    }
}

/// An activation function as a layer config names it (`"relu"`, `"gelu"`, ...), with
/// Keras's default parameters. Softmax and log-softmax act over the last axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ActivationFn {
    /// `x`.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `exp(x) / sum(exp(x))` over the last axis.
    Softmax,
    /// `log(softmax(x))` over the last axis.
    LogSoftmax,
    /// `x · Φ(x)`, Φ the standard normal CDF.
    Gelu {
        /// Use the tanh approximation instead of the exact erf form.
        approximate: bool,
    },
    /// `x · sigmoid(x)`.
    Silu,
    /// `x` for `x > 0`, else `alpha · (exp(x) - 1)`.
    Elu {
        /// The scale of the negative part: outputs approach `-alpha` as `x` falls.
        alpha: f64,
    },
    /// `scale · elu(x, alpha)` with Keras's SELU constants.
    Selu,
    /// `log(1 + exp(x))`.
    Softplus,
    /// `x` for `x > 0`, else `negative_slope · x`.
    LeakyRelu {
        /// The slope for negative inputs.
        negative_slope: f64,
    },
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `exp(x)`.
    Exponential,
    /// `x · tanh(softplus(x))`.
    Mish,
    /// `relu6(x + 3) / 6`.
    HardSigmoid,
    /// `x · hard_sigmoid(x)`.
    HardSilu,
    /// `log(sigmoid(x))`.
    LogSigmoid,
}

/// Every name [`ActivationFn::from_name`] accepts, sorted.
pub const ACTIVATION_NAMES: &[&str] = &[
    "elu",
    "exponential",
    "gelu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
];

impl From<Activation> for ActivationFn {
    fn from(a: Activation) -> Self {
        match a {
            Activation::Linear => ActivationFn::Linear,
            Activation::Relu => ActivationFn::Relu,
            Activation::Sigmoid => ActivationFn::Sigmoid,
            Activation::Tanh => ActivationFn::Tanh,
        }
    }
}

impl ActivationFn {
    /// The activation of a Keras config entry: a name, null (linear), or a serialized
    /// function `{"class_name": "function", "config": "relu", ...}`.
    pub fn from_keras(value: &serde_json::Value) -> Result<Self> {
        match value {
            serde_json::Value::Null => Ok(ActivationFn::Linear),
            serde_json::Value::String(name) => Self::from_name(name),
            serde_json::Value::Object(o) => match o.get("config") {
                Some(serde_json::Value::String(name)) => Self::from_name(name),
                _ => bail!(InvalidArgument, "invalid activation config: {value}"),
            },
            _ => bail!(InvalidArgument, "invalid activation config: {value}"),
        }
    }

    /// The activation Keras calls `name`, with Keras's defaults; `None` is linear.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "linear" | "None" | "" => ActivationFn::Linear,
            "relu" => ActivationFn::Relu,
            "sigmoid" => ActivationFn::Sigmoid,
            "tanh" => ActivationFn::Tanh,
            "softmax" => ActivationFn::Softmax,
            "log_softmax" => ActivationFn::LogSoftmax,
            "gelu" => ActivationFn::Gelu { approximate: false },
            "silu" | "swish" => ActivationFn::Silu,
            "elu" => ActivationFn::Elu { alpha: 1.0 },
            "selu" => ActivationFn::Selu,
            "softplus" => ActivationFn::Softplus,
            "leaky_relu" => ActivationFn::LeakyRelu {
                negative_slope: 0.2,
            },
            "relu6" => ActivationFn::Relu6,
            "softsign" => ActivationFn::Softsign,
            "exponential" => ActivationFn::Exponential,
            "mish" => ActivationFn::Mish,
            "hard_sigmoid" => ActivationFn::HardSigmoid,
            "hard_silu" | "hard_swish" => ActivationFn::HardSilu,
            "log_sigmoid" => ActivationFn::LogSigmoid,
            _ => bail!(
                InvalidArgument,
                "unknown activation: {name:?}; expected one of {}",
                ACTIVATION_NAMES.join(", ")
            ),
        })
    }

    /// The part of this activation that fuses into [`Tensor::linear`], if any.
    pub fn fused(self) -> Option<Activation> {
        match self {
            ActivationFn::Linear => Some(Activation::Linear),
            ActivationFn::Relu => Some(Activation::Relu),
            ActivationFn::Sigmoid => Some(Activation::Sigmoid),
            ActivationFn::Tanh => Some(Activation::Tanh),
            _ => None,
        }
    }

    /// Applies the activation (recorded for autodiff like any op).
    pub fn apply<T: Float>(self, x: &Tensor<T>) -> Result<Tensor<T>> {
        match self {
            ActivationFn::Linear => Ok(x.clone()),
            ActivationFn::Relu => x.relu(),
            ActivationFn::Sigmoid => x.sigmoid(),
            ActivationFn::Tanh => x.tanh(),
            ActivationFn::Softmax => x.softmax(-1),
            ActivationFn::LogSoftmax => x.log_softmax(-1),
            ActivationFn::Gelu { approximate } => x.gelu(approximate),
            ActivationFn::Silu => x.silu(),
            ActivationFn::Elu { alpha } => x.elu(alpha),
            ActivationFn::Selu => x.selu(),
            ActivationFn::Softplus => x.softplus(),
            ActivationFn::LeakyRelu { negative_slope } => x.leaky_relu(negative_slope),
            ActivationFn::Relu6 => x.relu6(),
            ActivationFn::Softsign => x.softsign(),
            ActivationFn::Exponential => x.exp(),
            ActivationFn::Mish => x.mish(),
            ActivationFn::HardSigmoid => x.hard_sigmoid(),
            ActivationFn::HardSilu => x.hard_silu(),
            ActivationFn::LogSigmoid => x.log_sigmoid(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn gradients() {
        // Values in [-4, 4], kept away from the kinks at 0, ±3 and 6 where a
        // piecewise function has no derivative.
        let x = rand(&[3, 5], 11)
            .map(|v| {
                let v = v * 4.0;
                let near_kink = [0.0, -3.0, 3.0].iter().any(|k| (v - k).abs() < 0.05);
                if near_kink {
                    v + 0.2
                } else {
                    v
                }
            })
            .unwrap();
        let wide = x.map(|v| v * 2.0).unwrap(); // reaches past relu6's kink at 6
        check_grad(&[x.clone()], |t| t[0].gelu(false));
        check_grad(&[x.clone()], |t| t[0].gelu(true));
        check_grad(&[x.clone()], |t| t[0].silu());
        check_grad(&[x.clone()], |t| t[0].elu(1.0));
        check_grad(&[x.clone()], |t| t[0].elu(0.5));
        check_grad(&[x.clone()], |t| t[0].selu());
        check_grad(&[x.clone()], |t| t[0].softplus());
        check_grad(&[x.clone()], |t| t[0].leaky_relu(0.2));
        check_grad(&[wide], |t| t[0].relu6());
        check_grad(&[x.clone()], |t| t[0].softsign());
        check_grad(&[x.clone()], |t| t[0].mish());
        check_grad(&[x.clone()], |t| t[0].hard_sigmoid());
        check_grad(&[x.clone()], |t| t[0].hard_silu());
        check_grad(&[x.clone()], |t| t[0].log_sigmoid());
        // Kinks of relu_with at 0, the threshold 0.5 and max_value 2.5 are avoided.
        let spread = rand(&[3, 5], 13)
            .map(|v| {
                let v = v * 4.0;
                let near_kink = [0.0, 0.5, 2.5].iter().any(|k| (v - k).abs() < 0.05);
                if near_kink {
                    v + 0.2
                } else {
                    v
                }
            })
            .unwrap();
        for (slope, max, threshold) in [
            (0.0, None, 0.0),
            (0.3, Some(2.5), 0.0),
            (0.2, None, 0.5),
            (0.1, Some(2.5), 0.5),
        ] {
            check_grad(&[spread.clone()], |t| t[0].relu_with(slope, max, threshold));
        }
        check_grad(&[x.clone(), rand(&[5], 14)], |t| t[0].prelu(&t[1]));
        check_grad(&[x.clone(), rand(&[1, 5], 15)], |t| t[0].prelu(&t[1]));
        check_grad(&[x.clone(), rand(&[3, 1], 16)], |t| t[0].prelu(&t[1]));
        for name in ACTIVATION_NAMES {
            let act = ActivationFn::from_name(name).unwrap();
            check_grad(&[x.clone()], |t| act.apply(&t[0]));
        }
    }

    fn values(x: &[f64], f: impl Fn(&Tensor<f64>) -> Result<Tensor<f64>>) -> Vec<f64> {
        f(&Tensor::from_vec(x.to_vec(), &[x.len()]).unwrap())
            .unwrap()
            .to_vec()
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() <= 1e-9 + 1e-7 * e.abs(), "{a} vs {e}");
        }
    }

    #[test]
    fn forward_values() {
        let x = [-2.0, -0.5, 0.0, 1.0, 7.0];
        // Reference values from Python's math.erf / math.tanh and closed forms.
        assert_close(
            &values(&x, |t| t.gelu(false)),
            &[
                -0.045_500_263_896_358_42,
                -0.154_268_769_362_993_44,
                0.0,
                0.841_344_746_068_542_9,
                6.999_999_999_991_041,
            ],
        );
        assert_close(
            &values(&x, |t| t.gelu(true)),
            &[
                -0.045_402_305_912_224_94,
                -0.154_285_990_174_856_06,
                0.0,
                0.841_191_990_608_276_8,
                7.0,
            ],
        );
        let e = std::f64::consts::E;
        assert_close(&values(&[1.0], |t| t.silu()), &[1.0 / (1.0 + 1.0 / e)]);
        assert_close(&values(&[-1.0, 2.0], |t| t.elu(1.0)), &[1.0 / e - 1.0, 2.0]);
        assert_close(
            &values(&[-1.0, 2.0], |t| t.selu()),
            &[SELU_SCALE * SELU_ALPHA * (1.0 / e - 1.0), SELU_SCALE * 2.0],
        );
        assert_close(
            &values(&[-1000.0, 0.0, 1000.0], |t| t.softplus()),
            &[0.0, std::f64::consts::LN_2, 1000.0],
        );
        assert_close(&values(&[-10.0, 3.0], |t| t.leaky_relu(0.2)), &[-2.0, 3.0]);
        assert_close(&values(&[-1.0, 3.0, 7.0], |t| t.relu6()), &[0.0, 3.0, 6.0]);
        assert_close(&values(&[-3.0, 1.0], |t| t.softsign()), &[-0.75, 0.5]);
        assert_close(
            &values(&[-4.0, 0.0, 1.5, 4.0], |t| t.hard_sigmoid()),
            &[0.0, 0.5, 0.75, 1.0],
        );
        assert_close(
            &values(&[-4.0, 1.5, 4.0], |t| t.hard_silu()),
            &[0.0, 1.125, 4.0],
        );
        assert_close(
            &values(&[-1000.0, 0.0], |t| t.log_sigmoid()),
            &[-1000.0, -std::f64::consts::LN_2],
        );
        // Keras's docstring examples of `relu`.
        let ten = [-10.0, -5.0, 0.0, 5.0, 10.0];
        assert_close(
            &values(&ten, |t| t.relu_with(0.0, None, 0.0)),
            &[0.0, 0.0, 0.0, 5.0, 10.0],
        );
        assert_close(
            &values(&ten, |t| t.relu_with(0.5, None, 0.0)),
            &[-5.0, -2.5, 0.0, 5.0, 10.0],
        );
        assert_close(
            &values(&ten, |t| t.relu_with(0.0, Some(5.0), 0.0)),
            &[0.0, 0.0, 0.0, 5.0, 5.0],
        );
        assert_close(
            &values(&ten, |t| t.relu_with(0.0, None, 5.0)),
            &[0.0, 0.0, 0.0, 0.0, 10.0],
        );
        assert_close(
            &values(&ten, |t| t.relu_with(0.5, Some(10.0), 0.0)),
            &[-5.0, -2.5, 0.0, 5.0, 10.0],
        );
        // Below the threshold the slope applies to (x - threshold).
        assert_close(
            &values(&[1.0, 3.0, 4.0], |t| t.relu_with(0.5, Some(3.5), 2.0)),
            &[-0.5, 3.0, 3.5],
        );
        let x2 = Tensor::<f64>::from_vec(vec![-2.0, 3.0, -4.0, 5.0], &[2, 2]).unwrap();
        let alpha = Tensor::<f64>::from_vec(vec![0.5, 0.25], &[2]).unwrap();
        assert_eq!(
            x2.prelu(&alpha).unwrap().to_vec(),
            vec![-1.0, 3.0, -2.0, 5.0]
        );
        let wide = Tensor::<f64>::zeros(&[3, 2]).unwrap();
        assert!(x2.prelu(&wide).is_err());
        let sp = (1.0 + e).ln();
        assert_close(&values(&[1.0], |t| t.mish()), &[sp.tanh()]);
        // f32 stays finite at the extremes.
        let big = Tensor::<f32>::from_vec(vec![-100.0, 100.0], &[2]).unwrap();
        for name in ACTIVATION_NAMES.iter().filter(|n| **n != "exponential") {
            let y = ActivationFn::from_name(name).unwrap().apply(&big).unwrap();
            assert!(y.to_vec().iter().all(|v| v.is_finite()), "{name}");
        }
    }

    #[test]
    fn names_and_defaults() {
        assert_eq!(
            ActivationFn::from_name("swish").unwrap(),
            ActivationFn::Silu
        );
        assert_eq!(
            ActivationFn::from_name("leaky_relu").unwrap(),
            ActivationFn::LeakyRelu {
                negative_slope: 0.2
            }
        );
        assert_eq!(
            ActivationFn::from_name("gelu").unwrap(),
            ActivationFn::Gelu { approximate: false }
        );
        let err = ActivationFn::from_name("relux").unwrap_err().to_string();
        assert!(err.contains("relux") && err.contains("gelu"), "{err}");
        assert_eq!(ActivationFn::Relu.fused(), Some(Activation::Relu));
        assert_eq!(ActivationFn::Softmax.fused(), None);
    }
}
