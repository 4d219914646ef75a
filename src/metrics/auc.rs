//! Keras's `AUC`: the area under the ROC, PR or PR-gain curve, approximated by a sum
//! over the confusion matrices at thresholds; one curve, or one per label
//! (`multi_label`) averaged.

use super::confusion::{divide_no_nan, Batch, ConfusionMatrix, Thresholds};
use super::values::Values;
use super::Metric;
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::tensor::Tensor;

/// Which curve [`Auc`] integrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AucCurve {
    /// The receiver operating characteristic: true against false positive rate.
    Roc,
    /// Precision against recall.
    Pr,
    /// Precision-recall gain (Flach & Kull 2015).
    PrGain,
}

impl AucCurve {
    /// Keras's `AUCCurve.from_str`.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "ROC" | "roc" => AucCurve::Roc,
            "PR" | "pr" => AucCurve::Pr,
            "PRGAIN" | "prgain" => AucCurve::PrGain,
            other => bail!(
                InvalidArgument,
                "AUC: invalid curve {other:?}, expected one of \"ROC\", \"PR\", \"PRGAIN\""
            ),
        })
    }
}

/// Keras's AUC summation methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AucSummation {
    /// Mid-point heights; for the PR curve, Davis & Goadrich's interpolation instead.
    Interpolation,
    /// The lower of the two heights.
    Minoring,
    /// The higher of the two heights.
    Majoring,
}

impl AucSummation {
    /// Keras's `AUCSummationMethod.from_str`.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "interpolation" | "Interpolation" => AucSummation::Interpolation,
            "minoring" | "Minoring" => AucSummation::Minoring,
            "majoring" | "Majoring" => AucSummation::Majoring,
            other => bail!(
                InvalidArgument,
                "AUC: invalid summation_method {other:?}, expected one of \"interpolation\", \"majoring\", \"minoring\""
            ),
        })
    }
}

/// The arguments of Keras's `AUC`; `Default` gives Keras's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AucConfig {
    /// How many evenly spaced thresholds (Keras's default 200).
    pub num_thresholds: usize,
    /// Which curve to integrate (default ROC).
    pub curve: AucCurve,
    /// How the area is summed (default interpolation).
    pub summation_method: AucSummation,
    /// Thresholds in [0, 1] to use instead of `num_thresholds` evenly spaced ones.
    pub thresholds: Option<Vec<f64>>,
    /// One curve per label (y_pred of shape `(batch, labels)`), averaged.
    pub multi_label: bool,
    /// The number of labels with `multi_label`; otherwise taken from the first batch.
    pub num_labels: Option<usize>,
    /// Per-label weights: of the average of the per-label areas with `multi_label`,
    /// else of the predictions of each label.
    pub label_weights: Option<Vec<f64>>,
    /// Predictions are logits (a sigmoid maps them to probabilities first).
    pub from_logits: bool,
}

impl Default for AucConfig {
    fn default() -> Self {
        AucConfig {
            num_thresholds: 200,
            curve: AucCurve::Roc,
            summation_method: AucSummation::Interpolation,
            thresholds: None,
            multi_label: false,
            num_labels: None,
            label_weights: None,
            from_logits: false,
        }
    }
}

/// Area under the ROC, PR or PR-gain curve (Keras's `AUC`).
#[derive(Debug, Clone)]
pub struct Auc {
    config: AucConfig,
    thresholds: Thresholds,
    /// None until the number of labels is known (multi-label without `num_labels`).
    cm: Option<ConfusionMatrix>,
}

