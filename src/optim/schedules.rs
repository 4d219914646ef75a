//! Learning-rate schedules: Keras 3's `ExponentialDecay`, `PiecewiseConstantDecay`,
//! `PolynomialDecay`, `InverseTimeDecay`, `CosineDecay` and `CosineDecayRestarts`,
//! evaluated at the optimizer's number of `apply` calls before each step.

use crate::bail;
use crate::config::{check_non_negative, check_positive, Args};
use crate::error::Result;
use serde_json::{json, Value};
use std::f64::consts::PI;

/// A learning rate as a function of the step count.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// `initial_learning_rate * decay_rate ^ (step / decay_steps)`; with `staircase`
    /// the exponent is floored.
    ExponentialDecay {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// The length of the decay, in steps (see the formula above).
        decay_steps: f64,
        /// How strongly the rate decays (see the formula above).
        decay_rate: f64,
        /// Decay in whole steps of `decay_steps` instead of continuously.
        staircase: bool,
    },
    /// `values[0]` while `step <= boundaries[0]`, `values[i]` while
    /// `boundaries[i-1] < step <= boundaries[i]`, `values[n]` after `boundaries[n-1]`.
    PiecewiseConstantDecay {
        /// The steps at which the rate changes, increasing.
        boundaries: Vec<f64>,
        /// The rates: one more than `boundaries`.
        values: Vec<f64>,
    },
    /// `(initial − end)·(1 − step/decay_steps)^power + end`, with the step capped at
    /// `decay_steps`; with `cycle`, `decay_steps` is instead multiplied by
    /// `ceil(step/decay_steps)` (1 at step 0), so the decay restarts from the top.
    PolynomialDecay {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// The length of the decay, in steps (see the formula above).
        decay_steps: f64,
        /// The rate at `decay_steps` and after.
        end_learning_rate: f64,
        /// The power of the polynomial.
        power: f64,
        /// Restart the decay after `decay_steps` instead of staying at the end.
        cycle: bool,
    },
    /// `initial_learning_rate / (1 + decay_rate·step/decay_steps)`; with `staircase`
    /// the ratio is floored.
    InverseTimeDecay {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// The length of the decay, in steps (see the formula above).
        decay_steps: f64,
        /// How strongly the rate decays (see the formula above).
        decay_rate: f64,
        /// Decay in whole steps of `decay_steps` instead of continuously.
        staircase: bool,
    },
    /// An optional linear warmup from `initial_learning_rate` to `warmup_target` over
    /// `warmup_steps`, then a cosine decay over `decay_steps` down to `alpha` times the
    /// starting value.
    CosineDecay {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// The length of the decay, in steps (see the formula above).
        decay_steps: f64,
        /// The final rate, as a fraction of the starting one.
        alpha: f64,
        /// The rate the warmup reaches; `None` for no warmup.
        warmup_target: Option<f64>,
        /// The steps of the warmup.
        warmup_steps: f64,
    },
    /// Cosine decays (SGDR): the first over `first_decay_steps`, each next one `t_mul`
    /// times longer and starting `m_mul` times higher, each from its start down to
    /// `alpha·initial_learning_rate`.
    CosineDecayRestarts {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// The steps of the first decay.
        first_decay_steps: f64,
        /// How much longer each decay is than the one before.
        t_mul: f64,
        /// How much lower each decay starts than the one before.
        m_mul: f64,
        /// The final rate, as a fraction of the starting one.
        alpha: f64,
    },
}

/// The schedules by Keras class name, for errors.
const NAMES: &str = "ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, \
                     InverseTimeDecay, CosineDecay, CosineDecayRestarts";

/// A required `decay_steps`-like argument: > 0.
fn steps(a: &Args<'_>, key: &'static str) -> Result<f64> {
    check_positive(a.owner(), key, a.required_f64(key)?)
}

/// `initial_learning_rate`, `decay_steps`, `decay_rate` (checked by `check_rate`) and
/// `staircase`: the arguments of ExponentialDecay and InverseTimeDecay.
fn rate_decay_args(
    a: &Args<'_>,
    check_rate: fn(&str, &str, f64) -> Result<f64>,
) -> Result<(f64, f64, f64, bool)> {
    Ok((
        a.required_f64("initial_learning_rate")?,
        steps(a, "decay_steps")?,
        check_rate(a.owner(), "decay_rate", a.required_f64("decay_rate")?)?,
        a.bool("staircase", false)?,
    ))
}

