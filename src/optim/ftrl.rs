//! Keras's `Ftrl`: Follow The Regularized Leader.

use super::{Pass, RuleClass, UpdateRule};
use crate::bail;
use crate::config::{check_non_negative, Args};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Hyper-parameters of Ftrl. Slots `accumulator` (n, starting at
/// `initial_accumulator_value`) and `linear` (z). With `p = −learning_rate_power`,
/// `λ1 = l1_regularization_strength`, `λ2 = l2_regularization_strength + β/(2·lr)` and
/// `λs = l2_shrinkage_regularization_strength`:
/// `n' = n + g²`, `z += g + 2·λs·w − (n'^p − n^p)/lr·w`,
/// `w = (clip(z, −λ1, λ1) − z)/(n'^p/lr + 2·λ2)`, `n = n'`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ftrl {
    /// The power of the accumulator in the step size, ≤ 0 (Keras's default −0.5).
    pub learning_rate_power: f64,
    /// The accumulator's starting value (Keras's default 0.1).
    pub initial_accumulator_value: f64,
    /// λ1, the L1 penalty (Keras's default 0).
    pub l1_regularization_strength: f64,
    /// The L2 penalty (Keras's default 0).
    pub l2_regularization_strength: f64,
    /// λs, the L2 shrinkage penalty on the gradient (Keras's default 0).
    pub l2_shrinkage_regularization_strength: f64,
    /// β, added to the L2 penalty as `β/(2·lr)` (Keras's default 0).
    pub beta: f64,
}

impl Ftrl {
    pub(crate) fn from_args(a: &Args<'_>) -> Result<Self> {
        let owner = a.owner();
        let learning_rate_power = a.f64("learning_rate_power", -0.5)?;
        if learning_rate_power > 0.0 {
            bail!(
                InvalidArgument,
                "{owner}: argument `learning_rate_power` must be <= 0, got \
                 learning_rate_power={learning_rate_power}"
            );
        }
        let non_negative = |key: &'static str, default: f64| -> Result<f64> {
            check_non_negative(owner, key, a.f64(key, default)?)
        };
        Ok(Ftrl {
            learning_rate_power,
            initial_accumulator_value: non_negative("initial_accumulator_value", 0.1)?,
            l1_regularization_strength: non_negative("l1_regularization_strength", 0.0)?,
            l2_regularization_strength: non_negative("l2_regularization_strength", 0.0)?,
            l2_shrinkage_regularization_strength: non_negative(
                "l2_shrinkage_regularization_strength",
                0.0,
            )?,
            beta: non_negative("beta", 0.0)?,
        })
    }

    /// The update with `power(n) = n^p`, inlined into the pass so that the common
    /// `p = 0.5` (a sqrt) vectorizes.
    #[inline(always)]
    fn run(&self, lr: f32, pass: Pass<'_>, power: impl Fn(f32) -> f32 + Copy + Send + Sync) {
        let l1 = self.l1_regularization_strength as f32;
        let l2 = (self.l2_regularization_strength as f32) + (self.beta as f32) / (2.0 * lr);
        let shrinkage = (2.0 * self.l2_shrinkage_regularization_strength) as f32;
        pass.run::<2>(move |w, g, s| {
            let (n, z) = (s[0], s[1]);
            let n_new = n + g * g;
            let z = z + ((g + shrinkage * *w) - (power(n_new) - power(n)) / lr * *w);
            let quadratic = power(n_new) / lr + 2.0 * l2;
            *w = (z.clamp(-l1, l1) - z) / quadratic;
            s[0] = n_new;
            s[1] = z;
        })
    }
}

impl UpdateRule for Ftrl {
    fn slot_names(&self) -> &'static [&'static str] {
        &["accumulator", "linear"]
    }

    fn slot_init(&self, slot: usize) -> f32 {
        if slot == 0 {
            self.initial_accumulator_value as f32
        } else {
            0.0
        }
    }

    fn update(&self, lr: f32, _step: u64, pass: Pass<'_>) {
        let p = -self.learning_rate_power as f32;
        if p == 0.5 {
            self.run(lr, pass, f32::sqrt)
        } else {
            self.run(lr, pass, move |n| n.powf(p))
        }
    }

    fn config(&self, c: &mut Map<String, Value>) {
        c.insert(
            "learning_rate_power".into(),
            json!(self.learning_rate_power),
        );
        c.insert(
            "initial_accumulator_value".into(),
            json!(self.initial_accumulator_value),
        );
        c.insert(
            "l1_regularization_strength".into(),
            json!(self.l1_regularization_strength),
        );
        c.insert(
            "l2_regularization_strength".into(),
            json!(self.l2_regularization_strength),
        );
        c.insert(
            "l2_shrinkage_regularization_strength".into(),
            json!(self.l2_shrinkage_regularization_strength),
        );
        c.insert("beta".into(), json!(self.beta));
    }
}

pub(crate) const CLASS: RuleClass = RuleClass {
    class_name: "Ftrl",
    default_name: "ftrl",
    default_learning_rate: 0.001,
    default_weight_decay: None,
    from_args: |a| Ok(Arc::new(Ftrl::from_args(a)?)),
};
