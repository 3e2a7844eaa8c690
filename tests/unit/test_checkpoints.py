"""Features.from_checkpoint: a SimCLR-style LightningModule trained a few steps, saved, and embedded in one call."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nbviz import Features
from nbviz.kernels.activations import extract
from nbviz.kernels.checkpoints import embedding_layer, load_checkpoint

L = pytest.importorskip("lightning.pytorch")


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross entropy over the 2B views of a batch."""
    z = nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    b = len(z1)
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(b)])
    return nn.functional.cross_entropy(sim, target)


class SimCLR(L.LightningModule):
    def __init__(self, width: int = 8, out: int = 4) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.backbone = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.projection_head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection_head(self.backbone(x))

    def training_step(self, batch: torch.Tensor, _i: int) -> torch.Tensor:
        x = batch
        v1 = x + 0.1 * torch.randn_like(x)
        v2 = torch.flip(x, dims=[3]) + 0.1 * torch.randn_like(x)
        return nt_xent(self(v1), self(v2))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class HeadOnly(nn.Module):
    """No backbone child: the representation is what the projection head receives."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.Tanh())
        self.projector = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.body(x))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, torch.Tensor]:
    torch.manual_seed(0)
    images = torch.rand(32, 3, 8, 8)
    model = SimCLR()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = L.Trainer(max_steps=4, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, torch.utils.data.DataLoader(images, batch_size=8))
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items()), "training changed nothing"
    path = str(tmp_path_factory.mktemp("ckpt") / "simclr.ckpt")
    trainer.save_checkpoint(path)
    return path, images


def test_a_lightning_checkpoint_gives_the_backbone_features_in_one_call(trained):
    path, images = trained
    f = Features.from_checkpoint(path, SimCLR, data=images, progress=False)
    # Independently: load the checkpoint's state dict by hand and run the backbone.
    manual = SimCLR()
    manual.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
    manual.eval()
    with torch.no_grad():
        expected = manual.backbone(images).numpy()
    assert f.embeddings.shape == (32, 8)
    np.testing.assert_allclose(f.embeddings, expected, rtol=1e-5, atol=1e-6)


def test_a_state_dict_loads_into_a_copy_of_the_instance_passed(trained, tmp_path):
    path, images = trained
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    plain = tmp_path / "weights.pt"
    torch.save(state, plain)
    target = SimCLR()
    untouched = {k: v.clone() for k, v in target.state_dict().items()}
    f = Features.from_checkpoint(plain, target, data=images, progress=False)
    assert all(torch.equal(untouched[k], v) for k, v in target.state_dict().items())
    g = Features.from_checkpoint(path, SimCLR, data=images, progress=False)
    np.testing.assert_array_equal(f.embeddings, g.embeddings)


def test_without_a_backbone_child_the_projection_heads_input_is_taken(tmp_path):
    torch.manual_seed(1)
    model = HeadOnly()
    torch.save({"model_state_dict": model.state_dict()}, tmp_path / "m.pth")
    x = torch.randn(10, 3, 2, 2)
    assert embedding_layer(model) == "projector:input"
    f = Features.from_checkpoint(tmp_path / "m.pth", HeadOnly, data=x, progress=False)
    with torch.no_grad():
        np.testing.assert_allclose(f.embeddings, model.body(x).numpy(), rtol=1e-6)
    both = extract(model, x, ["projector:input", "projector"], progress=False)
    assert set(both) == {"projector:input", "projector"} and both["projector"].shape == (10, 3)


def test_bad_checkpoints_get_errors_that_say_what_to_do(trained, tmp_path):
    path, images = trained
    with pytest.raises(TypeError, match="module_class is needed"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match=r"does not load into Other: .*size mismatch"):
        Features.from_checkpoint(path, type("Other", (SimCLR,), {"__init__": lambda self: SimCLR.__init__(self, 5)}),
                                 data=images, progress=False)
    with pytest.raises(ValueError, match=r"does not match module_class HeadOnly: missing .*unexpected"):
        load_checkpoint(path, HeadOnly())
    with pytest.raises(FileNotFoundError, match="is not a file"):
        load_checkpoint(tmp_path / "nope.ckpt", SimCLR)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a weights-only PyTorch checkpoint"):
        load_checkpoint(tmp_path / "junk.pt", HeadOnly())
    with pytest.raises(ValueError, match="data is needed"):
        Features.from_checkpoint(path, SimCLR)
    with pytest.raises(ValueError, match="backbone child"):
        embedding_layer(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="never called"):
        extract(_Unused(), torch.zeros(2, 2), "unused", progress=False)


class _Unused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.used, self.unused = nn.Linear(2, 2), nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.used(x)
