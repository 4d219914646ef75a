"""kd.datasets: Keras's files, cache folder and return values. Nothing is downloaded:
small files of the real formats go into a temporary Keras home, and the download path is
served local bytes through a replaced URL opener."""

import gzip
import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

import kandle as kd
from kandle.datasets import _cache, cifar10, mnist

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
FASHION_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty Keras home; any real download attempt fails the test."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(url):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(_cache, "urlopen", no_network)
    return tmp_path


class FakeResponse(io.BytesIO):
    def __init__(self, data, with_length=True):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))} if with_length else {}


def serve(monkeypatch, files, requested):
    """Replaces the URL opener with one serving ``files`` (URL -> bytes)."""

    def opener(url):
        requested.append(url)
        return FakeResponse(files[url])

    monkeypatch.setattr(_cache, "urlopen", opener)


def mnist_arrays(rng, n_train=5, n_test=3):
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def npz_bytes(arrays):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def check_mnist(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, key in [
        (x_train, "x_train"),
        (y_train, "y_train"),
        (x_test, "x_test"),
        (y_test, "y_test"),
    ]:
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])


def test_mnist_reads_keras_s_cached_file(home, rng):
    arrays = mnist_arrays(rng)
    (home / "datasets").mkdir()
    (home / "datasets" / "mnist.npz").write_bytes(npz_bytes(arrays))
    check_mnist(kd.datasets.mnist.load_data(), arrays)
    # `path` names another file in the same folder.
    other = mnist_arrays(rng, 2, 1)
    (home / "datasets" / "digits.npz").write_bytes(npz_bytes(other))
    check_mnist(kd.datasets.mnist.load_data(path="digits.npz"), other)


def test_mnist_downloads_from_keras_s_url_checks_the_hash_and_shows_progress(
    home, rng, monkeypatch, capsys
):
    arrays = mnist_arrays(rng)
    data = npz_bytes(arrays)
    monkeypatch.setattr(mnist, "_SHA256", hashlib.sha256(data).hexdigest())
    requested = []
    serve(monkeypatch, {MNIST_URL: data}, requested)
    check_mnist(kd.datasets.mnist.load_data(), arrays)
    assert requested == [MNIST_URL]
    out = capsys.readouterr().out
    assert f"Downloading data from {MNIST_URL}" in out
    assert f"{len(data)}/{len(data)}" in out and "━" in out
    assert (home / "datasets" / "mnist.npz").read_bytes() == data
    assert os.listdir(home / "datasets") == ["mnist.npz"]  # no temporary file left
    # The second call reads the cache.
    check_mnist(kd.datasets.mnist.load_data(), arrays)
    assert requested == [MNIST_URL]


def test_a_download_with_the_wrong_checksum_raises_and_writes_nothing(home, rng, monkeypatch):
    # The real published hash does not match these bytes.
    requested = []
    serve(monkeypatch, {MNIST_URL: npz_bytes(mnist_arrays(rng))}, requested)
    with pytest.raises(kd.errors.KandleIOError, match=mnist._SHA256):
        kd.datasets.mnist.load_data()
    assert requested == [MNIST_URL]
    folder = home / "datasets"
    assert not folder.exists() or os.listdir(folder) == []


def test_a_failed_download_names_the_url(home, monkeypatch):
    import urllib.error

    def refuse(url):
        raise urllib.error.URLError("no network here")

    monkeypatch.setattr(_cache, "urlopen", refuse)
    with pytest.raises(kd.errors.KandleIOError, match="URL fetch failure.*mnist.npz.*no network"):
        kd.datasets.mnist.load_data()


def test_mnist_refuses_paths_and_foreign_files(home, rng):
    with pytest.raises(kd.errors.InvalidArgumentError, match="path='sub/mnist.npz'"):
        kd.datasets.mnist.load_data(path="sub/mnist.npz")
    (home / "datasets").mkdir()
    (home / "datasets" / "mnist.npz").write_bytes(npz_bytes({"x": np.zeros(2)}))
    with pytest.raises(kd.errors.KandleIOError, match="x_train"):
        kd.datasets.mnist.load_data()
    (home / "datasets" / "mnist.npz").write_bytes(b"not a zip")
    with pytest.raises(kd.errors.KandleIOError, match="cannot read"):
        kd.datasets.mnist.load_data()


