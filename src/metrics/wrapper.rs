//! Keras's `MeanMetricWrapper` around the loss functions (the loss-style metrics:
//! `BinaryCrossentropy`, `KLDivergence`, `Hinge`, ...) and `Sum`. The per-sample values
//! come from the loss functions of [`crate::losses`], so each formula is written once.

use super::mean::{samplewise_values, weighted_sums};
use super::values::Values;
use super::Metric;
use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::losses::{squeeze_or_expand_shapes, Loss};
use crate::tensor::no_grad;
use crate::tensor::shape::broadcast_shapes;
use crate::tensor::Tensor;
use serde_json::{Map, Value};

/// The metric classes built here, by Keras class name.
pub const WRAPPER_CLASSES: [&str; 14] = [
    "Sum",
    "MeanMetricWrapper",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "LogCoshError",
    "CosineSimilarity",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
];

/// The loss functions a `MeanMetricWrapper` can run in the engine: Keras's function
/// name and the loss class computing it (whose config keys are the function's keyword
/// arguments).
const LOSS_FUNCTIONS: [(&str, &str); 19] = [
    ("mean_squared_error", "MeanSquaredError"),
    ("mean_absolute_error", "MeanAbsoluteError"),
    ("huber", "Huber"),
    ("binary_crossentropy", "BinaryCrossentropy"),
    ("categorical_crossentropy", "CategoricalCrossentropy"),
    (
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
    ),
    ("kl_divergence", "KLDivergence"),
    ("poisson", "Poisson"),
    ("log_cosh", "LogCosh"),
    ("hinge", "Hinge"),
    ("squared_hinge", "SquaredHinge"),
    ("categorical_hinge", "CategoricalHinge"),
    ("cosine_similarity", "CosineSimilarity"),
    (
        "mean_absolute_percentage_error",
        "MeanAbsolutePercentageError",
    ),
    (
        "mean_squared_logarithmic_error",
        "MeanSquaredLogarithmicError",
    ),
    ("binary_focal_crossentropy", "BinaryFocalCrossentropy"),
    (
        "categorical_focal_crossentropy",
        "CategoricalFocalCrossentropy",
    ),
    ("dice", "Dice"),
    ("tversky", "Tversky"),
];

const COMMON: [&str; 2] = ["name", "dtype"];

/// The weighted running mean of a loss function's per-sample values (Keras's
/// `MeanMetricWrapper(fn)`), accumulated in f64.
#[derive(Debug, Clone)]
pub struct LossMean {
    loss: Loss,
    /// Keras's `CosineSimilarity` metric reports the similarity, the loss its negative.
    negate: bool,
    total: f64,
    count: f64,
}

impl LossMean {
    /// The mean of `loss`'s per-sample values (its reduction is not used).
    pub fn new(loss: Loss, negate: bool) -> Self {
        LossMean {
            loss,
            negate,
            total: 0.0,
            count: 0.0,
        }
    }
}

impl Metric for LossMean {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let (values, mask) = no_grad(|| self.loss.per_sample_masked(y_true, y_pred))?;
        let mut values = Values::of(&values);
        if self.negate {
            values.data.iter_mut().for_each(|v| *v = -*v);
        }
        // Samples of `ignore_class` have value 0. As in Keras (reduce_to_samplewise_values
        // applies the mask to the weights only), they count for nothing when weights are
        // given, and as zeros in the mean when not.
        let weight = match (sample_weight.map(Values::of), mask) {
            (Some(w), Some(mask)) => Some(masked_weight(Values::of(&mask), w)?),
            (weight, _) => weight,
        };
        let (total, count) = weighted_sums(values, weight)?;
        self.total += total;
        self.count += count;
        Ok(())
    }

    fn result(&self) -> f64 {
        if self.count == 0.0 {
            0.0
        } else {
            self.total / self.count
        }
    }

    fn reset(&mut self) {
        self.total = 0.0;
        self.count = 0.0;
    }
}

