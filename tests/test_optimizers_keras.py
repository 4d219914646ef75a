"""Optimizers, their shared options (EMA, gradient accumulation) and schedules against
Keras 3 itself (KERAS_BACKEND=jax, set in conftest.py): the same gradients applied to
the same variables, the same schedule values, the same configs, the same fits."""

from __future__ import annotations

import re

import jax
import keras
import numpy as np
import pytest

import kandle as kd
from helpers import randn

# Keras's own Variable.numpy() trips numpy 2's copy-keyword deprecation.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SHAPES = [(3, 4), (5,), ()]
STEPS = 7
# float32 arithmetic in both, in a different order: a few ulps per step.
RTOL, ATOL = 2e-5, 2e-6


def kandle_schedule(cls_name, **kw):
    return getattr(kd.optimizers.schedules, cls_name)(**kw)


def keras_schedule(cls_name, **kw):
    return getattr(keras.optimizers.schedules, cls_name)(**kw)


def pair(cls_name, schedule=None, **kw):
    """The same optimizer in kandle and in Keras; `schedule` = (class, kwargs)."""
    if schedule is not None:
        kd_kw = {**kw, "learning_rate": kandle_schedule(schedule[0], **schedule[1])}
        ks_kw = {**kw, "learning_rate": keras_schedule(schedule[0], **schedule[1])}
    else:
        kd_kw = ks_kw = kw
    return getattr(kd.optimizers, cls_name)(**kd_kw), getattr(keras.optimizers, cls_name)(**ks_kw)


def replay(rng, cls_name, steps=STEPS, scale=1.0, schedule=None, **kw):
    """`steps` calls of `apply` with the same random gradients in kandle and Keras;
    the variables (and `iterations`) must agree after every call.

    Keras runs its `apply` through `stateless_apply` under `jax.jit`, as its `fit` does
    (eagerly it takes seconds per call)."""
    ours, theirs = pair(cls_name, schedule, **kw)
    x0 = [randn(rng, s) for s in SHAPES]
    kd_vars = [kd.Variable(x) for x in x0]
    ks_vars = [keras.Variable(x) for x in x0]
    theirs.build(ks_vars)
    keras_apply = jax.jit(theirs.stateless_apply)
    for t in range(steps):
        grads = [randn(rng, s, scale) for s in SHAPES]
        ours.apply([kd.tensor(g) for g in grads], kd_vars)
        new_vars, new_state = keras_apply(
            [v.value for v in theirs.variables], grads, [v.value for v in ks_vars]
        )
        for v, value in zip([*ks_vars, *theirs.variables], [*new_vars, *new_state]):
            v.assign(value)
        for a, b in zip(kd_vars, ks_vars):
            np.testing.assert_allclose(
                a.numpy(), np.asarray(b.numpy()), rtol=RTOL, atol=ATOL, err_msg=f"call {t}"
            )
        assert ours.iterations == int(theirs.iterations), f"call {t}"
    return ours, theirs, kd_vars, ks_vars


RULE_CASES = {
    "nadam": ("Nadam", {}),
    "nadam-custom": ("Nadam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99,
                               "epsilon": 1e-3}),
    "adamax": ("Adamax", {}),
    "adamax-custom": ("Adamax", {"learning_rate": 0.02, "beta_1": 0.7, "beta_2": 0.9,
                                 "epsilon": 1e-4}),
    "adadelta": ("Adadelta", {"learning_rate": 1.0}),
    "adadelta-custom": ("Adadelta", {"learning_rate": 0.5, "rho": 0.6, "epsilon": 1e-3}),
    "ftrl": ("Ftrl", {"learning_rate": 0.1}),
    "ftrl-every-option": ("Ftrl", {
        "learning_rate": 0.1, "learning_rate_power": -0.3, "initial_accumulator_value": 0.5,
        "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.2,
        "l2_shrinkage_regularization_strength": 0.1, "beta": 0.4}),
    "lion": ("Lion", {"learning_rate": 0.01}),
    "lion-custom": ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    # the base options on the new rules
    "nadam-global-clipnorm": ("Nadam", {"learning_rate": 0.01, "global_clipnorm": 1.0}),
    "adamax-clipvalue": ("Adamax", {"learning_rate": 0.01, "clipvalue": 0.5}),
    "lion-weight-decay": ("Lion", {"learning_rate": 0.01, "weight_decay": 0.1}),
    "ftrl-clipnorm-decay": ("Ftrl", {"learning_rate": 0.1, "clipnorm": 0.5,
                                     "weight_decay": 0.05}),
    "adadelta-loss-scale": ("Adadelta", {"learning_rate": 1.0, "loss_scale_factor": 8.0}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(RULE_CASES))