/// `step / decay_steps`, floored with `staircase`.
fn decayed_steps(step: f64, decay_steps: f64, staircase: bool) -> f64 {
    let p = step / decay_steps;
    if staircase {
        p.floor()
    } else {
        p
    }
}

impl Schedule {
    /// Builds a schedule from Keras's serialized form
    /// `{"class_name": "ExponentialDecay", "config": {...}}` (extra keys `module` and
    /// `registered_name` are accepted).
    pub fn from_config(value: &Value) -> Result<Schedule> {
        let outer = Args::new("learning_rate schedule", value)?;
        let class_name = match outer.given("class_name") {
            Some(Value::String(s)) => s.as_str(),
            other => bail!(
                InvalidArgument,
                "learning_rate schedule: expected a dict with a string `class_name`, got class_name={}",
                other.map_or("None".to_string(), |v| v.to_string())
            ),
        };
        let config = outer.value("config");
        outer.ignore(&["module", "registered_name"]);
        outer.finish()?;
        Self::from_class_config(class_name, config)
    }

    /// Builds a schedule from its class name and its `get_config()` dict.
    pub fn from_class_config(class_name: &str, config: &Value) -> Result<Schedule> {
        let a = Args::new(class_name, config)?;
        let schedule = match class_name {
            "ExponentialDecay" => {
                let (initial_learning_rate, decay_steps, decay_rate, staircase) =
                    rate_decay_args(&a, check_positive)?;
                Schedule::ExponentialDecay {
                    initial_learning_rate,
                    decay_steps,
                    decay_rate,
                    staircase,
                }
            }
            "PiecewiseConstantDecay" => {
                let boundaries = a.f64_list("boundaries")?;
                let values = a.f64_list("values")?;
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
            "PolynomialDecay" => Schedule::PolynomialDecay {
                initial_learning_rate: a.required_f64("initial_learning_rate")?,
                decay_steps: steps(&a, "decay_steps")?,
                end_learning_rate: a.f64("end_learning_rate", 0.0001)?,
                power: a.f64("power", 1.0)?,
                cycle: a.bool("cycle", false)?,
            },
            "InverseTimeDecay" => {
                let (initial_learning_rate, decay_steps, decay_rate, staircase) =
                    rate_decay_args(&a, check_non_negative)?;
                Schedule::InverseTimeDecay {
                    initial_learning_rate,
                    decay_steps,
                    decay_rate,
                    staircase,
                }
            }
            "CosineDecay" => Schedule::CosineDecay {
                initial_learning_rate: a.required_f64("initial_learning_rate")?,
                decay_steps: steps(&a, "decay_steps")?,
                alpha: a.f64("alpha", 0.0)?,
                warmup_target: a.opt_f64("warmup_target")?,
                warmup_steps: check_non_negative(
                    class_name,
                    "warmup_steps",
                    a.f64("warmup_steps", 0.0)?,
                )?,
            },
            "CosineDecayRestarts" => Schedule::CosineDecayRestarts {
                initial_learning_rate: a.required_f64("initial_learning_rate")?,
                first_decay_steps: steps(&a, "first_decay_steps")?,
                t_mul: check_positive(class_name, "t_mul", a.f64("t_mul", 2.0)?)?,
                m_mul: check_non_negative(class_name, "m_mul", a.f64("m_mul", 1.0)?)?,
                alpha: a.f64("alpha", 0.0)?,
            },
            other => bail!(
                InvalidArgument,
                "learning_rate schedule: unknown class_name {other:?}; expected one of {NAMES}"
            ),
        };
        a.ignore(&["name"]);
        a.finish()?;
        Ok(schedule)
    }

    /// Keras's class name of this schedule.
    pub fn class_name(&self) -> &'static str {
        match self {
            Schedule::ExponentialDecay { .. } => "ExponentialDecay",
            Schedule::PiecewiseConstantDecay { .. } => "PiecewiseConstantDecay",
            Schedule::PolynomialDecay { .. } => "PolynomialDecay",
            Schedule::InverseTimeDecay { .. } => "InverseTimeDecay",
            Schedule::CosineDecay { .. } => "CosineDecay",
            Schedule::CosineDecayRestarts { .. } => "CosineDecayRestarts",
        }
    }

