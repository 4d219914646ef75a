//! Metrics from confusion matrices at thresholds: Precision, Recall, AUC, following
//! Keras's `update_confusion_matrix_variables` (including its bucketed path for evenly
//! spaced thresholds, which clips predictions to [0, 1]).

use super::values::Values;
use super::Metric;
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::losses::{squeeze_or_expand_shapes, EPSILON};
use crate::tensor::Tensor;

/// Keras's `NEG_INF`: the default threshold with `top_k`, and the value of filtered-out
/// predictions.
pub const NEG_INF: f64 = -1e10;

/// Keras's `is_evenly_distributed_thresholds`: at least 3 values, `allclose` to
/// `arange(n) / (n - 1)` (computed in float32) with atol 1e-7.
fn is_evenly_distributed(thresholds: &[f64]) -> bool {
    let n = thresholds.len();
    n >= 3
        && thresholds.iter().enumerate().all(|(i, &t)| {
            let even = (i as f32 / (n - 1) as f32) as f64;
            (t - even).abs() <= EPSILON + 1e-5 * even.abs()
        })
}

/// True/false positives and negatives at each threshold, weighted, in f64.
#[derive(Debug, Clone)]
pub(crate) struct ConfusionMatrix {
    /// The thresholds as float32 (what predictions are compared with).
    thresholds: Vec<f32>,
    evenly: bool,
    with_epsilon: bool,
    pub tp: Vec<f64>,
    pub fp: Vec<f64>,
    pub tn: Vec<f64>,
    pub fn_: Vec<f64>,
}

impl ConfusionMatrix {
    fn new(thresholds: &[f64], evenly: bool) -> Self {
        let n = thresholds.len();
        ConfusionMatrix {
            thresholds: thresholds.iter().map(|&t| t as f32).collect(),
            evenly,
            with_epsilon: evenly && (thresholds[0] < 0.0 || thresholds[n - 1] > 1.0),
            tp: vec![0.0; n],
            fp: vec![0.0; n],
            tn: vec![0.0; n],
            fn_: vec![0.0; n],
        }
    }

    fn reset(&mut self) {
        for v in [&mut self.tp, &mut self.fp, &mut self.tn, &mut self.fn_] {
            v.fill(0.0);
        }
    }

