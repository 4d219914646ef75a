//! Keras's `FBetaScore` and `F1Score`: the weighted harmonic mean of precision and
//! recall, per class of a `(batch, classes)` output, optionally averaged.

use super::confusion::{mean_of, state_buffer};
use super::Metric;
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::losses::EPSILON;
use crate::tensor::Tensor;
use serde_json::Value;

/// How [`FBetaScore`] combines the classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FScoreAverage {
    /// One score per class (Keras's `average=None`).
    PerClass,
    /// One score from the counts of all classes pooled.
    Micro,
    /// The unweighted mean of the per-class scores.
    Macro,
    /// The mean of the per-class scores weighted by each class's (weighted) number of
    /// true labels.
    Weighted,
}

impl FScoreAverage {
    /// Keras's `average` argument: None (JSON null), "micro", "macro" or "weighted".
    pub fn parse(class: &str, name: Option<&str>) -> Result<Self> {
        Ok(match name {
            None => FScoreAverage::PerClass,
            Some("micro") => FScoreAverage::Micro,
            Some("macro") => FScoreAverage::Macro,
            Some("weighted") => FScoreAverage::Weighted,
            Some(other) => bail!(
                InvalidArgument,
                "{class}: invalid `average` argument value, expected one of None, \"micro\", \"macro\", \"weighted\", got average={other:?}"
            ),
        })
    }
}

/// Counts per class (one pooled count with `Micro`), sized by the first batch.
#[derive(Debug, Clone)]
struct Counts {
    classes: usize,
    tp: Vec<f64>,
    fp: Vec<f64>,
    fn_: Vec<f64>,
    /// The weighted number of true labels of each class (the `Weighted` average's weights).
    support: Vec<f64>,
}

impl Counts {
    /// Zeroed counts of `classes` classes, pooled into one when `pooled`.
    fn zeros(classes: usize, pooled: bool) -> Result<Self> {
        let n = if pooled { 1 } else { classes };
        let what = || format!("FBetaScore for {classes} classes");
        Ok(Counts {
            classes,
            tp: state_buffer(n, &what)?,
            fp: state_buffer(n, &what)?,
            fn_: state_buffer(n, &what)?,
            support: state_buffer(n, &what)?,
        })
    }
}

/// Keras's `FBetaScore`: `(1 + beta^2) * precision * recall / (beta^2 * precision +
/// recall)`, with predictions binarized by `threshold` (or, when None, by being their
/// row's maximum and nonzero).
#[derive(Debug, Clone)]
pub struct FBetaScore {
    /// "FBetaScore" or "F1Score", for messages.
    class: &'static str,
    average: FScoreAverage,
    beta: f64,
    threshold: Option<f64>,
    counts: Option<Counts>,
}

impl FBetaScore {
    /// Keras's `FBetaScore(average, beta, threshold)`: `beta` > 0 weighs recall against
    /// precision; predictions above `threshold` count as positive (None: the top class of
    /// each row).
    pub fn new(average: FScoreAverage, beta: f64, threshold: Option<f64>) -> Result<Self> {
        Self::named("FBetaScore", average, beta, threshold)
    }

    /// Keras's `F1Score`: `FBetaScore` with `beta=1`.
    pub fn f1(average: FScoreAverage, threshold: Option<f64>) -> Result<Self> {
        Self::named("F1Score", average, 1.0, threshold)
    }

    fn named(
        class: &'static str,
        average: FScoreAverage,
        beta: f64,
        threshold: Option<f64>,
    ) -> Result<Self> {
        if !(beta.is_finite() && beta > 0.0) {
            bail!(
                InvalidArgument,
                "{class}: invalid `beta` argument value, it should be a finite float > 0, got beta={beta}"
            );
        }
        if let Some(t) = threshold {
            if !(t > 0.0 && t <= 1.0) {
                bail!(
                    InvalidArgument,
                    "{class}: invalid `threshold` argument value, it should verify 0 < threshold <= 1, got threshold={t}"
                );
            }
        }
        Ok(FBetaScore {
            class,
            average,
            beta,
            threshold,
            counts: None,
        })
    }

    /// From Keras's config: `beta` and `threshold`, when given, must be floats (not
    /// integers), as Keras requires.
    pub(crate) fn from_config(c: &Args) -> Result<Self> {
        let float = |key: &str| -> Result<Option<f64>> {
            match c.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) if n.is_f64() => Ok(n.as_f64()),
                Some(v) => bail!(
                    InvalidArgument,
                    "{}: invalid `{key}` argument value, it should be a Python float, got {key}={v}",
                    c.owner()
                ),
            }
        };
        let average = FScoreAverage::parse(c.owner(), c.opt_str("average", None)?)?;
        let threshold = float("threshold")?;
        if c.owner() == "F1Score" {
            return Self::f1(average, threshold);
        }
        if c.get("beta").is_some_and(Value::is_null) {
            bail!(
                InvalidArgument,
                "FBetaScore: invalid `beta` argument value, it should be a Python float, got beta=None"
            );
        }
        Self::new(average, float("beta")?.unwrap_or(1.0), threshold)
    }
}