/// `weight · mask` with their ranks matched and then broadcast.
fn masked_weight(mask: Values, w: Values) -> Result<Values> {
    let (ms, ws) = squeeze_or_expand_shapes(&mask.shape, &w.shape, true);
    let shape = broadcast_shapes(&ms, &ws, "sample_weight")?;
    let m = Values::new(ms, mask.data).broadcast_to(&shape, "mask")?;
    let mut w = Values::new(ws, w.data).broadcast_to(&shape, "sample_weight")?;
    for (w, m) in w.data.iter_mut().zip(&m.data) {
        *w *= m;
    }
    Ok(w)
}

/// Keras's `Sum`: the (weighted) sum of the values given as `y_pred`.
#[derive(Debug, Clone, Default)]
pub struct SumMetric {
    total: f64,
}

impl Metric for SumMetric {
    fn update(
        &mut self,
        _y_true: &Tensor,
        values: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let (values, _) =
            samplewise_values(Values::of(values), sample_weight.map(Values::of), true)?;
        self.total += values.data.iter().sum::<f64>();
        Ok(())
    }

    fn result(&self) -> f64 {
        self.total
    }

    fn reset(&mut self) {
        self.total = 0.0;
    }
}

/// The loss computing a metric: `class`'s loss with `options`, unreduced.
fn unreduced_loss(class: &str, options: Map<String, Value>) -> Result<Loss> {
    let mut config = options;
    config.insert("reduction".into(), Value::Null);
    Loss::from_config(class, &Value::Object(config))
}