def test_update_rules_match_keras(case, rng):
    cls_name, kw = RULE_CASES[case]
    replay(rng, cls_name, scale=2.0, **kw)


EMA_CASES = {
    "sgd": ("SGD", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.9}),
    "adam-overwrite-3": ("Adam", {"learning_rate": 0.05, "use_ema": True,
                                  "ema_overwrite_frequency": 3}),
    "lion-overwrite-1": ("Lion", {"learning_rate": 0.01, "use_ema": True,
                                  "ema_momentum": 0.5, "ema_overwrite_frequency": 1}),
    "nadam-momentum-0": ("Nadam", {"use_ema": True, "ema_momentum": 0.0}),
}  # fmt: skip


def kandle_averages(opt, variables):
    return [np.reshape(opt._engine.ema_average(v), v.shape) for v in variables]


@pytest.mark.parametrize("case", list(EMA_CASES))
def test_ema_matches_keras(case, rng):
    cls_name, kw = EMA_CASES[case]
    ours, theirs, kd_vars, ks_vars = replay(rng, cls_name, **kw)
    want = [np.asarray(a.numpy()) for a in theirs._model_variables_moving_average]
    for got, w in zip(kandle_averages(ours, kd_vars), want):
        np.testing.assert_allclose(got, w, rtol=RTOL, atol=ATOL)
    ours.finalize_variable_values(kd_vars)
    theirs.finalize_variable_values(ks_vars)
    for a, b in zip(kd_vars, ks_vars):
        np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=RTOL, atol=ATOL)


ACCUMULATION_CASES = {
    "sgd-momentum-3": ("SGD", {"learning_rate": 0.1, "momentum": 0.9,
                               "gradient_accumulation_steps": 3}),
    "adam-2-clipnorm": ("Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2,
                                 "clipnorm": 1.0}),
    "nadam-2": ("Nadam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2}),
    "ftrl-4-global-clipnorm": ("Ftrl", {"learning_rate": 0.1, "gradient_accumulation_steps": 4,
                                        "global_clipnorm": 0.5}),
    "adamw-2-ema": ("AdamW", {"learning_rate": 0.05, "gradient_accumulation_steps": 2,
                              "use_ema": True, "ema_momentum": 0.8,
                              "ema_overwrite_frequency": 2}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ACCUMULATION_CASES))
def test_gradient_accumulation_matches_keras(case, rng):
    cls_name, kw = ACCUMULATION_CASES[case]
    # A schedule too: it reads the number of calls, the rule the number of updates.
    schedule = ("ExponentialDecay", {"initial_learning_rate": kw.pop("learning_rate"),
                                     "decay_steps": 2, "decay_rate": 0.8})  # fmt: skip
    ours, theirs, _, _ = replay(rng, cls_name, steps=9, scale=2.0, schedule=schedule, **kw)
    assert ours._engine.raw_iterations == int(theirs._iterations) == 9
    assert ours.learning_rate == pytest.approx(float(theirs.learning_rate), rel=1e-6)


