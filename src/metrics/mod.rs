//! Metrics: stateful accumulators of a quality measure over batches, with Keras 3
//! semantics. They read raw data and never record autograd graphs; sums are f64.

mod auc;
mod confusion;
mod f_score;
mod mean;
mod r2;
mod values;
mod wrapper;

pub use auc::{Auc, AucConfig, AucCurve, AucSummation};
pub use confusion::{
    AtConstraint, ConfusionCell, ConfusionCount, PrecisionRecall, RateAtRate, NEG_INF,
};
pub use f_score::{FBetaScore, FScoreAverage};
pub use mean::{MeanFn, MeanMetric};
pub use r2::{R2Aggregation, R2Score};
pub use wrapper::{LossMean, SumMetric, WRAPPER_CLASSES};

use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::tensor::Tensor;
use serde_json::Value;

/// A Keras metric: `update` accumulates a batch, `result` reads the running value.
pub trait Metric: Send + Sync {
    /// Accumulates one batch: `y_pred` against `y_true`, each sample weighted by
    /// `sample_weight` when given.
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()>;
    /// The running value; for a metric whose Keras result is an array, the mean of
    /// [`Metric::result_values`] (what Keras's progress bar shows of it).
    fn result(&self) -> f64;
    /// Forgets everything accumulated (Keras's `reset_state`).
    fn reset(&mut self);
    /// Keras's result as a list: one value per threshold (Precision, Recall, the
    /// confusion counts), per class (F1Score with `average=None`) or per output
    /// (R2Score with `class_aggregation=None`); otherwise `[result()]`.
    fn result_values(&self) -> Vec<f64> {
        vec![self.result()]
    }
    /// Whether Keras's result is an array, [`Metric::result_values`], rather than the
    /// scalar [`Metric::result`].
    fn result_is_array(&self) -> bool {
        false
    }
    /// A warning Keras gives when it computes the result (R2Score falling back from its
    /// adjusted score), if any.
    fn result_warning(&self) -> Option<String> {
        None
    }
}

/// The class names [`metric_from_config`] knows.
pub const METRIC_CLASSES: &[&str] = &[
    "Mean",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "Precision",
    "Recall",
    "AUC",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "PrecisionAtRecall",
    "RecallAtPrecision",
    "FBetaScore",
    "F1Score",
    "R2Score",
];

const COMMON: [&str; 2] = ["name", "dtype"];

/// The accuracy class Keras's `compile` makes of the metric `"accuracy"` (or `"acc"`)
/// for targets and predictions of these shapes (Keras 3's `get_metric`):
/// BinaryAccuracy when the predictions' last axis is 1; SparseCategoricalAccuracy when
/// the targets have fewer axes, or a last axis of 1 against a larger one; otherwise
/// CategoricalAccuracy. A dimension of 0 decides nothing, so it may stand for an
/// unknown one.
pub fn accuracy_class(y_true: &[usize], y_pred: &[usize]) -> &'static str {
    let (t_last, p_last) = (y_true.last().copied(), y_pred.last().copied());
    if p_last == Some(1) {
        "BinaryAccuracy"
    } else if y_true.len() < y_pred.len() || (t_last == Some(1) && p_last.is_some_and(|p| p > 1)) {
        "SparseCategoricalAccuracy"
    } else {
        "CategoricalAccuracy"
    }
}

/// The metric of Keras class `class_name` with `config` (Keras's config keys; missing
/// keys take Keras's defaults, unknown keys are an error).
pub fn metric_from_config(class_name: &str, config: &Value) -> Result<Box<dyn Metric>> {
    let c = Args::new(class_name, config)?;
    let mean = |func| -> Result<Box<dyn Metric>> { Ok(Box::new(MeanMetric::new(func)?)) };
    let metric = match class_name {
        "Mean" => mean(MeanFn::Values)?,
        "BinaryAccuracy" => mean(MeanFn::BinaryAccuracy {
            threshold: c.f64("threshold", 0.5)?,
        })?,
        "CategoricalAccuracy" => mean(MeanFn::CategoricalAccuracy)?,
        "SparseCategoricalAccuracy" => mean(MeanFn::SparseCategoricalAccuracy)?,
        "TopKCategoricalAccuracy" | "SparseTopKCategoricalAccuracy" => {
            let k = c.opt_size("k")?.unwrap_or(5);
            mean(if class_name == "TopKCategoricalAccuracy" {
                MeanFn::TopKCategoricalAccuracy { k }
            } else {
                MeanFn::SparseTopKCategoricalAccuracy { k }
            })?
        }
        "MeanSquaredError" => mean(MeanFn::MeanSquaredError)?,
        "MeanAbsoluteError" => mean(MeanFn::MeanAbsoluteError)?,
        "RootMeanSquaredError" => mean(MeanFn::RootMeanSquaredError)?,
        "TruePositives" | "FalsePositives" | "TrueNegatives" | "FalseNegatives" => {
            let cell = match class_name {
                "TruePositives" => ConfusionCell::TruePositives,
                "FalsePositives" => ConfusionCell::FalsePositives,
                "TrueNegatives" => ConfusionCell::TrueNegatives,
                _ => ConfusionCell::FalseNegatives,
            };
            Box::new(ConfusionCount::from_config(cell, &c)?)
        }
        "Precision" | "Recall" => {
            Box::new(PrecisionRecall::from_config(class_name == "Recall", &c)?)
        }
        "AUC" => Box::new(Auc::from_config(&c)?),
        "SensitivityAtSpecificity"
        | "SpecificityAtSensitivity"
        | "PrecisionAtRecall"
        | "RecallAtPrecision" => {
            let kind = match class_name {
                "SensitivityAtSpecificity" => AtConstraint::SensitivityAtSpecificity,
                "SpecificityAtSensitivity" => AtConstraint::SpecificityAtSensitivity,
                "PrecisionAtRecall" => AtConstraint::PrecisionAtRecall,
                _ => AtConstraint::RecallAtPrecision,
            };
            Box::new(RateAtRate::from_config(kind, &c)?)
        }
        "FBetaScore" | "F1Score" => Box::new(FBetaScore::from_config(&c)?),
        "R2Score" => Box::new(R2Score::from_config(&c)?),
        other if WRAPPER_CLASSES.contains(&other) => {
            return wrapper::wrapper_from_config(other, config)
        }
        other => bail!(
            InvalidArgument,
            "unknown metric class {other:?}; expected one of {}, {}",
            METRIC_CLASSES.join(", "),
            WRAPPER_CLASSES.join(", ")
        ),
    };
    c.ignore(&COMMON);
    c.finish()?;
    Ok(metric)
}

