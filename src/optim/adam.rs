//! Keras's `Adam` (and `AdamW`, the same rule with decoupled weight decay on by default).

use super::{Pass, RuleClass, UpdateRule};
use crate::config::{check_positive, check_unit_open, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of Adam. Slots `momentum` (m), `velocity` (v) and, with `amsgrad`,
/// `velocity_hat`. At step `t` (1-based):
/// `α = lr·sqrt(1 − β2^t)/(1 − β1^t)`, `m += (g − m)(1 − β1)`, `v += (g² − v)(1 − β2)`,
/// `w −= α·m/(sqrt(v) + ε)` (ε outside the sqrt; with amsgrad `v̂ = max(v̂, v)` replaces v).
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    /// β1, the decay of the first moment (Keras's default 0.9).
    pub beta_1: f64,
    /// β2, the decay of the second moment (Keras's default 0.999).
    pub beta_2: f64,
    /// ε, outside the sqrt (Keras's default 1e-7).
    pub epsilon: f64,
    /// Use the maximum of past second moments (AMSGrad).
    pub amsgrad: bool,
}

impl Adam {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        Ok(Adam {
            beta_1: check_unit_open(owner, "beta_1", a.f64("beta_1", 0.9)?)?,
            beta_2: check_unit_open(owner, "beta_2", a.f64("beta_2", 0.999)?)?,
            epsilon: check_positive(owner, "epsilon", a.f64("epsilon", 1e-7)?)?,
            amsgrad: a.bool("amsgrad", false)?,
        })
    }
}

impl UpdateRule for Adam {
    fn slot_names(&self) -> &'static [&'static str] {
        if self.amsgrad {
            &["momentum", "velocity", "velocity_hat"]
        } else {
            &["momentum", "velocity"]
        }
    }

    fn update(&self, lr: f32, step: u64, pass: Pass<'_>) {
        let t = step as f64;
        let alpha =
            (lr as f64 * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t))) as f32;
        let (one_minus_b1, one_minus_b2) = ((1.0 - self.beta_1) as f32, (1.0 - self.beta_2) as f32);
        let eps = self.epsilon as f32;
        if self.amsgrad {
            pass.run::<3>(move |w, g, s| {
                s[0] += (g - s[0]) * one_minus_b1;
                s[1] += (g * g - s[1]) * one_minus_b2;
                s[2] = s[2].max(s[1]);
                *w -= s[0] * alpha / (s[2].sqrt() + eps);
            })
        } else {
            pass.run::<2>(move |w, g, s| {
                s[0] += (g - s[0]) * one_minus_b1;
                s[1] += (g * g - s[1]) * one_minus_b2;
                *w -= s[0] * alpha / (s[1].sqrt() + eps);
            })
        }
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert("beta_1".into(), json!(self.beta_1));
        c.insert("beta_2".into(), json!(self.beta_2));
        c.insert("epsilon".into(), json!(self.epsilon));
        c.insert("amsgrad".into(), json!(self.amsgrad));
    }
}

pub(crate) const ADAM: RuleClass = RuleClass {
    class_name: "Adam",
    default_name: "adam",
    default_learning_rate: 0.001,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(Adam::from_args(a)?)),
};

/// Adam with decoupled weight decay, on by default.
pub(crate) const ADAMW: RuleClass = RuleClass {
    class_name: "AdamW",
    default_name: "adamw",
    default_learning_rate: 0.001,
    default_weight_decay: Some(0.004),
    from_args: |a| Ok(Arc::new(Adam::from_args(a)?)),
};