def idx_gz(array, magic):
    header = np.array([magic, *array.shape], ">u4").tobytes()
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def fashion_files(rng, n_train=4, n_test=2):
    y_train = rng.integers(0, 10, n_train, dtype=np.uint8)
    x_train = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, n_test, dtype=np.uint8)
    x_test = rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    files = {
        "train-labels-idx1-ubyte.gz": idx_gz(y_train, 0x801),
        "train-images-idx3-ubyte.gz": idx_gz(x_train, 0x803),
        "t10k-labels-idx1-ubyte.gz": idx_gz(y_test, 0x801),
        "t10k-images-idx3-ubyte.gz": idx_gz(x_test, 0x803),
    }
    return files, ((x_train, y_train), (x_test, y_test))


def check_same(result, expected):
    for got_pair, want_pair in zip(result, expected):
        for got, want in zip(got_pair, want_pair):
            assert got.dtype == np.uint8 and got.shape == want.shape
            np.testing.assert_array_equal(got, want)


def test_fashion_mnist_reads_keras_s_cache_as_keras_does(home, rng, monkeypatch):
    files, expected = fashion_files(rng)
    folder = home / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    result = kd.datasets.fashion_mnist.load_data()
    check_same(result, expected)
    # Keras itself reads the same files (it checks no hash for them) and agrees.
    keras = pytest.importorskip("keras")
    from keras.src.backend import config

    monkeypatch.setattr(config, "_KERAS_DIR", str(home))
    check_same(result, keras.datasets.fashion_mnist.load_data())


def test_fashion_mnist_downloads_each_missing_file(home, rng, monkeypatch):
    files, expected = fashion_files(rng)
    folder = home / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(files["train-labels-idx1-ubyte.gz"])
    requested = []
    serve(monkeypatch, {FASHION_URL + name: data for name, data in files.items()}, requested)
    check_same(kd.datasets.fashion_mnist.load_data(), expected)
    assert requested == [FASHION_URL + name for name in list(files)[1:]]
    assert sorted(os.listdir(folder)) == sorted(files)


def test_fashion_mnist_refuses_malformed_files(home, rng):
    files, _ = fashion_files(rng)
    folder = home / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(idx_gz(np.zeros(20), 0x801))
    with pytest.raises(kd.errors.KandleIOError, match="magic 0x803"):
        kd.datasets.fashion_mnist.load_data()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(idx_gz(np.zeros((3, 28, 28)), 0x803))
    with pytest.raises(kd.errors.KandleIOError, match="3 images but 2 labels"):
        kd.datasets.fashion_mnist.load_data()


BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def cifar_batches(rng, n=3):
    """Batches as the CIFAR-10 python archive pickles them: dicts of bytes keys, the
    images as (n, 3072) uint8 rows of red, green and blue planes, labels a list."""
    batches = {}
    for name in BATCHES:
        batches[name] = {
            b"batch_label": name.encode(),
            b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)],
        }
    return batches


def cifar_archive(batches, extra=()):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, value in [*batches.items(), *extra]:
            data = value if isinstance(value, bytes) else pickle.dumps(value, protocol=3)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def cifar_expected(batches):
    """Keras's layout, written from its documented format: channels last, labels (n, 1)."""

    def images(names):
        rows = np.concatenate([batches[n][b"data"] for n in names])
        return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)

    def labels(names):
        return np.concatenate([batches[n][b"labels"] for n in names]).astype(np.uint8)[:, None]

    return (images(BATCHES[:5]), labels(BATCHES[:5])), (images(BATCHES[5:]), labels(BATCHES[5:]))


