"""Keras's legacy ``input_shape``/``input_dim`` layer arguments, and the symbolic graph
a model exposes (``layer.input``/``layer.output``, ``Sequential.inputs``/``outputs``),
each checked against Keras itself: the feature-extractor idiom
``Model(model.inputs, model.get_layer(name).output)`` and Keras's errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kandle as kd

LEGACY = "Do not pass an `input_shape`/`input_dim` argument to a layer"


def _conv_stack(lib, **first):
    return lib.Sequential(
        [
            lib.layers.Conv2D(4, 3, name="c", **first),
            lib.layers.Flatten(name="f"),
            lib.layers.Dense(1, name="d"),
        ],
        name="seq",
    )


def _both(build):
    """``build(lib)`` for kandle and for Keras, each warning as Keras does."""
    with pytest.warns(UserWarning, match=LEGACY):
        ours = build(kd)
    with pytest.warns(UserWarning, match=LEGACY):
        theirs = build(keras)
    return ours, theirs


def _summary(model):
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    # Keras hands print_fn the table in one piece, kandle line by line.
    return [line.strip() for text in lines for line in text.splitlines() if "params:" in line]


# ------------------------------------------------------------ input_shape / input_dim


@pytest.mark.parametrize(
    "build",
    [
        lambda lib: _conv_stack(lib, input_shape=(6, 6, 3)),
        lambda lib: lib.Sequential(
            [lib.layers.Dense(3, input_dim=4, name="h"), lib.layers.Dense(2, name="o")]
        ),
        lambda lib: lib.Sequential(
            [lib.layers.Embedding(10, 3, input_shape=(5,), name="e"), lib.layers.Flatten(name="f")]
        ),
    ],
    ids=["conv-input_shape", "dense-input_dim", "embedding-input_shape"],
)
def test_the_first_layer_s_input_shape_builds_the_sequential_model(build):
    ours, theirs = _both(build)
    assert ours.built and theirs.built
    assert ours.count_params() == theirs.count_params()
    assert ours.input_shape == tuple(theirs.input_shape)
    assert ours.output_shape == tuple(theirs.output_shape)
    assert _summary(ours) == _summary(theirs)
    got, want = ours.get_config()["layers"], theirs.get_config()["layers"]
    assert [e["class_name"] for e in got] == [e["class_name"] for e in want]
    assert got[0]["class_name"] == "InputLayer"
    assert list(got[0]["config"]["batch_shape"]) == list(want[0]["config"]["batch_shape"])
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]


def test_data_of_another_shape_is_refused_as_by_keras():
    ours, theirs = _both(lambda lib: _conv_stack(lib, input_shape=(6, 6, 3)))
    x, y = np.ones((4, 8, 8, 3), np.float32), np.ones((4, 1), np.float32)
    for model in (ours, theirs):
        model.compile(optimizer="sgd", loss="mse")
        with pytest.raises(ValueError):
            model.fit(x, y, verbose=0)
    ours.fit(np.ones((4, 6, 6, 3)), y, verbose=0)


def test_only_the_first_layer_s_input_shape_counts():
    # Keras: an Input (or an earlier layer) already fixes the input; the argument is ignored.
    ours, theirs = _both(
        lambda lib: lib.Sequential([lib.Input((4,)), lib.layers.Dense(2, input_shape=(9,))])
    )
    assert ours.input_shape == tuple(theirs.input_shape) == (None, 4)
    ours, theirs = _both(
        lambda lib: lib.Sequential([lib.layers.Dense(2), lib.layers.Dense(2, input_dim=9)])
    )
    assert not ours.built and not theirs.built


def test_functional_and_standalone_layers_build_from_their_real_input():
    def functional(lib):
        x = lib.Input((4,))
        dense = lib.layers.Dense(3, input_shape=(7,))
        return dense, lib.Model(x, dense(x))

    (ours, ours_model), (theirs, theirs_model) = _both(functional)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert ours_model.input_shape == tuple(theirs_model.input_shape) == (None, 4)
    ours, theirs = _both(lambda lib: lib.layers.Dense(3, input_shape=(7,)))
    assert not ours.built and not theirs.built
    assert ours.get_config().keys() == theirs.get_config().keys() - {"quantization_config"}


@pytest.mark.parametrize("kwargs", [{"batch_size": 4}, {"batch_input_shape": (None, 4)}])
def test_keras_3_refuses_batch_arguments_on_a_layer(kwargs):
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        keras.layers.Dense(2, **kwargs)
    with pytest.raises(ValueError, match="unrecognized keyword arguments"):
        kd.layers.Dense(2, **kwargs)


def test_input_shape_model_saves_and_loads_in_both(tmp_path):
    pytest.importorskip("h5py")
    with pytest.warns(UserWarning, match=LEGACY):
        model = _conv_stack(kd, input_shape=(6, 6, 3))
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 3)).astype(np.float32)
    path = tmp_path / "m.keras"
    model.save(path, weights_format="h5")
    again = kd.models.load_model(path)
    assert again.input_shape == (None, 6, 6, 3)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0), atol=1e-5
    )
    again = kd.models.model_from_json(model.to_json())
    assert again.input_shape == (None, 6, 6, 3) and again.count_params() == 177


# ------------------------------------------------------------ layer.input / layer.output


def _functional(lib):
    inp = lib.Input(shape=(8, 8, 3))
    x = lib.layers.Conv2D(4, 3, name="c")(inp)
    x = lib.layers.GlobalAveragePooling2D(name="g")(x)
    return lib.Model(inp, lib.layers.Dense(2, name="d")(x))


def _sequential(lib):
    return lib.Sequential(
        [
            lib.Input(shape=(8, 8, 3)),
            lib.layers.Conv2D(4, 3, name="c"),
            lib.layers.Flatten(name="f"),
            lib.layers.Dense(2, name="d"),
        ],
        name="seq",
    )


def _as_list(out):
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out])]


@pytest.mark.parametrize("make", [_functional, _sequential], ids=["functional", "sequential"])
def test_feature_extractors_give_keras_s_values(make):
    ours, theirs = make(kd), make(keras)
    theirs.set_weights(ours.get_weights())
    x = np.random.default_rng(1).normal(size=(5, 8, 8, 3)).astype(np.float32)
    assert ours.get_layer("c").output.shape == tuple(theirs.get_layer("c").output.shape)
    assert ours.get_layer("c").input.shape == tuple(theirs.get_layer("c").input.shape)
    for extract in (
        lambda lib, m: lib.Model(inputs=m.inputs, outputs=m.get_layer("c").output),
        lambda lib, m: lib.Model(m.inputs[0], [layer.output for layer in m.layers]),
    ):
        got = _as_list(extract(kd, ours).predict(x, verbose=0))
        want = _as_list(extract(keras, theirs).predict(x, verbose=0))
        assert [g.shape for g in got] == [w.shape for w in want]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    # The extractor shares the model's layers (and so its weights), as in Keras.
    features = kd.Model(ours.inputs, ours.get_layer("c").output)
    assert features.get_layer("c") is ours.get_layer("c")


def test_sequential_inputs_and_outputs_match_keras():
    ours, theirs = _sequential(kd), _sequential(keras)
    for attr in ("inputs", "outputs"):
        assert [t.shape for t in getattr(ours, attr)] == [
            tuple(t.shape) for t in getattr(theirs, attr)
        ]
    assert ours.outputs[0] is ours.get_layer("d").output
    assert ours.inputs[0] is ours.get_layer("c").input
    # A Sequential's own `input`/`output` are those of its calls as a layer (Keras's).
    for model in (ours, theirs):
        for attr in ("input", "output"):
            with pytest.raises(AttributeError, match="has never been called"):
                getattr(model, attr)
    outer_ours, outer_theirs = kd.Input((8, 8, 3)), keras.Input((8, 8, 3))
    assert ours(outer_ours) is ours.output
    theirs(outer_theirs)
    assert ours.input is outer_ours and ours.output.shape == tuple(theirs.output.shape)
    ours.pop()
    theirs.pop()
    assert ours.outputs[0].shape == tuple(theirs.outputs[0].shape) == (None, 144)


@pytest.mark.parametrize("attr", ["inputs", "outputs", "input_shape", "output_shape"])
def test_an_unbuilt_sequential_raises_keras_s_errors(attr):
    messages = []
    for lib in (kd, keras):
        model = lib.Sequential([lib.layers.Dense(2)], name="lazy")
        with pytest.raises(AttributeError) as info:
            getattr(model, attr)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("how", ["build", "fit"])
def test_a_sequential_built_later_has_keras_s_graph(how):
    shapes = []
    for lib in (kd, keras):
        model = lib.Sequential([lib.layers.Dense(3, name="h"), lib.layers.Dense(1, name="o")])
        if how == "build":
            model.build((None, 5))
        else:
            model.compile(optimizer="sgd", loss="mse")
            model.fit(np.ones((4, 5)), np.ones((4, 1)), verbose=0)
        features = lib.Model(model.inputs, model.get_layer("h").output)
        # Keras built by fit takes the first batch's size (4) as the batch axis; kandle
        # keeps it unknown (None), as a model's input declares it.
        shapes.append(
            (
                tuple(model.inputs[0].shape)[1:],
                tuple(model.get_layer("h").output.shape)[1:],
                tuple(features.output_shape)[1:],
                [e["class_name"] for e in model.get_config()["layers"]],
            )
        )
    assert shapes[0] == shapes[1]


def test_an_uncalled_layer_raises_keras_s_error():
    for lib in (kd, keras):
        layer = lib.layers.Dense(2, name="lonely")
        for attr in ("input", "output"):
            with pytest.raises(AttributeError) as info:
                getattr(layer, attr)
            assert str(info.value) == (
                f"The layer lonely has never been called and thus has no defined {attr}."
            )
        assert not hasattr(layer, "inputs") and not hasattr(layer, "outputs")


def test_a_shared_layer_gives_its_first_call_s_tensors():
    results = []
    for lib in (kd, keras):
        shared = lib.layers.Dense(2, name="shared")
        a, b = lib.Input((3,)), lib.Input((3,))
        first, second = shared(a), shared(b)
        results.append((shared.input is a, shared.output is first, shared.output is second))
    assert results[0] == results[1] == (True, True, False)


def test_a_merge_layer_s_input_is_the_list_it_took():
    got = []
    for lib in (kd, keras):
        a, b = lib.Input((3,)), lib.Input((2,))
        merge = lib.layers.Concatenate()
        merge([a, b])
        got.append(
            (
                [tuple(t.shape) for t in merge.input],
                tuple(merge.output.shape),
            )
        )
    assert got[0] == got[1]