    /// Accumulates one batch. `prepare` maps predictions first (e.g. a sigmoid).
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
        top_k: Option<usize>,
        class_id: Option<usize>,
        prepare: impl Fn(f32) -> f32,
    ) -> Result<()> {
        let (ps, ts) = squeeze_or_expand_shapes(y_pred.shape(), y_true.shape(), true);
        if ps != ts {
            bail!(
                Shape,
                "confusion matrix: y_true of shape {} and y_pred of shape {} do not match",
                fmt_shape(y_true.shape()),
                fmt_shape(y_pred.shape())
            );
        }
        let mut shape = ps;
        let mut pred: Vec<f32> = y_pred.data().iter().map(|&p| prepare(p)).collect();
        let mut label: Vec<bool> = y_true.data().iter().map(|&t| t != 0.0).collect();
        let mut weight: Option<Vec<f64>> = match sample_weight {
            None => None,
            Some(w) => {
                // Keras: expand_dims(sample_weight, -1), then match its rank to y_true's.
                let mut ws = w.shape().to_vec();
                ws.push(1);
                let (_, ws) = squeeze_or_expand_shapes(&shape, &ws, false);
                let w = Values::new(ws, Values::of(w).data);
                Some(w.broadcast_to(&shape, "sample_weight")?.data)
            }
        };
        let last = shape.last().copied().unwrap_or(1).max(1);
        if let Some(k) = top_k {
            for row in pred.chunks_mut(last) {
                filter_top_k(row, k);
            }
        }
        if let Some(c) = class_id {
            if shape.len() < 2 || c >= last {
                bail!(
                    InvalidArgument,
                    "class_id: expected a class in [0, num_classes) of y_pred of shape (batch, num_classes), got class_id={c} and y_pred of shape {}",
                    fmt_shape(y_pred.shape())
                );
            }
            let pick = |i: usize| i % last == c;
            pred = pred
                .iter()
                .enumerate()
                .filter(|(i, _)| pick(*i))
                .map(|(_, &v)| v)
                .collect();
            label = label
                .iter()
                .enumerate()
                .filter(|(i, _)| pick(*i))
                .map(|(_, &v)| v)
                .collect();
            weight = weight.map(|w| {
                w.iter()
                    .enumerate()
                    .filter(|(i, _)| pick(*i))
                    .map(|(_, &v)| v)
                    .collect()
            });
            *shape.last_mut().expect("rank >= 2") = 1;
        }
        let weight_at = |i: usize| weight.as_ref().map_or(1.0, |w| w[i]);
        let n = self.thresholds.len();
        if self.evenly {
            // Bucket each prediction by the thresholds it exceeds; a reversed cumulative
            // sum then counts, per threshold, the predictions above it.
            let (mut tp_b, mut fp_b) = (vec![0.0; n], vec![0.0; n]);
            let (mut total_true, mut total_false) = (0.0, 0.0);
            for (i, (&p, &l)) in pred.iter().zip(&label).enumerate() {
                let w = weight_at(i);
                if l {
                    total_true += w;
                } else {
                    total_false += w;
                }
                let p = p.clamp(0.0, 1.0);
                let mut bucket = (p * (n as f32 - 1.0)).ceil() - 1.0;
                if self.with_epsilon {
                    bucket = bucket.max(0.0);
                }
                if bucket.is_nan() || bucket < 0.0 {
                    continue;
                }
                let b = (bucket as usize).min(n - 1);
                if l {
                    tp_b[b] += w;
                } else {
                    fp_b[b] += w;
                }
            }
            let (mut tp, mut fp) = (0.0, 0.0);
            for j in (0..n).rev() {
                tp += tp_b[j];
                fp += fp_b[j];
                self.tp[j] += tp;
                self.fp[j] += fp;
                self.fn_[j] += total_true - tp;
                self.tn[j] += total_false - fp;
            }
        } else {
            for (i, (&p, &l)) in pred.iter().zip(&label).enumerate() {
                let w = weight_at(i);
                for (j, &t) in self.thresholds.iter().enumerate() {
                    match (l, p > t) {
                        (true, true) => self.tp[j] += w,
                        (true, false) => self.fn_[j] += w,
                        (false, true) => self.fp[j] += w,
                        (false, false) => self.tn[j] += w,
                    }
                }
            }
        }
        Ok(())
    }
}

/// Keeps the `k` largest values of `row` (ties: the lower index first, as `top_k`) and
/// sets the others to `NEG_INF`.
fn filter_top_k(row: &mut [f32], k: usize) {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    for &i in order.iter().skip(k) {
        row[i] = NEG_INF as f32;
    }
}

/// The logistic function, without overflow.
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn divide_no_nan(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// Precision or Recall at thresholds.
#[derive(Debug, Clone)]
pub struct PrecisionRecall {
    recall: bool,
    top_k: Option<usize>,
    class_id: Option<usize>,
    cm: ConfusionMatrix,
}

impl PrecisionRecall {
    /// Keras's `Precision` (or `Recall` when `recall`): `thresholds` None means 0.5, or
    /// `NEG_INF` with `top_k`; given thresholds must lie in [0, 1].
    pub fn new(
        recall: bool,
        thresholds: Option<Vec<f64>>,
        top_k: Option<usize>,
        class_id: Option<usize>,
    ) -> Result<Self> {
        let name = if recall { "Recall" } else { "Precision" };
        let thresholds = match thresholds {
            Some(t) => {
                if let Some(bad) = t.iter().find(|t| !(0.0..=1.0).contains(*t)) {
                    bail!(
                        InvalidArgument,
                        "{name}: threshold values must be in [0, 1], got {bad}"
                    );
                }
                if t.is_empty() {
                    bail!(InvalidArgument, "{name}: expected at least one threshold");
                }
                t
            }
            None => vec![if top_k.is_some() { NEG_INF } else { 0.5 }],
        };
        if top_k == Some(0) {
            bail!(InvalidArgument, "{name}: expected top_k >= 1, got top_k=0");
        }
        let evenly = is_evenly_distributed(&thresholds);
        Ok(PrecisionRecall {
            recall,
            top_k,
            class_id,
            cm: ConfusionMatrix::new(&thresholds, evenly),
        })
    }
}

impl Metric for PrecisionRecall {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        self.cm.update(
            y_true,
            y_pred,
            sample_weight,
            self.top_k,
            self.class_id,
            |p| p,
        )
    }

    /// The value at the first threshold.
    fn result(&self) -> f64 {
        self.result_values()[0]
    }

    fn result_values(&self) -> Vec<f64> {
        let other = if self.recall {
            &self.cm.fn_
        } else {
            &self.cm.fp
        };
        self.cm
            .tp
            .iter()
            .zip(other)
            .map(|(&tp, &o)| divide_no_nan(tp, tp + o))
            .collect()
    }

    fn reset(&mut self) {
        self.cm.reset();
    }
}

