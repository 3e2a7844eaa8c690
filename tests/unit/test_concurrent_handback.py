"""nbviz run on one model from two threads at once: each call sees its own hooks and the model comes back as it was.

JupyterLab >= 4.4 and Notebook >= 7.4 send widget messages to a kernel subshell, whose thread runs beside the cell
(and beside nbviz's timers): a Grad-CAM redone for a click can overlap another nbviz call on the same model. A
layer that sleeps makes the calls overlap on every round.
"""

from __future__ import annotations

import threading
import time

import torch
from torch import nn

from nbviz.kernels.attribution import attribute, layer_shapes
from nbviz.kernels.graph import capture

ROUNDS = 12


class Slow(nn.Module):
    """Identity that takes a while: the other thread's call starts and ends inside this one's forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.004)
        return x


def model() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), Slow(), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    net.train()
    net[0].weight.requires_grad_(False)  # a frozen layer must stay frozen, the others trainable
    return net


def run_together(calls: list) -> list[BaseException]:
    """Each call ROUNDS times, every call on its own thread, started together; the exceptions raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def loop(call) -> None:
        start.wait()
        for _ in range(ROUNDS):
            try:
                call()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
                errors.append(exc)

    threads = [threading.Thread(target=loop, args=(c,)) for c in calls]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return errors


def test_overlapping_calls_each_see_their_layer_and_the_model_comes_back_as_it_was() -> None:
    net = model()
    x = torch.rand(2, 1, 8, 8)
    flags = [m.training for m in net.modules()]
    grads = [p.requires_grad for p in net.parameters()]
    errors = run_together([lambda: attribute(net, x, "0"), lambda: attribute(net, x, "4"),
                           lambda: layer_shapes(net, x), lambda: capture(net, x[:1])])
    assert errors == []
    assert [m.training for m in net.modules()] == flags
    assert [p.requires_grad for p in net.parameters()] == grads
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in net.modules())
    assert net[2].num_batches_tracked.item() == 0  # no forward ran in training mode


def test_the_same_thread_may_nest_calls_on_one_model() -> None:
    """An nbviz call made from inside another's forward (a user's hook calling nbviz) does not wait for itself."""
    net = model()
    x = torch.rand(1, 1, 8, 8)
    inner: list = []

    def nested(*_args) -> None:
        if not inner:  # once: the nested call's own forward runs this hook too
            inner.append(None)
            inner[0] = layer_shapes(net, x)

    net[4].register_forward_hook(nested)
    done = threading.Event()
    th = threading.Thread(target=lambda: (attribute(net, x, "0"), done.set()), daemon=True)
    th.start()
    assert done.wait(30), "a nested call on the same thread waited for itself"
    assert inner and inner[0]["4"] == (1, 4, 6, 6)
