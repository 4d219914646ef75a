//! UnitNormalization: each sample scaled to unit L2 norm over the given axes.

use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Keras's `ops.normalize(x, axis, order=2, epsilon=1e-12)`:
/// `x · min(1 / sqrt(Σx²), 1 / epsilon)` over `axes`.
pub struct UnitNormalization {
    /// The axes whose L2 norm becomes 1 (Keras's `axis`, default -1).
    pub axes: Vec<isize>,
}

/// The smallest norm that still scales by `1 / norm`; below it the scale is `1 / EPSILON`.
const EPSILON: f64 = 1e-12;

impl UnitNormalization {
    /// The layer of a Keras `UnitNormalization` config (`axis`: an int or a list).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("UnitNormalization", config)?;
        Ok(UnitNormalization {
            axes: args.one_or_list("axis", vec![-1])?,
        })
    }

    /// `x` scaled to unit L2 norm over `axes`.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let squares = x.mul(x)?.sum(Some(&self.axes), true)?;
        // rsqrt(max(s, eps²)) is min(rsqrt(s), 1/eps), and its gradient stays finite
        // where s is 0.
        let inv_norm = squares.clip(EPSILON * EPSILON, f64::INFINITY)?.powf(-0.5)?;
        x.mul(&inv_norm)
    }
}

impl Layer for UnitNormalization {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        UnitNormalization::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn unit_norm_rows_zero_rows_and_gradients() {
        let layer = UnitNormalization::from_config(&json!({"axis": -1})).unwrap();
        let x = Tensor::<f64>::from_vec(vec![3.0, 4.0, 0.0, 0.0], &[2, 2]).unwrap();
        let y = layer.forward(&x).unwrap().to_vec();
        for (a, b) in y.iter().zip([0.6, 0.8, 0.0, 0.0]) {
            assert!((a - b).abs() < 1e-15);
        }
        check_grad(&[rand(&[3, 4], 1)], |t| layer.forward(&t[0]));
        let both = UnitNormalization::from_config(&json!({"axis": [1, 2]})).unwrap();
        let y = both.forward(&rand(&[2, 3, 2], 4)).unwrap().to_vec();
        for sample in y.chunks(6) {
            assert!((sample.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12);
        }
        check_grad(&[rand(&[2, 3, 2], 4)], |t| both.forward(&t[0]));
        // A zero sample's gradient is the finite 1/epsilon scale, not NaN.
        let zero = Tensor::<f64>::zeros(&[1, 2]).unwrap().to_variable();
        let loss = layer.forward(&zero).unwrap().sum(None, false).unwrap();
        let g = crate::grad(&loss, &[zero]).unwrap()[0].to_vec();
        assert!(g.iter().all(|v| (v / 1e12 - 1.0).abs() < 1e-12), "{g:?}");
        assert!(UnitNormalization::from_config(&json!({"axis": 3}))
            .unwrap()
            .forward(&x)
            .is_err());
    }
}