/// Which curve [`Auc`] integrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AucCurve {
    Roc,
    Pr,
}

/// Keras's AUC summation methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AucSummation {
    Interpolation,
    Minoring,
    Majoring,
}

/// Area under the ROC or PR curve, approximated at thresholds (Keras's `AUC`).
#[derive(Debug, Clone)]
pub struct Auc {
    curve: AucCurve,
    summation: AucSummation,
    from_logits: bool,
    cm: ConfusionMatrix,
}

impl Auc {
    /// `thresholds` (in [0, 1]) overrides `num_thresholds`; either way the thresholds get
    /// the end points `-EPSILON` and `1 + EPSILON`.
    pub fn new(
        num_thresholds: usize,
        curve: AucCurve,
        summation: AucSummation,
        thresholds: Option<Vec<f64>>,
        from_logits: bool,
    ) -> Result<Self> {
        let (inner, evenly) = match thresholds {
            Some(mut t) => {
                if let Some(bad) = t.iter().find(|t| !(0.0..=1.0).contains(*t)) {
                    bail!(
                        InvalidArgument,
                        "AUC: threshold values must be in [0, 1], got {bad}"
                    );
                }
                t.sort_by(f64::total_cmp);
                let mut ends = vec![0.0];
                ends.extend(&t);
                ends.push(1.0);
                let evenly = is_evenly_distributed(&ends);
                (t, evenly)
            }
            None => {
                if num_thresholds <= 1 {
                    bail!(
                        InvalidArgument,
                        "AUC: expected num_thresholds > 1, got num_thresholds={num_thresholds}"
                    );
                }
                let t = (0..num_thresholds - 2)
                    .map(|i| (i + 1) as f64 / (num_thresholds - 1) as f64)
                    .collect();
                (t, true)
            }
        };
        let mut all = vec![0.0 - EPSILON];
        all.extend(inner);
        all.push(1.0 + EPSILON);
        Ok(Auc {
            curve,
            summation,
            from_logits,
            cm: ConfusionMatrix::new(&all, evenly),
        })
    }

    /// Keras's `interpolate_pr_auc` (Davis & Goadrich 2006).
    fn interpolate_pr_auc(&self) -> f64 {
        let ConfusionMatrix { tp, fp, fn_, .. } = &self.cm;
        let p: Vec<f64> = tp.iter().zip(fp).map(|(a, b)| a + b).collect();
        (0..tp.len() - 1)
            .map(|i| {
                let dtp = tp[i] - tp[i + 1];
                let dp = p[i] - p[i + 1];
                let slope = divide_no_nan(dtp, dp.max(0.0));
                let intercept = tp[i + 1] - slope * p[i + 1];
                let ratio = if p[i] > 0.0 && p[i + 1] > 0.0 {
                    divide_no_nan(p[i], p[i + 1].max(0.0))
                } else {
                    1.0
                };
                divide_no_nan(
                    slope * (dtp + intercept * ratio.ln()),
                    (tp[i + 1] + fn_[i + 1]).max(0.0),
                )
            })
            .sum()
    }
}