impl Metric for FBetaScore {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let &[batch, classes] = y_pred.shape() else {
            bail!(
                Shape,
                "{}: expected 2D inputs of shape (batch_size, output_dim), got y_pred of shape {} and y_true of shape {}",
                self.class,
                fmt_shape(y_pred.shape()),
                fmt_shape(y_true.shape())
            );
        };
        if y_true.shape() != y_pred.shape() {
            bail!(
                Shape,
                "{}: expected y_true of the shape of y_pred {}, got {}",
                self.class,
                fmt_shape(y_pred.shape()),
                fmt_shape(y_true.shape())
            );
        }
        let weight = match sample_weight {
            None => None,
            Some(w) if w.shape() == [batch] => Some(w.data().to_vec()),
            Some(w) => bail!(
                Shape,
                "{}: expected sample_weight of shape ({batch},), one weight per sample, got {}",
                self.class,
                fmt_shape(w.shape())
            ),
        };
        let (average, threshold) = (self.average, self.threshold.map(|t| t as f32));
        let counts = match self.counts.take() {
            Some(c) => c,
            None => Counts::zeros(classes, average == FScoreAverage::Micro)?,
        };
        let built = counts.classes;
        let counts = self.counts.insert(counts);
        if built != classes {
            bail!(
                Shape,
                "{}: expected y_pred of shape (batch_size, {built}) (the number of classes of the first batch), got {}",
                self.class,
                fmt_shape(y_pred.shape())
            );
        }
        let (truth, pred) = (y_true.data(), y_pred.data());
        let rows = truth
            .chunks(classes.max(1))
            .zip(pred.chunks(classes.max(1)));
        for (r, (truth, pred)) in rows.enumerate() {
            let w = weight.as_ref().map_or(1.0, |w| w[r] as f64);
            // Keras's `max` propagates NaN, so a row holding NaN predicts nothing.
            let row_max = pred.iter().fold(f32::NEG_INFINITY, |m, &p| {
                if p.is_nan() || m.is_nan() {
                    f32::NAN
                } else {
                    m.max(p)
                }
            });
            for (c, (&t, &p)) in truth.iter().zip(pred).enumerate() {
                let positive = match threshold {
                    Some(th) => p > th,
                    None => p >= row_max && p.abs() > 1e-9,
                };
                let (t, p) = (t as f64, f64::from(u8::from(positive)));
                let at = if average == FScoreAverage::Micro {
                    0
                } else {
                    c
                };
                counts.tp[at] += p * t * w;
                counts.fp[at] += p * (1.0 - t) * w;
                counts.fn_[at] += (1.0 - p) * t * w;
                counts.support[at] += t * w;
            }
        }
        Ok(())
    }

    fn result(&self) -> f64 {
        let scores = self.result_values();
        match self.average {
            FScoreAverage::PerClass => mean_of(&scores),
            _ => scores.first().copied().unwrap_or(0.0),
        }
    }

    /// The per-class scores, or the one averaged score.
    fn result_values(&self) -> Vec<f64> {
        let Some(c) = &self.counts else {
            return match self.average {
                FScoreAverage::PerClass => Vec::new(),
                _ => vec![0.0],
            };
        };
        let beta2 = self.beta * self.beta;
        let scores: Vec<f64> = (0..c.tp.len())
            .map(|i| {
                let precision = c.tp[i] / (c.tp[i] + c.fp[i] + EPSILON);
                let recall = c.tp[i] / (c.tp[i] + c.fn_[i] + EPSILON);
                (1.0 + beta2) * precision * recall / (beta2 * precision + recall + EPSILON)
            })
            .collect();
        match self.average {
            FScoreAverage::PerClass | FScoreAverage::Micro => scores,
            FScoreAverage::Macro => vec![mean_of(&scores)],
            FScoreAverage::Weighted => {
                let total = c.support.iter().sum::<f64>() + EPSILON;
                vec![scores
                    .iter()
                    .zip(&c.support)
                    .map(|(s, w)| s * w / total)
                    .sum()]
            }
        }
    }

    fn result_is_array(&self) -> bool {
        self.average == FScoreAverage::PerClass
    }

    fn reset(&mut self) {
        if let Some(c) = &mut self.counts {
            for v in [&mut c.tp, &mut c.fp, &mut c.fn_, &mut c.support] {
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
    fn keras_docstring_values() {
        // F1Score(threshold=0.5) docs: [0.5, 0.8, 0.6666667].
        let yt = m2(&[1., 1., 1., 1., 0., 0., 1., 1., 0.], 3);
        let yp = m2(&[0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.6, 0.8, 0.0], 3);
        let mut m = FBetaScore::new(FScoreAverage::PerClass, 1.0, Some(0.5)).unwrap();
        m.update(&yt, &yp, None).unwrap();
        let want = [0.5, 0.8, 2.0 / 3.0];
        for (got, want) in m.result_values().iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert!(m.result_is_array());
        // FBetaScore(beta=2.0, threshold=0.5) docs: [0.3846154, 0.90909094, 0.8333334].
        let mut m = FBetaScore::new(FScoreAverage::PerClass, 2.0, Some(0.5)).unwrap();
        m.update(&yt, &yp, None).unwrap();
        let want = [0.3846154, 0.90909094, 0.8333334];
        for (got, want) in m.result_values().iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn bad_arguments_and_shapes() {
        assert!(FBetaScore::new(FScoreAverage::Macro, 0.0, None).is_err());
        assert!(FBetaScore::new(FScoreAverage::Macro, 1.0, Some(0.0)).is_err());
        assert!(FBetaScore::new(FScoreAverage::Macro, 1.0, Some(1.5)).is_err());
        assert!(FScoreAverage::parse("F1Score", Some("mean")).is_err());
        let mut m = FBetaScore::new(FScoreAverage::Macro, 1.0, None).unwrap();
        let v = Tensor::from_vec(vec![1., 0.], &[2]).unwrap();
        assert!(m.update(&v, &v, None).is_err());
        m.update(&m2(&[1., 0.], 2), &m2(&[0.3, 0.7], 2), None)
            .unwrap();
        assert!(m
            .update(&m2(&[1., 0., 0.], 3), &m2(&[0.3, 0.7, 0.], 3), None)
            .is_err());
    }
}
