//! Weight regularizers with Keras's formulas: `l1 · Σ|w| + l2 · Σw²`.

use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// An L1/L2 penalty on a weight. Keras's `L1`, `L2` and `L1L2` are all this one form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regularizer {
    /// The factor of `Σ|w|`.
    pub l1: f64,
    /// The factor of `Σw²`.
    pub l2: f64,
}

fn check_factor(name: &str, v: f64) -> Result<f64> {
    if !v.is_finite() || v < 0.0 {
        bail!(
            InvalidArgument,
            "regularizer: `{name}` must be a non-negative finite number, got {v}"
        );
    }
    Ok(v)
}

impl Regularizer {
    /// `l1 · Σ|w| + l2 · Σw²`; both factors must be finite and non-negative.
    pub fn new(l1: f64, l2: f64) -> Result<Self> {
        Ok(Regularizer {
            l1: check_factor("l1", l1)?,
            l2: check_factor("l2", l2)?,
        })
    }

    /// The regularizer of a Keras config entry: null, a name (`"l2"`, with Keras's
    /// default factor 0.01) or `{"class_name": "L2", "config": {"l2": 0.01}}`.
    pub fn from_keras(value: &Value) -> Result<Option<Self>> {
        let (class_name, config) = match value {
            Value::Null => return Ok(None),
            Value::String(name) => (name.as_str(), &Value::Null),
            Value::Object(o) => match o.get("class_name") {
                Some(Value::String(c)) => (c.as_str(), o.get("config").unwrap_or(&Value::Null)),
                _ => bail!(
                    InvalidArgument,
                    "invalid regularizer config {value}: expected an object with a `class_name`"
                ),
            },
            _ => bail!(
                InvalidArgument,
                "invalid regularizer config {value}: expected null, a name or an object"
            ),
        };
        let args = Args::new(class_name, config)?;
        let factor = |key: &str, default: f64| args.or::<f64>(key, default);
        let r = match class_name {
            "L1" | "l1" => Regularizer::new(factor("l1", 0.01)?, 0.0)?,
            "L2" | "l2" => Regularizer::new(0.0, factor("l2", 0.01)?)?,
            "L1L2" | "l1_l2" => Regularizer::new(factor("l1", 0.0)?, factor("l2", 0.0)?)?,
            other => bail!(
                InvalidArgument,
                "unknown regularizer: {other:?}; expected one of L1, L2, L1L2 (or l1, l2, l1_l2)"
            ),
        };
        Ok(Some(r))
    }

    /// The penalty on `w`, a scalar recorded for autodiff.
    pub fn penalty<T: Float>(&self, w: &Tensor<T>) -> Result<Tensor<T>> {
        let mut total = Tensor::scalar(T::zero());
        if self.l1 != 0.0 {
            let s = w.abs()?.sum(None, false)?;
            total = total.add(&s.mul(&Tensor::scalar(T::from_f64(self.l1)))?)?;
        }
        if self.l2 != 0.0 {
            let s = w.powf(2.0)?.sum(None, false)?;
            total = total.add(&s.mul(&Tensor::scalar(T::from_f64(self.l2)))?)?;
        }
        Ok(total)
    }
}

/// Sums the penalties of `(regularizer, weight)` pairs; None when no regularizer is set.
pub(crate) fn total_penalty<T: Float>(
    pairs: &[(Option<Regularizer>, Option<&Tensor<T>>)],
) -> Result<Option<Tensor<T>>> {
    let mut total: Option<Tensor<T>> = None;
    for (reg, w) in pairs {
        if let (Some(r), Some(w)) = (reg, w) {
            let p = r.penalty(w)?;
            total = Some(match total {
                Some(t) => t.add(&p)?,
                None => p,
            });
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn keras_configs_and_values() {
        let w = Tensor::<f64>::from_vec(vec![1.0, -2.0, 3.0], &[3]).unwrap();
        let l2 = Regularizer::from_keras(&json!({"class_name": "L2", "config": {"l2": 0.5}}))
            .unwrap()
            .unwrap();
        assert_eq!(l2.penalty(&w).unwrap().item().unwrap(), 7.0);
        let l1 = Regularizer::from_keras(&json!("l1")).unwrap().unwrap();
        assert!((l1.penalty(&w).unwrap().item().unwrap() - 0.06).abs() < 1e-12);
        let both = Regularizer::from_keras(
            &json!({"class_name": "L1L2", "config": {"l1": 1.0, "l2": 1.0}}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(both.penalty(&w).unwrap().item().unwrap(), 20.0);
        assert_eq!(Regularizer::from_keras(&Value::Null).unwrap(), None);
        assert!(
            Regularizer::from_keras(&json!({"class_name": "L2", "config": {"l2": -1.0}})).is_err()
        );
        assert!(Regularizer::from_keras(&json!("l3")).is_err());
    }

    #[test]
    fn gradient() {
        let r = Regularizer::new(0.3, 0.7).unwrap();
        let w = rand(&[3, 4], 2)
            .map(|v| if v.abs() < 0.05 { 0.4 } else { v })
            .unwrap();
        check_grad(&[w], |t| r.penalty(&t[0]));
    }
}
