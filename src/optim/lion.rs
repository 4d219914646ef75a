//! Keras's `Lion`: sign updates of an interpolated momentum.

use super::{Pass, RuleClass, UpdateRule};
use crate::bail;
use crate::config::{check_range, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of Lion. One slot `momentum` (m):
/// `w −= lr·sign(β1·m + (1 − β1)·g)`, then `m = β2·m + (1 − β2)·g`.
#[derive(Clone, Debug, PartialEq)]
pub struct Lion {
    /// β1, the interpolation of the update (Keras's default 0.9).
    pub beta_1: f64,
    /// β2, the decay of the momentum (Keras's default 0.99).
    pub beta_2: f64,
}

impl Lion {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        let beta_1 = a.f64("beta_1", 0.9)?;
        // Keras: at beta_1 = 0 Lion degenerates to SignSGD.
        if !(beta_1 > 0.0 && beta_1 <= 1.0) {
            bail!(
                InvalidArgument,
                "{owner}: argument `beta_1` must be in (0, 1] (at 0 the optimizer degenerates \
                 to SignSGD), got beta_1={beta_1}"
            );
        }
        Ok(Lion {
            beta_1,
            beta_2: check_range(owner, "beta_2", a.f64("beta_2", 0.99)?, 0.0, 1.0)?,
        })
    }
}

/// -1, 0 or 1 as `x` is negative, zero or positive (NaN stays NaN), like `ops.sign`;
/// `f32::signum` gives 1 at 0.
#[inline(always)]
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

impl UpdateRule for Lion {
    fn slot_names(&self) -> &'static [&'static str] {
        &["momentum"]
    }

    fn update(&self, lr: f32, _step: u64, pass: Pass<'_>) {
        let (b1, one_minus_b1) = (self.beta_1 as f32, (1.0 - self.beta_1) as f32);
        let (b2, one_minus_b2) = (self.beta_2 as f32, (1.0 - self.beta_2) as f32);
        pass.run::<1>(move |w, g, s| {
            *w -= lr * sign(s[0] * b1 + g * one_minus_b1);
            s[0] = s[0] * b2 + g * one_minus_b2;
        })
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert("beta_1".into(), json!(self.beta_1));
        c.insert("beta_2".into(), json!(self.beta_2));
    }
}

pub(crate) const CLASS: RuleClass = RuleClass {
    class_name: "Lion",
    default_name: "lion",
    default_learning_rate: 0.001,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(Lion::from_args(a)?)),
};