/// The logistic function in float32, without overflow.
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Auc {
    /// `thresholds` (in [0, 1]) overrides `num_thresholds`; either way the thresholds get
    /// the end points `-EPSILON` and `1 + EPSILON`.
    pub fn new(mut config: AucConfig) -> Result<Self> {
        let thresholds = match &mut config.thresholds {
            Some(t) => {
                let thresholds = Thresholds::with_ends("AUC", t)?;
                config.num_thresholds = thresholds.len();
                thresholds
            }
            None => {
                if config.num_thresholds <= 1 {
                    bail!(
                        InvalidArgument,
                        "AUC: argument `num_thresholds` must be an integer > 1, got num_thresholds={}",
                        config.num_thresholds
                    );
                }
                Thresholds::evenly(config.num_thresholds, true)
            }
        };
        // Keras treats num_labels=0 as not given.
        config.num_labels = config.num_labels.filter(|&n| n > 0);
        let mut auc = Auc {
            config,
            thresholds,
            cm: None,
        };
        match (auc.config.multi_label, auc.config.num_labels) {
            (false, Some(_)) => bail!(
                InvalidArgument,
                "AUC: `num_labels` is needed only when `multi_label` is True, got num_labels={}",
                auc.config.num_labels.unwrap_or(0)
            ),
            (false, None) => auc.build(1)?,
            (true, Some(labels)) => auc.build(labels)?,
            (true, None) => {}
        }
        Ok(auc)
    }

    pub(crate) fn from_config(c: &Args) -> Result<Self> {
        Auc::new(AucConfig {
            num_thresholds: c.opt_size("num_thresholds")?.unwrap_or(200),
            curve: AucCurve::parse(c.opt_str("curve", Some("ROC"))?.unwrap_or("None"))?,
            summation_method: AucSummation::parse(
                c.opt_str("summation_method", Some("interpolation"))?
                    .unwrap_or("None"),
            )?,
            thresholds: c.opt_numbers("thresholds")?,
            multi_label: c.bool("multi_label", false)?,
            num_labels: c.opt_size("num_labels")?,
            label_weights: c.opt_numbers("label_weights")?,
            from_logits: c.bool("from_logits", false)?,
        })
    }

    /// Allocates the confusion matrix for `labels` labels.
    fn build(&mut self, labels: usize) -> Result<()> {
        if let (true, Some(w)) = (self.config.multi_label, &self.config.label_weights) {
            if w.len() != labels {
                bail!(
                    Shape,
                    "AUC: expected one label weight per label ({labels}), got label_weights of length {}",
                    w.len()
                );
            }
        }
        let num_thresholds = self.config.num_thresholds;
        let what = || format!("AUC(num_thresholds={num_thresholds}, labels={labels})");
        self.cm = Some(ConfusionMatrix::new(&self.thresholds, labels, &what)?);
        Ok(())
    }

    /// The area under one label's curve.
    fn area(&self, cm: &ConfusionMatrix, label: usize) -> f64 {
        let (n, labels) = (cm.num_thresholds(), cm.labels());
        let at = |v: &[f64], i: usize| v[i * labels + label];
        let (tp, fp, tn, fn_) = (
            |i| at(&cm.tp, i),
            |i| at(&cm.fp, i),
            |i| at(&cm.tn, i),
            |i| at(&cm.fn_, i),
        );
        let (curve, summation) = (self.config.curve, self.config.summation_method);
        if curve == AucCurve::Pr && summation == AucSummation::Interpolation {
            return interpolate_pr_auc(n, tp, fp, fn_);
        }
        let recall = |i| divide_no_nan(tp(i), tp(i) + fn_(i));
        let point = |i: usize| -> (f64, f64) {
            match curve {
                AucCurve::Roc => (divide_no_nan(fp(i), fp(i) + tn(i)), recall(i)),
                AucCurve::Pr => (recall(i), divide_no_nan(tp(i), tp(i) + fp(i))),
                AucCurve::PrGain => {
                    let scaling = divide_no_nan(tp(i) + fn_(i), tn(i) + fp(i));
                    if tp(i) == 0.0 {
                        (0.0, 1.0)
                    } else {
                        let recall_gain = 1.0 - scaling * divide_no_nan(fn_(i), tp(i));
                        let precision_gain = 1.0 - scaling * divide_no_nan(fp(i), tp(i));
                        (recall_gain.max(0.0), precision_gain)
                    }
                }
            }
        };
        let mut sum = 0.0;
        let mut a = point(0);
        for i in 1..n {
            let b = point(i);
            let height = match summation {
                AucSummation::Interpolation => (a.1 + b.1) / 2.0,
                AucSummation::Minoring => a.1.min(b.1),
                AucSummation::Majoring => a.1.max(b.1),
            };
            sum += (a.0 - b.0) * height;
            a = b;
        }
        sum
    }
}

/// Keras's `interpolate_pr_auc` (Davis & Goadrich 2006): within each interval between
/// thresholds, true positives and predicted positives vary linearly, and precision is
/// integrated in closed form.
fn interpolate_pr_auc(
    n: usize,
    tp: impl Fn(usize) -> f64,
    fp: impl Fn(usize) -> f64,
    fn_: impl Fn(usize) -> f64,
) -> f64 {
    let p = |i| tp(i) + fp(i);
    (0..n - 1)
        .map(|i| {
            let dtp = tp(i) - tp(i + 1);
            let dp = p(i) - p(i + 1);
            let slope = divide_no_nan(dtp, dp.max(0.0));
            let intercept = tp(i + 1) - slope * p(i + 1);
            let ratio = if p(i) > 0.0 && p(i + 1) > 0.0 {
                divide_no_nan(p(i), p(i + 1).max(0.0))
            } else {
                1.0
            };
            divide_no_nan(
                slope * (dtp + intercept * ratio.ln()),
                (tp(i + 1) + fn_(i + 1)).max(0.0),
            )
        })
        .sum()
}

