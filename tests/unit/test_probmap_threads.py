"""ProbMapRecorder under concurrent record() calls, and the errors of record() / probs() / the player's fps.

Each model's output encodes its epoch (class probabilities a/255, b/255, rest with epoch = 8 a + b), so every stored
frame can be checked against the epoch it is stored under.
"""

from __future__ import annotations

import itertools
import re
import sys
import threading
import time

import numpy as np
import pytest
import torch
import traitlets as t
from torch import nn

import nbviz
from nbviz.kernels.recorder import ProbMapRecorder

N_EPOCHS = 1000
THREADS = 4


def _row(epoch: int) -> np.ndarray:
    a, b = divmod(epoch, 8)
    return np.array([a / 255, b / 255, 1 - (a + b) / 255])


def _increasing(epochs: list[int]) -> bool:
    return bool((np.diff(epochs) > 0).all())


def _decode(frame: np.ndarray) -> int:
    cells = frame.reshape(-1, frame.shape[-1]).astype(int)
    assert (cells == cells[0]).all(), "a frame mixes two models"
    return int(cells[0, 0] * 8 + cells[0, 1])


class EpochEstimator:
    """A picklable scikit-learn-like classifier: recorded in the background worker."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def get_params(self, deep: bool = True) -> dict:
        return {"epoch": self.epoch}

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.tile(_row(self.epoch), (len(x), 1))


class EpochModule(nn.Module):
    """A torch module whose buffer is its epoch's output row: snapshotted, then evaluated by the worker."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("row", torch.zeros(3, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.row.expand(len(x), 3)


def test_concurrent_record_stores_frames_in_epoch_order_or_refuses():
    X = np.random.default_rng(0).normal(size=(6, 2))
    rec = ProbMapRecorder(X, [0, 1, 2, 0, 1, 2], resolution=8, output="probs", X_test=X[:2])
    player = nbviz.ProbMapPlayer(rec, chart=False)
    sent: list[tuple[dict, list]] = []
    player.send = lambda content, buffers=None: sent.append((content, list(buffers or [])))  # type: ignore[method-assign]
    epochs = itertools.count()
    take = threading.Lock()
    accepted: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def recorder(k: int) -> None:
        module = EpochModule()
        while True:
            with take:
                e = next(epochs)
            if e >= N_EPOCHS:
                return
            kind = (e + k) % 3  # synchronous (callable), background (pickled estimator), background (torch)
            if kind == 0:
                model = (lambda row: lambda x: np.tile(row, (len(x), 1)))(_row(e))
            elif kind == 1:
                model = EpochEstimator(e)
            else:
                module.row.copy_(torch.from_numpy(_row(e)))
                model = module
            try:
                assert rec.record(model, e, loss=float(e)) is True
                accepted.append(e)
            except ValueError as exc:
                if "epochs must increase" not in str(exc):
                    errors.append(exc)
                refused.append(e)
            except BaseException as exc:  # noqa: BLE001 - any other error fails the test below
                errors.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                st = rec.stored()
                assert _increasing(st.epochs), st.epochs
                assert [_decode(f) for f in st.frames[-3:]] == st.epochs[-3:]
                shown = player.run_epochs[0]
                assert _increasing(shown), shown
                if len(st.epochs) % 5 == 0:
                    rec.wait()  # the waiting path helps the worker, from another thread
                time.sleep(0.001)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # frequent thread switches: make the races likely
    try:
        threads = [threading.Thread(target=recorder, args=(k,)) for k in range(THREADS)]
        watcher = threading.Thread(target=reader)
        for th in [*threads, watcher]:
            th.start()
        for th in threads:
            th.join(60)
        done.set()
        watcher.join(60)
    finally:
        sys.setswitchinterval(interval)
    rec.wait()  # no background failure kept back
    assert not errors, errors[:3]
    assert sorted(accepted + refused) == list(range(N_EPOCHS))  # every call answered
    assert rec.epochs == sorted(accepted) == rec.metric_epochs
    assert _increasing(rec.epochs)
    assert [_decode(f) for f in rec.frames] == rec.epochs  # each frame is its epoch's
    assert rec.metrics["loss"] == [float(e) for e in rec.epochs]
    # The player got every frame once, in order, each under its epoch.
    assert player.error == "" and player.run_epochs == [rec.epochs]
    got = []
    for content, buffers in sent:
        assert content["start"] == len(got)
        per = len(buffers) // content["count"]
        got += [_decode(np.frombuffer(buffers[i * per], np.uint8).reshape(8, 8, 3)) for i in range(content["count"])]
    assert got == rec.epochs


class Failing(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("bad shapes")


@pytest.mark.parametrize("background", [False, True])
def test_model_errors_name_the_epoch_and_module(background):
    X = np.random.default_rng(0).normal(size=(5, 2))
    rec = ProbMapRecorder(X, resolution=4, background=background)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), Failing()))
    rec.record(nn.Linear(2, 3), 0)
    match = re.escape("the model's forward failed at epoch 3 in module '1.1': ValueError: bad shapes")
    with pytest.raises(RuntimeError, match=match) as err:
        rec.record(model, 3)
        rec.wait()  # background: the worker's failure comes here
    assert isinstance(err.value.__cause__, ValueError)
    assert rec.epochs == [0]
    with pytest.raises(RuntimeError, match=r"the model's call failed at epoch 4: ZeroDivisionError"):
        rec.record(lambda x: 1 / 0, 4)
    failing = EpochEstimator(5)
    failing.predict_proba = None  # type: ignore[assignment]  # not callable: fails inside predict_proba's call
    with pytest.raises(RuntimeError, match=r"the model's predict_proba failed at epoch 5: TypeError"):
        rec.record(failing, 5)
        rec.wait()


def test_probs_index_out_of_range_is_clear():
    rec = ProbMapRecorder(np.random.default_rng(0).normal(size=(5, 2)), resolution=4)
    with pytest.raises(IndexError, match="frame index 0 is out of range: the recorder holds no frames yet"):
        rec.probs(0)
    rec.record(EpochEstimator(0), 0)
    rec.record(EpochEstimator(9), 1)
    assert rec.probs(-1)[0, 0, 1] == pytest.approx(1 / 255)
    with pytest.raises(IndexError, match=re.escape("frame index 99 is out of range: the recorder holds 2 frames "
                                                   "(i in 0..1, or -2..-1 from the end)")):
        rec.probs(99)
    with pytest.raises(TypeError, match="i must be an int frame index, got float"):
        rec.probs(1.0)


def test_player_refuses_fps_that_is_not_positive():
    rec = ProbMapRecorder(np.random.default_rng(0).normal(size=(5, 2)), resolution=4)
    for fps in (0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match=re.escape(f"fps must be a number > 0 (playback frames per second), "
                                                       f"got {fps!r}")):
            nbviz.ProbMapPlayer(rec, fps=fps, chart=False)
    p = nbviz.ProbMapPlayer(rec, fps=2, chart=False)
    with pytest.raises(t.TraitError, match="fps must be a number > 0"):
        p.fps = 0
    assert p.fps == 2.0
