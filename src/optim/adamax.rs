//! Keras's `Adamax`: Adam with the infinity norm.

use super::{Pass, RuleClass, UpdateRule};
use crate::config::{check_positive, check_range, check_unit_open, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of Adamax. Slots `momentum` (m) and `norm` (u). At step `t`
/// (1-based): `m += (g − m)(1 − β1)`, `u = max(β2·u, |g|)`,
/// `w −= lr·m/((1 − β1^t)(u + ε))`.
#[derive(Clone, Debug, PartialEq)]
pub struct Adamax {
    /// β1, the decay of the first moment (Keras's default 0.9).
    pub beta_1: f64,
    /// β2, the decay of the infinity norm (Keras's default 0.999).
    pub beta_2: f64,
    /// ε (Keras's default 1e-7).
    pub epsilon: f64,
}

impl Adamax {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        Ok(Adamax {
            beta_1: check_unit_open(owner, "beta_1", a.f64("beta_1", 0.9)?)?,
            beta_2: check_range(owner, "beta_2", a.f64("beta_2", 0.999)?, 0.0, 1.0)?,
            epsilon: check_positive(owner, "epsilon", a.f64("epsilon", 1e-7)?)?,
        })
    }
}

impl UpdateRule for Adamax {
    fn slot_names(&self) -> &'static [&'static str] {
        &["momentum", "norm"]
    }

    fn update(&self, lr: f32, step: u64, pass: Pass<'_>) {
        let alpha = (lr as f64 / (1.0 - self.beta_1.powf(step as f64))) as f32;
        let (one_minus_b1, b2) = ((1.0 - self.beta_1) as f32, self.beta_2 as f32);
        let eps = self.epsilon as f32;
        pass.run::<2>(move |w, g, s| {
            s[0] += (g - s[0]) * one_minus_b1;
            s[1] = (b2 * s[1]).max(g.abs());
            *w -= alpha * s[0] / (s[1] + eps);
        })
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert("beta_1".into(), json!(self.beta_1));
        c.insert("beta_2".into(), json!(self.beta_2));
        c.insert("epsilon".into(), json!(self.epsilon));
    }
}

pub(crate) const CLASS: RuleClass = RuleClass {
    class_name: "Adamax",
    default_name: "adamax",
    default_learning_rate: 0.001,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(Adamax::from_args(a)?)),
};
