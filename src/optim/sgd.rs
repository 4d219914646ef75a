//! Keras's `SGD`: gradient descent with optional (Nesterov) momentum.

use super::{Pass, RuleClass, UpdateRule};
use crate::config::{check_range, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of SGD. With `momentum > 0` each variable has a velocity slot:
/// `m = momentum·m − lr·g`, then `w += m` (or, with `nesterov`, `w += momentum·m − lr·g`);
/// otherwise `w −= lr·g`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    /// The momentum, 0 for none (Keras's default).
    pub momentum: f64,
    /// Use Nesterov momentum.
    pub nesterov: bool,
}

impl Sgd {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        Ok(Sgd {
            momentum: check_range(owner, "momentum", a.f64("momentum", 0.0)?, 0.0, 1.0)?,
            nesterov: a.bool("nesterov", false)?,
        })
    }
}

impl UpdateRule for Sgd {
    fn slot_names(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum"]
        } else {
            &[]
        }
    }

    fn update(&self, lr: f32, _step: u64, pass: Pass<'_>) {
        let mu = self.momentum as f32;
        match (self.momentum != 0.0, self.nesterov) {
            (false, _) => pass.run::<0>(move |w, g, _| *w -= g * lr),
            (true, false) => pass.run::<1>(move |w, g, s| {
                s[0] = s[0] * mu - g * lr;
                *w += s[0];
            }),
            (true, true) => pass.run::<1>(move |w, g, s| {
                s[0] = s[0] * mu - g * lr;
                *w += s[0] * mu - g * lr;
            }),
        }
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert("momentum".into(), json!(self.momentum));
        c.insert("nesterov".into(), json!(self.nesterov));
    }
}

pub(crate) const CLASS: RuleClass = RuleClass {
    class_name: "SGD",
    default_name: "sgd",
    default_learning_rate: 0.01,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(Sgd::from_args(a)?)),
};
