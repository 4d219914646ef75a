//! Keras's `Adadelta`.

use super::{Pass, RuleClass, UpdateRule};
use crate::config::{check_positive, check_range, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of Adadelta. Slots `accumulated_grad` (a) and
/// `accumulated_delta_var` (d): `a = ρ·a + (1 − ρ)·g²`,
/// `Δ = −sqrt(d + ε)·g/sqrt(a + ε)`, `d = ρ·d + (1 − ρ)·Δ²`, `w += lr·Δ`.
#[derive(Clone, Debug, PartialEq)]
pub struct Adadelta {
    /// ρ, the decay of both running averages (Keras's default 0.95).
    pub rho: f64,
    /// ε (Keras's default 1e-7).
    pub epsilon: f64,
}

impl Adadelta {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        Ok(Adadelta {
            rho: check_range(owner, "rho", a.f64("rho", 0.95)?, 0.0, 1.0)?,
            epsilon: check_positive(owner, "epsilon", a.f64("epsilon", 1e-7)?)?,
        })
    }
}

impl UpdateRule for Adadelta {
    fn slot_names(&self) -> &'static [&'static str] {
        &["accumulated_grad", "accumulated_delta_var"]
    }

    fn update(&self, lr: f32, _step: u64, pass: Pass<'_>) {
        let (rho, one_minus_rho) = (self.rho as f32, (1.0 - self.rho) as f32);
        let eps = self.epsilon as f32;
        pass.run::<2>(move |w, g, s| {
            s[0] = rho * s[0] + one_minus_rho * (g * g);
            let delta = -((s[1] + eps).sqrt() * g / (s[0] + eps).sqrt());
            s[1] = rho * s[1] + one_minus_rho * (delta * delta);
            *w += lr * delta;
        })
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert("rho".into(), json!(self.rho));
        c.insert("epsilon".into(), json!(self.epsilon));
    }
}

pub(crate) const CLASS: RuleClass = RuleClass {
    class_name: "Adadelta",
    default_name: "adadelta",
    default_learning_rate: 0.001,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(Adadelta::from_args(a)?)),
};