impl Metric for Auc {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let from_logits = self.config.from_logits;
        let mut batch = Batch::new(y_true, y_pred, sample_weight, None, None, |p| {
            if from_logits {
                sigmoid(p)
            } else {
                p
            }
        })?;
        if self.config.multi_label {
            let &[_, labels] = y_pred.shape() else {
                bail!(
                    Shape,
                    "AUC: y_pred must have rank 2, (batch, labels), when multi_label=True, got y_pred of shape {}",
                    fmt_shape(y_pred.shape())
                );
            };
            if self.cm.is_none() {
                self.build(labels)?;
            }
            let built = self.cm.as_ref().map_or(0, ConfusionMatrix::labels);
            if built != labels {
                bail!(
                    Shape,
                    "AUC: expected y_pred of shape (batch, {built}) (the number of labels of the first batch or num_labels), got {}",
                    fmt_shape(y_pred.shape())
                );
            }
        } else if let Some(w) = &self.config.label_weights {
            let w = Values::new(vec![1, w.len()], w.clone());
            batch.scale_weights(&w, "label_weights")?;
        }
        if let Some(cm) = &mut self.cm {
            cm.update(&batch);
        }
        Ok(())
    }

    fn result(&self) -> f64 {
        let Some(cm) = &self.cm else {
            return 0.0;
        };
        if !self.config.multi_label {
            return self.area(cm, 0);
        }
        let areas = (0..cm.labels()).map(|label| self.area(cm, label));
        match &self.config.label_weights {
            None => areas.sum::<f64>() / cm.labels() as f64,
            Some(w) => divide_no_nan(areas.zip(w).map(|(a, w)| a * w).sum(), w.iter().sum()),
        }
    }

    fn reset(&mut self) {
        if let Some(cm) = &mut self.cm {
            cm.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::metrics::testing::{close, vector as t};

    fn auc(num_thresholds: usize) -> Result<Auc> {
        Auc::new(AucConfig {
            num_thresholds,
            ..AucConfig::default()
        })
    }

    #[test]
    fn keras_docstring_values() {
        let (yt, yp) = (t(&[0., 0., 1., 1.]), t(&[0., 0.5, 0.3, 0.9]));
        let mut m = auc(3).unwrap();
        m.update(&yt, &yp, None).unwrap();
        let cm = m.cm.as_ref().unwrap();
        assert_eq!(cm.tp, vec![2., 1., 0.]);
        assert_eq!(cm.fp, vec![2., 0., 0.]);
        close(m.result(), 0.75);
        m.reset();
        m.update(&yt, &yp, Some(&t(&[1., 0., 0., 1.]))).unwrap();
        close(m.result(), 1.0);
        assert!(auc(1).is_err());
    }

    #[test]
    fn multi_label_averages_per_label_areas() {
        let yt = Tensor::from_vec(vec![0., 1., 0., 0., 1., 1., 1., 0.], &[4, 2]).unwrap();
        let yp = Tensor::from_vec(vec![0.1, 0.8, 0.4, 0.3, 0.35, 0.7, 0.8, 0.2], &[4, 2]).unwrap();
        let column = |c: usize| {
            let pick = |x: &Tensor| {
                t(&x.data()
                    .iter()
                    .skip(c)
                    .step_by(2)
                    .copied()
                    .collect::<Vec<_>>())
            };
            let mut m = auc(50).unwrap();
            m.update(&pick(&yt), &pick(&yp), None).unwrap();
            m.result()
        };
        let (a, b) = (column(0), column(1));
        let mut m = Auc::new(AucConfig {
            num_thresholds: 50,
            multi_label: true,
            ..AucConfig::default()
        })
        .unwrap();
        m.update(&yt, &yp, None).unwrap();
        close(m.result(), (a + b) / 2.0);
        let mut weighted = Auc::new(AucConfig {
            num_thresholds: 50,
            multi_label: true,
            num_labels: Some(2),
            label_weights: Some(vec![1.0, 3.0]),
            ..AucConfig::default()
        })
        .unwrap();
        weighted.update(&yt, &yp, None).unwrap();
        close(weighted.result(), (a + 3.0 * b) / 4.0);
        let three = Tensor::from_vec(vec![0.5; 3], &[1, 3]).unwrap();
        assert!(weighted.update(&three, &three, None).is_err());
    }

    #[test]
    fn huge_num_thresholds_is_an_allocation_error() {
        for n in [1usize << 40, 1 << 62, usize::MAX] {
            let err = auc(n).unwrap_err();
            assert!(matches!(err, crate::Error::Allocation(_)), "{err}");
        }
        let err = Auc::new(AucConfig {
            num_thresholds: 1 << 20,
            multi_label: true,
            num_labels: Some(1 << 40),
            ..AucConfig::default()
        })
        .unwrap_err();
        assert!(matches!(err, crate::Error::Allocation(_)), "{err}");
    }
}