/// The keys of `args` among `keys`, for the loss config.
fn pick(args: &Args, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|&k| args.get(k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

/// Removes a sparse cross-entropy's `axis` from `options`, checking that it is the last
/// axis, the only one the engine computes over.
fn take_last_axis(options: &mut Map<String, Value>, class: &str) -> Result<()> {
    match options.remove("axis") {
        None => Ok(()),
        Some(axis) if axis.as_i64() == Some(-1) => Ok(()),
        Some(axis) => bail!(
            InvalidArgument,
            "{class}: only axis=-1 (the class axis last) is supported, got axis={axis}"
        ),
    }
}

/// The metric of class `class_name` (one of [`WRAPPER_CLASSES`]) with Keras's `config`.
pub fn wrapper_from_config(class_name: &str, config: &Value) -> Result<Box<dyn Metric>> {
    if class_name == "MeanMetricWrapper" {
        return mean_metric_wrapper(config);
    }
    let c = Args::new(class_name, config)?;
    let mean = |class: &str, options| -> Result<Box<dyn Metric>> {
        Ok(Box::new(LossMean::new(
            unreduced_loss(class, options)?,
            false,
        )))
    };
    let metric = match class_name {
        "Sum" => Box::new(SumMetric::default()),
        "BinaryCrossentropy" => mean(class_name, pick(&c, &["from_logits", "label_smoothing"]))?,
        "CategoricalCrossentropy" => mean(
            class_name,
            pick(&c, &["from_logits", "label_smoothing", "axis"]),
        )?,
        "SparseCategoricalCrossentropy" => {
            let mut options = pick(&c, &["from_logits", "ignore_class", "axis"]);
            take_last_axis(&mut options, class_name)?;
            mean(class_name, options)?
        }
        "CosineSimilarity" => {
            let loss = unreduced_loss(class_name, pick(&c, &["axis"]))?;
            Box::new(LossMean::new(loss, true))
        }
        "LogCoshError" => mean("LogCosh", Map::new())?,
        "KLDivergence"
        | "Poisson"
        | "Hinge"
        | "SquaredHinge"
        | "CategoricalHinge"
        | "MeanAbsolutePercentageError"
        | "MeanSquaredLogarithmicError" => mean(class_name, Map::new())?,
        other => bail!(
            InvalidArgument,
            "unknown metric class {other:?}; expected one of {}",
            WRAPPER_CLASSES.join(", ")
        ),
    };
    c.ignore(&COMMON);
    c.finish()?;
    Ok(metric)
}

/// `MeanMetricWrapper` with `config` `{"fn": <Keras loss function name>, **kwargs}`.
fn mean_metric_wrapper(config: &Value) -> Result<Box<dyn Metric>> {
    const CLASS: &str = "MeanMetricWrapper";
    let Some(map) = config.as_object() else {
        bail!(
            InvalidArgument,
            "{CLASS}: expected the config to be a dict, got {config}"
        );
    };
    let known = || {
        LOSS_FUNCTIONS
            .iter()
            .map(|(f, _)| *f)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = match map.get("fn") {
        Some(Value::String(name)) => name.as_str(),
        other => bail!(
            InvalidArgument,
            "{CLASS}: expected fn to be the name of a loss function ({}), got {}",
            known(),
            other.map_or("nothing".to_string(), Value::to_string)
        ),
    };
    let Some(&(_, class)) = LOSS_FUNCTIONS.iter().find(|(f, _)| *f == name) else {
        bail!(
            InvalidArgument,
            "{CLASS}: fn {name:?} is not a loss function the engine runs; expected one of {}",
            known()
        );
    };
    let mut options: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "fn" | "name" | "dtype"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(key) = options.keys().find(|k| k.as_str() == "reduction") {
        bail!(
            InvalidArgument,
            "{CLASS}: {key} is not an argument of the function {name}"
        );
    }
    if class == "SparseCategoricalCrossentropy" {
        take_last_axis(&mut options, CLASS)?;
    }
    Ok(Box::new(LossMean::new(
        unreduced_loss(class, options)?,
        false,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::testing::t32 as t;
    use crate::metrics::testing::close;
    use serde_json::json;

    #[test]
    fn keras_docstring_values() {
        // keras.metrics.BinaryCrossentropy docs: 0.81492424, weights [1, 0] -> 0.9162905.
        let yt = t(&[0., 1., 0., 0.], &[2, 2]);
        let yp = t(&[0.6, 0.4, 0.4, 0.6], &[2, 2]);
        let mut m = wrapper_from_config("BinaryCrossentropy", &json!({})).unwrap();
        m.update(&yt, &yp, None).unwrap();
        close(m.result(), 0.814_924_24);
        m.reset();
        m.update(&yt, &yp, Some(&t(&[1., 0.], &[2]))).unwrap();
        close(m.result(), 0.916_290_5);
        // keras.metrics.CosineSimilarity docs: 0.49999997; weights [0.3, 0.7] -> 0.6999999.
        let yt = t(&[0., 1., 1., 1.], &[2, 2]);
        let yp = t(&[1., 0., 1., 1.], &[2, 2]);
        let mut m = wrapper_from_config("CosineSimilarity", &json!({"axis": 1})).unwrap();
        m.update(&yt, &yp, None).unwrap();
        close(m.result(), 0.5);
        m.reset();
        m.update(&yt, &yp, Some(&t(&[0.3, 0.7], &[2]))).unwrap();
        close(m.result(), 0.7);
        // keras.metrics.Sum docs: 16, weights [1, 1, 0, 0] -> 4.
        let v = t(&[1., 3., 5., 7.], &[4]);
        let mut s = wrapper_from_config("Sum", &json!({})).unwrap();
        s.update(&Tensor::scalar(0.), &v, None).unwrap();
        close(s.result(), 16.0);
        s.reset();
        s.update(&Tensor::scalar(0.), &v, Some(&t(&[1., 1., 0., 0.], &[4])))
            .unwrap();
        close(s.result(), 4.0);
    }

    #[test]
    fn sum_folds_extra_axes_by_summing() {
        // Values (2, 2) with weights (2,): each row's sum, weighted.
        let v = t(&[1., 2., 3., 4.], &[2, 2]);
        let mut s = SumMetric::default();
        s.update(&Tensor::scalar(0.), &v, Some(&t(&[1., 0.5], &[2])))
            .unwrap();
        close(s.result(), 3.0 + 3.5);
        s.update(&Tensor::scalar(0.), &v, None).unwrap();
        close(s.result(), 6.5 + 10.0);
    }

    #[test]
    fn ignored_class_counts_only_without_weights() {
        let p = t(&[0.5, 0.5, 0.9, 0.1, 0.2, 0.8], &[3, 2]);
        let labels = t(&[0., -1., 1.], &[3]);
        let mut m = wrapper_from_config(
            "SparseCategoricalCrossentropy",
            &json!({"ignore_class": -1}),
        )
        .unwrap();
        // Without weights Keras counts the ignored sample as a 0.
        m.update(&labels, &p, None).unwrap();
        let expected = (-(0.5f64.ln()) - 0.8f32.ln() as f64) / 3.0;
        assert!((m.result() - expected).abs() < 1e-6);
        m.reset();
        m.update(&labels, &p, Some(&t(&[1., 5., 3.], &[3])))
            .unwrap();
        let expected = (-(0.5f64.ln()) - 3.0 * 0.8f32.ln() as f64) / 4.0;
        assert!((m.result() - expected).abs() < 1e-6);
    }

    #[test]
    fn mean_metric_wrapper_runs_loss_functions() {
        let yt = t(&[0., 1., 0., 0.], &[2, 2]);
        let yp = t(&[0.6, 0.4, 0.4, 0.6], &[2, 2]);
        let mut a = wrapper_from_config(
            "MeanMetricWrapper",
            &json!({"fn": "binary_crossentropy", "name": "bce", "label_smoothing": 0.2}),
        )
        .unwrap();
        let mut b =
            wrapper_from_config("BinaryCrossentropy", &json!({"label_smoothing": 0.2})).unwrap();
        a.update(&yt, &yp, None).unwrap();
        b.update(&yt, &yp, None).unwrap();
        assert_eq!(a.result(), b.result());
        // Every listed function builds.
        for (f, _) in LOSS_FUNCTIONS {
            assert!(
                wrapper_from_config("MeanMetricWrapper", &json!({ "fn": f })).is_ok(),
                "{f}"
            );
        }
        for config in [
            json!({}),
            json!({"fn": "nope"}),
            json!({"fn": 3}),
            json!({"fn": "huber", "reduction": "sum"}),
            json!({"fn": "huber", "deltaa": 1.0}),
            json!({"fn": "sparse_categorical_crossentropy", "axis": 1}),
        ] {
            assert!(
                wrapper_from_config("MeanMetricWrapper", &config).is_err(),
                "{config}"
            );
        }
        let err = wrapper_from_config("MeanMetricWrapper", &json!({"fn": "nope"}))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("\"nope\"") && err.contains("kl_divergence"),
            "{err}"
        );
    }

    #[test]
    fn bad_configs() {
        for (class, config) in [
            ("Sum", json!({"axis": 1})),
            ("BinaryCrossentropy", json!({"axis": -1})),
            ("BinaryCrossentropy", json!({"label_smoothing": 2})),
            ("KLDivergence", json!({"from_logits": true})),
            ("SparseCategoricalCrossentropy", json!({"axis": 0})),
            ("CosineSimilarity", json!({"axis": "x"})),
        ] {
            assert!(
                wrapper_from_config(class, &config).is_err(),
                "{class} {config}"
            );
        }
    }

    #[test]
    fn nan_propagates() {
        let yt = t(&[0., 1., 0., 0.], &[2, 2]);
        let yp = t(&[f32::NAN, 0.4, 0.4, 0.6], &[2, 2]);
        for class in WRAPPER_CLASSES {
            if matches!(
                class,
                "Sum" | "MeanMetricWrapper" | "SparseCategoricalCrossentropy"
            ) {
                continue;
            }
            let mut m = wrapper_from_config(class, &json!({})).unwrap();
            m.update(&yt, &yp, None).unwrap();
            assert!(m.result().is_nan(), "{class}");
        }
        let mut s = SumMetric::default();
        s.update(&Tensor::scalar(0.), &yp, None).unwrap();
        assert!(s.result().is_nan());
    }
}
