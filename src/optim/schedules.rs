//! Learning-rate schedules: Keras 3's `ExponentialDecay`, `CosineDecay` and
//! `PiecewiseConstantDecay`, evaluated at the optimizer's `iterations` before each step.

use super::config::{check_non_negative, check_positive, Args};
use crate::bail;
use crate::error::Result;
use serde_json::Value;

/// A learning rate as a function of the step count.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// `initial_learning_rate * decay_rate ^ (step / decay_steps)`; with `staircase`
    /// the exponent is floored.
    ExponentialDecay {
        initial_learning_rate: f64,
        decay_steps: f64,
        decay_rate: f64,
        staircase: bool,
    },
    /// An optional linear warmup from `initial_learning_rate` to `warmup_target` over
    /// `warmup_steps`, then a cosine decay over `decay_steps` down to `alpha` times the
    /// starting value.
    CosineDecay {
        initial_learning_rate: f64,
        decay_steps: f64,
        alpha: f64,
        warmup_target: Option<f64>,
        warmup_steps: f64,
    },
    /// `values[0]` while `step <= boundaries[0]`, `values[i]` while
    /// `boundaries[i-1] < step <= boundaries[i]`, `values[n]` after `boundaries[n-1]`.
    PiecewiseConstantDecay {
        boundaries: Vec<f64>,
        values: Vec<f64>,
    },
}

impl Schedule {
    /// Builds a schedule from Keras's serialized form
    /// `{"class_name": "ExponentialDecay", "config": {...}}` (extra keys `module` and
    /// `registered_name` are accepted).
    pub fn from_config(value: &Value) -> Result<Schedule> {
        let mut outer = Args::new("learning_rate schedule", value)?;
        let class_name = match outer.get("class_name") {
            Some(Value::String(s)) => s.as_str(),
            other => bail!(
                InvalidArgument,
                "learning_rate schedule: expected a dict with a string `class_name`, got class_name={}",
                other.map_or("None".to_string(), |v| v.to_string())
            ),
        };
        let config = outer.get("config").unwrap_or(&Value::Null);
        outer.get("module");
        outer.get("registered_name");
        outer.finish()?;
        Self::from_class_config(class_name, config)
    }

    /// Builds a schedule from its class name and its `get_config()` dict.
    pub fn from_class_config(class_name: &str, config: &Value) -> Result<Schedule> {
        let schedule = match class_name {
            "ExponentialDecay" => {
                let mut a = Args::new("ExponentialDecay", config)?;
                let s = Schedule::ExponentialDecay {
                    initial_learning_rate: a.required_f64("initial_learning_rate")?,
                    decay_steps: check_positive(
                        "ExponentialDecay",
                        "decay_steps",
                        a.required_f64("decay_steps")?,
                    )?,
                    decay_rate: check_positive(
                        "ExponentialDecay",
                        "decay_rate",
                        a.required_f64("decay_rate")?,
                    )?,
                    staircase: a.bool_or("staircase", false)?,
                };
                a.get("name");
                a.finish()?;
                s
            }
            "CosineDecay" => {
                let mut a = Args::new("CosineDecay", config)?;
                let s = Schedule::CosineDecay {
                    initial_learning_rate: a.required_f64("initial_learning_rate")?,
                    decay_steps: check_positive(
                        "CosineDecay",
                        "decay_steps",
                        a.required_f64("decay_steps")?,
                    )?,
                    alpha: a.f64_or("alpha", 0.0)?,
                    warmup_target: a.opt_f64("warmup_target")?,
                    warmup_steps: check_non_negative(
                        "CosineDecay",
                        "warmup_steps",
                        a.f64_or("warmup_steps", 0.0)?,
                    )?,
                };
                a.get("name");
                a.finish()?;
                s
            }
            "PiecewiseConstantDecay" => {
                let mut a = Args::new("PiecewiseConstantDecay", config)?;
                let boundaries = a.f64_list("boundaries")?;
                let values = a.f64_list("values")?;
                a.get("name");
                a.finish()?;
                if values.len() != boundaries.len() + 1 {
                    bail!(
                        InvalidArgument,
                        "PiecewiseConstantDecay: the length of `boundaries` should be 1 less than \
                         the length of `values`; got {} boundaries and {} values",
                        boundaries.len(),
                        values.len()
                    );
                }
                if let Some(i) = (1..boundaries.len()).find(|&i| boundaries[i] <= boundaries[i - 1])
                {
                    bail!(
                        InvalidArgument,
                        "PiecewiseConstantDecay: `boundaries` must be strictly increasing; got \
                         boundaries[{}]={} after boundaries[{}]={}",
                        i,
                        boundaries[i],
                        i - 1,
                        boundaries[i - 1]
                    );
                }
                Schedule::PiecewiseConstantDecay { boundaries, values }
            }
            other => bail!(
                InvalidArgument,
                "learning_rate schedule: unknown class_name {other:?}; expected one of \
                 ExponentialDecay, CosineDecay, PiecewiseConstantDecay"
            ),
        };
        Ok(schedule)
    }

