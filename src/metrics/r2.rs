//! Keras's `R2Score`: the coefficient of determination of each output of a
//! `(batch, outputs)` regression, optionally aggregated and adjusted for the number of
//! regressors.

use super::confusion::{mean_of, state_buffer};
use super::values::Values;
use super::Metric;
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::losses::squeeze_or_expand_shapes;
use crate::tensor::Tensor;

/// How [`R2Score`] combines the outputs' scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum R2Aggregation {
    /// One score per output (Keras's `class_aggregation=None`).
    PerOutput,
    /// The plain mean of the outputs' scores.
    UniformAverage,
    /// The mean weighted by each output's variance.
    VarianceWeightedAverage,
}

impl R2Aggregation {
    /// Keras's `class_aggregation`: None (JSON null), "uniform_average" or
    /// "variance_weighted_average".
    pub fn parse(name: Option<&str>) -> Result<Self> {
        Ok(match name {
            None => R2Aggregation::PerOutput,
            Some("uniform_average") => R2Aggregation::UniformAverage,
            Some("variance_weighted_average") => R2Aggregation::VarianceWeightedAverage,
            Some(other) => bail!(
                InvalidArgument,
                "R2Score: invalid value for argument `class_aggregation`, expected one of None, \"uniform_average\", \"variance_weighted_average\", got class_aggregation={other:?}"
            ),
        })
    }
}

/// Weighted sums per output, sized by the first batch.
#[derive(Debug, Clone)]
struct Sums {
    outputs: usize,
    sum: Vec<f64>,
    squared_sum: Vec<f64>,
    residual: Vec<f64>,
    count: Vec<f64>,
}

/// Keras's `R2Score`: `1 - sum(w (y - y_pred)^2) / sum(w (y - mean(y))^2)` per output.
#[derive(Debug, Clone)]
pub struct R2Score {
    aggregation: R2Aggregation,
    num_regressors: usize,
    /// Keras's `num_samples`: the number of elements of y_true seen (not of rows).
    num_samples: f64,
    sums: Option<Sums>,
}

impl R2Score {
    /// Keras's `R2Score(class_aggregation, num_regressors)`: `num_regressors` > 0 gives
    /// the adjusted score.
    pub fn new(aggregation: R2Aggregation, num_regressors: usize) -> Self {
        R2Score {
            aggregation,
            num_regressors,
            num_samples: 0.0,
            sums: None,
        }
    }

    pub(crate) fn from_config(c: &Args) -> Result<Self> {
        let aggregation =
            R2Aggregation::parse(c.opt_str("class_aggregation", Some("uniform_average"))?)?;
        Ok(Self::new(
            aggregation,
            c.opt_size("num_regressors")?.unwrap_or(0),
        ))
    }

    /// Whether the adjusted score applies; otherwise Keras warns and falls back to the
    /// plain score. Counts are float32 in Keras.
    fn adjustment(&self) -> Result<Option<(f64, f64)>, &'static str> {
        if self.num_regressors == 0 {
            return Ok(None);
        }
        let (n, p) = (self.num_samples as f32, self.num_regressors as f32);
        if p > n - 1.0 {
            Err("More independent predictors than datapoints in adjusted R2 score. Falling back to standard R2 score.")
        } else if p == n - 1.0 {
            Err("Division by zero in Adjusted R2 score. Falling back to standard R2 score.")
        } else {
            Ok(Some((n as f64, p as f64)))
        }
    }
}

