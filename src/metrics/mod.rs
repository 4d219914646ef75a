//! Metrics: stateful accumulators of a quality measure over batches, with Keras 3
//! semantics. They read raw data and never record autograd graphs; sums are f64.

mod confusion;
mod mean;
mod values;
mod wrapper;

pub use confusion::{Auc, AucCurve, AucSummation, PrecisionRecall, NEG_INF};
pub use mean::{MeanFn, MeanMetric};
pub use wrapper::{LossMean, SumMetric, WRAPPER_CLASSES};

use crate::bail;
use crate::error::Result;
use crate::losses::Config;
use crate::tensor::Tensor;
use serde_json::Value;

/// A Keras metric: `update` accumulates a batch, `result` reads the running value.
pub trait Metric: Send + Sync {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()>;
    fn result(&self) -> f64;
    fn reset(&mut self);
    /// One value per threshold for metrics with several (Precision, Recall); otherwise
    /// `[result()]`.
    fn result_values(&self) -> Vec<f64> {
        vec![self.result()]
    }
}

/// The class names [`metric_from_config`] knows.
pub const METRIC_CLASSES: [&str; 12] = [
    "Mean",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "Precision",
    "Recall",
    "AUC",
];

const COMMON: [&str; 2] = ["name", "dtype"];

/// Thresholds given as None, a number or a list of numbers.
fn thresholds(cfg: &Config, key: &str) -> Result<Option<Vec<f64>>> {
    let bad = |v: &Value| {
        crate::Error::InvalidArgument(format!(
            "{}: expected {key} to be None, a number or a list of numbers, got {v}",
            cfg.class
        ))
    };
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_f64().ok_or_else(|| bad(v)))
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(v) => v.as_f64().map(|t| Some(vec![t])).ok_or_else(|| bad(v)),
    }
}

fn count(cfg: &Config, key: &str, value: Option<i64>) -> Result<Option<usize>> {
    value
        .map(|v| {
            usize::try_from(v).map_err(|_| {
                crate::Error::InvalidArgument(format!(
                    "{}: expected {key} to be a non-negative integer, got {v}",
                    cfg.class
                ))
            })
        })
        .transpose()
}

/// The metric of Keras class `class_name` with `config` (Keras's config keys; missing
/// keys take Keras's defaults, unknown keys are an error).
pub fn metric_from_config(class_name: &str, config: &Value) -> Result<Box<dyn Metric>> {
    let cfg = |allowed: &[&str]| Config::with_common(class_name, config, &COMMON, allowed);
    let mean = |func| -> Result<Box<dyn Metric>> { Ok(Box::new(MeanMetric::new(func)?)) };
    match class_name {
        "Mean" => {
            cfg(&[])?;
            mean(MeanFn::Values)
        }
        "BinaryAccuracy" => {
            let c = cfg(&["threshold"])?;
            mean(MeanFn::BinaryAccuracy {
                threshold: c.f64("threshold", 0.5)?,
            })
        }
        "CategoricalAccuracy" => {
            cfg(&[])?;
            mean(MeanFn::CategoricalAccuracy)
        }
        "SparseCategoricalAccuracy" => {
            cfg(&[])?;
            mean(MeanFn::SparseCategoricalAccuracy)
        }
        "TopKCategoricalAccuracy" | "SparseTopKCategoricalAccuracy" => {
            let c = cfg(&["k"])?;
            let k = count(&c, "k", Some(c.int("k", 5)?))?.unwrap_or(5);
            mean(if class_name == "TopKCategoricalAccuracy" {
                MeanFn::TopKCategoricalAccuracy { k }
            } else {
                MeanFn::SparseTopKCategoricalAccuracy { k }
            })
        }
        "MeanSquaredError" => {
            cfg(&[])?;
            mean(MeanFn::MeanSquaredError)
        }
        "MeanAbsoluteError" => {
            cfg(&[])?;
            mean(MeanFn::MeanAbsoluteError)
        }
        "RootMeanSquaredError" => {
            cfg(&[])?;
            mean(MeanFn::RootMeanSquaredError)
        }
        "Precision" | "Recall" => {
            let c = cfg(&["thresholds", "top_k", "class_id"])?;
            Ok(Box::new(PrecisionRecall::new(
                class_name == "Recall",
                thresholds(&c, "thresholds")?,
                count(&c, "top_k", c.opt_int("top_k")?)?,
                count(&c, "class_id", c.opt_int("class_id")?)?,
            )?))
        }
        "AUC" => {
            let c = cfg(&[
                "num_thresholds",
                "curve",
                "summation_method",
                "thresholds",
                "multi_label",
                "num_labels",
                "label_weights",
                "from_logits",
            ])?;
            if c.bool("multi_label", false)? {
                bail!(InvalidArgument, "AUC: multi_label=True is not supported");
            }
            for key in ["num_labels", "label_weights"] {
                if c.get(key).is_some_and(|v| !v.is_null()) {
                    bail!(
                        InvalidArgument,
                        "AUC: {key} is only used with multi_label=True, which is not supported"
                    );
                }
            }
            let string = |key: &str, default: &str| -> Result<String> {
                match c.get(key) {
                    None => Ok(default.to_string()),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(v) => bail!(
                        InvalidArgument,
                        "AUC: expected {key} to be a string, got {v}"
                    ),
                }
            };
            let curve = match string("curve", "ROC")?.as_str() {
                "ROC" | "roc" => AucCurve::Roc,
                "PR" | "pr" => AucCurve::Pr,
                other => bail!(
                    InvalidArgument,
                    "AUC: invalid curve {other:?}, expected \"ROC\" or \"PR\""
                ),
            };
            let summation = match string("summation_method", "interpolation")?.as_str() {
                "interpolation" | "Interpolation" => AucSummation::Interpolation,
                "minoring" | "Minoring" => AucSummation::Minoring,
                "majoring" | "Majoring" => AucSummation::Majoring,
                other => bail!(
                    InvalidArgument,
                    "AUC: invalid summation_method {other:?}, expected \"interpolation\", \"majoring\" or \"minoring\""
                ),
            };
            let n =
                count(&c, "num_thresholds", Some(c.int("num_thresholds", 200)?))?.unwrap_or(200);
            Ok(Box::new(Auc::new(
                n,
                curve,
                summation,
                thresholds(&c, "thresholds")?,
                c.bool("from_logits", false)?,
            )?))
        }
        other if WRAPPER_CLASSES.contains(&other) => wrapper::wrapper_from_config(other, config),
        other => bail!(
            InvalidArgument,
            "unknown metric class {other:?}; expected one of {}, {}",
            METRIC_CLASSES.join(", "),
            WRAPPER_CLASSES.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registry() {
        for class in METRIC_CLASSES {
            let m = metric_from_config(class, &json!({"name": "x", "dtype": "float32"}));
            assert!(m.is_ok(), "{class}");
        }
        for (class, config) in [
            ("Nope", json!({})),
            ("BinaryAccuracy", json!({"threshold": 0})),
            ("Mean", json!({"foo": 1})),
            ("Precision", json!({"thresholds": [0.5, 2.0]})),
            ("Precision", json!({"top_k": -1})),
            ("AUC", json!({"curve": "XY"})),
            ("AUC", json!({"num_thresholds": 1})),
            ("AUC", json!({"multi_label": true})),
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
