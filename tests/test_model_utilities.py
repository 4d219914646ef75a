"""The model and utility names a Keras script reaches for: get_layer, input_shape and
output_shape, pop, clone_model, backend.clear_session, the lower-case regularizer names
and utils.to_categorical, each checked against Keras itself."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kandle as kd


def _model(lib):
    return lib.Sequential(
        [
            lib.Input((6,)),
            lib.layers.Dense(4, activation="relu", name="hidden"),
            lib.layers.Dense(3, name="out"),
        ]
    )


def test_get_layer_by_name_and_index():
    model, ref = _model(kd), _model(keras)
    for kwargs in ({"name": "hidden"}, {"name": "out"}, {"index": 0}, {"index": 1}):
        assert model.get_layer(**kwargs).name == ref.get_layer(**kwargs).name
    assert model.get_layer("out") is model.layers[1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "nope"}, "No such layer: nope"),
        ({"index": 5}, "index 5 but model only has 2 layers"),
        ({"name": "out", "index": 0}, "only a layer name or a layer index"),
        ({}, "Provide either a layer name or layer index"),
    ],
)
def test_get_layer_errors_match_keras(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _model(keras).get_layer(**kwargs)
    with pytest.raises(ValueError, match=match):
        _model(kd).get_layer(**kwargs)


def test_input_and_output_shape():
    model, ref = _model(kd), _model(keras)
    assert model.input_shape == tuple(ref.input_shape)
    assert model.output_shape == tuple(ref.output_shape)
    model.pop()
    ref.pop()
    assert model.output_shape == tuple(ref.output_shape) == (None, 4)
    deferred = kd.Sequential([kd.layers.Dense(2)])
    with pytest.raises(AttributeError, match="no defined output shape"):
        deferred.output_shape  # noqa: B018
    deferred.build((None, 5))
    assert deferred.output_shape == (None, 2)


def test_pop_then_fit_trains_the_shorter_model():
    model = _model(kd)
    model.pop()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((8, 6)), np.zeros((8, 4)), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match="no layers to remove"):
        kd.Sequential().pop()


def test_clone_model_has_the_structure_and_new_weights():
    model = _model(kd)
    model.compile(optimizer=kd.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    kd.utils.set_random_seed(3)
    clone = kd.models.clone_model(model)
    assert [layer.name for layer in clone.layers] == ["hidden", "out"]
    assert clone.get_config() == model.get_config()
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
    # Compiled the same way, with its own optimizer.
    assert clone.compiled and clone.optimizer is not model.optimizer
    assert clone.optimizer.get_config() == model.optimizer.get_config()
    clone.set_weights(model.get_weights())
    x, y = np.ones((4, 6), "float32"), np.zeros((4, 3), "float32")
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    clone.fit(x, y, epochs=1, verbose=0)
    assert sorted(clone.history.history) == ["loss", "mae"]
    # Training the clone leaves the original alone. (The output layer's bias always
    # moves; the hidden kernel may not, when every relu unit is off for these inputs.)
    assert not np.array_equal(clone.get_weights()[-1], model.get_weights()[-1])


def test_clone_model_with_a_clone_function():
    model = _model(kd)
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        config = layer.get_config()
        config["name"] = "copy_of_" + config["name"]
        return type(layer).from_config(config)

    clone = kd.models.clone_model(model, clone_function=clone_function)
    assert seen == ["hidden", "out"]
    assert [layer.name for layer in clone.layers] == ["copy_of_hidden", "copy_of_out"]
    with pytest.raises(ValueError, match="must return a layer"):
        kd.models.clone_model(model, clone_function=lambda layer: 3)


def test_clear_session_restarts_layer_and_metric_names():
    kd.layers.Dense(1)
    kd.metrics.AUC()
    kd.backend.clear_session()
    assert kd.layers.Dense(1).name == "dense"
    assert kd.layers.Dense(1).name == "dense_1"
    assert kd.metrics.AUC().name == "auc"


def test_lower_case_regularizer_names():
    for name, cls in (("l1", "L1"), ("l2", "L2"), ("l1_l2", "L1L2")):
        assert getattr(kd.regularizers, name) is getattr(kd.regularizers, cls)
    reg = kd.regularizers.l1_l2(l1=0.01, l2=0.02)
    assert reg.get_config() == keras.regularizers.l1_l2(l1=0.01, l2=0.02).get_config()


@pytest.mark.parametrize(
    "labels, num_classes",
    [
        ([0, 2, 1, 2], None),
        ([[1], [0], [3]], None),
        ([1, 0], 4),
        (np.array([[0, 1], [2, 0]]), 3),
        (np.array([1.0, 0.0]), None),
    ],
)
def test_to_categorical_matches_keras(labels, num_classes):
    got = kd.utils.to_categorical(labels, num_classes=num_classes)
    want = keras.utils.to_categorical(labels, num_classes=num_classes)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "labels, num_classes, match",
    [
        ([0, 3], 2, "out of range for num_classes=2"),
        ([-1, 0], None, ">= 0"),
        ([0.5], None, "whole-number"),
        (["a"], None, "dtype"),
        ([0], -2, "num_classes"),
    ],
)
def test_to_categorical_rejects_bad_labels(labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        kd.utils.to_categorical(labels, num_classes=num_classes)


@pytest.mark.parametrize("mode, first", [("steps", "7/7 "), ("samples", "50/50 ")])
def test_progbar_logger_counts_steps_or_samples(mode, first, capsys):
    model = _model(kd)
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((50, 6), "float32"), np.zeros((50, 3), "float32")
    bar = kd.callbacks.ProgbarLogger(count_mode=mode)
    model.fit(x, y, batch_size=8, verbose=1, callbacks=[bar])
    assert capsys.readouterr().out.startswith(first)
    model.evaluate(x, y, batch_size=8, verbose=1, callbacks=[bar])
    assert capsys.readouterr().out.startswith(first)
    with pytest.raises(ValueError, match="count_mode"):
        kd.callbacks.ProgbarLogger(count_mode="rows")


def test_config_image_data_format_matches_keras():
    assert kd.config.image_data_format() == keras.config.image_data_format() == "channels_last"
    assert kd.backend.image_data_format() == keras.backend.image_data_format()
    for lib in (kd, keras):
        lib.config.set_image_data_format("channels_last")
        with pytest.raises(ValueError, match=r"must be one of .* Received: data_format=bad"):
            lib.config.set_image_data_format("bad")
    # kandle's layers compute channels-last only: channels-first is refused, not ignored.
    with pytest.raises(ValueError, match="channels_last' only"):
        kd.config.set_image_data_format("channels_first")
    assert kd.config.image_data_format() == "channels_last"
    assert (kd.config.floatx(), kd.config.epsilon()) == (
        keras.config.floatx(),
        keras.config.epsilon(),
    )


class _Scale(kd.layers.Layer):
    def build(self, input_shape):
        self.factor = self.add_weight((), initializer="ones", name="factor")

    def call(self, x):
        return x * self.factor


def test_model_from_json_is_to_json_s_inverse_across_kandle_and_keras():
    for lib, loader in ((kd, kd), (kd, keras), (keras, kd)):
        model = _model(lib)
        again = loader.models.model_from_json(model.to_json())
        assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
        assert again.count_params() == model.count_params()
        assert tuple(again.input_shape) == tuple(model.input_shape) == (None, 6)
    x = kd.Input((3,), name="x")
    functional = kd.Model(x, kd.layers.Dense(2, name="out")(x))
    again = kd.models.model_from_json(functional.to_json())
    assert again.get_config() == functional.get_config()
    custom = kd.Sequential([kd.Input((3,)), _Scale(name="scale")])
    with pytest.raises(ValueError, match="_Scale"):
        kd.models.model_from_json(custom.to_json())
    again = kd.models.model_from_json(custom.to_json(), custom_objects={"_Scale": _Scale})
    assert isinstance(again.get_layer("scale"), _Scale)
    with pytest.raises(ValueError, match="json_string"):
        kd.models.model_from_json("{not json")


def test_variables_are_keras_3_s_names_for_the_weights():
    def model(lib):
        return lib.Sequential(
            [lib.Input((4,)), lib.layers.Dense(3), lib.layers.BatchNormalization()]
        )

    ours, theirs = model(kd), model(keras)
    for obj, ref in ((ours, theirs), (ours.layers[1], theirs.layers[1])):
        for kind in ("", "trainable_", "non_trainable_"):
            variables = getattr(obj, f"{kind}variables")
            weights = getattr(obj, f"{kind}weights")
            assert len(variables) == len(weights)
            assert all(v is w for v, w in zip(variables, weights))
            assert len(variables) == len(getattr(ref, f"{kind}variables"))
    ours.layers[0].trainable = False
    assert ours.layers[0].trainable_variables == [] and len(ours.non_trainable_variables) == 4
