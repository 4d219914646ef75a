//! Each rule against Keras's formulas, replayed by hand in f64.

use super::*;
use serde_json::json;

const W0: [f64; 3] = [0.5, -1.25, 2.0];
/// Gradients of three steps (a fixed sequence, so no autodiff is involved).
const GRADS: [[f64; 3]; 3] = [[0.1, -0.4, 0.9], [-0.3, 0.2, 0.5], [0.05, -0.6, -0.2]];

fn var(values: &[f64]) -> Tensor {
    Tensor::variable(values.iter().map(|&x| x as f32).collect(), &[values.len()]).unwrap()
}

fn constant(values: &[f64]) -> Tensor {
    Tensor::from_vec(values.iter().map(|&x| x as f32).collect(), &[values.len()]).unwrap()
}

fn assert_close(actual: &[f32], expected: &[f64], what: &str) {
    for (a, e) in actual.iter().zip(expected) {
        let tol = 1e-5 * e.abs().max(1.0);
        assert!(
            (*a as f64 - e).abs() <= tol,
            "{what}: got {actual:?}, expected {expected:?}"
        );
    }
}

/// Runs `opt` over GRADS from W0 and compares every step with `reference`, which maps
/// (w, g, step 1-based, state) to the new w in place.
fn check_trajectory(
    class: &str,
    config: Value,
    slots: usize,
    init: f64,
    reference: impl Fn(&mut f64, f64, u64, &mut [f64]),
) {
    let mut opt = Optimizer::from_config(class, &config).unwrap();
    let w = var(&W0);
    let mut expected = W0.to_vec();
    let mut state = vec![vec![init; slots]; 3];
    for (t, g) in GRADS.iter().enumerate() {
        opt.apply(&[constant(g)], &[w.clone()]).unwrap();
        for i in 0..3 {
            reference(&mut expected[i], g[i], t as u64 + 1, &mut state[i]);
        }
        assert_close(
            &w.to_vec(),
            &expected,
            &format!("{class} {config} step {}", t + 1),
        );
    }
    assert_eq!(opt.iterations(), 3);
}

#[test]
fn sgd_plain_momentum_and_nesterov() {
    check_trajectory("SGD", json!({}), 0, 0.0, |w, g, _, _| *w -= 0.01 * g);
    check_trajectory(
        "SGD",
        json!({"learning_rate": 0.1, "momentum": 0.9}),
        1,
        0.0,
        |w, g, _, s| {
            s[0] = 0.9 * s[0] - 0.1 * g;
            *w += s[0];
        },
    );
    check_trajectory(
        "SGD",
        json!({"learning_rate": 0.1, "momentum": 0.9, "nesterov": true}),
        1,
        0.0,
        |w, g, _, s| {
            s[0] = 0.9 * s[0] - 0.1 * g;
            *w += 0.9 * s[0] - 0.1 * g;
        },
    );
}

fn adam_reference(lr: f64, amsgrad: bool) -> impl Fn(&mut f64, f64, u64, &mut [f64]) {
    move |w, g, t, s| {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-7);
        s[0] = b1 * s[0] + (1.0 - b1) * g;
        s[1] = b2 * s[1] + (1.0 - b2) * g * g;
        let v = if amsgrad {
            s[2] = s[2].max(s[1]);
            s[2]
        } else {
            s[1]
        };
        let alpha = lr * (1.0 - b2.powi(t as i32)).sqrt() / (1.0 - b1.powi(t as i32));
        *w -= alpha * s[0] / (v.sqrt() + eps);
    }
}

#[test]
fn adam_first_step_closed_form() {
    let mut opt = Optimizer::from_config("Adam", &json!({})).unwrap();
    let w = var(&W0);
    opt.apply(&[constant(&GRADS[0])], &[w.clone()]).unwrap();
    // m = 0.1·g, v = 0.001·g², so the step is lr·sqrt(1−β2)/(1−β1)·m/(sqrt(v)+ε).
    let expected: Vec<f64> = W0
        .iter()
        .zip(GRADS[0])
        .map(|(w, g)| {
            let (m, v) = (0.1 * g, 0.001 * g * g);
            w - 0.001 * (0.001f64).sqrt() / 0.1 * m / (v.sqrt() + 1e-7)
        })
        .collect();
    assert_close(&w.to_vec(), &expected, "Adam step 1");
    // Roughly a step of lr·sign(g).
    assert_close(
        &w.to_vec(),
        &[0.5 - 0.001, -1.25 + 0.001, 2.0 - 0.001],
        "Adam ≈ sign",
    );
}

#[test]
fn adam_and_amsgrad_trajectories() {
    check_trajectory("Adam", json!({}), 2, 0.0, adam_reference(0.001, false));
    check_trajectory(
        "Adam",
        json!({"learning_rate": 0.1}),
        2,
        0.0,
        adam_reference(0.1, false),
    );
    check_trajectory(
        "Adam",
        json!({"learning_rate": 0.1, "amsgrad": true}),
        3,
        0.0,
        adam_reference(0.1, true),
    );
}

