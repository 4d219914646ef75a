//! Optimizers: Keras 3's update rules and defaults, updating variables in place.
//!
//! One [`Optimizer`] type holds what every Keras optimizer shares (learning rate or
//! schedule, weight decay, gradient clipping, loss scaling, the `iterations` counter and
//! per-variable slot state); a [`Rule`] holds what differs: the hyper-parameters and the
//! update formula of SGD, Adam, AdamW, RMSprop or Adagrad.
//!
//! Each step follows Keras's `BaseOptimizer.apply`: unscale the gradients
//! (`loss_scale_factor`), clip them (`clipnorm`, `global_clipnorm` or `clipvalue`),
//! apply weight decay `w −= w·wd·lr`, run the update rule, then `iterations += 1`. The
//! learning rate is the schedule's value at the current `iterations`. Everything but the
//! norms happens in one pass over each variable's data, in place: slots live in one
//! buffer per variable (one array per slot, one after another), created on first
//! use and reused afterwards, so a steady-state step allocates nothing.
//!
//! ```
//! use kandle::optim::Optimizer;
//! use kandle::Tensor;
//! let w = Tensor::<f32>::variable(vec![1.0, 2.0], &[2]).unwrap();
//! let g = Tensor::<f32>::from_vec(vec![0.5, -0.5], &[2]).unwrap();
//! let config = serde_json::json!({"learning_rate": 0.1, "momentum": 0.9});
//! let mut sgd = Optimizer::from_config("SGD", &config).unwrap();
//! sgd.apply(&[g], &[w.clone()]).unwrap();
//! assert_eq!(sgd.iterations(), 1);
//! // velocity = 0.9·0 − 0.1·g, then w += velocity
//! let w = w.to_vec();
//! assert!((w[0] - 0.95).abs() < 1e-6 && (w[1] - 2.05).abs() < 1e-6);
//! ```

mod adagrad;
mod adam;
mod config;
mod rmsprop;
pub mod schedules;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use schedules::Schedule;
pub use sgd::Sgd;

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::parallel::{chunked_sum, num_threads, pool, vectorized, CHUNK, PAR_THRESHOLD};
use crate::tensor::{alloc, Float, Tensor, TensorId};
use config::{check_non_negative, Args};
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The update formula of one Keras optimizer class, with its hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    Sgd(Sgd),
    Adam(Adam),
    /// Adam with decoupled weight decay (on by default, 0.004).
    AdamW(Adam),
    RmsProp(RmsProp),
    Adagrad(Adagrad),
}

impl Rule {
    /// Keras's class name.
    pub fn class_name(&self) -> &'static str {
        match self {
            Rule::Sgd(_) => "SGD",
            Rule::Adam(_) => "Adam",
            Rule::AdamW(_) => "AdamW",
            Rule::RmsProp(_) => "RMSprop",
            Rule::Adagrad(_) => "Adagrad",
        }
    }

    /// Names of the per-element slots, in their order in the slot buffer.
    pub fn slot_names(&self) -> &'static [&'static str] {
        match self {
            Rule::Sgd(r) => r.slot_names(),
            Rule::Adam(r) | Rule::AdamW(r) => r.slot_names(),
            Rule::RmsProp(r) => r.slot_names(),
            Rule::Adagrad(r) => r.slot_names(),
        }
    }

    fn slot_init(&self) -> f32 {
        match self {
            Rule::Adagrad(r) => r.initial_accumulator_value as f32,
            _ => 0.0,
        }
    }

    /// One step of the rule; `step` is `iterations + 1`.
    fn update(&self, lr: f32, step: u64, pass: Pass<'_>) {
        match self {
            Rule::Sgd(r) => r.update(lr, step, pass),
            Rule::Adam(r) | Rule::AdamW(r) => r.update(lr, step, pass),
            Rule::RmsProp(r) => r.update(lr, step, pass),
            Rule::Adagrad(r) => r.update(lr, step, pass),
        }
    }

    fn config(&self, c: &mut Map<String, Value>) {
        match self {
            Rule::Sgd(r) => r.config(c),
            Rule::Adam(r) | Rule::AdamW(r) => r.config(c),
            Rule::RmsProp(r) => r.config(c),
            Rule::Adagrad(r) => r.config(c),
        }
    }
}

/// A constant learning rate or a schedule of the step count.
#[derive(Clone, Debug, PartialEq)]
pub enum LearningRate {
    Constant(f64),
    Schedule(Schedule),
}

