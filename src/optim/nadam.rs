//! Keras's `Nadam`: Adam with Nesterov momentum and a momentum schedule.

use super::{Pass, RuleClass, UpdateRule};
use crate::config::{check_positive, check_unit_open, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of Nadam. Slots `momentum` (m) and `velocity` (v). At step `t`
/// (1-based), with the momentum schedule `u_t = β1·(1 − 0.5·0.96^t)` and its running
/// product `Π_t = u_1·…·u_t`: `m += (g − m)(1 − β1)`, `v += (g² − v)(1 − β2)`,
/// `m̂ = u_{t+1}·m/(1 − Π_t·u_{t+1}) + (1 − u_t)·g/(1 − Π_t)`, `v̂ = v/(1 − β2^t)`,
/// `w −= lr·m̂/(sqrt(v̂) + ε)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Nadam {
    /// β1, the decay of the first moment (Keras's default 0.9).
    pub beta_1: f64,
    /// β2, the decay of the second moment (Keras's default 0.999).
    pub beta_2: f64,
    /// ε (Keras's default 1e-7).
    pub epsilon: f64,
}

impl Nadam {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        Ok(Nadam {
            beta_1: check_unit_open(owner, "beta_1", a.f64("beta_1", 0.9)?)?,
            beta_2: check_unit_open(owner, "beta_2", a.f64("beta_2", 0.999)?)?,
            epsilon: check_positive(owner, "epsilon", a.f64("epsilon", 1e-7)?)?,
        })
    }

    /// `u_t = β1·(1 − 0.5·0.96^t)`.
    pub(crate) fn momentum_at(&self, t: u64) -> f64 {
        self.beta_1 * (1.0 - 0.5 * 0.96f64.powf(t as f64))
    }

    /// `Π_t = u_1·…·u_t` (Keras keeps it in a variable, `u_product`, multiplied once
    /// per step; it is a function of `t` alone). Past t ≈ 900, `1 − 0.5·0.96^t` is 1
    /// in f64, so the product of those factors stops there and `β1^t` does the rest.
    pub(crate) fn momentum_product(&self, t: u64) -> f64 {
        let mut product = 1.0;
        let mut decay = 1.0;
        for _ in 0..t.min(1000) {
            decay *= 0.96;
            product *= 1.0 - 0.5 * decay;
        }
        product * self.beta_1.powf(t as f64)
    }
}

impl UpdateRule for Nadam {
    fn slot_names(&self) -> &'static [&'static str] {
        &["momentum", "velocity"]
    }

    fn update(&self, lr: f32, step: u64, pass: Pass<'_>) {
        let (u_t, u_next) = (self.momentum_at(step), self.momentum_at(step + 1));
        let product = self.momentum_product(step);
        // m̂ = m·c_m + g·c_g and sqrt(v̂) = sqrt(v·c_v), as per-step constants.
        let c_m = (u_next / (1.0 - product * u_next)) as f32;
        let c_g = ((1.0 - u_t) / (1.0 - product)) as f32;
        let c_v = (1.0 / (1.0 - self.beta_2.powf(step as f64))) as f32;
        let (one_minus_b1, one_minus_b2) = ((1.0 - self.beta_1) as f32, (1.0 - self.beta_2) as f32);
        let eps = self.epsilon as f32;
        pass.run::<2>(move |w, g, s| {
            s[0] += (g - s[0]) * one_minus_b1;
            s[1] += (g * g - s[1]) * one_minus_b2;
            let m_hat = s[0] * c_m + g * c_g;
            *w -= m_hat * lr / ((s[1] * c_v).sqrt() + eps);
        })
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert("beta_1".into(), json!(self.beta_1));
        c.insert("beta_2".into(), json!(self.beta_2));
        c.insert("epsilon".into(), json!(self.epsilon));
    }
}

pub(crate) const CLASS: RuleClass = RuleClass {
    class_name: "Nadam",
    default_name: "nadam",
    default_learning_rate: 0.001,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(Nadam::from_args(a)?)),
};