#[test]
fn adamw_decays_weights_before_the_adam_step() {
    let adam = adam_reference(0.1, false);
    check_trajectory(
        "AdamW",
        json!({"learning_rate": 0.1}),
        2,
        0.0,
        move |w, g, t, s| {
            *w -= *w * 0.004 * 0.1;
            adam(w, g, t, s);
        },
    );
    let opt = Optimizer::from_config("adamw", &json!({})).unwrap();
    assert_eq!(opt.weight_decay(), Some(0.004));
    assert_eq!(opt.class_name(), "AdamW");
}

#[test]
fn rmsprop_plain_momentum_and_centered() {
    let (rho, eps, lr) = (0.9, 1e-7, 0.01);
    check_trajectory(
        "RMSprop",
        json!({"learning_rate": lr}),
        1,
        0.0,
        move |w, g, _, s| {
            s[0] = rho * s[0] + (1.0 - rho) * g * g;
            *w -= lr * g / (s[0] + eps).sqrt();
        },
    );
    check_trajectory(
        "RMSprop",
        json!({"learning_rate": lr, "momentum": 0.5}),
        2,
        0.0,
        move |w, g, _, s| {
            s[0] = rho * s[0] + (1.0 - rho) * g * g;
            s[1] = 0.5 * s[1] + lr * g / (s[0] + eps).sqrt();
            *w -= s[1];
        },
    );
    check_trajectory(
        "RMSprop",
        json!({"learning_rate": lr, "momentum": 0.5, "centered": true, "rho": 0.8}),
        3,
        0.0,
        move |w, g, _, s| {
            s[0] = 0.8 * s[0] + 0.2 * g * g;
            s[2] = 0.8 * s[2] + 0.2 * g;
            s[1] = 0.5 * s[1] + lr * g / (s[0] - s[2] * s[2] + eps).sqrt();
            *w -= s[1];
        },
    );
    // Keras's docstring example: RMSprop(0.1) on loss w²/2 from w = 10 gives 9.683772.
    let mut opt = Optimizer::from_config("RMSprop", &json!({"learning_rate": 0.1})).unwrap();
    let w = var(&[10.0]);
    opt.apply(&[constant(&[10.0])], &[w.clone()]).unwrap();
    assert_close(&w.to_vec(), &[9.683772], "RMSprop docstring");
}

#[test]
fn adagrad_accumulator_starts_at_initial_value() {
    check_trajectory(
        "Adagrad",
        json!({"learning_rate": 0.1}),
        1,
        0.1,
        |w, g, _, s| {
            s[0] += g * g;
            *w -= 0.1 * g / (s[0] + 1e-7).sqrt();
        },
    );
    check_trajectory(
        "Adagrad",
        json!({"learning_rate": 0.1, "initial_accumulator_value": 0.5}),
        1,
        0.5,
        |w, g, _, s| {
            s[0] += g * g;
            *w -= 0.1 * g / (s[0] + 1e-7).sqrt();
        },
    );
}

/// One SGD(lr=1) step from zero, so the variables become minus the processed gradients.
fn processed_grads(config: Value, grads: &[&[f64]]) -> Vec<Vec<f32>> {
    let mut c = config;
    c["learning_rate"] = json!(1.0);
    let mut opt = Optimizer::from_config("SGD", &c).unwrap();
    let vars: Vec<Tensor> = grads.iter().map(|g| var(&vec![0.0; g.len()])).collect();
    let gs: Vec<Tensor> = grads.iter().map(|g| constant(g)).collect();
    opt.apply(&gs, &vars).unwrap();
    vars.iter()
        .map(|v| v.to_vec().iter().map(|x| -x).collect())
        .collect()
}

#[test]
fn clipping_options() {
    let (a, b): (&[f64], &[f64]) = (&[3.0, 4.0], &[0.0, 0.5]); // norms 5 and 0.5
    let out = processed_grads(json!({"clipnorm": 1.0}), &[a, b]);
    assert_close(&out[0], &[0.6, 0.8], "clipnorm clips");
    assert_close(&out[1], &[0.0, 0.5], "clipnorm keeps small");
    let out = processed_grads(json!({"clipvalue": 0.45}), &[a, b]);
    assert_close(&out[0], &[0.45, 0.45], "clipvalue");
    assert_close(&out[1], &[0.0, 0.45], "clipvalue");
    // Global norm sqrt(25 + 0.25).
    let out = processed_grads(json!({"global_clipnorm": 1.0}), &[a, b]);
    let n = 25.25f64.sqrt();
    assert_close(&out[0], &[3.0 / n, 4.0 / n], "global_clipnorm");
    assert_close(&out[1], &[0.0, 0.5 / n], "global_clipnorm");
    let out = processed_grads(json!({"global_clipnorm": 10.0}), &[a, b]);
    assert_close(&out[0], &[3.0, 4.0], "global_clipnorm above the norm");
    // Zero means off, as in Keras.
    let out = processed_grads(json!({"clipnorm": 0.0}), &[a]);
    assert_close(&out[0], &[3.0, 4.0], "clipnorm 0");
    // Loss scaling divides first; clipping sees the unscaled gradient.
    let out = processed_grads(json!({"loss_scale_factor": 10.0, "clipnorm": 0.25}), &[a]);
    assert_close(&out[0], &[0.15, 0.2], "loss scale then clip");
}