    /// Keras's class name of this schedule.
    pub fn class_name(&self) -> &'static str {
        match self {
            Schedule::ExponentialDecay { .. } => "ExponentialDecay",
            Schedule::CosineDecay { .. } => "CosineDecay",
            Schedule::PiecewiseConstantDecay { .. } => "PiecewiseConstantDecay",
        }
    }

    /// The learning rate at `step`, with Keras's formulas.
    pub fn value(&self, step: f64) -> f64 {
        match self {
            Schedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let p = step / decay_steps;
                let p = if *staircase { p.floor() } else { p };
                initial_learning_rate * decay_rate.powf(p)
            }
            Schedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup_target,
                warmup_steps,
            } => {
                let cosine = |step: f64, from: f64| {
                    let decayed = 0.5 * (1.0 + (std::f64::consts::PI * step / decay_steps).cos());
                    from * ((1.0 - alpha) * decayed + alpha)
                };
                match warmup_target {
                    None => cosine(step.min(*decay_steps), *initial_learning_rate),
                    Some(target) => {
                        let step = step.min(decay_steps + warmup_steps);
                        if step < *warmup_steps {
                            (target - initial_learning_rate) * (step / warmup_steps)
                                + initial_learning_rate
                        } else {
                            cosine(step - warmup_steps, *target)
                        }
                    }
                }
            }
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                let i = boundaries.iter().take_while(|&&b| step > b).count();
                values[i]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} != {b}");
    }

    #[test]
    fn exponential_decay_smooth_and_staircase() {
        let cfg = json!({"class_name": "ExponentialDecay", "config": {
            "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}});
        let s = Schedule::from_config(&cfg).unwrap();
        for step in [0.0, 1.0, 5.0, 10.0, 25.0] {
            close(s.value(step), 0.1 * 0.5f64.powf(step / 10.0));
        }
        let cfg = json!({"class_name": "ExponentialDecay", "config": {
            "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5,
            "staircase": true, "name": "ExponentialDecay"}});
        let s = Schedule::from_config(&cfg).unwrap();
        close(s.value(0.0), 0.1);
        close(s.value(9.0), 0.1);
        close(s.value(10.0), 0.05);
        close(s.value(25.0), 0.025);
    }

    #[test]
    fn cosine_decay_without_and_with_warmup() {
        let s = Schedule::from_class_config(
            "CosineDecay",
            &json!({"initial_learning_rate": 0.2, "decay_steps": 8, "alpha": 0.1}),
        )
        .unwrap();
        let pi = std::f64::consts::PI;
        for step in [0.0, 1.0, 4.0, 8.0, 20.0] {
            let t = f64::min(step, 8.0);
            let decayed = 0.9 * 0.5 * (1.0 + (pi * t / 8.0).cos()) + 0.1;
            close(s.value(step), 0.2 * decayed);
        }
        close(s.value(4.0), 0.2 * (0.9 * 0.5 + 0.1));
        close(s.value(100.0), 0.02);

        let s = Schedule::from_class_config(
            "CosineDecay",
            &json!({"initial_learning_rate": 0.0, "decay_steps": 10,
                    "warmup_target": 1.0, "warmup_steps": 4}),
        )
        .unwrap();
        close(s.value(0.0), 0.0);
        close(s.value(1.0), 0.25);
        close(s.value(3.0), 0.75);
        close(s.value(4.0), 1.0);
        close(s.value(9.0), 0.5);
        close(s.value(14.0), 0.0);
        close(s.value(50.0), 0.0);
    }

    #[test]
    fn piecewise_constant_decay_boundaries_are_inclusive_on_the_left_piece() {
        let s = Schedule::from_class_config(
            "PiecewiseConstantDecay",
            &json!({"boundaries": [2, 5], "values": [1.0, 0.5, 0.1]}),
        )
        .unwrap();
        let expected = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1];
        for (step, e) in expected.iter().enumerate() {
            close(s.value(step as f64), *e);
        }
    }

    #[test]
    fn bad_schedules_name_the_argument() {
        let err = |class: &str, cfg: Value| {
            Schedule::from_class_config(class, &cfg)
                .unwrap_err()
                .to_string()
        };
        assert!(err(
            "ExponentialDecay",
            json!({"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5})
        )
        .contains("decay_steps"));
        assert!(err(
            "CosineDecay",
            json!({"initial_learning_rate": 0.1, "decay_steps": -1})
        )
        .contains("decay_steps"));
        assert!(err(
            "PiecewiseConstantDecay",
            json!({"boundaries": [1, 2], "values": [1.0, 0.5]})
        )
        .contains("boundaries"));
        assert!(err(
            "PiecewiseConstantDecay",
            json!({"boundaries": [2, 1], "values": [1.0, 0.5, 0.1]})
        )
        .contains("strictly increasing"));
        assert!(err(
            "ExponentialDecay",
            json!({"initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.5, "bogus": 1})
        )
        .contains("bogus"));
        assert!(err("Nope", json!({})).contains("Nope"));
        assert!(Schedule::from_config(&json!({"config": {}}))
            .unwrap_err()
            .to_string()
            .contains("class_name"));
    }
}
