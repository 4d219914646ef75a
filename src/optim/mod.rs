//! Optimizers: Keras 3's update rules and defaults, updating variables in place.
//!
//! One [`Optimizer`] type holds what every Keras optimizer shares (learning rate or
//! schedule, weight decay, gradient clipping, loss scaling, gradient accumulation, the
//! moving average of the weights (EMA), the `iterations` counter and per-variable slot
//! state); an [`UpdateRule`] holds what differs: the hyper-parameters and the update
//! formula of SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax, Adadelta, Ftrl or Lion.
//! Each rule lives in one file, with its [`RuleClass`] (names and defaults) beside it;
//! [`CLASSES`] lists them.
//!
//! Each step follows Keras's `BaseOptimizer.apply` (its JAX form): unscale the gradients
//! (`loss_scale_factor`); with `gradient_accumulation_steps = n`, add them to the
//! accumulators and only every n-th call go on with their mean; clip them (`clipnorm`,
//! `global_clipnorm` or `clipvalue`), apply weight decay `w −= w·wd·lr`, run the update
//! rule; update the EMA (and every `ema_overwrite_frequency` steps copy it into the
//! variables); then count the call. The learning rate is the schedule's value at the
//! number of calls. Everything but the norms happens in one pass over each variable's
//! data, in place: slots live in one buffer per variable (one array per slot, one after
//! another), created on first use and reused afterwards, so a steady-state step
//! allocates nothing.
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

mod accumulation;
mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod ema;
mod ftrl;
mod lion;
mod nadam;
mod rmsprop;
pub mod schedules;
mod sgd;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamax::Adamax;
pub use ftrl::Ftrl;
pub use lion::Lion;
pub use nadam::Nadam;
pub use rmsprop::RmsProp;
pub use schedules::Schedule;
pub use sgd::Sgd;

use crate::bail;
use crate::config::{check_non_negative, check_positive, check_range, Args};
use crate::error::{fmt_shape, Result};
use crate::kernels::parallel::chunked_sum;
use crate::kernels::pool::alloc;
use crate::kernels::slot_walk::walk_slots;
use crate::tensor::{Float, Tensor, TensorId};
use accumulation::Accumulation;
use ema::Ema;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The update formula of one Keras optimizer class, with its hyper-parameters.
pub trait UpdateRule: fmt::Debug + Send + Sync {
    /// Names of the per-element slots, in their order in the slot buffer.
    fn slot_names(&self) -> &'static [&'static str];

    /// The value slot `slot` starts at (zero unless the rule says otherwise).
    fn slot_init(&self, _slot: usize) -> f32 {
        0.0
    }

    /// One step over one variable; `step` is Keras's `iterations + 1` (1-based).
    fn update(&self, lr: f32, step: u64, pass: Pass<'_>);

    /// Adds the rule's own `get_config()` keys.
    fn config(&self, c: &mut Map<String, Value>);
}

