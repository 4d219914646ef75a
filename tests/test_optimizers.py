"""Optimizers and schedules against numpy replays of Keras 3's documented update rules."""

import math
import warnings

import numpy as np
import pytest

import kandle as kd
from helpers import randn

STEPS = 5
SHAPES = [(2, 3), (4,), ()]


# --------------------------------------------------------------------------- numpy references
# Each reference keeps per-variable state in a dict and updates float64 copies.


def ref_sgd(lr=0.01, momentum=0.0, nesterov=False):
    def step(w, g, s, t):
        if momentum == 0.0:
            return w - lr * g
        m = s.get("m", np.zeros_like(w))
        m = momentum * m - lr * g
        s["m"] = m
        return w + (momentum * m - lr * g if nesterov else m)

    return step


def ref_adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    def step(w, g, s, t):
        m = s.get("m", np.zeros_like(w))
        v = s.get("v", np.zeros_like(w))
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        s["m"], s["v"] = m, v
        if amsgrad:
            v = np.maximum(s.get("vhat", np.zeros_like(w)), v)
            s["vhat"] = v
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        return w - alpha * m / (np.sqrt(v) + epsilon)

    return step


def ref_rmsprop(lr=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    def step(w, g, s, t):
        v = rho * s.get("v", np.zeros_like(w)) + (1 - rho) * g**2
        s["v"] = v
        if centered:
            a = rho * s.get("a", np.zeros_like(w)) + (1 - rho) * g
            s["a"] = a
            inc = lr * g / np.sqrt(v - a**2 + epsilon)
        else:
            inc = lr * g / np.sqrt(v + epsilon)
        if momentum > 0:
            m = momentum * s.get("m", np.zeros_like(w)) + inc
            s["m"] = m
            return w - m
        return w - inc

    return step


def ref_adagrad(lr=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
    def step(w, g, s, t):
        acc = s.get("acc", np.full_like(w, initial_accumulator_value)) + g**2
        s["acc"] = acc
        return w - lr * g / np.sqrt(acc + epsilon)

    return step


def with_weight_decay(rule, wd, lr_at):
    def step(w, g, s, t):
        return rule(w - w * wd * lr_at(t - 1), g, s, t)

    return step


def ref_clip(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    if clipnorm:
        return [g * clipnorm / max(np.sqrt((g**2).sum()), clipnorm) for g in grads]
    if global_clipnorm:
        norm = np.sqrt(sum((g**2).sum() for g in grads))
        return [g * global_clipnorm * min(1 / norm, 1 / global_clipnorm) for g in grads]
    if clipvalue:
        return [np.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads


def run_both(rng, opt, reference, clip=None, method="apply", scale=1.0):
    """STEPS steps of `opt` and of `reference` on the same random gradients."""
    x0 = [randn(rng, s) for s in SHAPES]
    variables = [kd.Variable(x) for x in x0]
    expected = [x.astype(np.float64) for x in x0]
    states = [{} for _ in SHAPES]
    for t in range(1, STEPS + 1):
        grads = [randn(rng, s, scale) for s in SHAPES]
        tensors = [kd.tensor(g) for g in grads]
        if method == "apply":
            opt.apply(tensors, variables)
        else:
            opt.apply_gradients(zip(tensors, variables))
        g64 = ref_clip([g.astype(np.float64) for g in grads], **(clip or {}))
        expected = [reference(w, g, s, t) for w, g, s in zip(expected, g64, states)]
        for v, e in zip(variables, expected):
            np.testing.assert_allclose(v.numpy(), e, rtol=2e-5, atol=2e-6, err_msg=f"step {t}")
    assert opt.iterations == STEPS


# --------------------------------------------------------------------------- update rules

CASES = [
    ("sgd", lambda: kd.optimizers.SGD(), ref_sgd()),
    ("sgd-momentum", lambda: kd.optimizers.SGD(0.1, momentum=0.9), ref_sgd(0.1, 0.9)),
    (
        "sgd-nesterov",
        lambda: kd.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        ref_sgd(0.1, 0.9, True),
    ),
    ("adam", lambda: kd.optimizers.Adam(), ref_adam()),
    (
        "adam-custom",
        lambda: kd.optimizers.Adam(0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
        ref_adam(0.05, 0.8, 0.99, 1e-3),
    ),
    (
        "adam-amsgrad",
        lambda: kd.optimizers.Adam(0.05, amsgrad=True),
        ref_adam(0.05, amsgrad=True),
    ),
    (
        "adamw",
        lambda: kd.optimizers.AdamW(0.05),
        with_weight_decay(ref_adam(0.05), 0.004, lambda _: 0.05),
    ),
    ("rmsprop", lambda: kd.optimizers.RMSprop(), ref_rmsprop()),
    (
        "rmsprop-momentum-centered",
        lambda: kd.optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
        ref_rmsprop(0.01, 0.8, 0.5, centered=True),
    ),
    (
        "rmsprop-momentum",
        lambda: kd.optimizers.RMSprop(0.01, momentum=0.3),
        ref_rmsprop(0.01, momentum=0.3),
    ),
    ("adagrad", lambda: kd.optimizers.Adagrad(0.1), ref_adagrad(0.1)),
    (
        "adagrad-init",
        lambda: kd.optimizers.Adagrad(0.1, initial_accumulator_value=1.0, epsilon=1e-4),
        ref_adagrad(0.1, 1.0, 1e-4),
    ),
]


@pytest.mark.parametrize("make, reference", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("method", ["apply", "apply_gradients"])
def test_trajectory_matches_keras_rule(make, reference, method, rng):
    run_both(rng, make(), reference, method=method)


@pytest.mark.parametrize(
    "clip",
    [{"clipnorm": 0.5}, {"clipvalue": 0.3}, {"global_clipnorm": 1.0}],
    ids=["clipnorm", "clipvalue", "global_clipnorm"],
)
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_gradient_clipping(clip, name, rng):
    if name == "sgd":
        opt, ref = kd.optimizers.SGD(0.1, momentum=0.5, **clip), ref_sgd(0.1, 0.5)
    else:
        opt, ref = kd.optimizers.Adam(0.01, **clip), ref_adam(0.01)
    run_both(rng, opt, ref, clip=clip, scale=3.0)


def test_weight_decay_uses_current_learning_rate(rng):
    run_both(
        rng,
        kd.optimizers.SGD(0.1, weight_decay=0.2),
        with_weight_decay(ref_sgd(0.1), 0.2, lambda _: 0.1),
    )
    schedule = kd.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)

    def lr_at(t):
        return 0.1 * 0.5 ** (t / 2)

    run_both(
        rng,
        kd.optimizers.RMSprop(schedule, weight_decay=0.3),
        with_weight_decay(_scheduled(ref_rmsprop, lr_at), 0.3, lr_at),
    )


def _scheduled(make_rule, lr_at):
    """A reference whose learning rate at 1-based step t is lr_at(t - 1)."""

    def step(w, g, s, t):
        return make_rule(lr=lr_at(t - 1))(w, g, s, t)

    return step


def test_schedule_drives_adam_bias_correction(rng):
    schedule = kd.optimizers.schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.05, 0.01])
    values = [0.1, 0.1, 0.05, 0.05, 0.01]
    run_both(rng, kd.optimizers.Adam(schedule), _scheduled(ref_adam, lambda t: values[t]))


def test_loss_scale_factor_divides_gradients(rng):
    run_both(rng, kd.optimizers.SGD(0.1, loss_scale_factor=4.0), ref_sgd(0.1 / 4.0))


# --------------------------------------------------------------------------- schedules


def test_exponential_decay_values():
    s = kd.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    for step in [0, 1, 5, 10, 33]:
        assert s(step) == pytest.approx(0.1 * 0.9 ** (step / 10), rel=1e-12)
    s = kd.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True)
    for step in [0, 9, 10, 19, 20, 33]:
        assert s(step) == pytest.approx(0.1 * 0.9 ** np.floor(step / 10), rel=1e-12)


def test_cosine_decay_values():
    def ref(step, init, decay_steps, alpha=0.0, target=None, warmup=0):
        def decay(step, start):
            c = 0.5 * (1 + math.cos(math.pi * step / decay_steps))
            return start * ((1 - alpha) * c + alpha)

        if target is None:
            return decay(min(step, decay_steps), init)
        step = min(step, decay_steps + warmup)
        if step < warmup:
            return (target - init) * step / warmup + init
        return decay(step - warmup, target)

    s = kd.optimizers.schedules.CosineDecay(0.2, decay_steps=20, alpha=0.1)
    for step in [0, 1, 7, 20, 50]:
        assert s(step) == pytest.approx(ref(step, 0.2, 20, 0.1), rel=1e-12, abs=1e-15)
    s = kd.optimizers.schedules.CosineDecay(0.01, 20, warmup_target=0.5, warmup_steps=5)
    for step in [0, 1, 4, 5, 6, 15, 25, 40]:
        assert s(step) == pytest.approx(ref(step, 0.01, 20, 0.0, 0.5, 5), rel=1e-12, abs=1e-15)


def test_piecewise_constant_decay_values():
    s = kd.optimizers.schedules.PiecewiseConstantDecay([3, 6], [1.0, 0.5, 0.25])
    expected = [1.0] * 4 + [0.5] * 3 + [0.25] * 3
    assert [s(step) for step in range(10)] == expected


def test_schedule_config_round_trip():
    for s in [
        kd.optimizers.schedules.ExponentialDecay(0.1, 100, 0.96, staircase=True),
        kd.optimizers.schedules.CosineDecay(
            0.0, 100, alpha=0.1, warmup_target=0.1, warmup_steps=10
        ),
        kd.optimizers.schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
    ]:
        again = type(s).from_config(s.get_config())
        assert again.get_config() == s.get_config()
        assert [again(t) for t in range(0, 200, 7)] == [s(t) for t in range(0, 200, 7)]
        via = kd.optimizers.schedules.deserialize(kd.optimizers.schedules.serialize(s))
        assert via.get_config() == s.get_config()


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: kd.optimizers.schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: kd.optimizers.schedules.CosineDecay(0.1, -5), "decay_steps"),
        (lambda: kd.optimizers.schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "boundaries"),
        (lambda: kd.optimizers.schedules.PiecewiseConstantDecay([2, 1], [1, 2, 3]), "boundaries"),
    ],
)
def test_bad_schedules(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


# --------------------------------------------------------------------------- state and API


def test_defaults_are_keras_defaults():
    assert kd.optimizers.SGD().get_config()["learning_rate"] == 0.01
    adam = kd.optimizers.Adam().get_config()
    assert (adam["learning_rate"], adam["beta_1"], adam["beta_2"], adam["epsilon"]) == (
        0.001,
        0.9,
        0.999,
        1e-7,
    )
    assert kd.optimizers.AdamW().get_config()["weight_decay"] == 0.004
    rms = kd.optimizers.RMSprop().get_config()
    assert (rms["rho"], rms["momentum"], rms["epsilon"], rms["centered"]) == (0.9, 0.0, 1e-7, False)
    ada = kd.optimizers.Adagrad().get_config()
    assert (ada["initial_accumulator_value"], ada["epsilon"]) == (0.1, 1e-7)
    names = [o().name for o in (kd.optimizers.SGD, kd.optimizers.Adam, kd.optimizers.AdamW)]
    assert names == ["sgd", "adam", "adamw"]  # Keras 3.15: name=None, snake-cased


def test_learning_rate_get_set_and_iterations(rng):
    opt = kd.optimizers.SGD(0.1)
    assert opt.learning_rate == pytest.approx(0.1)
    w = kd.Variable(np.ones(3, dtype=np.float32))
    opt.apply([kd.tensor(np.ones(3, dtype=np.float32))], [w])
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5
    assert opt.get_config()["learning_rate"] == 0.5
    opt.apply([kd.tensor(np.ones(3, dtype=np.float32))], [w])
    np.testing.assert_allclose(w.numpy(), 1 - 0.1 - 0.5, rtol=1e-6)
    assert opt.iterations == 2
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1.0

    sched = kd.optimizers.schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5)
    opt = kd.optimizers.SGD(sched)
    for t in range(4):
        assert opt.iterations == t
        assert opt.learning_rate == pytest.approx(0.5**t)
        opt.apply([kd.tensor([0.0])], [kd.Variable([0.0])])
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    # A schedule may replace a constant learning rate, as in Keras.
    opt = kd.optimizers.Adam(0.1)
    opt.learning_rate = kd.optimizers.schedules.PiecewiseConstantDecay([0], [0.3, 0.2])
    assert opt.learning_rate == pytest.approx(0.3)


