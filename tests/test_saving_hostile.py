"""Damaged and hostile files: each raises a kandle.errors exception and leaves the
target model exactly as it was; a process killed during a save leaves a loadable file."""

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import kandle as kd
from kandle.errors import KandleError
from safetensors_reader import write_safetensors


def make_model():
    model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2, name="fc")])
    model.compile(optimizer="adam", loss="mse")
    return model


def npy(shape, descr="<f4", data=None, header=None):
    header = header or f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header = header.encode("latin-1") + b" " * (-(len(header) + 11) % 64) + b"\n"
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    return raw + (data if data is not None else b"")


def good_members(model):
    """The members of a valid .keras file of `model`, as (name, bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i, w in enumerate(model.get_weights()):
            z.writestr(f"layers/dense/vars/{i}.npy", npy(str(w.shape), data=w.tobytes()))
    config = json.dumps(kd.saving.serialize_model(model))
    return [("config.json", config.encode()), ("model.weights.npz", buffer.getvalue())]


def keras_file(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return path


def npz(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return buffer.getvalue()


def assert_refused(model, path, match=None):
    before = model.get_weights()
    with pytest.raises(KandleError, match=match):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    if str(path).endswith(".keras"):
        with pytest.raises(KandleError, match=match):
            kd.saving.load_model(path)


def test_a_valid_hand_made_file_loads(tmp_path):
    # The baseline the hostile cases below damage.
    model = make_model()
    path = keras_file(tmp_path / "ok.keras", good_members(model))
    loaded = kd.saving.load_model(path, compile=False)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_truncated_files(tmp_path):
    model = make_model()
    model.save(tmp_path / "m.keras")  # h5 weights where h5py is installed
    model.save(tmp_path / "npz.keras", weights_format="npz")
    model.save_weights(tmp_path / "m.safetensors")
    for name in ("m.keras", "npz.keras", "m.safetensors"):
        data = (tmp_path / name).read_bytes()
        for cut in (0, 8, len(data) // 3, len(data) - 1):
            path = tmp_path / f"cut{cut}-{name}"
            path.write_bytes(data[:cut])
            assert_refused(make_model(), path)


def test_bit_flipped_weights(tmp_path):
    model = make_model()
    model.save(tmp_path / "m.keras", weights_format="npz")
    data = bytearray((tmp_path / "m.keras").read_bytes())
    # Flip a bit inside the stored weights data: the zip CRC catches it.
    at = data.index(b"\x93NUMPY") + 128 + 2
    data[at] ^= 0x20
    (tmp_path / "flip.keras").write_bytes(bytes(data))
    assert_refused(make_model(), tmp_path / "flip.keras", match="damaged|checksum|CRC")


def test_zip_entry_with_parent_path(tmp_path):
    members = good_members(make_model()) + [("../../evil.txt", b"x")]
    assert_refused(make_model(), keras_file(tmp_path / "evil.keras", members), match="refusing")
    inner = npz([("../x.npy", npy("(1,)", data=b"\0" * 4))])
    path = keras_file(
        tmp_path / "evil2.keras", [good_members(make_model())[0], ("model.weights.npz", inner)]
    )
    assert_refused(make_model(), path, match="refusing")


def test_header_length_past_the_end(tmp_path):
    st = tmp_path / "long.safetensors"
    header = b'{"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}'
    st.write_bytes(struct.pack("<Q", 1 << 30) + header + b"\0" * 24)
    assert_refused(make_model(), st, match="past the end")
    bad = b"\x93NUMPY\x01\x00" + struct.pack("<H", 60000) + b"{}"
    members = [
        good_members(make_model())[0],
        ("model.weights.npz", npz([("layers/dense/vars/0.npy", bad)])),
    ]
    assert_refused(make_model(), keras_file(tmp_path / "long.keras", members), match="past the end")


def test_overlapping_and_out_of_range_offsets(tmp_path):
    for offsets in ([[0, 24], [16, 24]], [[0, 24], [24, 900]]):
        header = json.dumps(
            {
                "fc.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": offsets[0]},
                "fc.bias": {"dtype": "F32", "shape": [2], "data_offsets": offsets[1]},
            }
        ).encode()
        path = tmp_path / f"off{offsets[1][0]}.safetensors"
        path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 32)
        assert_refused(make_model(), path)


def test_shapes_whose_element_count_overflows(tmp_path):
    header = (
        b'{"fc.weight":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}'
    )
    path = tmp_path / "overflow.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    assert_refused(make_model(), path, match="overflow")
    member = npy("(4294967296, 4294967296, 16)", data=b"\0" * 8)
    members = [
        good_members(make_model())[0],
        ("model.weights.npz", npz([("layers/dense/vars/0.npy", member)])),
    ]
    assert_refused(make_model(), keras_file(tmp_path / "overflow.keras", members), match="overflow")


def test_dtypes_other_than_float32(tmp_path):
    model = make_model()
    path = tmp_path / "f64.safetensors"
    header = json.dumps(
        {
            "fc.weight": {"dtype": "F64", "shape": [2, 3], "data_offsets": [0, 48]},
            "fc.bias": {"dtype": "F64", "shape": [2], "data_offsets": [48, 64]},
        }
    ).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    assert_refused(model, path, match="float32")
    member = npy("(3, 2)", descr="<f8", data=b"\0" * 48)
    members = [
        good_members(model)[0],
        ("model.weights.npz", npz([("layers/dense/vars/0.npy", member)])),
    ]
    assert_refused(model, keras_file(tmp_path / "f64.keras", members), match="float32")
    pickled = npy("()", descr="|O", data=b"\x80\x04N.")
    members = [
        good_members(model)[0],
        ("model.weights.npz", npz([("layers/dense/vars/0.npy", pickled)])),
    ]
    assert_refused(model, keras_file(tmp_path / "pickle.keras", members), match="not supported")


def test_headers_that_are_not_utf8_or_json(tmp_path):
    model = make_model()
    for i, header in enumerate([b"\xff\xfe{}", b"{not json", b"[1, 2]"]):
        path = tmp_path / f"h{i}.safetensors"
        path.write_bytes(struct.pack("<Q", len(header)) + header)
        assert_refused(model, path)
    weights = good_members(model)[1]
    for i, config in enumerate([b"\xff\xfe", b"{not json"]):
        path = keras_file(tmp_path / f"c{i}.keras", [("config.json", config), weights])
        with pytest.raises(KandleError, match="UTF-8|JSON"):
            kd.saving.load_model(path)
    member = npy(
        None, header="{'descr': '<f4', 'fortran_order': False, 'shape': (\xe9,), }", data=b""
    )
    members = [
        good_members(model)[0],
        ("model.weights.npz", npz([("layers/dense/vars/0.npy", member)])),
    ]
    assert_refused(model, keras_file(tmp_path / "latin.keras", members), match="ASCII")


def test_weights_missing_or_extra(tmp_path):
    model = make_model()
    w, b = model.get_weights()
    write_safetensors(tmp_path / "missing.safetensors", {"fc.weight": w.T})
    assert_refused(model, tmp_path / "missing.safetensors", match="fc.bias")
    write_safetensors(
        tmp_path / "extra.safetensors", {"fc.weight": w.T, "fc.bias": b, "other.weight": b}
    )
    assert_refused(model, tmp_path / "extra.safetensors", match="other.weight")
    write_safetensors(tmp_path / "shape.safetensors", {"fc.weight": w, "fc.bias": b})
    assert_refused(model, tmp_path / "shape.safetensors", match="shape")
    only_kernel = npz([("layers/dense/vars/0.npy", npy(str(w.shape), data=w.tobytes()))])
    members = [good_members(model)[0], ("model.weights.npz", only_kernel)]
    assert_refused(model, keras_file(tmp_path / "missing.keras", members), match="vars/1")
    extra = npz(
        [
            ("layers/dense/vars/0.npy", npy(str(w.shape), data=w.tobytes())),
            ("layers/dense/vars/1.npy", npy(str(b.shape), data=b.tobytes())),
            ("layers/dense/vars/2.npy", npy(str(b.shape), data=b.tobytes())),
        ]
    )
    members = [good_members(model)[0], ("model.weights.npz", extra)]
    assert_refused(model, keras_file(tmp_path / "extra.keras", members), match="more weights")


def test_npz_member_declaring_a_huge_shape(tmp_path):
    # A few bytes that declare 2^40 floats (4 TiB): refused without allocating.
    member = npy("(1099511627776,)", data=b"\0" * 16)
    members = [
        good_members(make_model())[0],
        ("model.weights.npz", npz([("layers/dense/vars/0.npy", member)])),
    ]
    assert_refused(make_model(), keras_file(tmp_path / "bomb.keras", members), match="truncated")
    # A zip member declaring far more bytes than deflate can produce from it.
    data = bytearray(keras_file(tmp_path / "z.keras", good_members(make_model())).read_bytes())
    cd = data.rindex(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = struct.pack("<I", 0xFFFFFFF0)
    (tmp_path / "zbomb.keras").write_bytes(bytes(data))
    assert_refused(make_model(), tmp_path / "zbomb.keras", match="bomb|damaged")


def test_h5_dataset_declaring_a_huge_shape(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = make_model()
    path = tmp_path / "bomb.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        # 2^31 floats (8 GiB) declared, nothing stored: reading would allocate it all.
        f.create_dataset(
            "layers/dense/vars/0", shape=(2**31,), dtype="f4", chunks=(2**16,), compression="gzip"
        )
    assert_refused(model, path, match="declares")


@pytest.mark.parametrize(
    "module, class_name", [("os", "system"), ("builtins", "eval"), ("subprocess", "Popen")]
)
def test_config_naming_a_foreign_module_is_refused(tmp_path, module, class_name):
    model = make_model()
    config, weights = good_members(model)
    payload = json.loads(config[1])
    payload["config"]["layers"][1] = {
        "module": module,
        "class_name": class_name,
        "config": {"command": "touch pwned"},
        "registered_name": None,
    }
    path = keras_file(tmp_path / "cve.keras", [("config.json", json.dumps(payload)), weights])
    with pytest.raises(KandleError, match="never imports"):
        kd.saving.load_model(path)
    assert not os.path.exists("pwned")


def test_a_lambda_in_a_config_is_refused(tmp_path):
    config, weights = good_members(make_model())
    payload = json.loads(config[1])
    payload["config"]["layers"][1]["config"]["activation"] = {
        "module": "keras.layers",
        "class_name": "__lambda__",
        "config": {"code": "print('pwned')"},
        "registered_name": None,
    }
    path = keras_file(tmp_path / "lambda.keras", [("config.json", json.dumps(payload)), weights])
    with pytest.raises(KandleError, match="never evaluates"):
        kd.saving.load_model(path)


_SAVER = """
import sys, numpy as np, kandle as kd
path, fmt = sys.argv[1], sys.argv[2]
layers = [kd.layers.Dense(512, name="a"), kd.layers.Dense(512, name="b")]
model = kd.Sequential([kd.Input((64,)), *layers])
print("ready", flush=True)
i = 0
while True:
    i += 1
    model.layers[0].weight.assign(np.full((512, 64), i, np.float32))
    if fmt == "keras":
        model.save(path)
    else:
        model.save_weights(path)
"""


@pytest.mark.parametrize("fmt", ["keras", "safetensors"])
def test_a_process_killed_during_save_leaves_a_loadable_file(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    rng = np.random.default_rng(7)
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(path), fmt], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not path.exists():
            continue  # killed before the first rename: no file at all, never a partial one
        model = kd.Sequential(
            [kd.Input((64,)), kd.layers.Dense(512, name="a"), kd.layers.Dense(512, name="b")]
        )
        if fmt == "keras":
            model = kd.saving.load_model(path)
        else:
            model.load_weights(path)
        weight = model.layers[0].weight.numpy()
        assert np.all(weight == weight.flat[0])  # one whole save, not a mix
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != path.name]
    assert all(".tmp-" in name for name in leftovers)
