//! Metrics from confusion matrices at thresholds, following Keras's
//! `update_confusion_matrix_variables`: the counts (TruePositives, FalsePositives,
//! TrueNegatives, FalseNegatives), Precision, Recall, and the sensitivity/specificity
//! family (SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall,
//! RecallAtPrecision). The matrix is shared with AUC (`auc.rs`).

use super::values::Values;
use super::Metric;
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::losses::{squeeze_or_expand_shapes, EPSILON};
use crate::tensor::Tensor;
use serde_json::Value;

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

/// The thresholds of a confusion matrix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Thresholds {
    /// `n` evenly spaced thresholds from 0 to 1, the ends moved out by epsilon when
    /// `with_epsilon`: Keras's bucketed path, which depends on nothing else (so the
    /// values need not be stored, however many there are).
    Even { n: usize, with_epsilon: bool },
    /// Any thresholds, compared with predictions one by one.
    List(Vec<f64>),
}

impl Thresholds {
    /// A user's list: Keras takes the bucketed path when it is evenly distributed.
    pub(crate) fn of_list(thresholds: Vec<f64>) -> Self {
        if is_evenly_distributed(&thresholds) {
            let n = thresholds.len();
            Thresholds::Even {
                n,
                with_epsilon: thresholds[0] < 0.0 || thresholds[n - 1] > 1.0,
            }
        } else {
            Thresholds::List(thresholds)
        }
    }

    /// Keras's `num_thresholds` thresholds evenly spaced from 0 to 1, the ends moved
    /// out by epsilon when `with_epsilon` (AUC's); just 0.5 when there is one.
    pub(crate) fn evenly(n: usize, with_epsilon: bool) -> Self {
        match n {
            1 => Thresholds::List(vec![0.5]),
            n => Thresholds::Even { n, with_epsilon },
        }
    }

    /// A user's thresholds for AUC: checked, sorted, and with 0 and 1 added at the ends
    /// (moved out by epsilon), as Keras's AUC does.
    pub(crate) fn with_ends(class: &str, thresholds: &mut [f64]) -> Result<Self> {
        check_thresholds(class, thresholds)?;
        thresholds.sort_by(f64::total_cmp);
        let mut all = Vec::with_capacity(thresholds.len() + 2);
        all.push(0.0);
        all.extend_from_slice(thresholds);
        all.push(1.0);
        Ok(match Thresholds::of_list(all.clone()) {
            Thresholds::Even { n, .. } => Thresholds::Even {
                n,
                with_epsilon: true,
            },
            Thresholds::List(_) => {
                let last = all.len() - 1;
                all[0] = -EPSILON;
                all[last] = 1.0 + EPSILON;
                Thresholds::List(all)
            }
        })
    }

    /// How many thresholds there are.
    pub(crate) fn len(&self) -> usize {
        match self {
            Thresholds::Even { n, .. } => *n,
            Thresholds::List(t) => t.len(),
        }
    }
}

/// Checks a user's thresholds as Keras's `assert_thresholds_range` does (each in
/// [0, 1]; NaN is not), and that there is at least one.
pub(crate) fn check_thresholds(class: &str, thresholds: &[f64]) -> Result<()> {
    let outside: Vec<f64> = thresholds
        .iter()
        .copied()
        .filter(|t| !(0.0..=1.0).contains(t))
        .collect();
    if !outside.is_empty() {
        bail!(
            InvalidArgument,
            "{class}: thresholds values must be in [0, 1], got {outside:?}"
        );
    }
    if thresholds.is_empty() {
        bail!(
            InvalidArgument,
            "{class}: expected at least one value in thresholds, got []"
        );
    }
    Ok(())
}

/// The thresholds of a count, Precision or Recall: the user's, checked, or `default`.
fn user_thresholds(class: &str, thresholds: Option<Vec<f64>>, default: f64) -> Result<Thresholds> {
    match thresholds {
        Some(t) => {
            check_thresholds(class, &t)?;
            Ok(Thresholds::of_list(t))
        }
        None => Ok(Thresholds::List(vec![default])),
    }
}

/// A zeroed buffer of `n` f64 for a metric's state, or an allocation error naming what
/// asked for it.
pub(crate) fn state_buffer(n: usize, what: &dyn Fn() -> String) -> Result<Vec<f64>> {
    crate::kernels::pool::alloc::<f64>(n).map_err(|_| {
        crate::Error::Allocation(format!(
            "{}: cannot allocate the metric's state of {n} values ({} bytes)",
            what(),
            n.saturating_mul(8)
        ))
    })
}