/// Small tensors and comparisons for the metrics' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::tensor::Tensor;

    /// A rank-1 tensor of `v`.
    pub fn vector(v: &[f32]) -> Tensor {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    /// A `(len / cols, cols)` tensor of `v`.
    pub fn matrix(v: &[f32], cols: usize) -> Tensor {
        Tensor::from_vec(v.to_vec(), &[v.len() / cols, cols]).unwrap()
    }

    pub fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accuracy_class_by_shapes() {
        assert_eq!(accuracy_class(&[4, 1], &[4, 1]), "BinaryAccuracy");
        assert_eq!(accuracy_class(&[4], &[4, 3]), "SparseCategoricalAccuracy");
        assert_eq!(
            accuracy_class(&[4, 1], &[4, 3]),
            "SparseCategoricalAccuracy"
        );
        assert_eq!(accuracy_class(&[4, 3], &[4, 3]), "CategoricalAccuracy");
        // A 0 (an unknown dimension) decides nothing.
        assert_eq!(accuracy_class(&[4, 1], &[4, 0]), "CategoricalAccuracy");
    }

    #[test]
    fn registry() {
        for class in METRIC_CLASSES {
            let mut config = json!({"name": "x", "dtype": "float32"});
            // The sensitivity/specificity family has a required argument.
            for key in ["specificity", "sensitivity", "recall", "precision"] {
                if class.ends_with(&format!("At{}", key[..1].to_uppercase() + &key[1..])) {
                    config[key] = json!(0.5);
                }
            }
            let m = metric_from_config(class, &config);
            assert!(m.is_ok(), "{class}: {:?}", m.err());
        }
        for (class, config) in [
            ("Nope", json!({})),
            ("BinaryAccuracy", json!({"threshold": 0})),
            ("Mean", json!({"foo": 1})),
            ("Precision", json!({"thresholds": [0.5, 2.0]})),
            ("Precision", json!({"top_k": -1})),
            ("AUC", json!({"curve": "XY"})),
            ("AUC", json!({"num_thresholds": 1})),
            ("AUC", json!({"num_labels": 3})),
            ("AUC", json!({"summation_method": "trapezoid"})),
            ("AUC", json!({"num_thresholds": 1u64 << 62})),
            ("AUC", json!({"num_thresholds": 1e30})),
            ("TruePositives", json!({"thresholds": [-0.1]})),
            ("PrecisionAtRecall", json!({})),
            (
                "PrecisionAtRecall",
                json!({"recall": 0.5, "num_thresholds": 0}),
            ),
            ("F1Score", json!({"beta": 2.0})),
            ("F1Score", json!({"threshold": 1})),
            ("FBetaScore", json!({"beta": 2})),
            ("FBetaScore", json!({"beta": null})),
            ("FBetaScore", json!({"average": "mean"})),
            ("R2Score", json!({"class_aggregation": "variance_weighted"})),
            ("R2Score", json!({"num_regressors": -1})),
        ] {
            assert!(
                metric_from_config(class, &config).is_err(),
                "{class} {config}"
            );
        }
        let mut p = metric_from_config("Precision", &json!({"thresholds": [0.3, 0.7]})).unwrap();
        let yt = Tensor::from_vec(vec![1., 0., 1.], &[3]).unwrap();
        let yp = Tensor::from_vec(vec![0.5, 0.5, 0.9], &[3]).unwrap();
        p.update(&yt, &yp, None).unwrap();
        assert_eq!(p.result_values(), vec![2.0 / 3.0, 1.0]);
    }
}