#[test]
fn weight_decay_uses_the_current_learning_rate() {
    check_trajectory(
        "SGD",
        json!({"learning_rate": 0.1, "weight_decay": 0.5}),
        0,
        0.0,
        |w, g, _, _| {
            *w -= *w * 0.5 * 0.1;
            *w -= 0.1 * g;
        },
    );
    // With a schedule, the decay uses the schedule's value at `iterations`.
    let sched = json!({"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.5}});
    check_trajectory(
        "SGD",
        json!({"learning_rate": sched, "weight_decay": 0.5}),
        0,
        0.0,
        |w, g, t, _| {
            let lr = 0.1 * 0.5f64.powi(t as i32 - 1);
            *w -= *w * 0.5 * lr;
            *w -= lr * g;
        },
    );
}

#[test]
fn schedules_drive_the_learning_rate() {
    let sched = json!({"class_name": "PiecewiseConstantDecay", "config": {
        "boundaries": [1, 2], "values": [1.0, 0.5, 0.25]}});
    let mut opt = Optimizer::from_config("SGD", &json!({ "learning_rate": sched })).unwrap();
    let w = var(&[0.0]);
    let mut expected = 0.0;
    for (t, lr) in [1.0, 1.0, 0.5, 0.25, 0.25].iter().enumerate() {
        assert_eq!(opt.iterations(), t as u64);
        assert_eq!(opt.learning_rate(), *lr);
        opt.apply(&[constant(&[1.0])], &[w.clone()]).unwrap();
        expected -= lr;
        assert_close(&w.to_vec(), &[expected], "piecewise schedule");
    }
    let err = opt.set_learning_rate(0.1).unwrap_err().to_string();
    assert!(err.contains("not settable"), "{err}");
    assert_eq!(
        opt.config()["learning_rate"]["class_name"],
        "PiecewiseConstantDecay"
    );
}

#[test]
fn learning_rate_get_and_set() {
    let mut opt = Optimizer::from_config("Adam", &json!({})).unwrap();
    assert_eq!(opt.learning_rate(), 0.001);
    opt.set_learning_rate(0.5).unwrap();
    assert_eq!(opt.learning_rate(), 0.5);
    assert_eq!(opt.config()["learning_rate"], 0.5);
    assert!(opt.set_learning_rate(-1.0).is_err());
    assert!(opt.set_learning_rate(f64::NAN).is_err());
    assert_eq!(Optimizer::sgd(0.01).unwrap().learning_rate(), 0.01);
}

#[test]
fn bad_hyper_parameters_name_the_argument() {
    let err = |class: &str, c: Value| Optimizer::from_config(class, &c).unwrap_err().to_string();
    assert!(err("SGD", json!({"momentum": 1.5})).contains("momentum"));
    assert!(err("SGD", json!({"momentum": -0.1})).contains("momentum"));
    assert!(err("RMSprop", json!({"momentum": 2})).contains("momentum"));
    assert!(err("RMSprop", json!({"rho": 1.5})).contains("rho"));
    assert!(err("Adam", json!({"epsilon": 0})).contains("epsilon"));
    assert!(err("Adam", json!({"beta_1": 1.0})).contains("beta_1"));
    assert!(err("Adam", json!({"beta_2": -0.5})).contains("beta_2"));
    assert!(err("Adagrad", json!({"initial_accumulator_value": -1}))
        .contains("initial_accumulator_value"));
    assert!(err("SGD", json!({"learning_rate": -0.1})).contains("learning_rate"));
    assert!(err("SGD", json!({"learning_rate": "fast"})).contains("learning_rate"));
    assert!(err("SGD", json!({"weight_decay": -1})).contains("weight_decay"));
    assert!(err("SGD", json!({"nesterov": 1})).contains("nesterov"));
    let two = err("SGD", json!({"clipnorm": 1.0, "clipvalue": 1.0}));
    assert!(
        two.contains("only one") && two.contains("clipnorm=1"),
        "{two}"
    );
    assert!(err("SGD", json!({"beta_1": 0.9})).contains("beta_1"));
    assert!(err("SGD", json!({"use_ema": 1})).contains("use_ema"));
    let ema = |m: f64| json!({"use_ema": true, "ema_momentum": m});
    assert!(err("SGD", ema(1.5)).contains("ema_momentum"));
    assert!(err("SGD", ema(-0.1)).contains("ema_momentum"));
    // Keras only checks the EMA settings when the EMA is on.
    assert!(Optimizer::from_config("SGD", &json!({"ema_momentum": 1.5})).is_ok());
    let freq = err(
        "SGD",
        json!({"use_ema": true, "ema_overwrite_frequency": 0}),
    );
    assert!(freq.contains("ema_overwrite_frequency=0"), "{freq}");
    for n in [json!(1), json!(0), json!(-2), json!(2.5), json!(true)] {
        let e = err("Adam", json!({ "gradient_accumulation_steps": n }));
        assert!(e.contains("gradient_accumulation_steps"), "{e}");
    }
    assert!(err("Lion", json!({"beta_1": 0.0})).contains("beta_1"));
    assert!(err("Lion", json!({"beta_2": 1.5})).contains("beta_2"));
    assert!(err("Ftrl", json!({"learning_rate_power": 0.5})).contains("learning_rate_power"));
    for key in [
        "initial_accumulator_value",
        "l1_regularization_strength",
        "l2_regularization_strength",
        "l2_shrinkage_regularization_strength",
        "beta",
    ] {
        let mut c = json!({});
        c[key] = json!(-0.1);
        assert!(err("Ftrl", c).contains(key), "{key}");
    }
    assert!(err("Nadam", json!({"beta_2": 1.0})).contains("beta_2"));
    assert!(err("Adamax", json!({"epsilon": -1.0})).contains("epsilon"));
    assert!(err("Adadelta", json!({"rho": 2.0})).contains("rho"));
    let unknown = err("Adafactor", json!({}));
    assert!(
        unknown.contains("Adafactor") && unknown.contains("Lion"),
        "{unknown}"
    );
    let lr = json!({"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5}});
    assert!(err("SGD", json!({ "learning_rate": lr })).contains("decay_steps"));
    // A Keras get_config() with its defaults loads.
    let keras = json!({"name": "adam", "learning_rate": 0.001, "weight_decay": null,
        "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false,
        "ema_momentum": 0.99, "ema_overwrite_frequency": null, "loss_scale_factor": null,
        "gradient_accumulation_steps": null, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-7, "amsgrad": false});
    let opt = Optimizer::from_config("Adam", &keras).unwrap();
    let round = Optimizer::from_config("Adam", &opt.config()).unwrap();
    assert_eq!(round.config(), opt.config());
}

#[test]
fn mismatched_pairs_change_nothing() {
    let mut opt = Optimizer::from_config("Adam", &json!({})).unwrap();
    let (a, b) = (var(&[1.0, 2.0]), var(&[3.0]));
    let bad = opt.apply(
        &[constant(&[1.0, 1.0]), constant(&[1.0, 1.0])],
        &[a.clone(), b.clone()],
    );
    assert!(matches!(bad, Err(crate::Error::Shape(_))));
    let bad = opt.apply(&[constant(&[1.0, 1.0])], &[a.clone(), b.clone()]);
    assert!(matches!(bad, Err(crate::Error::InvalidArgument(_))));
    let not_var = opt.apply(&[constant(&[1.0])], &[constant(&[1.0])]);
    assert!(not_var.is_err());
    assert_eq!(a.to_vec(), vec![1.0, 2.0]);
    assert_eq!(b.to_vec(), vec![3.0]);
    assert_eq!(opt.iterations(), 0);
    assert!(opt.slots(&a).is_empty());
    opt.apply(&[], &[]).unwrap();
    assert_eq!(opt.iterations(), 0, "an empty apply is a no-op");
}

#[test]
fn slots_are_created_once_and_reused() {
    let mut opt = Optimizer::from_config("Adam", &json!({"amsgrad": true})).unwrap();
    let w = var(&[1.0, 2.0]);
    opt.apply(&[constant(&[0.5, 0.5])], &[w.clone()]).unwrap();
    let ptr = opt.slots[&w.id()].as_ptr();
    opt.apply(&[constant(&[0.5, 0.5])], &[w.clone()]).unwrap();
    assert_eq!(opt.slots[&w.id()].as_ptr(), ptr);
    let names: Vec<&str> = opt.slots(&w).iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["momentum", "velocity", "velocity_hat"]);
    // m after two equal gradients: 0.1·g + 0.9·0.1·g = 0.19·g.
    assert_close(&opt.slots(&w)[0].1, &[0.095, 0.095], "momentum slot");
}

#[test]
fn a_gradient_may_be_the_variable_itself() {
    let mut opt = Optimizer::sgd(0.25).unwrap();
    let w = var(&[4.0]);
    opt.apply(&[w.clone()], &[w.clone()]).unwrap();
    assert_eq!(w.to_vec(), vec![3.0]);
}

#[test]
fn large_variables_give_the_same_bits_for_any_thread_count() {
    let n = 2 * crate::kernels::parallel::PAR_THRESHOLD + 7;
    let w0: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.37).sin()).collect();
    let g: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.11).cos()).collect();
    for (class, config) in [
        (
            "RMSprop",
            json!({"momentum": 0.5, "centered": true, "clipnorm": 10.0, "weight_decay": 0.1}),
        ),
        ("Nadam", json!({})),
        ("Adamax", json!({})),
        ("Adadelta", json!({"learning_rate": 1.0})),
        (
            "Ftrl",
            json!({"l1_regularization_strength": 0.01, "learning_rate_power": -0.4}),
        ),
        ("Lion", json!({})),
        (
            "Adam",
            json!({"use_ema": true, "gradient_accumulation_steps": 2}),
        ),
    ] {
        let run = |threads: usize| {
            crate::kernels::parallel::set_num_threads(threads).unwrap();
            let mut opt = Optimizer::from_config(class, &config).unwrap();
            let w = Tensor::variable(w0.clone(), &[n]).unwrap();
            let g = Tensor::from_vec(g.clone(), &[n]).unwrap();
            for _ in 0..4 {
                opt.apply(&[g.clone()], &[w.clone()]).unwrap();
            }
            w.to_vec()
        };
        let (one, two) = (run(1), run(2));
        assert!(
            one.iter()
                .zip(&two)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{class}"
        );
        assert_ne!(one, w0, "{class}");
    }
}