/// One batch as Keras's `update_confusion_matrix_variables` sees it, flattened in
/// row-major order: predictions, boolean labels and per-element weights.
pub(crate) struct Batch {
    pub pred: Vec<f32>,
    pub label: Vec<bool>,
    pub weight: Option<Vec<f64>>,
    /// The shape of the predictions (after `class_id` picks a column: `(..., 1)`).
    pub shape: Vec<usize>,
}

impl Batch {
    /// `y_true` and `y_pred` with ranks matched as Keras does (their shapes must then
    /// agree), `prepare` applied to each prediction, `sample_weight` broadcast to them,
    /// then `top_k` (per row of the last axis) and `class_id` applied.
    pub(crate) fn new(
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
        top_k: Option<usize>,
        class_id: Option<usize>,
        prepare: impl Fn(f32) -> f32,
    ) -> Result<Batch> {
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
            fn column<T: Copy>(v: &[T], c: usize, last: usize) -> Vec<T> {
                v.iter().skip(c).step_by(last).copied().collect()
            }
            pred = column(&pred, c, last);
            label = column(&label, c, last);
            weight = weight.map(|w| column(&w, c, last));
            *shape.last_mut().expect("rank >= 2") = 1;
        }
        Ok(Batch {
            pred,
            label,
            weight,
            shape,
        })
    }

    /// Multiplies the weights by `w` broadcast to the predictions' shape.
    pub(crate) fn scale_weights(&mut self, w: &Values, what: &str) -> Result<()> {
        let w = w.broadcast_to(&self.shape, what)?.data;
        match &mut self.weight {
            Some(weight) => weight.iter_mut().zip(&w).for_each(|(a, b)| *a *= b),
            None => self.weight = Some(w),
        }
        Ok(())
    }
}

/// Keeps the `k` largest values of `row` (NaN counts as the largest; ties: the lower
/// index first, as `top_k`) and replaces the others with Keras's
/// `x * 0 + NEG_INF`, which is NaN for an infinite or NaN `x`.
fn filter_top_k(row: &mut [f32], k: usize) {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    for &i in order.iter().skip(k) {
        row[i] = row[i] * 0.0 + NEG_INF as f32;
    }
}

/// Which threshold a prediction passes last, computed once per batch element.
#[derive(Debug, Clone)]
enum Buckets {
    /// Keras's bucketed path: a prediction, clipped to [0, 1], goes to bucket
    /// `ceil(p * (n - 1)) - 1` in float32 (NaN to bucket 0, as XLA casts NaN to 0).
    Even { n: usize, with_epsilon: bool },
    /// The thresholds, as float32, sorted; `order[k]` is the index in the user's order
    /// of `sorted[k]`. A prediction passes the thresholds strictly below it.
    Sorted { sorted: Vec<f32>, order: Vec<usize> },
}

impl Buckets {
    /// The (sorted) index of the largest threshold `p` exceeds, if any.
    fn of(&self, p: f32) -> Option<usize> {
        match self {
            Buckets::Even { n, with_epsilon } => {
                let p = p.clamp(0.0, 1.0);
                let mut bucket = (p * (*n as f32 - 1.0)).ceil() - 1.0;
                if *with_epsilon {
                    bucket = bucket.max(0.0);
                }
                if bucket.is_nan() {
                    return Some(0);
                }
                // Negative buckets, and any past the end, are dropped by segment_sum.
                (bucket >= 0.0 && (bucket as usize) < *n).then_some(bucket as usize)
            }
            Buckets::Sorted { sorted, .. } => sorted.partition_point(|&t| t < p).checked_sub(1),
        }
    }

    /// The user's index of the threshold of bucket `k`.
    fn threshold(&self, k: usize) -> usize {
        match self {
            Buckets::Even { .. } => k,
            Buckets::Sorted { order, .. } => order[k],
        }
    }
}

/// Weighted true/false positives and negatives at each threshold, and for each label
/// when multi-label: each count is a row-major `(thresholds, labels)` array, in f64.
#[derive(Debug, Clone)]
pub(crate) struct ConfusionMatrix {
    buckets: Buckets,
    num_thresholds: usize,
    labels: usize,
    pub tp: Vec<f64>,
    pub fp: Vec<f64>,
    pub tn: Vec<f64>,
    pub fn_: Vec<f64>,
    /// Per-bucket weights of positive and negative labels, reused by every update.
    positive: Vec<f64>,
    negative: Vec<f64>,
}