SCHEDULED = {
    "nadam-inverse-time": ("Nadam", ("InverseTimeDecay", {
        "initial_learning_rate": 0.05, "decay_steps": 2, "decay_rate": 0.5})),
    "adamax-polynomial-cycle": ("Adamax", ("PolynomialDecay", {
        "initial_learning_rate": 0.05, "decay_steps": 3, "end_learning_rate": 0.001,
        "power": 2.0, "cycle": True})),
    "adadelta-cosine-warmup": ("Adadelta", ("CosineDecay", {
        "initial_learning_rate": 0.1, "decay_steps": 4, "warmup_target": 1.0,
        "warmup_steps": 3, "alpha": 0.1})),
    "ftrl-restarts": ("Ftrl", ("CosineDecayRestarts", {
        "initial_learning_rate": 0.2, "first_decay_steps": 2, "t_mul": 1.5, "m_mul": 0.8,
        "alpha": 0.05})),
    # Not past decay_steps: there Keras's jitted `1 - step / decay_steps` is slightly
    # negative (see below), and its power NaN.
    "lion-polynomial": ("Lion", ("PolynomialDecay", {
        "initial_learning_rate": 0.05, "decay_steps": 12, "power": 0.5})),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SCHEDULED))
def test_new_schedules_drive_every_new_optimizer(case, rng):
    cls_name, schedule = SCHEDULED[case]
    ours, theirs, _, _ = replay(rng, cls_name, steps=9, schedule=schedule)
    assert ours.learning_rate == pytest.approx(float(theirs.learning_rate), rel=1e-6)


# --------------------------------------------------------------------------- schedules

SCHEDULE_CASES = [
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 30}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 25,
                         "end_learning_rate": 0.01, "power": 0.5}),
    ("PolynomialDecay", {"initial_learning_rate": 1.0, "decay_steps": 7,
                         "end_learning_rate": 0.1, "power": 2.0, "cycle": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5,
                          "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.2, "decay_steps": 40, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 30, "warmup_target": 0.5,
                     "warmup_steps": 10}),
    ("CosineDecay", {"initial_learning_rate": 0.05, "decay_steps": 20, "alpha": 0.2,
                     "warmup_target": 0.3, "warmup_steps": 7}),
    ("CosineDecayRestarts", {"initial_learning_rate": 1.0, "first_decay_steps": 10}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.5, "first_decay_steps": 6,
                             "t_mul": 1.0, "m_mul": 0.7, "alpha": 0.1}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.5, "first_decay_steps": 4,
                             "t_mul": 3.0, "m_mul": 0.5, "alpha": 0.05}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.3}),
    ("PiecewiseConstantDecay", {"boundaries": [5, 20], "values": [0.1, 0.05, 0.01]}),
]  # fmt: skip


@pytest.mark.parametrize(
    "cls_name, kw", SCHEDULE_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(SCHEDULE_CASES)]
)
def test_schedule_values_and_configs_match_keras(cls_name, kw):
    ours, theirs = kandle_schedule(cls_name, **kw), keras_schedule(cls_name, **kw)
    # Keras eagerly: under jax.jit or jax.vmap, XLA turns `step / decay_steps` into a
    # product with the reciprocal, so that `1 - step / decay_steps` misses 0 at the end
    # of a PolynomialDecay and `ceil(21 / 7)` is 4. Eagerly, a schedule with a `cond`
    # takes a third of a second per value: these steps hold the period boundaries of
    # the cases (multiples of 4, 5, 6, 7, 10; 30, 70; 16, 52).
    steps = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 24, 25,
             28, 29, 30, 31, 35, 40, 41, 42, 49, 50, 52, 53, 69, 70, 71, 99, 100]  # fmt: skip
    got = np.array([ours(s) for s in steps])
    want = np.array([float(theirs(s)) for s in steps])
    # Keras computes in float32.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert kd.optimizers.schedules.serialize(ours) == keras.optimizers.schedules.serialize(theirs)
    again = kd.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(theirs))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    # Keras reads kandle's config back.
    back = keras.optimizers.schedules.deserialize(kd.optimizers.schedules.serialize(ours))
    assert back.get_config() == theirs.get_config()