/// candle-nn's `tests/optim.rs` fixture: fit y = 3·x1 + x2 − 2 with the sum of
/// squared errors and SGD(0.004) for 1000 steps.
#[test]
fn candle_linear_regression_fixture() {
    let x = Tensor::<f32>::from_vec(vec![2., 1., 7., 4., -4., 12., 5., 8.], &[4, 2]).unwrap();
    let y = Tensor::<f32>::from_vec(vec![5., 23., -2., 21.], &[4, 1]).unwrap();
    let w = Tensor::<f32>::variable(vec![0., 0.], &[1, 2]).unwrap();
    let b = Tensor::<f32>::variable(vec![0.], &[]).unwrap();
    let mut sgd = Optimizer::sgd(0.004).unwrap();
    for _ in 0..1000 {
        let pred = x.matmul(&w.t().unwrap()).unwrap().add(&b).unwrap();
        let loss = pred
            .sub(&y)
            .unwrap()
            .powf(2.0)
            .unwrap()
            .sum(None, false)
            .unwrap();
        let g = crate::grad(&loss, &[w.clone(), b.clone()]).unwrap();
        sgd.apply(&g, &[w.clone(), b.clone()]).unwrap();
    }
    let (w, b) = (w.to_vec(), b.item().unwrap());
    assert!(
        (w[0] - 2.9983196).abs() < 1e-4 && (w[1] - 0.99790204).abs() < 1e-4,
        "{w:?}"
    );
    assert!((b + 1.9796902).abs() < 1e-4, "{b}");
    assert_eq!(sgd.iterations(), 1000);
}