impl ConfusionMatrix {
    /// Zeroed counts for `thresholds` and `labels` labels (1 unless multi-label). The
    /// size is checked and the buffers allocated fallibly: `what` names the metric and
    /// its arguments in the error.
    pub(crate) fn new(
        thresholds: &Thresholds,
        labels: usize,
        what: &dyn Fn() -> String,
    ) -> Result<Self> {
        let num_thresholds = thresholds.len();
        // Six buffers of f64: four counts, two per-bucket scratch.
        let size = num_thresholds.checked_mul(labels).filter(|n| {
            n.checked_mul(6 * 8)
                .is_some_and(|b| b <= isize::MAX as usize)
        });
        let Some(size) = size else {
            bail!(
                Allocation,
                "{}: {num_thresholds} thresholds for {labels} label(s) are too many to allocate",
                what()
            );
        };
        let buckets = match thresholds {
            Thresholds::Even { n, with_epsilon } => Buckets::Even {
                n: *n,
                with_epsilon: *with_epsilon,
            },
            Thresholds::List(t) => {
                let mut order: Vec<usize> = (0..t.len()).collect();
                order.sort_by(|&a, &b| (t[a] as f32).total_cmp(&(t[b] as f32)));
                Buckets::Sorted {
                    sorted: order.iter().map(|&i| t[i] as f32).collect(),
                    order,
                }
            }
        };
        Ok(ConfusionMatrix {
            buckets,
            num_thresholds,
            labels,
            tp: state_buffer(size, what)?,
            fp: state_buffer(size, what)?,
            tn: state_buffer(size, what)?,
            fn_: state_buffer(size, what)?,
            positive: state_buffer(size, what)?,
            negative: state_buffer(size, what)?,
        })
    }

    pub(crate) fn num_thresholds(&self) -> usize {
        self.num_thresholds
    }

    pub(crate) fn labels(&self) -> usize {
        self.labels
    }

    pub(crate) fn reset(&mut self) {
        for v in [&mut self.tp, &mut self.fp, &mut self.tn, &mut self.fn_] {
            v.fill(0.0);
        }
    }

    /// Accumulates one batch of a single-label metric: [`Batch::new`] with
    /// predictions as they are, then [`ConfusionMatrix::update`].
    pub(crate) fn add(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
        top_k: Option<usize>,
        class_id: Option<usize>,
    ) -> Result<()> {
        let batch = Batch::new(y_true, y_pred, sample_weight, top_k, class_id, |p| p)?;
        self.update(&batch);
        Ok(())
    }

    /// Accumulates one batch; element `i` counts for label `i % labels`.
    pub(crate) fn update(&mut self, batch: &Batch) {
        let (t, l) = (self.num_thresholds, self.labels);
        self.positive.fill(0.0);
        self.negative.fill(0.0);
        let (mut total_pos, mut total_neg) = (vec![0.0; l], vec![0.0; l]);
        for (i, (&p, &is_pos)) in batch.pred.iter().zip(&batch.label).enumerate() {
            let w = batch.weight.as_ref().map_or(1.0, |w| w[i]);
            let col = i % l;
            let (total, bucketed) = if is_pos {
                (&mut total_pos, &mut self.positive)
            } else {
                (&mut total_neg, &mut self.negative)
            };
            total[col] += w;
            if let Some(k) = self.buckets.of(p) {
                bucketed[k * l + col] += w;
            }
        }
        // A prediction passes every threshold up to its bucket's: a reversed cumulative
        // sum over the buckets counts, per threshold, the predictions above it.
        for col in 0..l {
            let (mut above_pos, mut above_neg) = (0.0, 0.0);
            for k in (0..t).rev() {
                above_pos += self.positive[k * l + col];
                above_neg += self.negative[k * l + col];
                let at = self.buckets.threshold(k) * l + col;
                self.tp[at] += above_pos;
                self.fp[at] += above_neg;
                self.fn_[at] += total_pos[col] - above_pos;
                self.tn[at] += total_neg[col] - above_neg;
            }
        }
    }
}