def test_apply_without_variables_uses_the_built_ones(rng):
    opt = kd.optimizers.SGD(0.5)
    w = kd.Variable([1.0])
    with pytest.raises(ValueError, match="build"):
        opt.apply([kd.tensor([1.0])])
    opt.apply([kd.tensor([1.0])], [w])
    opt.apply([kd.tensor([1.0])])
    np.testing.assert_allclose(w.numpy(), [0.0])
    assert opt.apply([]) is None and opt.iterations == 2


def test_none_gradients_are_skipped_with_a_warning():
    opt = kd.optimizers.SGD(0.5)
    a, b = kd.Variable([1.0]), kd.Variable([1.0])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([None, kd.tensor([1.0])], [a, b])
    assert a.numpy()[0] == 1.0 and b.numpy()[0] == 0.5
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply([None], [a])


@pytest.mark.parametrize(
    "opt",
    [
        kd.optimizers.SGD(0.05, momentum=0.8, nesterov=True, clipnorm=2.0, name="my_sgd"),
        kd.optimizers.Adam(0.002, amsgrad=True, global_clipnorm=1.0),
        kd.optimizers.AdamW(0.003, weight_decay=0.01, clipvalue=0.5),
        kd.optimizers.RMSprop(0.004, rho=0.8, momentum=0.1, centered=True),
        kd.optimizers.Adagrad(0.005, initial_accumulator_value=0.2, loss_scale_factor=2.0),
        kd.optimizers.SGD(kd.optimizers.schedules.CosineDecay(0.1, 100, warmup_target=0.2)),
    ],
    ids=lambda o: type(o).__name__,
)
def test_config_round_trip(opt):
    config = opt.get_config()
    keys = list(config)
    assert keys[:11] == [
        "name",
        "learning_rate",
        "weight_decay",
        "clipnorm",
        "global_clipnorm",
        "clipvalue",
        "use_ema",
        "ema_momentum",
        "ema_overwrite_frequency",
        "loss_scale_factor",
        "gradient_accumulation_steps",
    ]
    again = type(opt).from_config(config)
    assert type(again) is type(opt)
    assert again.get_config() == config
    assert kd.optimizers.deserialize(kd.optimizers.serialize(opt)).get_config() == config