#[test]
fn nadam_trajectory() {
    let (lr, b1, b2, eps) = (0.01, 0.9f64, 0.999f64, 1e-7);
    let u = |t: u64| b1 * (1.0 - 0.5 * 0.96f64.powi(t as i32));
    // The running product of the momentum schedule, as Keras keeps it in a variable.
    let product = |t: u64| (1..=t).map(u).product::<f64>();
    check_trajectory(
        "Nadam",
        json!({ "learning_rate": lr }),
        2,
        0.0,
        move |w, g, t, s| {
            s[0] += (g - s[0]) * (1.0 - b1);
            s[1] += (g * g - s[1]) * (1.0 - b2);
            let (p, p_next) = (product(t), product(t) * u(t + 1));
            let m_hat = u(t + 1) * s[0] / (1.0 - p_next) + (1.0 - u(t)) * g / (1.0 - p);
            let v_hat = s[1] / (1.0 - b2.powi(t as i32));
            *w -= m_hat * lr / (v_hat.sqrt() + eps);
        },
    );
}

#[test]
fn nadam_momentum_product_matches_the_running_product_far_out() {
    let nadam = |b1: f64| Nadam {
        beta_1: b1,
        beta_2: 0.999,
        epsilon: 1e-7,
    };
    for b1 in [0.9, 0.999] {
        let mut running = 1.0f64;
        for t in 1..=3000u64 {
            running *= nadam(b1).momentum_at(t);
            let closed = nadam(b1).momentum_product(t);
            assert!(
                (closed - running).abs() <= 1e-12 * running.abs() + 1e-300,
                "beta_1 {b1} t {t}: {closed} vs {running}"
            );
        }
    }
}

