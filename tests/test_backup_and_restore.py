"""BackupAndRestore: a seeded fit killed mid-run and resumed ends bitwise equal to an
uninterrupted one, and ModelCheckpoint's best value survives the interruption."""

import subprocess
import sys

import numpy as np
import pytest

import kandle as kd
from kandle.errors import InvalidArgumentError

_SCRIPT = """
import os, signal, sys
import numpy as np
import kandle as kd

backup_dir, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
kd.utils.set_random_seed(1234)
rng = np.random.default_rng(0)
x = rng.standard_normal((96, 4)).astype(np.float32)
y = rng.standard_normal((96, 1)).astype(np.float32)
model = kd.Sequential([
    kd.Input((4,)),
    kd.layers.Dense(16, activation="relu"),
    kd.layers.Dropout(0.3),  # unseeded: draws from kandle's global generator
    kd.layers.Dense(1),
])
model.compile(optimizer=kd.optimizers.Adam(0.01), loss="mse")


class Kill(kd.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == kill_at:
            with open(out + ".best", "w") as f:
                f.write(repr(best.best))
            os.kill(os.getpid(), signal.SIGKILL)


best = kd.callbacks.ModelCheckpoint(out + ".best.keras", monitor="loss", save_best_only=True)
callbacks = [best]
if backup_dir != "-":
    callbacks.append(kd.callbacks.BackupAndRestore(backup_dir))
callbacks.append(Kill())
history = model.fit(x, y, epochs=6, batch_size=16, shuffle=True, verbose=0, callbacks=callbacks)
with open(out + ".epochs", "w") as f:
    f.write(str(len(history.history["loss"])))
np.save(out, np.concatenate([w.ravel() for w in model.get_weights()]))
with open(out + ".resumed_best", "w") as f:
    f.write(repr(best.best))
"""


def run(*args):
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, *map(str, args)], capture_output=True, text=True
    )


def test_a_killed_fit_resumes_bitwise_equal(tmp_path):
    plain = run("-", tmp_path / "plain.npy", -1)
    assert plain.returncode == 0, plain.stderr
    backup = tmp_path / "backup"
    killed = run(backup, tmp_path / "resumed.npy", 2)
    assert killed.returncode == -9, killed.stderr
    assert (backup / "latest.keras").exists()
    best_at_kill = float((tmp_path / "resumed.npy.best").read_text())
    resumed = run(backup, tmp_path / "resumed.npy", -1)
    assert resumed.returncode == 0, resumed.stderr
    # It resumed (epochs 4 to 6) rather than starting over with the same seed.
    assert (tmp_path / "resumed.npy.epochs").read_text() == "3"
    assert (tmp_path / "plain.npy.epochs").read_text() == "6"
    np.testing.assert_array_equal(
        np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "plain.npy")
    )
    # The best value of the first run survived the kill (keras#17012) and only improved.
    assert float((tmp_path / "resumed.npy.resumed_best").read_text()) <= best_at_kill
    assert float((tmp_path / "resumed.npy.resumed_best").read_text()) == float(
        (tmp_path / "plain.npy.resumed_best").read_text()
    )
    # A completed fit deletes its backup.
    assert not backup.exists()


def test_resume_starts_at_the_saved_epoch(tmp_path):
    model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
    backup = kd.callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[backup])
    history = model.fit(x, y, epochs=5, verbose=0, callbacks=[backup])
    assert len(history.history["loss"]) == 3  # epochs 3, 4 and 5
    assert model.optimizer.iterations == 5


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidArgumentError, match="backup_dir"):
        kd.callbacks.BackupAndRestore("")
    with pytest.raises(InvalidArgumentError, match="save_freq"):
        kd.callbacks.BackupAndRestore(tmp_path, save_freq="batch")