/// One Keras optimizer class: its class name, defaults, and the reader of its own
/// arguments (the rule's hyper-parameters) from a config.
#[derive(Debug)]
pub struct RuleClass {
    /// Keras's class name (`"Adam"`).
    pub class_name: &'static str,
    /// `name` when the config has none.
    pub default_name: &'static str,
    /// `learning_rate` when the config has none.
    pub default_learning_rate: f64,
    /// AdamW's decay is on by default.
    pub default_weight_decay: Option<f64>,
    pub(crate) from_args: fn(&Args<'_>) -> Result<Arc<dyn UpdateRule>>,
}

/// Every optimizer class kandle implements.
pub const CLASSES: [&RuleClass; 10] = [
    &sgd::CLASS,
    &adam::ADAM,
    &adam::ADAMW,
    &rmsprop::CLASS,
    &adagrad::CLASS,
    &nadam::CLASS,
    &adamax::CLASS,
    &adadelta::CLASS,
    &ftrl::CLASS,
    &lion::CLASS,
];

/// A constant learning rate or a schedule of the step count.
#[derive(Clone, Debug, PartialEq)]
pub enum LearningRate {
    /// The same rate at every step.
    Constant(f64),
    /// A rate that depends on the step count.
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
pub struct Pass<'a> {
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

impl Pass<'_> {
    /// Calls `f(w, g, slots)` for every element, with `g` already scaled and clipped and
    /// `w` already decayed; `K` is the number of slots per element. In parallel over
    /// fixed chunks for large variables: every element is independent, so results never
    /// depend on the thread count.
    pub fn run<const K: usize>(self, f: impl Fn(&mut f32, f32, &mut [f32]) + Sync + Send) {
        let Pass {
            var,
            grad,
            slots,
            prep,
        } = self;
        // Two walks, so that the common case compiles without the preparation.
        if prep.is_identity() {
            walk_slots::<K>(var, grad, slots, |_, g| g, f);
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
            walk_slots::<K>(var, grad, slots, full, f);
        }
    }
}

/// A Keras optimizer (any of [`CLASSES`]) with Keras 3's defaults.
#[derive(Clone, Debug)]
pub struct Optimizer {
    class: &'static RuleClass,
    name: String,
    rule: Arc<dyn UpdateRule>,
    learning_rate: LearningRate,
    weight_decay: Option<f64>,
    clipnorm: Option<f64>,
    clipvalue: Option<f64>,
    global_clipnorm: Option<f64>,
    loss_scale_factor: Option<f64>,
    use_ema: bool,
    /// The moving averages (touched only with `use_ema`) and their settings.
    ema: Ema,
    accumulation: Option<Accumulation>,
    /// Keras's `_iterations`: the number of `apply` calls, accumulating ones included.
    raw_iterations: u64,
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

/// A fresh buffer of `n × k` values (for `k` arrays as long as `variable`).
fn state_buffer(owner: &str, variable: &Tensor, k: usize) -> Result<Vec<f32>> {
    let n = variable.numel().checked_mul(k).ok_or_else(|| {
        crate::Error::Allocation(format!(
            "{owner}: optimizer state for a variable of shape {} overflows",
            fmt_shape(variable.shape())
        ))
    })?;
    alloc::<f32>(n)
}

/// Calls `f` with the data of gradient `g` of variable `v`: a copy when the gradient is
/// the variable itself, whose lock the update takes.
fn with_data<R>(g: &Tensor, v: &Tensor, f: impl FnOnce(&[f32]) -> R) -> R {
    if g.id() == v.id() {
        f(&g.to_vec())
    } else {
        f(&g.data())
    }
}

impl Optimizer {
    /// An optimizer of Keras class `class_name` (one of [`CLASSES`], or its lower-case
    /// name) from the keyword arguments of its Keras constructor as a JSON object
    /// (`get_config()`'s keys; missing keys take Keras's defaults). `learning_rate` is a
    /// number or a schedule config `{"class_name": "ExponentialDecay", "config": {...}}`.
    pub fn from_config(class_name: &str, config: &Value) -> Result<Optimizer> {
        let lower = class_name.to_ascii_lowercase();
        let Some(class) = CLASSES
            .into_iter()
            .find(|c| c.class_name.to_ascii_lowercase() == lower)
        else {
            let names: Vec<&str> = CLASSES.iter().map(|c| c.class_name).collect();
            bail!(
                InvalidArgument,
                "Optimizer: unknown class_name {class_name:?}; expected one of {}",
                names.join(", ")
            );
        };
        let owner = class.class_name;
        let a = Args::new(owner, config)?;
        let rule = (class.from_args)(&a)?;
        let learning_rate =
            learning_rate_from(owner, a.given("learning_rate"), class.default_learning_rate)?;
        let name = match a.given("name") {
            None => class.default_name.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => bail!(
                InvalidArgument,
                "{owner}: argument `name` must be a string, got {v}"
            ),
        };
        let non_negative = |key: &'static str| -> Result<Option<f64>> {
            a.opt_f64(key)?
                .map(|x| check_non_negative(owner, key, x))
                .transpose()
        };
        let weight_decay = non_negative("weight_decay")?.or(class.default_weight_decay);
        let clipnorm = non_negative("clipnorm")?;
        let clipvalue = non_negative("clipvalue")?;
        let global_clipnorm = non_negative("global_clipnorm")?;
        let loss_scale_factor = a.opt_f64("loss_scale_factor")?;
        if let Some(s) = loss_scale_factor {
            check_positive(owner, "loss_scale_factor", s)?;
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
                "{owner}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set; \
                 got clipnorm={}, clipvalue={}, global_clipnorm={}",
                show(clipnorm),
                show(clipvalue),
                show(global_clipnorm)
            );
        }
        let use_ema = a.bool("use_ema", false)?;
        let ema_momentum = a.f64("ema_momentum", 0.99)?;
        let ema_overwrite_frequency = a.opt_int("ema_overwrite_frequency")?;
        // As in Keras, the EMA settings are only checked when the EMA is on.
        if use_ema {
            check_range(owner, "ema_momentum", ema_momentum, 0.0, 1.0)?;
            if let Some(f) = ema_overwrite_frequency.filter(|&f| f < 1) {
                bail!(
                    InvalidArgument,
                    "{owner}: argument `ema_overwrite_frequency` must be an integer >= 1 or \
                     None, got ema_overwrite_frequency={f}"
                );
            }
        }
        let accumulation = match a.opt_int("gradient_accumulation_steps")? {
            None => None,
            Some(n) if n >= 2 => Some(Accumulation::new(n as u64)),
            Some(n) => bail!(
                InvalidArgument,
                "{owner}: argument `gradient_accumulation_steps` must be an integer >= 2 or \
                 None, got gradient_accumulation_steps={n}"
            ),
        };
        a.finish()?;
        Ok(Optimizer {
            class,
            name,
            rule,
            learning_rate,
            weight_decay,
            clipnorm,
            clipvalue,
            global_clipnorm,
            loss_scale_factor,
            use_ema,
            ema: Ema::new(ema_momentum, ema_overwrite_frequency.map(|f| f as u64)),
            accumulation,
            raw_iterations: 0,
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

    /// The update rule: its slots and hyper-parameters.
    pub fn rule(&self) -> &dyn UpdateRule {
        &*self.rule
    }

    /// Keras's class name of the optimizer (`"Adam"`, ...).
    pub fn class_name(&self) -> &'static str {
        self.class.class_name
    }

    /// The optimizer's `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keras's `loss_scale_factor`: the training loop multiplies the loss by it before
    /// taking gradients, and [`Optimizer::apply`] divides the gradients by it.
    pub fn loss_scale_factor(&self) -> Option<f64> {
        self.loss_scale_factor
    }

    /// Keras's `iterations`: the number of updates applied so far. With
    /// `gradient_accumulation_steps = n` it is the number of `apply` calls divided by n
    /// (rounded down), which is also the step count the update rules see.
    pub fn iterations(&self) -> u64 {
        match &self.accumulation {
            None => self.raw_iterations,
            Some(acc) => self.raw_iterations / acc.steps(),
        }
    }

    /// The number of `apply` calls so far, accumulating ones included: Keras's
    /// `_iterations` variable (saved as `iteration`), which schedules read.
    pub fn raw_iterations(&self) -> u64 {
        self.raw_iterations
    }

    /// Sets the number of `apply` calls (as when restoring Keras's saved `iteration`).
    pub fn set_raw_iterations(&mut self, raw_iterations: u64) {
        self.raw_iterations = raw_iterations;
    }

    /// The learning rate the next step uses: the constant, or the schedule's value at
    /// the number of `apply` calls so far.
    pub fn learning_rate(&self) -> f64 {
        match &self.learning_rate {
            LearningRate::Constant(x) => *x,
            LearningRate::Schedule(s) => s.value(self.raw_iterations as f64),
        }
    }

    /// The learning rate as configured: a constant or a schedule.
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

    /// Replaces the slots of `variable` (as when loading a saved optimizer): `values[k]`
    /// is slot `k` of [`UpdateRule::slot_names`], as long as the variable. Nothing
    /// changes unless every array fits.
    pub fn set_slots(&mut self, variable: &Tensor, values: &[Vec<f32>]) -> Result<()> {
        let names = self.rule.slot_names();
        if values.len() != names.len() {
            bail!(
                InvalidArgument,
                "{}: set_slots: expected {} slot arrays ({}), got {}",
                self.class.class_name,
                names.len(),
                names.join(", "),
                values.len()
            );
        }
        if let Some((k, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| v.len() != variable.numel())
        {
            bail!(
                Shape,
                "{}: set_slots: slot {} has {} values for a variable of shape {}",
                self.class.class_name,
                names[k],
                v.len(),
                fmt_shape(variable.shape())
            );
        }
        if names.is_empty() {
            return Ok(());
        }
        let mut buf = state_buffer(self.class.class_name, variable, names.len())?;
        for (chunk, v) in buf.chunks_mut(variable.numel().max(1)).zip(values) {
            chunk[..v.len()].copy_from_slice(v);
        }
        self.slots.insert(variable.id(), buf);
        Ok(())
    }

    /// The moving average of `variable` (with `use_ema`, once it has been updated).
    pub fn ema_average(&self, variable: &Tensor) -> Option<Vec<f32>> {
        self.ema.average(variable).map(<[f32]>::to_vec)
    }

    /// The gradients of `variable` summed since the last update (with
    /// `gradient_accumulation_steps`, once it has had one).
    pub fn accumulated_gradient(&self, variable: &Tensor) -> Option<Vec<f32>> {
        self.accumulation
            .as_ref()?
            .sum(variable)
            .map(<[f32]>::to_vec)
    }

    /// Restores the moving average of `variable` (with `use_ema`).
    pub fn set_ema_average(&mut self, variable: &Tensor, values: &[f32]) -> Result<()> {
        let owner = self.class.class_name;
        if !self.use_ema {
            bail!(
                InvalidArgument,
                "{owner}: set_ema_average: `use_ema` is off"
            );
        }
        self.check_state_len(variable, values, "moving average")?;
        self.ema.set_average(owner, variable, values)
    }

    /// Restores the gradients of `variable` accumulated since the last update (with
    /// `gradient_accumulation_steps`).
    pub fn set_accumulated_gradient(&mut self, variable: &Tensor, values: &[f32]) -> Result<()> {
        let owner = self.class.class_name;
        self.check_state_len(variable, values, "accumulated gradient")?;
        match &mut self.accumulation {
            Some(acc) => acc.set_sum(owner, variable, values),
            None => bail!(
                InvalidArgument,
                "{owner}: set_accumulated_gradient: `gradient_accumulation_steps` is not set"
            ),
        }
    }

    fn check_state_len(&self, variable: &Tensor, values: &[f32], what: &str) -> Result<()> {
        if values.len() != variable.numel() {
            bail!(
                Shape,
                "{}: a {what} of {} values for a variable of shape {}",
                self.class.class_name,
                values.len(),
                fmt_shape(variable.shape())
            );
        }
        Ok(())
    }

    /// Keras's `get_config()` keys. A schedule appears as `{"class_name", "config"}`.
    pub fn config(&self) -> Value {
        let mut c = Map::new();
        c.insert("name".into(), json!(self.name));
        let lr = match &self.learning_rate {
            LearningRate::Constant(x) => json!(x),
            LearningRate::Schedule(s) => s.config(),
        };
        c.insert("learning_rate".into(), lr);
        c.insert("weight_decay".into(), json!(self.weight_decay));
        c.insert("clipnorm".into(), json!(self.clipnorm));
        c.insert("global_clipnorm".into(), json!(self.global_clipnorm));
        c.insert("clipvalue".into(), json!(self.clipvalue));
        c.insert("use_ema".into(), json!(self.use_ema));
        c.insert("ema_momentum".into(), json!(self.ema.momentum()));
        c.insert(
            "ema_overwrite_frequency".into(),
            json!(self.ema.overwrite_frequency()),
        );
        c.insert("loss_scale_factor".into(), json!(self.loss_scale_factor));
        c.insert(
            "gradient_accumulation_steps".into(),
            json!(self.accumulation.as_ref().map(Accumulation::steps)),
        );
        self.rule.config(&mut c);
        Value::Object(c)
    }

    /// One call of Keras's `apply`: `grads[i]` updates `variables[i]` in place (with
    /// gradient accumulation, only every n-th call updates). Nothing changes (not even
    /// `iterations`) unless every pair matches in shape and every variable is one. An
    /// empty list is a no-op, as in Keras.
    pub fn apply(&mut self, grads: &[Tensor], variables: &[Tensor]) -> Result<()> {
        check_pairs(grads, variables)?;
        if grads.is_empty() {
            return Ok(());
        }
        // State for variables seen for the first time, before anything is written.
        self.allocate_slots(variables)?;
        if let Some(acc) = &mut self.accumulation {
            acc.allocate(self.class.class_name, variables)?;
        }
        if self.use_ema {
            self.ema.allocate(self.class.class_name, variables)?;
        }
        let update = match &mut self.accumulation {
            None => true,
            Some(acc) => acc.add(grads, variables, self.raw_iterations),
        };
        if update {
            self.step(grads, variables)?;
            if let Some(acc) = &mut self.accumulation {
                acc.reset(variables);
            }
        }
        if self.use_ema {
            self.ema.update(self.iterations())?;
        }
        self.raw_iterations += 1;
        Ok(())
    }

    /// Creates the rule's slots of the variables that have none yet.
    fn allocate_slots(&mut self, variables: &[Tensor]) -> Result<()> {
        let k = self.rule.slot_names().len();
        if k == 0 {
            return Ok(());
        }
        for v in variables {
            if !self.slots.contains_key(&v.id()) {
                let mut buf = state_buffer(self.class.class_name, v, k)?;
                for (slot, values) in buf.chunks_mut(v.numel().max(1)).enumerate() {
                    let init = self.rule.slot_init(slot);
                    if init != 0.0 {
                        values.fill(init);
                    }
                }
                self.slots.insert(v.id(), buf);
            }
        }
        Ok(())
    }

    /// Clipping, weight decay and the rule over every variable, from `grads` or, with
    /// gradient accumulation, from the accumulated means.
    fn step(&mut self, grads: &[Tensor], variables: &[Tensor]) -> Result<()> {
        let means = self.accumulation.as_ref();
        // Calls `f` with the gradient of pair `i` as the rule sees it.
        let with_grad = |i: usize, f: &mut dyn FnMut(&[f32])| match means {
            Some(acc) => f(acc.sum(&variables[i]).expect("allocated")),
            None => with_data(&grads[i], &variables[i], f),
        };
        let lr = self.learning_rate();
        let base = 1.0 / self.loss_scale_factor.unwrap_or(1.0);
        let clip_value = self.clipvalue.filter(|&c| c > 0.0).map(|c| c as f32);
        let clipnorm = self.clipnorm.filter(|&c| c > 0.0);
        let global_scale = match self.global_clipnorm.filter(|&c| c > 0.0) {
            None => 1.0,
            Some(c) => {
                let mut sq = 0.0;
                for i in 0..grads.len() {
                    with_grad(i, &mut |g| sq += l2_norm(g).powi(2));
                }
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
        let (lr32, step) = (lr as f32, self.iterations() + 1);
        let rule = &self.rule;
        for (i, v) in variables.iter().enumerate() {
            let mut result = Ok(());
            let slots: &mut [f32] = match self.slots.get_mut(&v.id()) {
                Some(s) => s,
                None => &mut [],
            };
            with_grad(i, &mut |grad| {
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
                result = v.update_in_place(|var| {
                    rule.update(
                        lr32,
                        step,
                        Pass {
                            var,
                            grad,
                            slots: &mut *slots,
                            prep,
                        },
                    )
                });
            });
            result?;
        }
        Ok(())
    }

    /// Keras's `finalize_variable_values`: with `use_ema`, overwrites each of
    /// `variables` that has a moving average with it (`fit` calls this after its last
    /// epoch); otherwise does nothing.
    pub fn finalize_variable_values(&self, variables: &[Tensor]) -> Result<()> {
        if self.use_ema {
            self.ema.overwrite(variables)?;
        }
        Ok(())
    }

    /// Swaps the values of each of `variables` with its moving average (the
    /// `SwapEMAWeights` callback). Needs `use_ema`.
    pub fn swap_ema_weights(&mut self, variables: &[Tensor]) -> Result<()> {
        self.check_ema("swap_ema_weights")?;
        self.ema.swap(variables)
    }

    /// Sets the moving average of each of `variables` to its current value
    /// (`SwapEMAWeights` at the end of its last epoch). Needs `use_ema`.
    pub fn copy_variables_to_ema(&mut self, variables: &[Tensor]) -> Result<()> {
        self.check_ema("copy_variables_to_ema")?;
        self.ema.copy_from(variables);
        Ok(())
    }

    fn check_ema(&self, op: &str) -> Result<()> {
        if !self.use_ema {
            bail!(
                InvalidArgument,
                "{op}: the optimizer keeps no moving average of the weights; create it with \
                 use_ema=True (got use_ema=False)"
            );
        }
        Ok(())
    }
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