    /// Keras's serialized form, `{"class_name", "config"}` (without `name`, which
    /// the Python class keeps).
    pub fn config(&self) -> Value {
        let config = match self {
            Schedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            }
            | Schedule::InverseTimeDecay {
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
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                json!({ "boundaries": boundaries, "values": values })
            }
            Schedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => json!({
                "initial_learning_rate": initial_learning_rate,
                "decay_steps": decay_steps,
                "end_learning_rate": end_learning_rate,
                "power": power,
                "cycle": cycle,
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
            Schedule::CosineDecayRestarts {
                initial_learning_rate,
                first_decay_steps,
                t_mul,
                m_mul,
                alpha,
            } => json!({
                "initial_learning_rate": initial_learning_rate,
                "first_decay_steps": first_decay_steps,
                "t_mul": t_mul,
                "m_mul": m_mul,
                "alpha": alpha,
            }),
        };
        json!({ "class_name": self.class_name(), "config": config })
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
                initial_learning_rate
                    * decay_rate.powf(decayed_steps(step, *decay_steps, *staircase))
            }
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                let i = boundaries.iter().take_while(|&&b| step > b).count();
                values[i]
            }
            Schedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => {
                let (step, decay_steps) = if *cycle {
                    let multiplier = if step == 0.0 {
                        1.0
                    } else {
                        (step / decay_steps).ceil()
                    };
                    (step, decay_steps * multiplier)
                } else {
                    (step.min(*decay_steps), *decay_steps)
                };
                let p = step / decay_steps;
                (initial_learning_rate - end_learning_rate) * (1.0 - p).powf(*power)
                    + end_learning_rate
            }
            Schedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                initial_learning_rate
                    / (1.0 + decay_rate * decayed_steps(step, *decay_steps, *staircase))
            }
            Schedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup_target,
                warmup_steps,
            } => {
                let cosine = |step: f64, from: f64| {
                    let decayed = 0.5 * (1.0 + (PI * step / decay_steps).cos());
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
            Schedule::CosineDecayRestarts {
                initial_learning_rate,
                first_decay_steps,
                t_mul,
                m_mul,
                alpha,
            } => {
                let fraction = step / first_decay_steps;
                // The index of the current period and the fraction of it completed.
                let (restart, fraction) = if *t_mul == 1.0 {
                    let restart = fraction.floor();
                    (restart, fraction - restart)
                } else {
                    // Periods 1, t, t², ...: period i starts at (1 − tⁱ)/(1 − t).
                    let restart = ((1.0 - fraction * (1.0 - t_mul)).ln() / t_mul.ln()).floor();
                    let start = (1.0 - t_mul.powf(restart)) / (1.0 - t_mul);
                    (restart, (fraction - start) / t_mul.powf(restart))
                };
                let cosine = 0.5 * m_mul.powf(restart) * (1.0 + (PI * fraction).cos());
                initial_learning_rate * ((1.0 - alpha) * cosine + alpha)
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
    fn polynomial_decay_capped_and_cycling() {
        let s = Schedule::from_class_config(
            "PolynomialDecay",
            &json!({"initial_learning_rate": 0.1, "decay_steps": 10, "power": 2.0,
                    "end_learning_rate": 0.01}),
        )
        .unwrap();
        for step in [0.0, 3.0, 10.0, 25.0] {
            let p = f64::min(step, 10.0) / 10.0;
            close(s.value(step), 0.09 * (1.0 - p).powi(2) + 0.01);
        }
        close(s.value(25.0), 0.01);
        // With cycle, decay_steps grows to the next multiple: step 15 is halfway to 20.
        let s = Schedule::from_class_config(
            "PolynomialDecay",
            &json!({"initial_learning_rate": 1.0, "decay_steps": 10, "cycle": true,
                    "end_learning_rate": 0.0}),
        )
        .unwrap();
        close(s.value(0.0), 1.0);
        close(s.value(5.0), 0.5);
        close(s.value(10.0), 0.0);
        close(s.value(15.0), 0.25);
        close(s.value(20.0), 0.0);
        close(s.value(21.0), 1.0 - 21.0 / 30.0);
    }

    #[test]
    fn inverse_time_decay_smooth_and_staircase() {
        let cfg = |staircase: bool| {
            json!({"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5,
                   "staircase": staircase})
        };
        let s = Schedule::from_class_config("InverseTimeDecay", &cfg(false)).unwrap();
        for step in [0.0, 1.0, 4.0, 9.0] {
            close(s.value(step), 0.1 / (1.0 + 0.5 * step / 4.0));
        }
        let s = Schedule::from_class_config("InverseTimeDecay", &cfg(true)).unwrap();
        close(s.value(3.0), 0.1);
        close(s.value(4.0), 0.1 / 1.5);
        close(s.value(9.0), 0.1 / 2.0);
    }

    #[test]
    fn cosine_decay_restarts_periods() {
        // t_mul = 2: periods of 10, 20, 40 steps starting at 0, 10, 30; m_mul halves
        // each restart's peak.
        let s = Schedule::from_class_config(
            "CosineDecayRestarts",
            &json!({"initial_learning_rate": 1.0, "first_decay_steps": 10, "t_mul": 2.0,
                    "m_mul": 0.5, "alpha": 0.1}),
        )
        .unwrap();
        let at = |peak: f64, fraction: f64| {
            0.9 * 0.5 * peak * (1.0 + (std::f64::consts::PI * fraction).cos()) + 0.1
        };
        close(s.value(0.0), 1.0);
        close(s.value(5.0), at(1.0, 0.5));
        close(s.value(10.0), at(0.5, 0.0));
        close(s.value(20.0), at(0.5, 0.5));
        close(s.value(30.0), at(0.25, 0.0));
        close(s.value(50.0), at(0.25, 0.5));
        // t_mul = 1: equal periods.
        let s = Schedule::from_class_config(
            "CosineDecayRestarts",
            &json!({"initial_learning_rate": 2.0, "first_decay_steps": 4, "t_mul": 1.0}),
        )
        .unwrap();
        close(s.value(2.0), 1.0);
        close(s.value(4.0), 2.0);
        close(
            s.value(7.0),
            2.0 * 0.5 * (1.0 + (std::f64::consts::PI * 0.75).cos()),
        );
    }

    #[test]
    fn configs_round_trip() {
        let configs = [
            json!({"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1,
                   "decay_steps": 10.0, "decay_rate": 0.5, "staircase": true}}),
            json!({"class_name": "PiecewiseConstantDecay", "config": {"boundaries": [2.0],
                   "values": [1.0, 0.5]}}),
            json!({"class_name": "PolynomialDecay", "config": {"initial_learning_rate": 0.1,
                   "decay_steps": 10.0, "end_learning_rate": 0.001, "power": 0.5,
                   "cycle": true}}),
            json!({"class_name": "InverseTimeDecay", "config": {"initial_learning_rate": 0.1,
                   "decay_steps": 10.0, "decay_rate": 0.5, "staircase": false}}),
            json!({"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1,
                   "decay_steps": 10.0, "alpha": 0.1, "warmup_target": 0.2,
                   "warmup_steps": 3.0}}),
            json!({"class_name": "CosineDecayRestarts", "config": {
                   "initial_learning_rate": 0.1, "first_decay_steps": 10.0, "t_mul": 3.0,
                   "m_mul": 0.9, "alpha": 0.01}}),
        ];
        for cfg in configs {
            let s = Schedule::from_config(&cfg).unwrap();
            assert_eq!(s.config(), cfg);
            assert_eq!(Schedule::from_config(&s.config()).unwrap(), s);
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
        let restarts = |key: &str, x: f64| {
            let mut c = json!({"initial_learning_rate": 0.1, "first_decay_steps": 10});
            c[key] = json!(x);
            err("CosineDecayRestarts", c)
        };
        assert!(restarts("first_decay_steps", 0.0).contains("first_decay_steps"));
        assert!(restarts("t_mul", 0.0).contains("t_mul"));
        assert!(restarts("m_mul", -1.0).contains("m_mul"));
        assert!(err(
            "PolynomialDecay",
            json!({"initial_learning_rate": 0.1, "decay_steps": -2})
        )
        .contains("decay_steps"));
        assert!(err(
            "InverseTimeDecay",
            json!({"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5})
        )
        .contains("decay_steps"));
        assert!(err("PolynomialDecay", json!({"decay_steps": 2})).contains("initial_learning_rate"));
        assert!(Schedule::from_config(&json!({"config": {}}))
            .unwrap_err()
            .to_string()
            .contains("class_name"));
    }
}