/// The part of each step applied to every element before the rule: the gradient's scale
/// (loss unscaling and norm clipping), value clipping, and weight decay `wd·lr`.
#[derive(Clone, Copy, Debug)]
struct Prep {
    scale: f32,
    clip_value: Option<f32>,
    decay: Option<f32>,
}

/// One variable's data, gradient and slots, walked once by [`Pass::run`].
pub(crate) struct Pass<'a> {
    var: &'a mut [f32],
    grad: &'a [f32],
    slots: &'a mut [f32],
    prep: Prep,
}

impl Prep {
    fn is_identity(&self) -> bool {
        self.scale == 1.0 && self.clip_value.is_none() && self.decay.is_none()
    }
}

/// The update loop over one chunk, for `K` slot arrays (each as long as `var`). Slots
/// are stored one array per slot, so every stream is contiguous and, with `K` known at
/// compile time, the compiler vectorizes the optimizer's formula.
#[inline(always)]
fn walk<const K: usize>(
    var: &mut [f32],
    grad: &[f32],
    slots: [&mut [f32]; K],
    prep: impl Fn(&mut f32, f32) -> f32,
    f: &impl Fn(&mut f32, f32, &mut [f32]),
) {
    let n = var.len();
    let grad = &grad[..n];
    let slots = slots.map(|s| &mut s[..n]);
    for i in 0..n {
        let mut s = [0.0f32; K];
        for k in 0..K {
            s[k] = slots[k][i];
        }
        let g = prep(&mut var[i], grad[i]);
        f(&mut var[i], g, &mut s);
        for k in 0..K {
            slots[k][i] = s[k];
        }
    }
}

/// Splits a variable's slot buffer (`K` arrays of `n` values, one after another).
fn split_slots<const K: usize>(slots: &mut [f32], n: usize) -> [&mut [f32]; K] {
    let mut rest = slots;
    std::array::from_fn(|_| {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        head
    })
}

impl Pass<'_> {
    /// Calls `f(w, g, slots)` for every element, with `g` already scaled and clipped and
    /// `w` already decayed; `K` is the number of slots per element. In parallel over
    /// fixed chunks for large variables: every element is independent, so results never
    /// depend on the thread count.
    pub(crate) fn run<const K: usize>(self, f: impl Fn(&mut f32, f32, &mut [f32]) + Sync + Send) {
        let Pass {
            var,
            grad,
            slots,
            prep,
        } = self;
        debug_assert_eq!(slots.len(), var.len() * K);
        let slots = split_slots::<K>(slots, var.len());
        let body = |start: usize, var: &mut [f32], slots: [&mut [f32]; K]| {
            let grad = &grad[start..start + var.len()];
            // `vectorized` goes right around `walk`: wrapped around all of `body`, the
            // loop stayed outside it, compiled for SSE (seen in the profile).
            if prep.is_identity() {
                vectorized(|| walk::<K>(var, grad, slots, |_, g| g, &f));
            } else {
                let full = move |w: &mut f32, g: f32| {
                    let mut g = g * prep.scale;
                    if let Some(c) = prep.clip_value {
                        g = g.clamp(-c, c);
                    }
                    if let Some(d) = prep.decay {
                        *w -= *w * d;
                    }
                    g
                };
                vectorized(|| walk::<K>(var, grad, slots, full, &f));
            }
        };
        if var.len() < PAR_THRESHOLD || num_threads() == 1 {
            body(0, var, slots);
        } else {
            // The same fixed chunks of the variable and of each of its slot arrays.
            let mut chunks = slots.map(|s| s.chunks_mut(CHUNK));
            let per_chunk: Vec<[&mut [f32]; K]> = (0..var.len().div_ceil(CHUNK))
                .map(|_| std::array::from_fn(|k| chunks[k].next().expect("same chunk count")))
                .collect();
            pool().install(|| {
                var.par_chunks_mut(CHUNK)
                    .zip(per_chunk)
                    .enumerate()
                    .for_each(|(i, (c, s))| body(i * CHUNK, c, s))
            });
        }
    }
}

/// A Keras optimizer: SGD, Adam, AdamW, RMSprop or Adagrad with Keras 3's defaults.
#[derive(Clone, Debug)]
pub struct Optimizer {
    name: String,
    rule: Rule,
    learning_rate: LearningRate,
    weight_decay: Option<f64>,
    clipnorm: Option<f64>,
    clipvalue: Option<f64>,
    global_clipnorm: Option<f64>,
    loss_scale_factor: Option<f64>,
    iterations: u64,
    /// Per variable id: `numel × slot_names().len()` values: one array per slot, one after another.
    slots: HashMap<TensorId, Vec<f32>>,
}

