"""The functional API (``kd.Input`` -> layers -> ``kd.Model(inputs, outputs)``) against
Keras itself: the same weights, data and batch order give Keras's History, evaluation,
predictions and final weights; and the errors Keras raises at build time."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import kandle as kd

# As tests/test_keras_parity.py: float32 runs drift apart by rounding over epochs.
RTOL = 1e-4


def two_head(lib):
    """Two inputs (Concatenate + Dense) and two outputs: regression and softmax."""
    a = lib.Input((4,), name="a")
    b = lib.Input((3,), name="b")
    h = lib.layers.Concatenate(name="concat")([a, b])
    h = lib.layers.Dense(8, activation="tanh", name="hidden")(h)
    reg = lib.layers.Dense(1, name="reg")(h)
    cls = lib.layers.Dense(3, activation="softmax", name="cls")(h)
    return lib.Model([a, b], [reg, cls], name="two_head")


def residual(lib):
    """A residual MLP: one projection layer shared by two residual blocks."""
    x = lib.Input((6,), name="x")
    shared = lib.layers.Dense(6, activation="tanh", name="shared")
    r1 = lib.layers.Add(name="add1")([x, shared(x)])
    r2 = lib.layers.Add(name="add2")([r1, shared(r1)])
    out = lib.layers.Dense(1, name="out")(lib.layers.Dense(4, activation="relu", name="h")(r2))
    return lib.Model(x, out, name="residual")


def _two_head_data(rng, n=40):
    x = [rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")]
    y = [rng.normal(size=(n, 1)).astype("float32"), rng.integers(0, 3, size=n)]
    return x, y


def _run(lib, build, weights, compile_args, x, y, **fit):
    model = build(lib)
    model.set_weights(weights)
    model.compile(**compile_args(lib))
    history = model.fit(x, y, batch_size=8, shuffle=False, verbose=0, **fit)
    return {
        "history": history.history,
        "evaluate": model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True),
        "evaluate_list": model.evaluate(x, y, batch_size=8, verbose=0),
        "predict": model.predict(x, batch_size=8, verbose=0),
        "weights": model.get_weights(),
    }


def _assert_same(got, want):
    assert sorted(got["history"]) == sorted(want["history"])
    for key, values in want["history"].items():
        np.testing.assert_allclose(got["history"][key], values, rtol=RTOL, atol=1e-5, err_msg=key)
    assert sorted(got["evaluate"]) == sorted(want["evaluate"])
    for key, value in want["evaluate"].items():
        np.testing.assert_allclose(got["evaluate"][key], value, rtol=RTOL, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(got["evaluate_list"], want["evaluate_list"], rtol=RTOL, atol=1e-5)
    want_pred, got_pred = want["predict"], got["predict"]
    if isinstance(want_pred, dict):
        assert sorted(got_pred) == sorted(want_pred)
        got_pred, want_pred = (
            [got_pred[k] for k in sorted(want_pred)],
            [want_pred[k] for k in sorted(want_pred)],
        )
    if isinstance(want_pred, list):
        assert isinstance(got_pred, list) and len(got_pred) == len(want_pred)
        for g, w in zip(got_pred, want_pred):
            np.testing.assert_allclose(g, np.asarray(w), rtol=RTOL, atol=1e-5)
    else:
        np.testing.assert_allclose(got_pred, np.asarray(want_pred), rtol=RTOL, atol=1e-5)
    assert len(got["weights"]) == len(want["weights"])
    for i, (g, w) in enumerate(zip(got["weights"], want["weights"])):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=1e-5, err_msg=f"weight {i}")


def test_two_inputs_two_outputs_match_keras(rng):
    x, y = _two_head_data(rng)
    weights = two_head(keras).get_weights()

    def compile_args(lib):
        return {
            "optimizer": lib.optimizers.Adam(learning_rate=0.01),
            "loss": ["mse", "sparse_categorical_crossentropy"],
            "loss_weights": [1.0, 0.5],
            "metrics": [["mae"], ["accuracy"]],
        }

    want = _run(keras, two_head, weights, compile_args, x, y, epochs=3, validation_split=0.25)
    got = _run(kd, two_head, weights, compile_args, x, y, epochs=3, validation_split=0.25)
    assert "reg_loss" in got["history"] and "val_cls_accuracy" in got["history"]
    _assert_same(got, want)


def test_dicts_by_input_and_output_name_match_keras(rng):
    x, y = _two_head_data(rng)
    x = {"a": x[0], "b": x[1]}
    y = {"reg": y[0], "cls": y[1]}
    weights = two_head(keras).get_weights()

    def compile_args(lib):
        return {
            "optimizer": "sgd",
            "loss": {"reg": "mae", "cls": "sparse_categorical_crossentropy"},
            "loss_weights": {"reg": 2.0, "cls": 1.0},
            "metrics": {"cls": ["accuracy"]},
        }

    val = (x, y)
    want = _run(keras, two_head, weights, compile_args, x, y, epochs=2, validation_data=val)
    got = _run(kd, two_head, weights, compile_args, x, y, epochs=2, validation_data=val)
    _assert_same(got, want)


def test_residual_mlp_with_a_shared_layer_matches_keras(rng):
    x = rng.normal(size=(36, 6)).astype("float32")
    y = rng.normal(size=(36, 1)).astype("float32")
    # Keras's initial weights, the same whatever ran before (float32 drift over the
    # epochs depends on them).
    keras.utils.set_random_seed(0)
    reference = residual(keras)
    model = residual(kd)
    # The shared layer's weights count once, in Keras's layer order.
    assert [layer.name for layer in model.layers] == [layer.name for layer in reference.layers]
    assert model.count_params() == reference.count_params()
    weights = reference.get_weights()

    def compile_args(lib):
        return {"optimizer": lib.optimizers.Adam(learning_rate=0.01), "loss": "mse",
                "metrics": ["mae"]}  # fmt: skip

    want = _run(keras, residual, weights, compile_args, x, y, epochs=3, validation_split=0.2)
    got = _run(kd, residual, weights, compile_args, x, y, epochs=3, validation_split=0.2)
    _assert_same(got, want)


def _nested(lib):
    inner_in = lib.Input((4,), name="inner_in")
    inner = lib.Model(
        inner_in, lib.layers.Dense(3, activation="relu", name="inner_dense")(inner_in),
        name="inner",
    )  # fmt: skip
    x = lib.Input((4,), name="outer_in")
    both = lib.layers.Concatenate(name="both")([inner(x), x])
    return lib.Model(x, lib.layers.Dense(2, name="head")(both), name="outer")


def test_a_model_called_as_a_layer_matches_keras(rng):
    x = rng.normal(size=(24, 4)).astype("float32")
    y = rng.normal(size=(24, 2)).astype("float32")
    weights = _nested(keras).get_weights()

    def compile_args(lib):
        return {"optimizer": "sgd", "loss": "mse"}

    want = _run(keras, _nested, weights, compile_args, x, y, epochs=2)
    got = _run(kd, _nested, weights, compile_args, x, y, epochs=2)
    _assert_same(got, want)


def test_symbolic_tensors_and_model_structure():
    a = kd.Input((4,), name="a")
    assert (a.shape, a.dtype, a.name) == ((None, 4), "float32", "a")
    model = two_head(kd)
    assert [layer.name for layer in model.layers] == ["a", "b", "concat", "hidden", "reg", "cls"]
    assert model.input_names == ["a", "b"] and model.output_names == ["reg", "cls"]
    assert model.output_shape == [(None, 1), (None, 3)]
    assert isinstance(model, kd.Model) and isinstance(kd.models.Model(a, a), kd.Model)
    # A layer called twice shares its weights.
    dense = kd.layers.Dense(2)
    x1, x2 = kd.Input((3,)), kd.Input((3,))
    shared = kd.Model([x1, x2], kd.layers.add([dense(x1), dense(x2)]))
    assert len(shared.weights) == 2
    # A Sequential is a layer too.
    seq = kd.Sequential([kd.layers.Dense(2, name="in_seq")])
    out = seq(x1)
    assert out.shape == (None, 2)
    np.testing.assert_allclose(
        kd.Model(x1, out).predict(np.ones((2, 3)), verbose=0),
        seq.predict(np.ones((2, 3)), verbose=0),
    )


def test_eager_call_and_predict_agree(rng):
    model = residual(kd)
    x = rng.normal(size=(5, 6)).astype("float32")
    np.testing.assert_allclose(model(x).numpy(), model.predict(x, verbose=0), rtol=1e-6)


def test_disconnected_graph_fails_at_build():
    a, b = kd.Input((3,), name="a"), kd.Input((3,), name="b")
    out = kd.layers.Dense(1)(kd.layers.add([a, b]))
    with pytest.raises(ValueError, match="Graph disconnected"):
        kd.Model(a, out)


def test_duplicate_layer_names_fail_at_build():
    x = kd.Input((3,))
    h = kd.layers.Dense(2, name="same")(x)
    with pytest.raises(ValueError, match='"same" is used 2 times'):
        kd.Model(x, kd.layers.Dense(1, name="same")(h))


def test_incompatible_merge_fails_at_build():
    a, b = kd.Input((3,)), kd.Input((4,))
    with pytest.raises(ValueError, match="incompatible shapes"):
        kd.layers.Add()([a, b])


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="inputs"):
        kd.Model(np.ones((2, 3)), kd.Input((3,)))
    h = kd.layers.Dense(2)(kd.Input((3,)))
    with pytest.raises(ValueError, match="kd.Input"):
        kd.Model(h, kd.layers.Dense(1)(h))


def test_data_dicts_with_missing_or_unknown_names_are_errors(rng):
    model = two_head(kd)
    model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"])
    x, y = _two_head_data(rng, 8)
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        model.fit({"a": x[0]}, y, verbose=0)
    with pytest.raises(ValueError, match=r"unknown \['c'\]"):
        model.fit({"a": x[0], "b": x[1], "c": x[1]}, y, verbose=0)
    with pytest.raises(ValueError, match=r"missing \['cls'\]"):
        model.fit(x, {"reg": y[0]}, verbose=0)
    with pytest.raises(ValueError, match="2 inputs"):
        model.fit(x[0], y, verbose=0)
    with pytest.raises(ValueError, match="input 'a'"):
        model.predict([x[0][:, :3], x[1]], verbose=0)
    with pytest.raises(ValueError, match="unknown outputs"):
        model.compile(optimizer="sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="one entry per output"):
        model.compile(optimizer="sgd", loss=["mse"])


def test_history_keys_of_single_output_models_are_plain(rng):
    model = residual(kd)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(rng.normal(size=(8, 6)), rng.normal(size=(8, 1)), verbose=0)
    assert sorted(history.history) == ["loss", "mae"]


def _keras_with_h5():
    pytest.importorskip("h5py")
    return keras


def _json(value):
    return json.loads(json.dumps(value))


def test_get_config_is_keras_s_functional_config():
    ours, theirs = two_head(kd), two_head(keras)
    got, want = _json(ours.get_config()), _json(theirs.get_config())
    assert sorted(got) == sorted(want)
    assert got["input_layers"] == want["input_layers"]
    assert got["output_layers"] == want["output_layers"]
    for g, w in zip(got["layers"], want["layers"]):
        assert (g["class_name"], g["name"]) == (w["class_name"], w["name"])
        assert g["inbound_nodes"] == w["inbound_nodes"]
        assert g.get("build_config") == w.get("build_config")
    again = kd.Model.from_config(got)
    assert again.get_config() == got
    serialized = json.loads(ours.to_json())
    assert (serialized["class_name"], serialized["config"]) == ("Functional", got)
    single, reference = _json(residual(kd).get_config()), _json(residual(keras).get_config())
    assert single["input_layers"] == ["x", 0, 0]
    assert single == reference | {"layers": single["layers"]}
    assert [g["inbound_nodes"] for g in single["layers"]] == [
        w["inbound_nodes"] for w in reference["layers"]
    ]


def test_kandle_file_loads_in_keras_and_back(tmp_path, rng):
    lib = _keras_with_h5()
    x, y = _two_head_data(rng, 16)
    model = two_head(kd)
    model.compile(optimizer=kd.optimizers.Adam(learning_rate=0.01),
                  loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5],
                  metrics=[["mae"], ["accuracy"]])  # fmt: skip
    model.fit(x, y, batch_size=8, verbose=0)
    path = tmp_path / "two_head.keras"
    model.save(path, weights_format="h5")
    theirs = lib.saving.load_model(path)
    for g, w in zip(model.predict(x, verbose=0), theirs.predict(x, verbose=0)):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-5, atol=1e-6)
    assert int(theirs.optimizer.iterations) == model.optimizer.iterations
    again = kd.models.load_model(path)
    for g, w in zip(model.predict(x, verbose=0), again.predict(x, verbose=0)):
        np.testing.assert_array_equal(g, w)
    assert again.optimizer.iterations == model.optimizer.iterations
    npz = tmp_path / "npz.keras"
    model.save(npz)
    for g, w in zip(model.predict(x, verbose=0), kd.models.load_model(npz).predict(x, verbose=0)):
        np.testing.assert_array_equal(g, w)


def test_keras_functional_files_load_in_kandle(tmp_path, rng):
    lib = _keras_with_h5()
    x = rng.normal(size=(10, 4)).astype("float32")
    for build in (_nested, residual):
        theirs = build(lib)
        theirs.compile(optimizer="adam", loss="mse")
        data = x if build is _nested else rng.normal(size=(10, 6)).astype("float32")
        path = tmp_path / f"{theirs.name}.keras"
        theirs.save(path)
        ours = kd.models.load_model(path)
        assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
        np.testing.assert_allclose(
            ours.predict(data, verbose=0), np.asarray(theirs.predict(data, verbose=0)),
            rtol=1e-5, atol=1e-6,
        )  # fmt: skip


@pytest.mark.parametrize("build", [two_head, residual, _nested])
@pytest.mark.parametrize("line_length", [None, 60, 76])
def test_summary_matches_keras(build, line_length, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    ours, theirs = build(kd), build(keras)
    ours.summary(line_length=line_length)
    mine = capsys.readouterr().out
    theirs.summary(line_length=line_length)
    want = capsys.readouterr().out
    table = [line for line in want.splitlines() if line[:1] in "┏┃┡│├└"]
    assert [line for line in mine.splitlines() if line[:1] in "┏┃┡│├└"] == table
    assert "Total params:" in mine
    assert mine.splitlines()[-3:] == [
        line for line in want.splitlines() if "params:" in line and "Optimizer" not in line
    ]


def test_sample_weights_weigh_every_output_as_in_keras(rng):
    x, y = _two_head_data(rng, 16)
    sw = rng.uniform(0.5, 2.0, size=16).astype("float32")
    weights = two_head(keras).get_weights()
    results = []
    for lib in (keras, kd):
        model = two_head(lib)
        model.set_weights(weights)
        model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"])
        history = model.fit(x, y, sample_weight=sw, batch_size=8, shuffle=False, verbose=0)
        results.append((history.history, model.get_weights()))
    (want_history, want_weights), (got_history, got_weights) = results
    assert sorted(got_history) == sorted(want_history)
    for key in want_history:
        np.testing.assert_allclose(got_history[key], want_history[key], rtol=RTOL, atol=1e-5)
    for g, w in zip(got_weights, want_weights):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=1e-5)
    with pytest.raises(NotImplementedError, match="per-output sample weights"):
        model.fit(x, y, sample_weight=[sw, sw], verbose=0)


def test_streams_of_batches_train_a_single_input_model(rng):
    model = residual(kd)
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.normal(size=(16, 6)), rng.normal(size=(16, 1))
    batches = ((x[i : i + 8], y[i : i + 8]) for i in (0, 8))
    history = model.fit(batches, epochs=1, steps_per_epoch=2, shuffle=False, verbose=0)
    assert len(history.history["loss"]) == 1
    two = two_head(kd)
    two.compile(optimizer="sgd", loss=["mse", "mse"])
    with pytest.raises(NotImplementedError, match="several"):
        two.fit(iter([]), verbose=0)


def test_metrics_of_a_model_of_two_outputs_as_keras_3(rng):
    """model.metrics: the loss tracker, compile_metrics, then one tracker per output
    loss, with the values of the last evaluation."""
    x, y = _two_head_data(rng)
    weights = two_head(keras).get_weights()
    found = []
    for lib in (keras, kd):
        model = two_head(lib)
        model.set_weights(weights)
        model.compile(
            optimizer="sgd",
            loss=["mse", "sparse_categorical_crossentropy"],
            loss_weights=[1.0, 0.5],
            metrics=[["mae"], ["accuracy"]],
        )
        logs = model.evaluate(x, y, verbose=0, return_dict=True)
        names = [m.name for m in model.metrics]
        results = {m.name: m.result() for m in model.metrics}
        flat = {k: float(v) for k, v in results.pop("compile_metrics").items()}
        flat.update({k: float(v) for k, v in results.items()})
        found.append((names, model.metrics_names, flat, logs))
    (names, metric_names, results, logs), (k_names, k_metric_names, k_results, _) = found
    assert (names, metric_names) == (k_names, k_metric_names)
    assert names == ["loss", "compile_metrics", "reg_loss", "cls_loss"]
    assert results == pytest.approx(k_results, rel=RTOL)
    assert results == pytest.approx(logs, rel=1e-6)


def test_clone_model_of_a_functional_model_as_keras(rng):
    """New layers (a shared layer cloned once) with fresh weights, the same config,
    names and outputs once given the same weights; a compiled model's clone is
    compiled the same way."""
    made = []
    for lib in (keras, kd):
        model = residual(lib)
        model.compile(optimizer="adam", loss="mse", loss_weights=0.5, metrics=["mae"])
        clone = lib.models.clone_model(model)
        assert clone is not model and clone.name == model.name and clone.compiled
        assert all(c is not m for c, m in zip(clone.layers, model.layers))
        made.append((model, clone))
    (k_model, k_clone), (model, clone) = made
    assert [type(layer).__name__ for layer in clone.layers] == [
        type(layer).__name__ for layer in k_clone.layers
    ]
    assert json.loads(clone.to_json())["config"] == json.loads(model.to_json())["config"]
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in k_clone.get_weights()]
    clone.set_weights(k_clone.get_weights())
    data = rng.normal(size=(6, 6)).astype("float32")
    np.testing.assert_allclose(
        clone.predict(data, verbose=0), k_clone.predict(data, verbose=0), rtol=RTOL, atol=1e-6
    )
    y = rng.normal(size=(6, 1)).astype("float32")
    np.testing.assert_allclose(
        clone.evaluate(data, y, verbose=0), k_clone.evaluate(data, y, verbose=0), rtol=RTOL
    )
    assert [m.name for m in clone.metrics] == [m.name for m in k_clone.metrics]


def test_clone_model_of_a_functional_model_with_clone_function_and_input_tensors():
    for lib in (keras, kd):
        model = two_head(lib)
        seen = []

        def rename(layer, lib=lib, seen=seen):
            seen.append(layer.name)
            config = layer.get_config()
            config["name"] = "c_" + config["name"]
            return type(layer).from_config(config)

        inputs = [lib.Input((4,), name="p"), lib.Input((3,), name="q")]
        clone = lib.models.clone_model(model, input_tensors=inputs, clone_function=rename)
        assert sorted(seen) == ["cls", "concat", "hidden", "reg"]
        assert [layer.name for layer in clone.layers] == [
            "p",
            "q",
            "c_concat",
            "c_hidden",
            "c_reg",
            "c_cls",
        ]
        assert clone.inputs[0] is inputs[0]
    with pytest.raises(kd.errors.InvalidArgumentError, match="input_tensors"):
        kd.models.clone_model(two_head(kd), input_tensors=[kd.Input((4,))])
    with pytest.raises(kd.errors.InvalidArgumentError, match="clone_function"):
        kd.models.clone_model(two_head(kd), clone_function=3)