def test_schedule_defaults_are_keras_defaults():
    for cls_name, required in [
        ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10}),
        ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 10,
                              "decay_rate": 0.5}),
        ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 10}),
        ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10}),
    ]:  # fmt: skip
        ours, theirs = kandle_schedule(cls_name, **required), keras_schedule(cls_name, **required)
        assert ours.get_config() == theirs.get_config(), cls_name


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: kd.optimizers.schedules.PolynomialDecay(0.1, 0), "decay_steps"),
        (lambda: kd.optimizers.schedules.InverseTimeDecay(0.1, -1, 0.5), "decay_steps"),
        (lambda: kd.optimizers.schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
        (lambda: kd.optimizers.schedules.CosineDecayRestarts(0.1, 10, t_mul=0.0), "t_mul"),
        (lambda: kd.optimizers.schedules.CosineDecayRestarts(0.1, 10, m_mul=-1.0), "m_mul"),
        (lambda: kd.optimizers.schedules.CosineDecay(0.1, 10, warmup_steps=-1), "warmup_steps"),
        (lambda: kd.optimizers.schedules.PolynomialDecay(0.1, 10, cycle="yes"), "cycle"),
    ],
)
def test_bad_schedule_arguments(make, arg):
    with pytest.raises(kd.errors.InvalidArgumentError, match=arg):
        make()


# --------------------------------------------------------------------------- configs

CONFIG_CASES = {
    "nadam": ("Nadam", {"learning_rate": 0.002, "beta_1": 0.8, "epsilon": 1e-6}),
    "adamax": ("Adamax", {"beta_2": 0.9, "clipnorm": 1.0}),
    "adadelta": ("Adadelta", {"rho": 0.9, "weight_decay": 0.01, "name": "dd"}),
    "ftrl": ("Ftrl", {"learning_rate_power": -0.25, "initial_accumulator_value": 0.3,
                      "l1_regularization_strength": 0.1, "l2_regularization_strength": 0.2,
                      "l2_shrinkage_regularization_strength": 0.3, "beta": 0.5}),
    "lion": ("Lion", {"beta_1": 0.95, "beta_2": 0.98, "global_clipnorm": 2.0}),
    "sgd-ema-accumulation": ("SGD", {"use_ema": True, "ema_momentum": 0.95,
                                     "ema_overwrite_frequency": 10,
                                     "gradient_accumulation_steps": 4}),
    "adam-schedule": ("Adam", {"learning_rate": ("CosineDecayRestarts", {
        "initial_learning_rate": 0.1, "first_decay_steps": 100, "t_mul": 1.5})}),
    "lion-schedule": ("Lion", {"learning_rate": ("PolynomialDecay", {
        "initial_learning_rate": 0.1, "decay_steps": 100, "cycle": True})}),
}  # fmt: skip


def _same_config(ours, theirs):
    assert list(ours) == list(theirs)
    for key in ours:
        if key == "name":
            # Keras numbers repeated default names: nadam, nadam_1, ...
            assert re.fullmatch(re.escape(ours[key]) + r"(_\d+)?", theirs[key]), key
        elif key == "learning_rate" and isinstance(ours[key], float):
            # Keras keeps a float learning rate in a float32 variable.
            assert ours[key] == pytest.approx(theirs[key], rel=1e-7), key
        else:
            assert ours[key] == theirs[key], key


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_configs_match_keras_and_round_trip(case):
    cls_name, kw = CONFIG_CASES[case]
    lr = kw.get("learning_rate")
    schedule = lr if isinstance(lr, tuple) else None
    kw = {k: v for k, v in kw.items() if not (k == "learning_rate" and schedule)}
    ours, theirs = pair(cls_name, schedule, **kw)
    _same_config(ours.get_config(), theirs.get_config())
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours.get_config()
    # Across the two: each reads the other's serialized form.
    from_keras = kd.optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert type(from_keras) is type(ours)
    _same_config(from_keras.get_config(), theirs.get_config())
    to_keras = keras.optimizers.deserialize(kd.optimizers.serialize(ours))
    _same_config(ours.get_config(), to_keras.get_config())


