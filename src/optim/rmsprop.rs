//! Keras's `RMSprop`, with optional momentum and centering.

use super::{Pass, RuleClass, UpdateRule};
use crate::config::{check_positive, check_range, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of RMSprop. Slots `velocity`, then `momentum` when `momentum > 0`,
/// then `average_gradient` when `centered`:
/// `v = ρ·v + (1 − ρ)·g²`; centered: `a = ρ·a + (1 − ρ)·g`, `d = v − a² + ε`, else
/// `d = v + ε` (ε inside the sqrt); `inc = lr·g/sqrt(d)`; with momentum
/// `m = momentum·m + inc`, `w −= m`, else `w −= inc`.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsProp {
    /// ρ, the decay of the squared-gradient average (Keras's default 0.9).
    pub rho: f64,
    /// The momentum of the update, 0 for none (Keras's default).
    pub momentum: f64,
    /// ε, inside the sqrt (Keras's default 1e-7).
    pub epsilon: f64,
    /// Divide by the gradient's variance instead of its second moment.
    pub centered: bool,
}

impl RmsProp {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        Ok(RmsProp {
            rho: check_range(owner, "rho", a.f64("rho", 0.9)?, 0.0, 1.0)?,
            momentum: check_range(owner, "momentum", a.f64("momentum", 0.0)?, 0.0, 1.0)?,
            epsilon: check_positive(owner, "epsilon", a.f64("epsilon", 1e-7)?)?,
            centered: a.bool("centered", false)?,
        })
    }
}

impl UpdateRule for RmsProp {
    fn slot_names(&self) -> &'static [&'static str] {
        match (self.momentum > 0.0, self.centered) {
            (false, false) => &["velocity"],
            (true, false) => &["velocity", "momentum"],
            (false, true) => &["velocity", "average_gradient"],
            (true, true) => &["velocity", "momentum", "average_gradient"],
        }
    }

    fn update(&self, lr: f32, _step: u64, pass: Pass<'_>) {
        let (rho, one_minus_rho) = (self.rho as f32, (1.0 - self.rho) as f32);
        let (mu, eps) = (self.momentum as f32, self.epsilon as f32);
        // The increment `lr·g/sqrt(denominator)` for slots `s` (velocity first).
        let increment = move |g: f32, s: &mut [f32], avg: Option<usize>| {
            s[0] = rho * s[0] + one_minus_rho * g * g;
            let denominator = match avg {
                Some(i) => {
                    s[i] = rho * s[i] + one_minus_rho * g;
                    s[0] - s[i] * s[i] + eps
                }
                None => s[0] + eps,
            };
            lr * g / denominator.sqrt()
        };
        let with_momentum = move |w: &mut f32, g: f32, s: &mut [f32], avg: Option<usize>| {
            let inc = increment(g, s, avg);
            s[1] = mu * s[1] + inc;
            *w -= s[1];
        };
        match (self.momentum > 0.0, self.centered) {
            (false, false) => pass.run::<1>(move |w, g, s| *w -= increment(g, s, None)),
            (false, true) => pass.run::<2>(move |w, g, s| *w -= increment(g, s, Some(1))),
            (true, false) => pass.run::<2>(move |w, g, s| with_momentum(w, g, s, None)),
            (true, true) => pass.run::<3>(move |w, g, s| with_momentum(w, g, s, Some(2))),
        }
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert("rho".into(), json!(self.rho));
        c.insert("momentum".into(), json!(self.momentum));
        c.insert("epsilon".into(), json!(self.epsilon));
        c.insert("centered".into(), json!(self.centered));
    }
}

pub(crate) const CLASS: RuleClass = RuleClass {
    class_name: "RMSprop",
    default_name: "rmsprop",
    default_learning_rate: 0.001,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(RmsProp::from_args(a)?)),
};
