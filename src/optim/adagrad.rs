//! Keras's `Adagrad`.

use super::{Pass, RuleClass, UpdateRule};
use crate::config::{check_non_negative, check_positive, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of Adagrad. One slot `accumulator`, starting at
/// `initial_accumulator_value`: `acc += g²`, `w −= lr·g/sqrt(acc + ε)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Adagrad {
    /// The accumulator's starting value (Keras's default 0.1).
    pub initial_accumulator_value: f64,
    /// ε (Keras's default 1e-7).
    pub epsilon: f64,
}

impl Adagrad {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        Ok(Adagrad {
            initial_accumulator_value: check_non_negative(
                owner,
                "initial_accumulator_value",
                a.f64("initial_accumulator_value", 0.1)?,
            )?,
            epsilon: check_positive(owner, "epsilon", a.f64("epsilon", 1e-7)?)?,
        })
    }
}

impl UpdateRule for Adagrad {
    fn slot_names(&self) -> &'static [&'static str] {
        &["accumulator"]
    }

    fn slot_init(&self, _slot: usize) -> f32 {
        self.initial_accumulator_value as f32
    }

    fn update(&self, lr: f32, _step: u64, pass: Pass<'_>) {
        let eps = self.epsilon as f32;
        pass.run::<1>(move |w, g, s| {
            s[0] += g * g;
            *w -= lr * g / (s[0] + eps).sqrt();
        })
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert(
            "initial_accumulator_value".into(),
            json!(self.initial_accumulator_value),
        );
        c.insert("epsilon".into(), json!(self.epsilon));
    }
}

pub(crate) const CLASS: RuleClass = RuleClass {
    class_name: "Adagrad",
    default_name: "adagrad",
    default_learning_rate: 0.001,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(Adagrad::from_args(a)?)),
};