pub(crate) fn divide_no_nan(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// The mean of `values` (0 for none): the scalar summary of a metric whose Keras result
/// is an array, as Keras's progress bar shows it.
pub(crate) fn mean_of(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// The four cells of a confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfusionCell {
    /// Predictions above a threshold whose label is positive.
    TruePositives,
    /// Predictions above a threshold whose label is negative.
    FalsePositives,
    /// Predictions at or below a threshold whose label is negative.
    TrueNegatives,
    /// Predictions at or below a threshold whose label is positive.
    FalseNegatives,
}

impl ConfusionCell {
    fn class_name(self) -> &'static str {
        match self {
            ConfusionCell::TruePositives => "TruePositives",
            ConfusionCell::FalsePositives => "FalsePositives",
            ConfusionCell::TrueNegatives => "TrueNegatives",
            ConfusionCell::FalseNegatives => "FalseNegatives",
        }
    }
}

/// Keras's `TruePositives`, `FalsePositives`, `TrueNegatives` and `FalseNegatives`:
/// the weighted count at each threshold.
#[derive(Debug, Clone)]
pub struct ConfusionCount {
    cell: ConfusionCell,
    cm: ConfusionMatrix,
}

impl ConfusionCount {
    /// `thresholds` None means 0.5; given ones must lie in [0, 1].
    pub fn new(cell: ConfusionCell, thresholds: Option<Vec<f64>>) -> Result<Self> {
        let class = cell.class_name();
        let thresholds = user_thresholds(class, thresholds, 0.5)?;
        let cm = ConfusionMatrix::new(&thresholds, 1, &|| class.to_string())?;
        Ok(ConfusionCount { cell, cm })
    }

    pub(crate) fn from_config(cell: ConfusionCell, cfg: &Args) -> Result<Self> {
        Self::new(cell, cfg.opt_numbers("thresholds")?)
    }
}

impl Metric for ConfusionCount {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        self.cm.add(y_true, y_pred, sample_weight, None, None)
    }

    fn result(&self) -> f64 {
        mean_of(&self.result_values())
    }

    fn result_values(&self) -> Vec<f64> {
        match self.cell {
            ConfusionCell::TruePositives => &self.cm.tp,
            ConfusionCell::FalsePositives => &self.cm.fp,
            ConfusionCell::TrueNegatives => &self.cm.tn,
            ConfusionCell::FalseNegatives => &self.cm.fn_,
        }
        .clone()
    }

    fn result_is_array(&self) -> bool {
        self.cm.num_thresholds() != 1
    }

    fn reset(&mut self) {
        self.cm.reset();
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
        if top_k == Some(0) {
            bail!(InvalidArgument, "{name}: expected top_k >= 1, got top_k=0");
        }
        let default = if top_k.is_some() { NEG_INF } else { 0.5 };
        let thresholds = user_thresholds(name, thresholds, default)?;
        Ok(PrecisionRecall {
            recall,
            top_k,
            class_id,
            cm: ConfusionMatrix::new(&thresholds, 1, &|| name.to_string())?,
        })
    }

    pub(crate) fn from_config(recall: bool, cfg: &Args) -> Result<Self> {
        Self::new(
            recall,
            cfg.opt_numbers("thresholds")?,
            cfg.opt_index("top_k")?,
            cfg.opt_index("class_id")?,
        )
    }
}

impl Metric for PrecisionRecall {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        self.cm
            .add(y_true, y_pred, sample_weight, self.top_k, self.class_id)
    }

    fn result(&self) -> f64 {
        mean_of(&self.result_values())
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

    fn result_is_array(&self) -> bool {
        self.cm.num_thresholds() != 1
    }

    fn reset(&mut self) {
        self.cm.reset();
    }
}

/// The four metrics that maximize one rate subject to a floor on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtConstraint {
    /// The best sensitivity (recall) where specificity >= the value.
    SensitivityAtSpecificity,
    /// The best specificity where sensitivity >= the value.
    SpecificityAtSensitivity,
    /// The best precision where recall >= the value.
    PrecisionAtRecall,
    /// The best recall where precision >= the value.
    RecallAtPrecision,
}

impl AtConstraint {
    /// The Keras class name and the name of its constraint argument.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            AtConstraint::SensitivityAtSpecificity => ("SensitivityAtSpecificity", "specificity"),
            AtConstraint::SpecificityAtSensitivity => ("SpecificityAtSensitivity", "sensitivity"),
            AtConstraint::PrecisionAtRecall => ("PrecisionAtRecall", "recall"),
            AtConstraint::RecallAtPrecision => ("RecallAtPrecision", "precision"),
        }
    }
}