impl Metric for Auc {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let from_logits = self.from_logits;
        self.cm
            .update(y_true, y_pred, sample_weight, None, None, |p| {
                if from_logits {
                    sigmoid(p)
                } else {
                    p
                }
            })
    }

    fn result(&self) -> f64 {
        if self.curve == AucCurve::Pr && self.summation == AucSummation::Interpolation {
            return self.interpolate_pr_auc();
        }
        let ConfusionMatrix {
            tp, fp, tn, fn_, ..
        } = &self.cm;
        let recall: Vec<f64> = (0..tp.len())
            .map(|i| divide_no_nan(tp[i], tp[i] + fn_[i]))
            .collect();
        let (x, y) = match self.curve {
            AucCurve::Roc => {
                let fp_rate = (0..tp.len())
                    .map(|i| divide_no_nan(fp[i], fp[i] + tn[i]))
                    .collect();
                (fp_rate, recall)
            }
            AucCurve::Pr => {
                let precision = (0..tp.len())
                    .map(|i| divide_no_nan(tp[i], tp[i] + fp[i]))
                    .collect();
                (recall, precision)
            }
        };
        (0..x.len() - 1)
            .map(|i| {
                let height = match self.summation {
                    AucSummation::Interpolation => (y[i] + y[i + 1]) / 2.0,
                    AucSummation::Minoring => y[i].min(y[i + 1]),
                    AucSummation::Majoring => y[i].max(y[i + 1]),
                };
                (x[i] - x[i + 1]) * height
            })
            .sum()
    }

    fn reset(&mut self) {
        self.cm.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn keras_docstring_values() {
        let (yt, yp) = (t(&[0., 1., 1., 1.]), t(&[1., 0., 1., 1.]));
        for recall in [false, true] {
            let mut m = PrecisionRecall::new(recall, None, None, None).unwrap();
            m.update(&yt, &yp, None).unwrap();
            close(m.result(), 2.0 / 3.0);
            m.reset();
            m.update(&yt, &yp, Some(&t(&[0., 0., 1., 0.]))).unwrap();
            close(m.result(), 1.0);
        }
        let mut m = PrecisionRecall::new(false, None, Some(2), None).unwrap();
        m.update(&t(&[0., 0., 1., 1.]), &t(&[1., 1., 1., 1.]), None)
            .unwrap();
        close(m.result(), 0.0);
        let mut m = PrecisionRecall::new(false, None, Some(4), None).unwrap();
        m.update(&t(&[0., 0., 1., 1.]), &t(&[1., 1., 1., 1.]), None)
            .unwrap();
        close(m.result(), 0.5);

        let (yt, yp) = (t(&[0., 0., 1., 1.]), t(&[0., 0.5, 0.3, 0.9]));
        let roc = |n| Auc::new(n, AucCurve::Roc, AucSummation::Interpolation, None, false);
        let mut m = roc(3).unwrap();
        m.update(&yt, &yp, None).unwrap();
        assert_eq!(m.cm.tp, vec![2., 1., 0.]);
        assert_eq!(m.cm.fp, vec![2., 0., 0.]);
        close(m.result(), 0.75);
        m.reset();
        m.update(&yt, &yp, Some(&t(&[1., 0., 0., 1.]))).unwrap();
        close(m.result(), 1.0);
        assert!(roc(1).is_err());
    }

    #[test]
    fn evenly_spaced_thresholds_match_direct_comparison() {
        let yt = t(&[0., 1., 1., 0., 1., 0., 1.]);
        let yp = t(&[0.05, 0.4, 0.55, 0.7, 0.95, 0.2, 0.61]);
        let mut even = PrecisionRecall::new(false, Some(vec![0.0, 0.5, 1.0]), None, None).unwrap();
        let mut direct =
            PrecisionRecall::new(false, Some(vec![0.0, 0.5, 0.99]), None, None).unwrap();
        assert!(even.cm.evenly && !direct.cm.evenly);
        even.update(&yt, &yp, None).unwrap();
        direct.update(&yt, &yp, None).unwrap();
        assert_eq!(even.cm.tp[..2], direct.cm.tp[..2]);
        assert_eq!(even.cm.fp[..2], direct.cm.fp[..2]);
    }

    #[test]
    fn pr_auc_and_summations() {
        let yt = t(&[0., 0., 1., 1.]);
        let yp = t(&[0., 0.5, 0.3, 0.9]);
        for (curve, summation) in [
            (AucCurve::Pr, AucSummation::Interpolation),
            (AucCurve::Pr, AucSummation::Minoring),
            (AucCurve::Roc, AucSummation::Majoring),
        ] {
            let mut m = Auc::new(3, curve, summation, None, false).unwrap();
            m.update(&yt, &yp, None).unwrap();
            let r = m.result();
            assert!((0.0..=1.0).contains(&r), "{r}");
        }
    }
}