def test_get_resolves_names_classes_and_instances():
    for name, cls in [
        ("sgd", kd.optimizers.SGD),
        ("adam", kd.optimizers.Adam),
        ("adamw", kd.optimizers.AdamW),
        ("rmsprop", kd.optimizers.RMSprop),
        ("adagrad", kd.optimizers.Adagrad),
        ("Adam", kd.optimizers.Adam),
    ]:
        assert type(kd.optimizers.get(name)) is cls
        assert type(kd.optimizers.get(cls)) is cls
    opt = kd.optimizers.SGD()
    assert kd.optimizers.get(opt) is opt
    assert kd.optimizers.get(None) is None
    got = kd.optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.3}})
    assert got.learning_rate == pytest.approx(0.3)
    with pytest.raises(ValueError, match="sgd") as e:
        kd.optimizers.get("adafactor")
    assert "adafactor" in str(e.value) and "lion" in str(e.value)
    with pytest.raises(ValueError):
        kd.optimizers.get(42)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: kd.optimizers.SGD(-0.1), "learning_rate"),
        (lambda: kd.optimizers.Adam(learning_rate="fast"), "learning_rate"),
        (lambda: kd.optimizers.SGD(momentum=1.5), "momentum"),
        (lambda: kd.optimizers.SGD(momentum=-0.5), "momentum"),
        (lambda: kd.optimizers.RMSprop(momentum=2.0), "momentum"),
        (lambda: kd.optimizers.RMSprop(rho=-0.1), "rho"),
        (lambda: kd.optimizers.Adam(epsilon=0.0), "epsilon"),
        (lambda: kd.optimizers.Adam(beta_1=1.0), "beta_1"),
        (
            lambda: kd.optimizers.Adagrad(initial_accumulator_value=-1.0),
            "initial_accumulator_value",
        ),
        (lambda: kd.optimizers.SGD(clipnorm=1.0, clipvalue=1.0), "only one"),
        (lambda: kd.optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0), "only one"),
        (lambda: kd.optimizers.SGD(clipnorm=-1.0), "clipnorm"),
        (lambda: kd.optimizers.SGD(weight_decay=-0.1), "weight_decay"),
        (lambda: kd.optimizers.SGD(bogus=1), "not recognized"),
        (lambda: kd.optimizers.AdamW(weight_decay=None), "weight_decay"),
        (lambda: kd.optimizers.SGD(learning_rate=lambda: 0.1), "callable"),
    ],
)
def test_bad_hyper_parameters(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_custom_python_schedule_is_refused():
    class Mine(kd.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.1

    with pytest.raises(NotImplementedError, match="Rust"):
        kd.optimizers.SGD(Mine())


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_mismatched_grads_leave_variables_unchanged(name, rng):
    opt = kd.optimizers.get(name)
    x1, x2 = randn(rng, (2, 3)), randn(rng, (4,))
    variables = [kd.Variable(x1), kd.Variable(x2)]
    with pytest.raises(ValueError, match="gradient"):
        opt.apply([kd.tensor(randn(rng, (2, 3)))], variables)
    with pytest.raises(ValueError, match=r"\(5,\)"):
        opt.apply([kd.tensor(randn(rng, (2, 3))), kd.tensor(randn(rng, (5,)))], variables)
    np.testing.assert_array_equal(variables[0].numpy(), x1)
    np.testing.assert_array_equal(variables[1].numpy(), x2)
    assert opt.iterations == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.apply([kd.tensor(randn(rng, (2, 3))), kd.tensor(randn(rng, (4,)))], variables)
    assert opt.iterations == 1


def test_optimizer_base_class_is_abstract():
    with pytest.raises(TypeError, match="SGD"):
        kd.optimizers.Optimizer(0.1)