/// Keras's `SensitivitySpecificityBase` family: with `num_thresholds` evenly spaced
/// thresholds from 0 to 1 (just 0.5 when there is one), the largest value of one rate
/// among the thresholds where the other reaches `value`.
#[derive(Debug, Clone)]
pub struct RateAtRate {
    kind: AtConstraint,
    value: f64,
    class_id: Option<usize>,
    cm: ConfusionMatrix,
}

impl RateAtRate {
    /// The metric `kind` with its constraint `value` (in [0, 1]), over `num_thresholds`
    /// (> 0) thresholds, of column `class_id` of y_pred when given.
    pub fn new(
        kind: AtConstraint,
        value: f64,
        num_thresholds: usize,
        class_id: Option<usize>,
    ) -> Result<Self> {
        let (class, arg) = kind.names();
        if !(0.0..=1.0).contains(&value) {
            bail!(
                InvalidArgument,
                "{class}: argument `{arg}` must be in the range [0, 1], got {arg}={value}"
            );
        }
        if num_thresholds == 0 {
            bail!(
                InvalidArgument,
                "{class}: argument `num_thresholds` must be an integer > 0, got num_thresholds=0"
            );
        }
        let thresholds = Thresholds::evenly(num_thresholds, false);
        let what = || format!("{class}(num_thresholds={num_thresholds})");
        Ok(RateAtRate {
            kind,
            value,
            class_id,
            cm: ConfusionMatrix::new(&thresholds, 1, &what)?,
        })
    }

    pub(crate) fn from_config(kind: AtConstraint, cfg: &Args) -> Result<Self> {
        let (class, arg) = kind.names();
        let value = match cfg.get(arg).map(Value::as_f64) {
            Some(Some(v)) => v,
            _ => bail!(
                InvalidArgument,
                "{class}: expected `{arg}`, a number in [0, 1], got {}",
                cfg.get(arg).map_or("nothing".to_string(), Value::to_string)
            ),
        };
        Self::new(
            kind,
            value,
            cfg.opt_size("num_thresholds")?.unwrap_or(200),
            cfg.opt_index("class_id")?,
        )
    }
}

/// Keras's `divide_no_nan` of float32 counts: `a / (a + b)`, 0 where `a + b` is 0.
fn rate32(a: f64, b: f64) -> f32 {
    let (a, b) = (a as f32, b as f32);
    let total = a + b;
    if total == 0.0 {
        0.0
    } else {
        a / total
    }
}

