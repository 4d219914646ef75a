"""The confusion-matrix metrics (TruePositives ... AUC, the sensitivity/specificity
family), F1Score/FBetaScore and R2Score against Keras 3 itself (on JAX): results over
several update_state calls with and without sample weights, reset_state, NaN
predictions, configs, bad arguments, and fit/evaluate histories."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import kandle as kd

M, K = kd.metrics, keras.metrics
RTOL, ATOL = 1e-5, 1e-5


def keras_value(metric):
    return np.asarray(metric.result(), dtype=np.float64)


def assert_same_result(ours, theirs, context=""):
    got, want = ours.result(), keras_value(theirs)
    if want.ndim == 0:
        assert isinstance(got, float), f"{context}: expected a float, got {type(got).__name__}"
    else:
        assert isinstance(got, np.ndarray) and got.dtype == np.float32, (context, got)
        assert got.shape == want.shape, (context, got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=context)


def run_both(ours, theirs, batches):
    """Feeds both metrics the same batches, comparing after each; then resets both and
    compares again after the last batch alone."""
    for i, (t, p, w) in enumerate(batches):
        ours.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
        assert_same_result(ours, theirs, f"after update {i}")
    ours.reset_state()
    theirs.reset_state()
    t, p, w = batches[-1]
    ours.update_state(t, p, sample_weight=w)
    theirs.update_state(t, p, sample_weight=w)
    assert_same_result(ours, theirs, "after reset_state")


def probabilities(rng, shape):
    """Uniform probabilities with some values exactly on common thresholds (0, 0.5, 1)
    and some outside [0, 1], which the bucketed path clips."""
    p = rng.uniform(0, 1, shape)
    flat = p.reshape(-1)
    picks = rng.choice(flat.size, size=min(6, flat.size), replace=False)
    flat[picks] = [0.0, 0.5, 1.0, -0.2, 1.3, 0.25][: len(picks)]
    return p.astype(np.float32)


def batches(rng, shape, weighted, kind="binary", count=3):
    out = []
    for _ in range(count):
        n = shape[0]
        if kind == "binary":
            t = rng.integers(0, 2, shape).astype(np.float32)
            p = probabilities(rng, shape)
        elif kind == "onehot":
            t = np.eye(shape[1], dtype=np.float32)[rng.integers(0, shape[1], n)]
            p = rng.dirichlet(np.ones(shape[1]), n).astype(np.float32)
        else:  # regression
            t = rng.standard_normal(shape).astype(np.float32)
            p = (t + rng.standard_normal(shape) * 0.7).astype(np.float32)
        w = rng.uniform(0.1, 2.0, n).astype(np.float32) if weighted else None
        out.append((t, p, w))
    return out


def both(cls_name, *args, **kwargs):
    return getattr(M, cls_name)(*args, **kwargs), getattr(K, cls_name)(*args, **kwargs)


# ------------------------------------------------------------------ against Keras

CONFUSION_CASES = [
    ("TruePositives", {}),
    ("FalsePositives", {"thresholds": 0.3}),
    ("TrueNegatives", {"thresholds": [0.2, 0.5, 0.9]}),
    ("FalseNegatives", {"thresholds": [0.0, 0.5, 1.0]}),  # evenly spaced: bucketed
    ("TruePositives", {"thresholds": [0.7, 0.1, 0.3]}),  # unsorted
    ("FalsePositives", {"thresholds": [0.5]}),  # a list of one: a scalar result
    ("Precision", {}),
    ("Precision", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}),
    ("Precision", {"top_k": 2}),
    ("Precision", {"class_id": 1}),
    ("Precision", {"top_k": 2, "class_id": 2, "thresholds": [0.1, 0.6]}),
    ("Recall", {"thresholds": [0.3, 0.6]}),
    ("Recall", {"top_k": 1}),
    ("Recall", {"class_id": 0, "thresholds": 0.4}),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("cls", "kwargs"), CONFUSION_CASES, ids=str)
def test_counts_precision_recall_match_keras(rng, cls, kwargs, weighted):
    ours, theirs = both(cls, **kwargs)
    run_both(ours, theirs, batches(rng, (12, 3), weighted))


def test_rank_one_and_column_inputs_match_keras(rng):
    t = rng.integers(0, 2, 10).astype(np.float32)
    p = probabilities(rng, (10,))
    w = rng.uniform(0.1, 2, 10).astype(np.float32)
    for shapes in [((10,), (10,)), ((10, 1), (10,)), ((10,), (10, 1)), ((10, 1), (10, 1))]:
        ours, theirs = both("Precision", thresholds=[0.2, 0.6])
        data = [(t.reshape(shapes[0]), p.reshape(shapes[1]), w)]
        run_both(ours, theirs, data)


AUC_CASES = [
    {},
    {"num_thresholds": 3},
    {"num_thresholds": 50, "curve": "PR"},
    {"curve": "PR", "summation_method": "minoring"},
    {"curve": "PR", "summation_method": "majoring"},
    {"curve": "ROC", "summation_method": "minoring"},
    {"curve": "ROC", "summation_method": "majoring"},
    {"curve": "PRGAIN"},
    {"curve": "PRGAIN", "summation_method": "majoring"},
    {"from_logits": True},
    {"thresholds": [0.1, 0.35, 0.5, 0.9]},  # uneven: compared one by one
    {"thresholds": [0.5, 0.25, 0.75]},  # with 0 and 1, evenly spaced: bucketed
    {"thresholds": [0.3, 0.6], "curve": "PR"},
    {"multi_label": True},
    {"multi_label": True, "num_labels": 3, "curve": "PR"},
    {"multi_label": True, "label_weights": [0.2, 1.0, 3.0]},
    {"label_weights": [0.5, 2.0, 1.0]},  # without multi_label: per-element weights
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kwargs", AUC_CASES, ids=str)
def test_auc_matches_keras(rng, kwargs, weighted):
    ours, theirs = both("AUC", **kwargs)
    data = batches(rng, (16, 3), weighted)
    if kwargs.get("from_logits"):
        data = [(t, (p * 8 - 4).astype(np.float32), w) for t, p, w in data]
    run_both(ours, theirs, data)


RATE_CASES = [
    ("SensitivityAtSpecificity", 0.5, {}),
    ("SensitivityAtSpecificity", 0.8, {"num_thresholds": 7}),
    ("SpecificityAtSensitivity", 0.6, {}),
    ("SpecificityAtSensitivity", 0.4, {"num_thresholds": 1}),
    ("PrecisionAtRecall", 0.5, {}),
    ("PrecisionAtRecall", 0.7, {"class_id": 1, "num_thresholds": 20}),
    ("RecallAtPrecision", 0.6, {}),
    ("RecallAtPrecision", 0.5, {"class_id": 2}),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("cls", "value", "kwargs"), RATE_CASES, ids=str)
def test_sensitivity_specificity_family_matches_keras(rng, cls, value, kwargs, weighted):
    ours, theirs = both(cls, value, **kwargs)
    run_both(ours, theirs, batches(rng, (20, 3), weighted))


F_CASES = [
    ("F1Score", {}),
    ("F1Score", {"average": "micro"}),
    ("F1Score", {"average": "macro", "threshold": 0.4}),
    ("F1Score", {"average": "weighted"}),
    ("FBetaScore", {"beta": 2.0}),
    ("FBetaScore", {"beta": 0.5, "average": "weighted", "threshold": 0.3}),
    ("FBetaScore", {"beta": 1.5, "average": "micro", "threshold": 0.5}),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kind", ["onehot", "binary"])
@pytest.mark.parametrize(("cls", "kwargs"), F_CASES, ids=str)
def test_f_scores_match_keras(rng, cls, kwargs, kind, weighted):
    ours, theirs = both(cls, **kwargs)
    run_both(ours, theirs, batches(rng, (10, 4), weighted, kind=kind))


R2_CASES = [
    {},
    {"class_aggregation": "variance_weighted_average"},
    {"class_aggregation": None},
    {"num_regressors": 3},
    {"class_aggregation": None, "num_regressors": 2},
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kwargs", R2_CASES, ids=str)
def test_r2_score_matches_keras(rng, kwargs, weighted):
    ours, theirs = both("R2Score", **kwargs)
    run_both(ours, theirs, batches(rng, (9, 3), weighted, kind="regression"))


def test_r2_score_sample_weight_shapes_and_column_labels_match_keras(rng):
    t = rng.standard_normal((8, 1)).astype(np.float32)
    p = (t + rng.standard_normal((8, 1))).astype(np.float32)
    for yt, w in [(t[:, 0], None), (t, rng.uniform(0.1, 2, (8, 1)).astype(np.float32)), (t, 2.0)]:
        ours, theirs = both("R2Score")
        run_both(ours, theirs, [(yt, p, w)])


def test_adjusted_r2_falls_back_with_keras_warning(rng):
    ours, theirs = both("R2Score", num_regressors=8)
    data = batches(rng, (3, 2), False, kind="regression", count=1)
    with pytest.warns(UserWarning, match="More independent predictors than datapoints"):
        run_both(ours, theirs, data)
    ours, theirs = both("R2Score", num_regressors=5)  # 6 samples: n - 1 == p
    with pytest.warns(UserWarning, match="Division by zero in Adjusted R2 score"):
        run_both(ours, theirs, data)
    ours = M.R2Score(num_regressors=2)
    ours.update_state(*data[0][:2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.result()


# ------------------------------------------------------------------ docstring values


def test_keras_docstring_values():
    m = M.TruePositives()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert m.result() == 2.0
    m.reset_state()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
    assert m.result() == 1.0
    m = M.SensitivityAtSpecificity(0.5)
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], sample_weight=[1, 1, 2, 2, 1])
    assert m.result() == pytest.approx(1 / 3)
    m = M.RecallAtPrecision(0.8)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert m.result() == pytest.approx(1.0)
    m = M.F1Score(threshold=0.5)
    m.update_state(
        np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32),
        np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32),
    )
    np.testing.assert_allclose(m.result(), [0.5, 0.8, 0.6666667], rtol=1e-6)
    m = M.R2Score()
    m.update_state(np.array([[1], [4], [3]], np.float32), np.array([[2], [4], [4]], np.float32))
    assert m.result() == pytest.approx(0.57142854)


# ------------------------------------------------------------------ NaN predictions


NAN_CASES = [
    ("TruePositives", (), {"thresholds": [0.0, 0.3, 1.0]}),  # compared one by one
    ("FalseNegatives", (), {"thresholds": [0.0, 0.5, 1.0]}),  # bucketed: NaN in bucket 0
    ("Precision", (), {"top_k": 1}),  # NaN ranks first in top_k
    ("Recall", (), {"top_k": 2, "thresholds": [0.0, 0.5, 1.0]}),
    ("AUC", (), {"num_thresholds": 5}),
    ("AUC", (), {"from_logits": True, "curve": "PR"}),
    ("AUC", (), {"multi_label": True}),
    ("SensitivityAtSpecificity", (0.5,), {"num_thresholds": 3}),
    ("PrecisionAtRecall", (0.5,), {"num_thresholds": 1}),
    ("F1Score", (), {}),
    ("F1Score", (), {"threshold": 0.15, "average": "macro"}),
    ("R2Score", (), {"class_aggregation": None}),
]


@pytest.mark.parametrize(("cls", "args", "kwargs"), NAN_CASES, ids=str)
def test_nan_predictions_do_what_keras_does(cls, args, kwargs):
    nan, inf = np.nan, np.inf
    t = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1]], np.float32)
    p = np.array([[nan, 0.2, 0.5], [0.1, nan, 0.3], [inf, 0.4, 0.0], [0.6, -inf, 1.0]], np.float32)
    ours, theirs = both(cls, *args, **kwargs)
    ours.update_state(t, p)
    theirs.update_state(t, p)
    got, want = np.asarray(ours.result(), np.float64), keras_value(theirs)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True)


# ------------------------------------------------------------------ configs

CONFIG_CASES = [
    ("TruePositives", (), {}),
    ("FalsePositives", (), {"thresholds": [0.2, 0.4]}),
    ("TrueNegatives", (), {"thresholds": 0.3, "name": "tn"}),
    ("FalseNegatives", (), {}),
    ("Precision", (), {"thresholds": 0.3, "top_k": 2, "class_id": 1}),
    ("Recall", (), {"thresholds": [0.1, 0.9]}),
    ("AUC", (), {}),
    ("AUC", (), {"thresholds": [0.7, 0.2], "curve": "pr", "summation_method": "Majoring"}),
    ("AUC", (), {"multi_label": True, "num_labels": 3, "from_logits": True}),
    ("AUC", (), {"multi_label": True, "label_weights": [1.0, 2.0, 3.0]}),
    ("PrecisionAtRecall", (0.5,), {}),
    ("RecallAtPrecision", (0.8,), {"num_thresholds": 10, "class_id": 2}),
    ("SensitivityAtSpecificity", (0.5,), {"name": "sens"}),
    ("SpecificityAtSensitivity", (0.3,), {"num_thresholds": 1}),
    ("F1Score", (), {}),
    ("F1Score", (), {"average": "macro", "threshold": 0.4}),
    ("FBetaScore", (), {"beta": 2.0, "average": "weighted", "threshold": 0.4}),
    ("R2Score", (), {}),
    ("R2Score", (), {"class_aggregation": None, "num_regressors": 2}),
]


def plain(config):
    """A Keras config with numpy/JAX values as Python ones."""
    out = {}
    for key, value in config.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        elif isinstance(value, list):
            value = [float(v) for v in value]
        out[key] = value
    return out


@pytest.mark.parametrize(("cls", "args", "kwargs"), CONFIG_CASES, ids=str)
def test_configs_match_keras_and_round_trip(rng, cls, args, kwargs):
    kwargs = {"name": "m", **kwargs}
    ours, theirs = both(cls, *args, **kwargs)
    config = ours.get_config()
    assert config == plain(theirs.get_config())
    copy = type(ours).from_config(config)
    assert copy.get_config() == config
    # Keras rebuilds the same metric from kandle's config.
    assert plain(getattr(K, cls).from_config(config).get_config()) == config
    # And the copy computes the same numbers.
    shape = (10, 3)
    kind = "regression" if cls == "R2Score" else "binary"
    for t, p, w in batches(rng, shape, True, kind=kind, count=2):
        ours.update_state(t, p, sample_weight=w)
        copy.update_state(t, p, sample_weight=w)
    np.testing.assert_array_equal(np.asarray(ours.result()), np.asarray(copy.result()))


@pytest.mark.parametrize(
    ("cls", "args", "kwargs"),
    [
        ("TruePositives", (), {}),
        ("FalseNegatives", (), {"thresholds": [0.3, 0.6]}),
        ("Precision", (), {"top_k": 2}),
        ("Recall", (), {"thresholds": 0.4}),
        ("AUC", (), {"num_thresholds": 7}),
        ("AUC", (), {"thresholds": [0.6, 0.1]}),
        ("SensitivityAtSpecificity", (0.5,), {"num_thresholds": 9}),
        ("RecallAtPrecision", (0.5,), {"num_thresholds": 1}),
    ],
    ids=str,
)
def test_thresholds_attribute_matches_keras(cls, args, kwargs):
    ours, theirs = both(cls, *args, **kwargs)
    np.testing.assert_allclose(ours.thresholds, np.asarray(theirs.thresholds, np.float64))


def test_default_names_and_get():
    assert M.F1Score().name == "f1_score"
    assert M.FBetaScore().name == "fbeta_score"
    assert M.R2Score().name == "r2_score"
    assert M.TruePositives().name.startswith("true_positives")
    assert M.PrecisionAtRecall(0.5).name.startswith("precision_at_recall")
    for name, cls in [
        ("true_positives", M.TruePositives),
        ("FalseNegatives", M.FalseNegatives),
        ("f1_score", M.F1Score),
        ("f_beta_score", M.FBetaScore),
        ("r2_score", M.R2Score),
        ("auc", M.AUC),
    ]:
        metric = M.get(name)
        assert isinstance(metric, cls) and metric.name == name
    metric = M.get({"class_name": "AUC", "config": {"curve": "PR", "name": "pr"}})
    assert isinstance(metric, M.AUC) and metric.curve == "PR"
    assert issubclass(M.F1Score, M.FBetaScore)


# ------------------------------------------------------------------ bad arguments

BAD_ARGUMENTS = [
    (lambda: M.TruePositives(thresholds=[0.5, 2.0]), "thresholds"),
    (lambda: M.FalseNegatives(thresholds=[]), "thresholds"),
    (lambda: M.Precision(thresholds=-0.1), "thresholds"),
    (lambda: M.Recall(thresholds=[0.5, float("nan")]), "thresholds"),
    (lambda: M.Precision(top_k=0), "top_k"),
    (lambda: M.Precision(class_id=-1), "class_id"),
    (lambda: M.AUC(num_thresholds=1), "num_thresholds"),
    (lambda: M.AUC(num_thresholds=-5), "num_thresholds"),
    (lambda: M.AUC(num_thresholds=2.5), "num_thresholds"),
    (lambda: M.AUC(thresholds=[0.5, 1.5]), "thresholds"),
    (lambda: M.AUC(curve="XY"), "curve"),
    (lambda: M.AUC(summation_method="trapezoid"), "summation_method"),
    (lambda: M.AUC(num_labels=3), "num_labels"),
    (lambda: M.AUC(multi_label=True, num_labels=2, label_weights=[1.0, 2.0, 3.0]), "label"),
    (lambda: M.SensitivityAtSpecificity(1.5), "specificity"),
    (lambda: M.SpecificityAtSensitivity(-0.5), "sensitivity"),
    (lambda: M.PrecisionAtRecall(2.0), "recall"),
    (lambda: M.RecallAtPrecision(0.5, num_thresholds=0), "num_thresholds"),
    (lambda: M.F1Score(average="mean"), "average"),
    (lambda: M.F1Score(threshold=1), "threshold"),  # Keras requires a float
    (lambda: M.F1Score(threshold=0.0), "threshold"),
    (lambda: M.FBetaScore(beta=2), "beta"),
    (lambda: M.FBetaScore(beta=-1.0), "beta"),
    (lambda: M.R2Score(class_aggregation="variance_weighted"), "class_aggregation"),
    (lambda: M.R2Score(num_regressors=-1), "num_regressors"),
]


@pytest.mark.parametrize(("make", "argument"), BAD_ARGUMENTS)
def test_bad_arguments_raise_kandle_errors_naming_them(make, argument):
    with pytest.raises(kd.errors.KandleError) as info:
        make()
    assert isinstance(info.value, ValueError)
    assert argument in str(info.value)


@pytest.mark.parametrize("size", [2**40, 2**62, 2**63 - 1, 2**64 + 5, 2**70])
@pytest.mark.parametrize(
    "make",
    [
        lambda n: M.AUC(num_thresholds=n),
        lambda n: M.PrecisionAtRecall(0.5, num_thresholds=n),
        lambda n: M.AUC(num_thresholds=n, multi_label=True, num_labels=3),
        lambda n: M.AUC(num_thresholds=200, multi_label=True, num_labels=n),
    ],
    ids=["AUC", "PrecisionAtRecall", "AUC-multi-label", "AUC-num_labels"],
)
def test_huge_sizes_raise_memory_errors(make, size):
    with pytest.raises(kd.errors.AllocationError) as info:
        make(size)
    assert isinstance(info.value, MemoryError)
    assert "num_" in str(info.value) or "labels" in str(info.value)


BAD_INPUTS = [
    (M.Precision, {"class_id": 3}, np.zeros((4, 3)), np.zeros((4, 3)), "class_id"),
    (M.Precision, {"class_id": 0}, np.zeros(4), np.zeros(4), "class_id"),
    (M.Recall, {}, np.zeros((4, 3)), np.zeros((4, 2)), "(4, 3)"),
    (M.AUC, {"multi_label": True}, np.zeros(4), np.zeros(4), "rank 2"),
    (M.AUC, {"multi_label": True, "num_labels": 2}, np.zeros((4, 3)), np.zeros((4, 3)), "2"),
    (M.AUC, {"label_weights": [1.0, 2.0]}, np.zeros((4, 3)), np.zeros((4, 3)), "label_weights"),
    (M.F1Score, {}, np.zeros(4), np.zeros(4), "2D"),
    (M.F1Score, {}, np.zeros((4, 3)), np.zeros((4, 2)), "(4, 2)"),
    (M.R2Score, {}, np.zeros(4), np.zeros(4), "2D"),
    (M.R2Score, {}, np.zeros((4, 3)), np.zeros((4, 2)), "(4, 3)"),
]


@pytest.mark.parametrize(("cls", "kwargs", "t", "p", "part"), BAD_INPUTS, ids=str)
def test_bad_inputs_raise_kandle_errors(cls, kwargs, t, p, part):
    with pytest.raises(kd.errors.KandleError) as info:
        cls(**kwargs).update_state(t, p)
    assert isinstance(info.value, ValueError)
    assert part in str(info.value)


def test_bad_sample_weights_and_changing_class_counts():
    with pytest.raises(kd.errors.ShapeError, match="sample_weight"):
        M.F1Score().update_state(np.zeros((4, 3)), np.zeros((4, 3)), sample_weight=np.ones(3))
    with pytest.raises(kd.errors.ShapeError, match="sample_weight"):
        M.AUC().update_state(np.zeros((4, 3)), np.zeros((4, 3)), sample_weight=np.ones(3))
    for m in [M.F1Score(), M.R2Score(), M.AUC(multi_label=True)]:
        m.update_state(np.zeros((4, 3)), np.full((4, 3), 0.5))
        m.reset_state()  # the number of classes stays, as Keras's variables do
        with pytest.raises(kd.errors.ShapeError, match="3"):
            m.update_state(np.zeros((4, 2)), np.full((4, 2), 0.5))


# ------------------------------------------------------------------ fit and evaluate

N, D, OUT, BATCH, EPOCHS = 40, 4, 3, 8, 2


def initial_weights(seed=1):
    rng = np.random.default_rng(seed)
    shapes = [(D, 6), (6,), (6, OUT), (OUT,)]
    return [(rng.standard_normal(s) * 0.7).astype(np.float32) for s in shapes]


def fit_both(metrics, out_activation, loss, y, sample_weight=None):
    """fit (with validation_split), evaluate and train_on_batch in kandle and Keras from
    the same weights; with `sample_weight`, the metrics are compiled as
    `weighted_metrics`."""
    x = np.random.default_rng(7).standard_normal((N, D)).astype(np.float32)
    weights = initial_weights()
    sw = sample_weight
    results = []
    for lib in (kd, keras):
        model = lib.Sequential(
            [
                lib.Input((D,)),
                lib.layers.Dense(6, activation="tanh"),
                lib.layers.Dense(OUT, activation=out_activation),
            ]
        )
        model.set_weights(weights)
        built = [getattr(lib.metrics, cls)(*args, **kwargs) for cls, args, kwargs in metrics]
        key = "metrics" if sw is None else "weighted_metrics"
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=loss, **{key: built})
        history = model.fit(
            x, y, sample_weight=sw, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
            validation_split=0.25,
        )  # fmt: skip
        evaluated = model.evaluate(
            x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True
        )
        one_batch = model.train_on_batch(
            x[:BATCH], y[:BATCH], sample_weight=None if sw is None else sw[:BATCH],
            return_dict=True,
        )  # fmt: skip
        results.append((history.history, evaluated, one_batch))
    return results


def assert_same_logs(ours, theirs):
    assert sorted(ours) == sorted(theirs)
    for key, want in theirs.items():
        got = ours[key]
        if isinstance(want, list):  # a History: one entry per epoch
            assert len(got) == len(want), key
            pairs = list(zip(got, want))
        else:
            pairs = [(got, want)]
        for g, w in pairs:
            if isinstance(w, np.ndarray):
                assert isinstance(g, np.ndarray) and g.dtype == np.float32, (key, g)
                assert g.shape == w.shape, (key, g.shape, w.shape)
            else:
                assert isinstance(g, float), (key, g)
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=key)


# Named: default names count instances per process, which differ between libraries.
CLASSIFICATION_METRICS = [
    ("TruePositives", (), {"thresholds": [0.3, 0.6], "name": "tp"}),
    ("FalseNegatives", (), {"name": "fn"}),
    ("Precision", (), {"thresholds": [0.3, 0.7], "name": "precision"}),
    ("Recall", (), {"top_k": 2, "name": "recall_top2"}),
    ("Precision", (), {"class_id": 1, "name": "precision_1"}),
    ("AUC", (), {"name": "auc"}),
    ("AUC", (), {"curve": "PR", "multi_label": True, "name": "pr_auc"}),
    ("PrecisionAtRecall", (0.5,), {"name": "p_at_r"}),
    ("SpecificityAtSensitivity", (0.5,), {"class_id": 2, "name": "s_at_s"}),
    ("F1Score", (), {"threshold": 0.5}),
    ("F1Score", (), {"average": "macro", "name": "f1_macro"}),
    ("FBetaScore", (), {"beta": 2.0, "average": "weighted", "threshold": 0.4}),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["metrics", "weighted_metrics"])
def test_fit_history_matches_keras_for_classification_metrics(weighted):
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, (N, OUT)).astype(np.float32)
    sw = rng.uniform(0.2, 2.0, N).astype(np.float32) if weighted else None
    ours, theirs = fit_both(CLASSIFICATION_METRICS, "sigmoid", "binary_crossentropy", y, sw)
    for got, want in zip(ours, theirs):
        assert_same_logs(got, want)


@pytest.mark.parametrize("weighted", [False, True], ids=["metrics", "weighted_metrics"])
def test_fit_history_matches_keras_for_r2_score(weighted):
    rng = np.random.default_rng(9)
    y = rng.standard_normal((N, OUT)).astype(np.float32)
    sw = rng.uniform(0.2, 2.0, N).astype(np.float32) if weighted else None
    metrics = [
        ("R2Score", (), {}),
        ("R2Score", (), {"class_aggregation": None, "name": "r2_each"}),
        ("R2Score", (), {"class_aggregation": "variance_weighted_average", "name": "r2_var"}),
    ]
    ours, theirs = fit_both(metrics, None, "mse", y, sw)
    for got, want in zip(ours, theirs):
        assert_same_logs(got, want)


def test_progress_bar_shows_the_mean_of_array_metrics(capsys):
    model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(2, activation="sigmoid")])
    model.set_weights([np.eye(2, dtype=np.float32), np.zeros(2, np.float32)])
    model.compile(
        optimizer="sgd", loss="binary_crossentropy",
        metrics=[kd.metrics.TruePositives(thresholds=[0.0, 0.9], name="tp")],
    )  # fmt: skip
    x = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    logs = model.evaluate(x, x, verbose=2, return_dict=True)
    np.testing.assert_array_equal(logs["tp"], [2.0, 0.0])
    assert "tp: 1.0000" in capsys.readouterr().out  # the mean of [2, 0], as Keras shows