#[test]
fn adamax_trajectory() {
    let (lr, b1, b2, eps) = (0.02, 0.8f64, 0.9f64, 1e-3);
    check_trajectory(
        "Adamax",
        json!({"learning_rate": lr, "beta_1": b1, "beta_2": b2, "epsilon": eps}),
        2,
        0.0,
        move |w, g, t, s| {
            s[0] += (g - s[0]) * (1.0 - b1);
            s[1] = (b2 * s[1]).max(g.abs());
            *w -= lr * s[0] / ((1.0 - b1.powi(t as i32)) * (s[1] + eps));
        },
    );
}

#[test]
fn adadelta_trajectory() {
    let (lr, rho, eps) = (1.0, 0.95, 1e-7);
    check_trajectory(
        "Adadelta",
        json!({ "learning_rate": lr }),
        2,
        0.0,
        move |w, g, _, s| {
            s[0] = rho * s[0] + (1.0 - rho) * g * g;
            let delta = -(s[1] + eps).sqrt() * g / (s[0] + eps).sqrt();
            s[1] = rho * s[1] + (1.0 - rho) * delta * delta;
            *w += lr * delta;
        },
    );
}

fn ftrl_reference(
    lr: f64,
    power: f64,
    l1: f64,
    l2: f64,
    shrinkage: f64,
    beta: f64,
) -> impl Fn(&mut f64, f64, u64, &mut [f64]) {
    move |w, g, t, s| {
        if t == 1 {
            s[1] = 0.0; // `linear` starts at zero, `accumulator` at the initial value
        }
        let l2 = l2 + beta / (2.0 * lr);
        let n_new = s[0] + g * g;
        s[1] += g + 2.0 * shrinkage * *w - (n_new.powf(-power) - s[0].powf(-power)) / lr * *w;
        let quadratic = n_new.powf(-power) / lr + 2.0 * l2;
        *w = (s[1].clamp(-l1, l1) - s[1]) / quadratic;
        s[0] = n_new;
    }
}

#[test]
fn ftrl_trajectories() {
    // Defaults: no regularization, so w = −z/(sqrt(n)/lr).
    check_trajectory(
        "Ftrl",
        json!({"learning_rate": 0.1}),
        2,
        0.1,
        ftrl_reference(0.1, -0.5, 0.0, 0.0, 0.0, 0.0),
    );
    // Every option, and a power other than −0.5. l1 = 0.3 zeroes some weights.
    let config = json!({"learning_rate": 0.1, "learning_rate_power": -0.3,
        "initial_accumulator_value": 0.5, "l1_regularization_strength": 0.3,
        "l2_regularization_strength": 0.2, "l2_shrinkage_regularization_strength": 0.1,
        "beta": 0.4});
    check_trajectory(
        "Ftrl",
        config,
        2,
        0.5,
        ftrl_reference(0.1, -0.3, 0.3, 0.2, 0.1, 0.4),
    );
    let mut opt =
        Optimizer::from_config("Ftrl", &json!({"initial_accumulator_value": 0.25})).unwrap();
    let w = var(&[1.0, 2.0]);
    opt.apply(&[constant(&[0.0, 0.0])], &[w.clone()]).unwrap();
    let slots = opt.slots(&w);
    assert_eq!(slots[0], ("accumulator", vec![0.25, 0.25]));
    assert_eq!(slots[1].0, "linear");
}

#[test]
fn lion_trajectory_and_the_sign_of_zero() {
    let (lr, b1, b2) = (0.05, 0.9, 0.99);
    check_trajectory(
        "Lion",
        json!({ "learning_rate": lr }),
        1,
        0.0,
        move |w, g, _, s| {
            let c = s[0] * b1 + g * (1.0 - b1);
            *w -= lr
                * if c > 0.0 {
                    1.0
                } else if c < 0.0 {
                    -1.0
                } else {
                    0.0
                };
            s[0] = s[0] * b2 + g * (1.0 - b2);
        },
    );
    // A zero gradient on a zero momentum moves nothing (sign(0) = 0, not 1).
    let mut opt = Optimizer::from_config("Lion", &json!({"learning_rate": 0.5})).unwrap();
    let w = var(&[1.0, 1.0]);
    opt.apply(&[constant(&[0.0, 2.0])], &[w.clone()]).unwrap();
    assert_eq!(w.to_vec(), vec![1.0, 0.5]);
}