impl Metric for RateAtRate {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        self.cm
            .add(y_true, y_pred, sample_weight, None, self.class_id)
    }

    /// Keras's `_find_max_under_constraint`, in float32 as Keras computes it: whether a
    /// rate reaches the floor can depend on the rounding.
    fn result(&self) -> f64 {
        let ConfusionMatrix {
            tp, fp, tn, fn_, ..
        } = &self.cm;
        let floor = self.value as f32;
        (0..tp.len())
            .map(|i| {
                let sensitivity = rate32(tp[i], fn_[i]);
                let specificity = rate32(tn[i], fp[i]);
                let precision = rate32(tp[i], fp[i]);
                let (constrained, dependent) = match self.kind {
                    AtConstraint::SensitivityAtSpecificity => (specificity, sensitivity),
                    AtConstraint::SpecificityAtSensitivity => (sensitivity, specificity),
                    AtConstraint::PrecisionAtRecall => (sensitivity, precision),
                    AtConstraint::RecallAtPrecision => (precision, sensitivity),
                };
                if constrained >= floor {
                    dependent
                } else {
                    0.0
                }
            })
            .fold(0.0f32, f32::max) as f64
    }

    fn reset(&mut self) {
        self.cm.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::metrics::testing::{close, vector as t};

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

        // TruePositives docs: 2, and 1 with weights [0, 0, 1, 0].
        let (yt, yp) = (t(&[0., 1., 1., 1.]), t(&[1., 0., 1., 1.]));
        let mut m = ConfusionCount::new(ConfusionCell::TruePositives, None).unwrap();
        m.update(&yt, &yp, None).unwrap();
        close(m.result(), 2.0);
        m.reset();
        m.update(&yt, &yp, Some(&t(&[0., 0., 1., 0.]))).unwrap();
        close(m.result(), 1.0);
        // SensitivityAtSpecificity docs: 0.5, and 0.333333 with weights [1, 1, 2, 2, 1].
        let (yt, yp) = (t(&[0., 0., 0., 1., 1.]), t(&[0., 0.3, 0.8, 0.3, 0.8]));
        let mut m =
            RateAtRate::new(AtConstraint::SensitivityAtSpecificity, 0.5, 200, None).unwrap();
        m.update(&yt, &yp, None).unwrap();
        close(m.result(), 0.5);
        m.reset();
        m.update(&yt, &yp, Some(&t(&[1., 1., 2., 2., 1.]))).unwrap();
        close(m.result(), 1.0 / 3.0);
    }

    #[test]
    fn evenly_spaced_thresholds_match_direct_comparison() {
        let yt = t(&[0., 1., 1., 0., 1., 0., 1.]);
        let yp = t(&[0.05, 0.4, 0.55, 0.7, 0.95, 0.2, 0.61]);
        let mut even = PrecisionRecall::new(false, Some(vec![0.0, 0.5, 1.0]), None, None).unwrap();
        let mut direct =
            PrecisionRecall::new(false, Some(vec![0.0, 0.5, 0.99]), None, None).unwrap();
        assert!(matches!(even.cm.buckets, Buckets::Even { .. }));
        assert!(matches!(direct.cm.buckets, Buckets::Sorted { .. }));
        even.update(&yt, &yp, None).unwrap();
        direct.update(&yt, &yp, None).unwrap();
        assert_eq!(even.cm.tp[..2], direct.cm.tp[..2]);
        assert_eq!(even.cm.fp[..2], direct.cm.fp[..2]);
    }

    #[test]
    fn unsorted_thresholds_count_in_the_users_order() {
        let yt = t(&[1., 1., 0., 1.]);
        let yp = t(&[0.9, 0.4, 0.6, 0.2]);
        let mut m =
            ConfusionCount::new(ConfusionCell::TruePositives, Some(vec![0.7, 0.1, 0.3])).unwrap();
        m.update(&yt, &yp, None).unwrap();
        assert_eq!(m.result_values(), vec![1.0, 3.0, 2.0]);
        assert!(m.result_is_array());
        // The scalar summary (a training loop's f64 log) is the mean, as Keras shows it.
        close(m.result(), 2.0);
        let mut fneg =
            ConfusionCount::new(ConfusionCell::FalseNegatives, Some(vec![0.7, 0.1, 0.3])).unwrap();
        fneg.update(&yt, &yp, None).unwrap();
        assert_eq!(fneg.result_values(), vec![2.0, 0.0, 1.0]);
    }

    #[test]
    fn nan_predictions_follow_keras() {
        // Direct comparison: NaN exceeds no threshold. Bucketed: NaN lands in bucket 0.
        let yt = t(&[1., 0., 1.]);
        let yp = t(&[f32::NAN, f32::NAN, 0.7]);
        let mut direct =
            ConfusionCount::new(ConfusionCell::TruePositives, Some(vec![0.0, 0.3, 1.0])).unwrap();
        direct.update(&yt, &yp, None).unwrap();
        assert_eq!(direct.result_values(), vec![1.0, 1.0, 0.0]);
        let mut even =
            ConfusionCount::new(ConfusionCell::TruePositives, Some(vec![0.0, 0.5, 1.0])).unwrap();
        even.update(&yt, &yp, None).unwrap();
        assert_eq!(even.result_values(), vec![2.0, 1.0, 0.0]);
        // top_k: NaN ranks first; filtered-out infinities become NaN.
        let mut row = [f32::NAN, 0.2, f32::NEG_INFINITY, 0.5];
        filter_top_k(&mut row, 2);
        assert!(row[0].is_nan() && row[2].is_nan());
        assert_eq!((row[1], row[3]), (NEG_INF as f32, 0.5));
    }

    #[test]
    fn sizes_from_users_are_errors_not_aborts() {
        for n in [1usize << 40, 1 << 62, usize::MAX] {
            let err = RateAtRate::new(AtConstraint::PrecisionAtRecall, 0.5, n, None).unwrap_err();
            assert!(matches!(err, crate::Error::Allocation(_)), "{err}");
        }
        assert!(RateAtRate::new(AtConstraint::PrecisionAtRecall, 0.5, 0, None).is_err());
        assert!(RateAtRate::new(AtConstraint::PrecisionAtRecall, 1.5, 10, None).is_err());
    }
}