fn learning_rate_from(owner: &str, value: Option<&Value>, default: f64) -> Result<LearningRate> {
    match value {
        None => Ok(LearningRate::Constant(default)),
        Some(v @ Value::Object(_)) => Ok(LearningRate::Schedule(Schedule::from_config(v)?)),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x >= 0.0 => Ok(LearningRate::Constant(x)),
            _ => bail!(
                InvalidArgument,
                "{owner}: argument `learning_rate` must be a float >= 0 or a schedule config \
                 {{\"class_name\": ..., \"config\": ...}}, got learning_rate={v}"
            ),
        },
    }
}

fn check_learning_rate(x: f64) -> Result<f64> {
    if !(x.is_finite() && x >= 0.0) {
        bail!(
            InvalidArgument,
            "set_learning_rate: learning_rate must be a finite float >= 0, got {x}"
        );
    }
    Ok(x)
}

/// `sqrt(Σ g²)` over the data, summed in f64 in a fixed order.
fn l2_norm(data: &[f32]) -> f64 {
    chunked_sum(data.len(), |i| {
        let x = data[i] as f64;
        x * x
    })
    .sqrt()
}

impl Optimizer {
    /// An optimizer of Keras class `class_name` ("SGD", "Adam", "AdamW", "RMSprop",
    /// "Adagrad", or the lower-case names) from the keyword arguments of its Keras
    /// constructor as a JSON object (`get_config()`'s keys; missing keys take Keras's
    /// defaults). `learning_rate` is a number or a schedule config
    /// `{"class_name": "ExponentialDecay", "config": {...}}`.
    pub fn from_config(class_name: &str, config: &Value) -> Result<Optimizer> {
        let (class, default_lr, default_name) = match class_name.to_ascii_lowercase().as_str() {
            "sgd" => ("SGD", 0.01, "SGD"),
            "adam" => ("Adam", 0.001, "adam"),
            "adamw" => ("AdamW", 0.001, "adamw"),
            "rmsprop" => ("RMSprop", 0.001, "rmsprop"),
            "adagrad" => ("Adagrad", 0.001, "adagrad"),
            _ => bail!(
                InvalidArgument,
                "Optimizer: unknown class_name {class_name:?}; expected one of SGD, Adam, \
                 AdamW, RMSprop, Adagrad"
            ),
        };
        let mut a = Args::new(class, config)?;
        let rule = match class {
            "SGD" => Rule::Sgd(Sgd::from_args(&mut a)?),
            "Adam" => Rule::Adam(Adam::from_args(&mut a)?),
            "AdamW" => Rule::AdamW(Adam::from_args(&mut a)?),
            "RMSprop" => Rule::RmsProp(RmsProp::from_args(&mut a)?),
            _ => Rule::Adagrad(Adagrad::from_args(&mut a)?),
        };
        let learning_rate = learning_rate_from(class, a.get("learning_rate"), default_lr)?;
        let name = match a.get("name") {
            None => default_name.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => bail!(
                InvalidArgument,
                "{class}: argument `name` must be a string, got {v}"
            ),
        };
        let mut non_negative = |key: &'static str| -> Result<Option<f64>> {
            a.opt_f64(key)?
                .map(|x| check_non_negative(class, key, x))
                .transpose()
        };
        let mut weight_decay = non_negative("weight_decay")?;
        let clipnorm = non_negative("clipnorm")?;
        let clipvalue = non_negative("clipvalue")?;
        let global_clipnorm = non_negative("global_clipnorm")?;
        let loss_scale_factor = a.opt_f64("loss_scale_factor")?;
        if let Some(s) = loss_scale_factor {
            config::check_positive(class, "loss_scale_factor", s)?;
        }
        if class == "AdamW" {
            weight_decay = Some(weight_decay.unwrap_or(0.004));
        }
        if [clipnorm, clipvalue, global_clipnorm]
            .iter()
            .filter(|c| c.is_some())
            .count()
            > 1
        {
            let show = |c: Option<f64>| c.map_or("None".to_string(), |x| x.to_string());
            bail!(
                InvalidArgument,
                "{class}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set; \
                 got clipnorm={}, clipvalue={}, global_clipnorm={}",
                show(clipnorm),
                show(clipvalue),
                show(global_clipnorm)
            );
        }
        // Keras arguments kandle accepts only at their defaults.
        a.unsupported("use_ema")?;
        a.opt_f64("ema_momentum")?; // only read by Keras when use_ema is on
        a.opt_f64("ema_overwrite_frequency")?;
        a.unsupported("gradient_accumulation_steps")?;
        a.finish()?;
        Ok(Optimizer {
            name,
            rule,
            learning_rate,
            weight_decay,
            clipnorm,
            clipvalue,
            global_clipnorm,
            loss_scale_factor,
            iterations: 0,
            slots: HashMap::new(),
        })
    }

    /// Keras's `SGD(learning_rate)`, without momentum.
    pub fn sgd(learning_rate: f64) -> Result<Optimizer> {
        Self::from_config("SGD", &json!({ "learning_rate": learning_rate }))
    }

    /// Keras's `Adam(learning_rate)` with the default betas and epsilon.
    pub fn adam(learning_rate: f64) -> Result<Optimizer> {
        Self::from_config("Adam", &json!({ "learning_rate": learning_rate }))
    }

    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    pub fn class_name(&self) -> &'static str {
        self.rule.class_name()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keras's `loss_scale_factor`: the training loop multiplies the loss by it before
    /// taking gradients, and [`Optimizer::apply`] divides the gradients by it.
    pub fn loss_scale_factor(&self) -> Option<f64> {
        self.loss_scale_factor
    }

    /// Number of steps applied so far.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// Sets the step counter (as when restoring a saved optimizer).
    pub fn set_iterations(&mut self, iterations: u64) {
        self.iterations = iterations;
    }

    /// The learning rate the next step uses: the constant, or the schedule's value at
    /// the current `iterations`.
    pub fn learning_rate(&self) -> f64 {
        match &self.learning_rate {
            LearningRate::Constant(x) => *x,
            LearningRate::Schedule(s) => s.value(self.iterations as f64),
        }
    }

    pub fn learning_rate_spec(&self) -> &LearningRate {
        &self.learning_rate
    }

    /// Replaces a constant learning rate. Like Keras, an optimizer built with a schedule
    /// refuses: its learning rate is not settable.
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        let x = check_learning_rate(learning_rate)?;
        match &self.learning_rate {
            LearningRate::Constant(_) => {
                self.learning_rate = LearningRate::Constant(x);
                Ok(())
            }
            LearningRate::Schedule(s) => bail!(
                InvalidArgument,
                "set_learning_rate: this optimizer was created with a LearningRateSchedule \
                 ({}) as its learning_rate, hence its learning rate is not settable; create it \
                 with a float learning_rate instead (got learning_rate={learning_rate})",
                s.class_name()
            ),
        }
    }

    /// Replaces the learning rate by a schedule (Keras allows assigning a schedule).
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.learning_rate = LearningRate::Schedule(schedule);
    }

    /// The decoupled weight decay, if any.
    pub fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }

    /// The slots of `variable` by name (empty before its first step or for plain SGD).
    pub fn slots(&self, variable: &Tensor) -> Vec<(&'static str, Vec<f32>)> {
        let names = self.rule.slot_names();
        match self.slots.get(&variable.id()) {
            None => Vec::new(),
            Some(buf) => names
                .iter()
                .zip(buf.chunks(variable.numel().max(1)))
                .map(|(&name, values)| (name, values.to_vec()))
                .collect(),
        }
    }

    /// Keras's `get_config()` keys (without the EMA and accumulation options, which are
    /// always at their defaults). A schedule appears as `{"class_name", "config"}`.
    pub fn config(&self) -> Value {
        let mut c = Map::new();
        c.insert("name".into(), json!(self.name));
        let lr = match &self.learning_rate {
            LearningRate::Constant(x) => json!(x),
            LearningRate::Schedule(s) => schedule_config(s),
        };
        c.insert("learning_rate".into(), lr);
        c.insert("weight_decay".into(), json!(self.weight_decay));
        c.insert("clipnorm".into(), json!(self.clipnorm));
        c.insert("global_clipnorm".into(), json!(self.global_clipnorm));
        c.insert("clipvalue".into(), json!(self.clipvalue));
        c.insert("loss_scale_factor".into(), json!(self.loss_scale_factor));
        self.rule.config(&mut c);
        Value::Object(c)
    }

    /// One step: `grads[i]` updates `variables[i]` in place. Nothing changes (not even
    /// `iterations`) unless every pair matches in shape and every variable is one. An
    /// empty list is a no-op, as in Keras.
    pub fn apply(&mut self, grads: &[Tensor], variables: &[Tensor]) -> Result<()> {
        check_pairs(grads, variables)?;
        if grads.is_empty() {
            return Ok(());
        }
        // Slots for variables seen for the first time, before anything is written.
        let (k, init) = (self.rule.slot_names().len(), self.rule.slot_init());
        if k > 0 {
            for v in variables {
                if !self.slots.contains_key(&v.id()) {
                    let n = v.numel().checked_mul(k).ok_or_else(|| {
                        crate::Error::Allocation(format!(
                            "{}: slots for a variable of shape {} overflow",
                            self.class_name(),
                            fmt_shape(v.shape())
                        ))
                    })?;
                    let mut buf = alloc::<f32>(n)?;
                    if init != 0.0 {
                        buf.fill(init);
                    }
                    self.slots.insert(v.id(), buf);
                }
            }
        }
        let lr = self.learning_rate();
        let base = 1.0 / self.loss_scale_factor.unwrap_or(1.0);
        let clip_value = self.clipvalue.filter(|&c| c > 0.0).map(|c| c as f32);
        let clipnorm = self.clipnorm.filter(|&c| c > 0.0);
        let global_scale = match self.global_clipnorm.filter(|&c| c > 0.0) {
            None => 1.0,
            Some(c) => {
                let sq: f64 = grads.iter().map(|g| l2_norm(&g.data()).powi(2)).sum();
                let norm = sq.sqrt() * base;
                // Keras: clip·min(1/norm, 1/clip), NaN when the norm is not finite.
                if norm.is_finite() {
                    c * (1.0 / norm).min(1.0 / c)
                } else {
                    f64::NAN
                }
            }
        };
        let decay = self.weight_decay.map(|wd| (wd * lr) as f32);
        let (lr32, step) = (lr as f32, self.iterations + 1);
        for (g, v) in grads.iter().zip(variables) {
            // A gradient that is the variable itself is read from a copy: its lock is taken.
            let copy;
            let guard;
            let grad: &[f32] = if g.id() == v.id() {
                copy = g.to_vec();
                &copy
            } else {
                guard = g.data();
                &guard
            };
            let scale = match clipnorm {
                None => base * global_scale,
                Some(c) => {
                    let norm = l2_norm(grad) * base;
                    let denom = if norm.is_nan() { norm } else { norm.max(c) };
                    base * c / denom
                }
            };
            let prep = Prep {
                scale: scale as f32,
                clip_value,
                decay,
            };
            let slots: &mut [f32] = match self.slots.get_mut(&v.id()) {
                Some(s) => s,
                None => &mut [],
            };
            let rule = &self.rule;
            v.update_in_place(|var| {
                rule.update(
                    lr32,
                    step,
                    Pass {
                        var,
                        grad,
                        slots,
                        prep,
                    },
                )
            })?;
        }
        self.iterations += 1;
        Ok(())
    }
}