#[test]
fn every_class_is_found_by_its_lower_case_name_with_keras_defaults() {
    let expected = [
        ("sgd", "SGD", "sgd", 0.01),
        ("adam", "Adam", "adam", 0.001),
        ("adamw", "AdamW", "adamw", 0.001),
        ("rmsprop", "RMSprop", "rmsprop", 0.001),
        ("adagrad", "Adagrad", "adagrad", 0.001),
        ("nadam", "Nadam", "nadam", 0.001),
        ("adamax", "Adamax", "adamax", 0.001),
        ("adadelta", "Adadelta", "adadelta", 0.001),
        ("ftrl", "Ftrl", "ftrl", 0.001),
        ("lion", "Lion", "lion", 0.001),
    ];
    assert_eq!(CLASSES.len(), expected.len());
    for (lower, class, name, lr) in expected {
        let opt = Optimizer::from_config(lower, &json!({})).unwrap();
        assert_eq!(opt.class_name(), class);
        assert_eq!(opt.name(), name);
        assert_eq!(opt.learning_rate(), lr);
        let config = opt.config();
        assert_eq!(config["use_ema"], false);
        assert_eq!(config["ema_momentum"], 0.99);
        assert!(config["gradient_accumulation_steps"].is_null());
        let again = Optimizer::from_config(class, &config).unwrap();
        assert_eq!(again.config(), config, "{class}");
    }
}

/// SGD(0.1) with `ema_momentum` 0.9 over GRADS, checked after every step against
/// Keras's formulas; returns the optimizer, the variable, its plain value and average.
fn sgd_with_ema(overwrite_frequency: Option<usize>) -> (Optimizer, Tensor, Vec<f64>, Vec<f64>) {
    let (lr, m) = (0.1, 0.9);
    let config = json!({"learning_rate": lr, "use_ema": true, "ema_momentum": m,
        "ema_overwrite_frequency": overwrite_frequency});
    let mut opt = Optimizer::from_config("SGD", &config).unwrap();
    let w = var(&W0);
    assert_eq!(opt.ema_average(&w), None);
    let (mut expected, mut average) = (W0.to_vec(), vec![0.0; 3]);
    for (t, g) in GRADS.iter().enumerate() {
        opt.apply(&[constant(g)], &[w.clone()]).unwrap();
        for i in 0..3 {
            expected[i] -= lr * g[i];
            // At iterations 0 the average starts as the variable.
            let m = if t == 0 { 0.0 } else { m };
            average[i] = m * average[i] + (1.0 - m) * expected[i];
        }
        assert_close(&opt.ema_average(&w).unwrap(), &average, "EMA");
        if overwrite_frequency.is_some_and(|f| (t + 1) % f == 0) {
            expected.clone_from(&average);
        }
        assert_close(&w.to_vec(), &expected, "SGD with EMA");
    }
    (opt, w, expected, average)
}