def test_defaults_and_string_names_are_keras():
    for name in ["nadam", "adamax", "adadelta", "ftrl", "lion", "Nadam", "LION"]:
        ours, theirs = kd.optimizers.get(name), keras.optimizers.get(name)
        assert type(ours).__name__ == type(theirs).__name__
        _same_config(ours.get_config(), theirs.get_config())


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: kd.optimizers.Nadam(learning_rate=-0.1), "learning_rate"),
        (lambda: kd.optimizers.Lion(learning_rate=-1.0), "learning_rate"),
        (lambda: kd.optimizers.Nadam(beta_1=1.5), "beta_1"),
        (lambda: kd.optimizers.Nadam(epsilon=0.0), "epsilon"),
        (lambda: kd.optimizers.Adamax(beta_2=-0.1), "beta_2"),
        (lambda: kd.optimizers.Adadelta(rho=1.5), "rho"),
        (lambda: kd.optimizers.Ftrl(learning_rate_power=0.5), "learning_rate_power"),
        (lambda: kd.optimizers.Ftrl(initial_accumulator_value=-1.0), "initial_accumulator_value"),
        (lambda: kd.optimizers.Ftrl(l1_regularization_strength=-1.0), "l1_regularization"),
        (lambda: kd.optimizers.Ftrl(l2_regularization_strength=-1.0), "l2_regularization"),
        (
            lambda: kd.optimizers.Ftrl(l2_shrinkage_regularization_strength=-1.0),
            "l2_shrinkage_regularization_strength",
        ),
        (lambda: kd.optimizers.Lion(beta_1=0.0), "beta_1"),
        (lambda: kd.optimizers.Lion(beta_1=1.5), "beta_1"),
        (lambda: kd.optimizers.SGD(gradient_accumulation_steps=1), "gradient_accumulation_steps"),
        (lambda: kd.optimizers.Adam(gradient_accumulation_steps=0), "gradient_accumulation_steps"),
        (lambda: kd.optimizers.Lion(gradient_accumulation_steps=2.5), "gradient_accumulation"),
        (lambda: kd.optimizers.SGD(use_ema=True, ema_momentum=1.5), "ema_momentum"),
        (lambda: kd.optimizers.Ftrl(use_ema=True, ema_momentum=-0.5), "ema_momentum"),
        (
            lambda: kd.optimizers.Nadam(use_ema=True, ema_overwrite_frequency=0),
            "ema_overwrite_frequency",
        ),
        (lambda: kd.optimizers.Adamax(use_ema="yes"), "use_ema"),
        (lambda: kd.optimizers.Lion(bogus=1), "not recognized"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(make, arg):
    with pytest.raises(kd.errors.InvalidArgumentError, match=arg):
        make()


def test_swapping_needs_use_ema():
    model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    model.fit(x, y, verbose=0)
    with pytest.raises(kd.errors.InvalidArgumentError, match="use_ema"):
        model.evaluate(x, y, verbose=0, callbacks=[kd.callbacks.SwapEMAWeights()])


# --------------------------------------------------------------------------- fit

N, BATCH, EPOCHS = 23, 5, 3


def fit_data(seed=7):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, 4)).astype(np.float32)
    y = rng.standard_normal((N, 2)).astype(np.float32)
    return x, y


def initial_weights(seed=1):
    rng = np.random.default_rng(seed)
    shapes = [(4, 5), (5,), (5, 2), (2,)]
    return [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]


def models(optimizers):
    """The same MLP in kandle and Keras, from the same weights, compiled with MSE."""
    ours = kd.Sequential(
        [kd.Input((4,)), kd.layers.Dense(5, activation="tanh"), kd.layers.Dense(2)]
    )
    theirs = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)]
    )
    for model, optimizer in zip((ours, theirs), optimizers):
        model.set_weights(initial_weights())
        model.compile(optimizer=optimizer, loss="mse")
    return ours, theirs


