//! Metrics: stateful accumulators of a quality measure over batches.

use crate::bail;
use crate::error::Result;
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
}

/// The metric of Keras class `class_name` with `config`.
pub fn metric_from_config(class_name: &str, _config: &Value) -> Result<Box<dyn Metric>> {
    bail!(InvalidArgument, "unknown metric class: {class_name:?}")
}