#[test]
fn ema_averages_overwrites_and_finalizes() {
    let (mut opt, w, expected, average) = sgd_with_ema(None);
    // A swap exchanges them; a second swap undoes it.
    opt.swap_ema_weights(&[w.clone()]).unwrap();
    assert_close(&w.to_vec(), &average, "swapped in");
    assert_close(&opt.ema_average(&w).unwrap(), &expected, "swapped out");
    opt.swap_ema_weights(&[w.clone()]).unwrap();
    assert_close(&w.to_vec(), &expected, "swapped back");
    opt.finalize_variable_values(&[w.clone()]).unwrap();
    assert_close(&w.to_vec(), &average, "finalized");
    opt.apply(&[constant(&[0.0; 3])], &[w.clone()]).unwrap();
    opt.copy_variables_to_ema(&[w.clone()]).unwrap();
    assert_eq!(opt.ema_average(&w).unwrap(), w.to_vec());

    // With ema_overwrite_frequency = 2, every second step the variables take the average.
    let (_, w2, expected2, average2) = sgd_with_ema(Some(2));
    assert_ne!(expected2, expected);
    assert_close(&w2.to_vec(), &expected2, "overwritten at step 2");
    assert_ne!(average2, expected2, "not at step 3");

    // Without the EMA, finalizing does nothing and swapping is refused.
    let mut plain = Optimizer::sgd(0.1).unwrap();
    let w = var(&W0);
    plain.apply(&[constant(&GRADS[0])], &[w.clone()]).unwrap();
    let before = w.to_vec();
    plain.finalize_variable_values(&[w.clone()]).unwrap();
    assert_eq!(w.to_vec(), before);
    let e = plain
        .swap_ema_weights(&[w.clone()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("use_ema"), "{e}");
}

#[test]
fn ema_covers_every_variable_seen_even_without_a_gradient_this_step() {
    let config = json!({"learning_rate": 1.0, "use_ema": true, "ema_momentum": 0.5});
    let mut opt = Optimizer::from_config("SGD", &config).unwrap();
    let (a, b) = (var(&[1.0]), var(&[10.0]));
    opt.apply(
        &[constant(&[1.0]), constant(&[1.0])],
        &[a.clone(), b.clone()],
    )
    .unwrap();
    // Only `a` gets a gradient; `b`'s average still moves toward its value, as in Keras.
    b.assign(&[20.0]).unwrap();
    opt.apply(&[constant(&[1.0])], &[a.clone()]).unwrap();
    assert_eq!(a.to_vec(), vec![-1.0]);
    assert_eq!(opt.ema_average(&a).unwrap(), vec![-0.5]); // 0.5·0 + 0.5·(−1)
    assert_eq!(opt.ema_average(&b).unwrap(), vec![0.5 * 9.0 + 0.5 * 20.0]);
}

/// Gradient accumulation over 3 calls: variables and slots move only on every third
/// call, with the mean gradient; `iterations` counts updates, schedules read calls.
#[test]
fn gradient_accumulation_applies_the_mean_every_n_calls() {
    let sched = json!({"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.5}});
    let config = json!({"learning_rate": sched, "momentum": 0.5,
        "gradient_accumulation_steps": 3});
    let mut opt = Optimizer::from_config("SGD", &config).unwrap();
    let w = var(&W0);
    let grads: Vec<[f64; 3]> = GRADS.iter().chain(GRADS.iter().rev()).copied().collect();
    let (mut expected, mut velocity, mut sum) = (W0.to_vec(), [0.0; 3], [0.0; 3]);
    for (call, g) in grads.iter().enumerate() {
        let lr = 0.1 * 0.5f64.powi(call as i32);
        assert_eq!(opt.raw_iterations(), call as u64);
        assert_eq!(opt.iterations(), call as u64 / 3);
        assert!((opt.learning_rate() - lr).abs() < 1e-12);
        opt.apply(&[constant(g)], &[w.clone()]).unwrap();
        for i in 0..3 {
            sum[i] += g[i];
        }
        if (call + 1) % 3 == 0 {
            for i in 0..3 {
                velocity[i] = 0.5 * velocity[i] - lr * sum[i] / 3.0;
                expected[i] += velocity[i];
            }
            sum = [0.0; 3];
            assert_close(&opt.accumulated_gradient(&w).unwrap(), &sum, "reset");
        } else {
            assert_close(&opt.accumulated_gradient(&w).unwrap(), &sum, "summed");
        }
        assert_close(&w.to_vec(), &expected, &format!("call {call}"));
    }
    assert_eq!(opt.iterations(), 2);
    assert_eq!(opt.config()["gradient_accumulation_steps"], 3);
}

#[test]
fn gradient_accumulation_clips_the_mean_and_feeds_adam_its_update_count() {
    // clipnorm applies to the mean gradient, not to each call's.
    let config = json!({"learning_rate": 1.0, "clipnorm": 1.0, "gradient_accumulation_steps": 2});
    let mut opt = Optimizer::from_config("SGD", &config).unwrap();
    let w = var(&[0.0, 0.0]);
    opt.apply(&[constant(&[6.0, 0.0])], &[w.clone()]).unwrap();
    opt.apply(&[constant(&[0.0, 8.0])], &[w.clone()]).unwrap();
    // mean (3, 4) of norm 5, clipped to norm 1
    assert_close(&w.to_vec(), &[-0.6, -0.8], "clipped mean");

    // Adam's bias correction counts updates (t = 1, 2), not calls.
    let mut acc = Optimizer::from_config(
        "Adam",
        &json!({"learning_rate": 0.1, "gradient_accumulation_steps": 2}),
    )
    .unwrap();
    let mut plain = Optimizer::adam(0.1).unwrap();
    let (a, b) = (var(&W0), var(&W0));
    for g in &GRADS[..2] {
        acc.apply(&[constant(g)], &[a.clone()]).unwrap();
        acc.apply(&[constant(g)], &[a.clone()]).unwrap();
        plain.apply(&[constant(g)], &[b.clone()]).unwrap();
    }
    assert_eq!(a.to_vec(), b.to_vec());
    assert_eq!(acc.iterations(), 2);
    assert_eq!(acc.raw_iterations(), 4);
}

#[test]
fn ema_with_accumulation_counts_updates() {
    // iterations stays 0 for the first two calls, so both copy the variable.
    let config = json!({"learning_rate": 1.0, "use_ema": true, "ema_momentum": 0.5,
        "gradient_accumulation_steps": 2});
    let mut opt = Optimizer::from_config("SGD", &config).unwrap();
    let w = var(&[0.0]);
    opt.apply(&[constant(&[2.0])], &[w.clone()]).unwrap();
    assert_eq!(w.to_vec(), vec![0.0]);
    assert_eq!(opt.ema_average(&w).unwrap(), vec![0.0]);
    opt.apply(&[constant(&[4.0])], &[w.clone()]).unwrap();
    assert_eq!(w.to_vec(), vec![-3.0]);
    assert_eq!(opt.ema_average(&w).unwrap(), vec![-3.0]);
    // From the third call on, the momentum applies, on accumulating calls too.
    opt.apply(&[constant(&[1.0])], &[w.clone()]).unwrap();
    assert_eq!(w.to_vec(), vec![-3.0]);
    assert_eq!(opt.ema_average(&w).unwrap(), vec![-3.0]);
}