def assert_same_weights(ours, theirs, rtol=1e-4, atol=1e-5):
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


FIT_CASES = {
    "nadam": ("Nadam", {"learning_rate": 0.01}),
    "adamax": ("Adamax", {"learning_rate": 0.01}),
    "adadelta": ("Adadelta", {"learning_rate": 1.0}),
    "ftrl": ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.001,
                      "l2_regularization_strength": 0.01}),
    "lion": ("Lion", {"learning_rate": 0.003}),
    "adam-ema": ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}),
    "sgd-ema-overwrite": ("SGD", {"learning_rate": 0.1, "use_ema": True,
                                  "ema_momentum": 0.8, "ema_overwrite_frequency": 4}),
    "rmsprop-accumulation": ("RMSprop", {"learning_rate": 0.01,
                                         "gradient_accumulation_steps": 3}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_matches_keras(case):
    cls_name, kw = FIT_CASES[case]
    ours, theirs = models(pair(cls_name, **kw))
    x, y = fit_data()
    history = ours.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    want = theirs.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], want.history["loss"], rtol=1e-4)
    # Keras's fit ends with `finalize_variable_values` (the EMA into the weights); the
    # call is idempotent, so this holds whether or not kandle's fit makes it too.
    ours.optimizer.finalize_variable_values(ours.trainable_weights)
    assert_same_weights(ours, theirs)
    assert ours.optimizer.iterations == int(theirs.optimizer.iterations)


def test_swap_ema_weights_around_evaluate_and_predict():
    """Trained by train_on_batch (which does not finalize), evaluate and predict see the
    averages with SwapEMAWeights; the weights come back afterwards."""
    ours, theirs = models(pair("SGD", learning_rate=0.2, use_ema=True, ema_momentum=0.7))
    x, y = fit_data()
    for i in range(0, N, BATCH):
        ours.train_on_batch(x[i : i + BATCH], y[i : i + BATCH])
        theirs.train_on_batch(x[i : i + BATCH], y[i : i + BATCH])
    assert_same_weights(ours, theirs)
    raw = ours.get_weights()
    got = ours.evaluate(x, y, verbose=0, callbacks=[kd.callbacks.SwapEMAWeights()])
    want = theirs.evaluate(x, y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    assert got == pytest.approx(want, rel=1e-5)
    assert got != pytest.approx(ours.evaluate(x, y, verbose=0), rel=1e-3)
    for a, b in zip(ours.get_weights(), raw):
        np.testing.assert_array_equal(a, b)
    got = ours.predict(x, verbose=0, callbacks=[kd.callbacks.SwapEMAWeights()])
    want = theirs.predict(x, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.get_weights(), raw):
        np.testing.assert_array_equal(a, b)


def test_swap_ema_weights_on_epoch_matches_keras():
    """With swap_on_epoch, callbacks after it see the averages at each epoch's end, and
    the averages are the final weights."""
    ours, theirs = models(pair("Adam", learning_rate=0.02, use_ema=True, ema_momentum=0.6))
    x, y = fit_data()
    seen = {"ours": [], "theirs": []}

    def record(key, model):
        def on_epoch_end(epoch, logs=None):
            seen[key].append([np.array(w) for w in model.get_weights()])

        return on_epoch_end

    ours.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[
        kd.callbacks.SwapEMAWeights(swap_on_epoch=True),
        kd.callbacks.LambdaCallback(on_epoch_end=record("ours", ours)),
    ])  # fmt: skip
    theirs.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[
        keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
        keras.callbacks.LambdaCallback(on_epoch_end=record("theirs", theirs)),
    ])  # fmt: skip
    assert len(seen["ours"]) == len(seen["theirs"]) == EPOCHS
    for a_epoch, b_epoch in zip(seen["ours"], seen["theirs"]):
        for a, b in zip(a_epoch, b_epoch):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert_same_weights(ours, theirs)