/// Keras's serialized form of a schedule: `{"class_name", "config"}`.
pub fn schedule_config(s: &Schedule) -> Value {
    let config = match s {
        Schedule::ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
        } => json!({
            "initial_learning_rate": initial_learning_rate,
            "decay_steps": decay_steps,
            "decay_rate": decay_rate,
            "staircase": staircase,
        }),
        Schedule::CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha,
            warmup_target,
            warmup_steps,
        } => json!({
            "initial_learning_rate": initial_learning_rate,
            "decay_steps": decay_steps,
            "alpha": alpha,
            "warmup_target": warmup_target,
            "warmup_steps": warmup_steps,
        }),
        Schedule::PiecewiseConstantDecay { boundaries, values } => {
            json!({ "boundaries": boundaries, "values": values })
        }
    };
    json!({ "class_name": s.class_name(), "config": config })
}

/// Gradients and variables must pair up one to one, with equal shapes.
pub fn check_pairs<T: Float>(grads: &[Tensor<T>], variables: &[Tensor<T>]) -> Result<()> {
    if grads.len() != variables.len() {
        bail!(
            InvalidArgument,
            "apply: got {} gradients for {} variables; expected one gradient per variable",
            grads.len(),
            variables.len()
        );
    }
    for (i, (g, v)) in grads.iter().zip(variables).enumerate() {
        if !v.is_variable() {
            bail!(
                InvalidArgument,
                "apply: item {i} of variables is not a Variable"
            );
        }
        if g.shape() != v.shape() {
            bail!(
                Shape,
                "apply: gradient {i} has shape {} but its variable has shape {}",
                fmt_shape(g.shape()),
                fmt_shape(v.shape())
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