@pytest.mark.parametrize(
    "layout",
    ["keras3-archive", "keras2-archive", "keras3-extracted", "keras2-extracted"],
)
def test_cifar10_reads_every_cached_layout_of_keras(home, rng, layout):
    batches = cifar_batches(rng)
    folder = home / "datasets"
    folder.mkdir()
    if layout.endswith("archive"):
        name = (
            "cifar-10-batches-py-target_archive"
            if layout == "keras3-archive"
            else "cifar-10-batches-py.tar.gz"
        )
        (folder / name).write_bytes(cifar_archive(batches, extra=[("batches.meta", {})]))
    else:
        inner = folder / (
            "cifar-10-batches-py-target/cifar-10-batches-py"
            if layout == "keras3-extracted"
            else "cifar-10-batches-py"
        )
        inner.mkdir(parents=True)
        for name, batch in batches.items():
            (inner / name).write_bytes(pickle.dumps(batch, protocol=3))
    result = kd.datasets.cifar10.load_data()
    check_same(result, cifar_expected(batches))
    assert result[0][0].shape == (15, 32, 32, 3) and result[0][1].shape == (15, 1)


def test_cifar10_downloads_the_archive_and_checks_keras_s_hash(home, rng, monkeypatch):
    batches = cifar_batches(rng)
    data = cifar_archive(batches)
    requested = []
    serve(monkeypatch, {CIFAR_URL: data}, requested)
    with pytest.raises(kd.errors.KandleIOError, match=cifar10._SHA256):
        kd.datasets.cifar10.load_data()
    assert not (home / "datasets").exists() or os.listdir(home / "datasets") == []
    monkeypatch.setattr(cifar10, "_SHA256", hashlib.sha256(data).hexdigest())
    check_same(kd.datasets.cifar10.load_data(), cifar_expected(batches))
    assert requested == [CIFAR_URL, CIFAR_URL]
    assert os.listdir(home / "datasets") == ["cifar-10-batches-py-target_archive"]


class Exploit:
    """Runs code when unpickled."""

    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


def test_cifar10_unpickles_arrays_only(home, rng, capfd):
    batches = cifar_batches(rng)
    batches["test_batch"] = {b"data": Exploit(), b"labels": [1]}
    (home / "datasets").mkdir()
    (home / "datasets" / "cifar-10-batches-py-target_archive").write_bytes(cifar_archive(batches))
    with pytest.raises(kd.errors.KandleIOError, match="refusing to load `posix.system`|refusing"):
        kd.datasets.cifar10.load_data()
    assert "should-not-run" not in capfd.readouterr().out


def test_cifar10_refuses_incomplete_archives(home, rng):
    batches = cifar_batches(rng)
    del batches["data_batch_3"]
    (home / "datasets").mkdir()
    (home / "datasets" / "cifar-10-batches-py-target_archive").write_bytes(cifar_archive(batches))
    with pytest.raises(kd.errors.KandleIOError, match="data_batch_3"):
        kd.datasets.cifar10.load_data()


def test_normalize_matches_keras(rng):
    keras = pytest.importorskip("keras")
    x = rng.standard_normal((4, 5, 3))
    x[1, 2] = 0.0
    for axis in [-1, 1, 2]:
        for order in [1, 2, 3, np.inf]:
            np.testing.assert_allclose(
                kd.utils.normalize(x, axis=axis, order=order),
                keras.utils.normalize(x, axis=axis, order=order),
                rtol=1e-12,
            )
    x32 = x.astype(np.float32)
    assert kd.utils.normalize(x32).dtype == np.float32
    # axis=0 (where Keras's numpy path expands at -1 and breaks): numpy's own norm.
    expected = x / np.linalg.norm(x, axis=0, keepdims=True)
    np.testing.assert_allclose(kd.utils.normalize(x, axis=0), expected, rtol=1e-12)
    t = kd.utils.normalize(kd.tensor(x32))
    assert isinstance(t, kd.Tensor)
    np.testing.assert_allclose(t.numpy(), keras.utils.normalize(x32), rtol=1e-6)
    with pytest.raises(kd.errors.OutOfBoundsError, match="axis 3"):
        kd.utils.normalize(x, axis=3)
    with pytest.raises(kd.errors.InvalidArgumentError, match="axis=None"):
        kd.utils.normalize(x, axis=None)
    with pytest.raises(kd.errors.InvalidArgumentError, match="order='l2'"):
        kd.utils.normalize(x, order="l2")