impl Metric for R2Score {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let (ts, ps) = squeeze_or_expand_shapes(y_true.shape(), y_pred.shape(), true);
        let (&[rows, outputs], true) = (ps.as_slice(), ts == ps) else {
            bail!(
                Shape,
                "R2Score: expected 2D inputs of the same shape (batch_size, output_dim), got y_true of shape {} and y_pred of shape {}",
                fmt_shape(y_true.shape()),
                fmt_shape(y_pred.shape())
            );
        };
        let weight = match sample_weight {
            None => None,
            Some(w) => {
                let mut w = Values::of(w);
                if w.rank() == 1 {
                    w.shape.push(1);
                }
                Some(w.broadcast_to(&ps, "sample_weight")?.data)
            }
        };
        let sums = match self.sums.take() {
            Some(s) => s,
            None => {
                let what = || format!("R2Score for {outputs} outputs");
                Sums {
                    outputs,
                    sum: state_buffer(outputs, &what)?,
                    squared_sum: state_buffer(outputs, &what)?,
                    residual: state_buffer(outputs, &what)?,
                    count: state_buffer(outputs, &what)?,
                }
            }
        };
        let built = sums.outputs;
        let sums = self.sums.insert(sums);
        if built != outputs {
            bail!(
                Shape,
                "R2Score: expected inputs of shape (batch_size, {built}) (the number of outputs of the first batch), got {}",
                fmt_shape(y_pred.shape())
            );
        }
        let (t, p) = (y_true.data(), y_pred.data());
        for i in 0..rows * outputs {
            let (c, w) = (i % outputs, weight.as_ref().map_or(1.0, |w| w[i]));
            let (t, p) = (t[i] as f64, p[i] as f64);
            sums.sum[c] += t * w;
            sums.squared_sum[c] += t * t * w;
            sums.residual[c] += (t - p) * (t - p) * w;
            sums.count[c] += w;
        }
        self.num_samples += (rows * outputs) as f64;
        Ok(())
    }

    fn result(&self) -> f64 {
        let scores = self.result_values();
        match self.aggregation {
            R2Aggregation::PerOutput => mean_of(&scores),
            _ => scores[0],
        }
    }

    fn result_values(&self) -> Vec<f64> {
        let (raw, total): (Vec<f64>, Vec<f64>) = match &self.sums {
            None => (Vec::new(), Vec::new()),
            Some(s) => (0..s.outputs)
                .map(|c| {
                    let mean = s.sum[c] / s.count[c];
                    let total = s.squared_sum[c] - s.sum[c] * mean;
                    let raw = 1.0 - s.residual[c] / total;
                    (if raw.is_infinite() { 0.0 } else { raw }, total)
                })
                .unzip(),
        };
        // The mean of no scores is NaN, as in Keras before any data.
        let scores = match self.aggregation {
            R2Aggregation::PerOutput => raw,
            R2Aggregation::UniformAverage => {
                vec![raw.iter().sum::<f64>() / raw.len() as f64]
            }
            R2Aggregation::VarianceWeightedAverage => vec![
                raw.iter().zip(&total).map(|(r, t)| r * t).sum::<f64>() / total.iter().sum::<f64>(),
            ],
        };
        match self.adjustment() {
            Ok(Some((n, p))) => scores
                .into_iter()
                .map(|r| 1.0 - (1.0 - r) * (n - 1.0) / (n - p - 1.0))
                .collect(),
            _ => scores,
        }
    }

    fn result_is_array(&self) -> bool {
        self.aggregation == R2Aggregation::PerOutput
    }

    fn result_warning(&self) -> Option<String> {
        self.adjustment().err().map(str::to_string)
    }

    fn reset(&mut self) {
        self.num_samples = 0.0;
        if let Some(s) = &mut self.sums {
            for v in [
                &mut s.sum,
                &mut s.squared_sum,
                &mut s.residual,
                &mut s.count,
            ] {
                v.fill(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::metrics::testing::matrix as m2;

    #[test]
    fn keras_docstring_value() {
        // R2Score docs: 0.57142854.
        let mut m = R2Score::new(R2Aggregation::UniformAverage, 0);
        m.update(&m2(&[1., 4., 3.], 1), &m2(&[2., 4., 4.], 1), None)
            .unwrap();
        assert!((m.result() - 0.57142854).abs() < 1e-6, "{}", m.result());
        assert!(m.result_warning().is_none());
    }

    #[test]
    fn adjusted_score_and_its_fallback() {
        let yt = m2(&[1., 4., 3., 5., 2.], 1);
        let yp = m2(&[2., 4., 4., 4.5, 2.5], 1);
        let mut plain = R2Score::new(R2Aggregation::UniformAverage, 0);
        let mut adjusted = R2Score::new(R2Aggregation::UniformAverage, 2);
        plain.update(&yt, &yp, None).unwrap();
        adjusted.update(&yt, &yp, None).unwrap();
        let r = plain.result();
        let want = 1.0 - (1.0 - r) * 4.0 / 2.0;
        assert!((adjusted.result() - want).abs() < 1e-12);
        let mut too_many = R2Score::new(R2Aggregation::UniformAverage, 4);
        too_many.update(&yt, &yp, None).unwrap();
        assert_eq!(too_many.result(), r);
        assert!(too_many
            .result_warning()
            .unwrap()
            .contains("Division by zero"));
    }

    #[test]
    fn shapes_must_be_two_dimensional_and_stay_the_same() {
        let mut m = R2Score::new(R2Aggregation::PerOutput, 0);
        let v = Tensor::from_vec(vec![1., 2.], &[2]).unwrap();
        assert!(m.update(&v, &v, None).is_err());
        assert!(m.result_values().is_empty());
        m.update(&m2(&[1., 2.], 2), &m2(&[1., 2.], 2), None)
            .unwrap();
        assert!(m
            .update(&m2(&[1., 2., 3.], 3), &m2(&[1., 2., 3.], 3), None)
            .is_err());
    }
}
