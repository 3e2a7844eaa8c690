"""Features from any layer: against a manual forward pass, with the model handed back unchanged."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import nbviz
from nbviz.kernels.activations import extract, resolve_layer


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(x + self.conv(x))


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.layer1 = nn.Sequential(Block(8), Block(8))
        self.layer2 = nn.Sequential(Block(8))
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(x.mean((2, 3)))


class TinyViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(16, 12)
        self.cls = nn.Parameter(torch.randn(1, 1, 12))
        self.blocks = nn.Sequential(nn.TransformerEncoderLayer(12, 2, 24, batch_first=True, dropout=0.0))
        self.head = nn.Linear(12, 3)

    def forward(self, x):  # x: (N, 4, 16) patches
        t = torch.cat([self.cls.expand(len(x), -1, -1), self.embed(x)], 1)
        return self.head(self.blocks(t)[:, 0])


@pytest.fixture
def resnet():
    torch.manual_seed(0)
    return TinyResNet()


def test_conv_layer_pooled_against_manual(resnet):
    x = torch.randn(20, 1, 8, 8)
    with torch.no_grad():
        maps = resnet.layer1(resnet.stem(x))
    f = extract(resnet, x, "layer1", batch_size=6, progress=False)
    np.testing.assert_allclose(f, maps.mean((2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(extract(resnet, x, "layer1", pool="max", progress=False),
                               maps.amax((2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    assert extract(resnet, x, ["layer1", "1"], pool="flatten", progress=False).shape == (20, 8 * 64)


def test_several_layers_give_a_dict_and_features(resnet):
    x = torch.randn(10, 1, 8, 8)
    y = torch.arange(10) % 3
    out = nbviz.Features.from_model(resnet, TensorDataset(x, y), layer=["layer1", "layer2.0.conv"], progress=False)
    assert set(out) == {"layer1", "layer2.0.conv"}
    assert out["layer1"].embeddings.shape == (10, 8)
    np.testing.assert_array_equal(out["layer2.0.conv"].labels, y.numpy())


def test_shuffled_dataloader_keeps_labels_aligned(resnet):
    torch.manual_seed(1)
    x = torch.randn(40, 1, 8, 8)
    y = torch.arange(40)
    f = nbviz.Features.from_model(resnet, DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True),
                                  layer="layer2", progress=False)
    ref = extract(resnet, x, "layer2", progress=False)
    # Row r holds item labels[r]: its features equal the unshuffled extraction of that item.
    np.testing.assert_allclose(f.embeddings, ref[f.labels], rtol=1e-5, atol=1e-6)


def test_vit_tokens_cls_and_avg():
    torch.manual_seed(0)
    vit = TinyViT().eval()
    x = torch.randn(5, 4, 16)
    with torch.no_grad():
        tokens = vit.blocks(torch.cat([vit.cls.expand(5, -1, -1), vit.embed(x)], 1))
    np.testing.assert_allclose(extract(vit, x, "blocks", pool="cls", progress=False), tokens[:, 0].numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(extract(vit, x, "blocks", pool="avg", progress=False), tokens.mean(1).numpy(),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_model_comes_back_unchanged(resnet, training):
    resnet.train(training)
    resnet.fc.weight.requires_grad_(False)
    resnet(torch.randn(2, 1, 8, 8)).sum().backward()
    grads = {n: None if p.grad is None else p.grad.clone() for n, p in resnet.named_parameters()}
    state = {n: p.detach().clone() for n, p in resnet.named_parameters()}
    hooks = {n: (len(m._forward_hooks), len(m._forward_pre_hooks)) for n, m in resnet.named_modules()}
    extract(resnet, torch.randn(9, 1, 8, 8), ["layer1", "layer2"], batch_size=4, progress=False)
    with pytest.raises(RuntimeError, match="forward failed on batch 0"):
        extract(resnet, torch.randn(3, 3, 8, 8), "layer1", progress=False)  # wrong channels
    assert resnet.training is training
    assert {n: (len(m._forward_hooks), len(m._forward_pre_hooks)) for n, m in resnet.named_modules()} == hooks
    assert resnet.fc.weight.requires_grad is False and resnet.stem.weight.requires_grad is True
    for n, p in resnet.named_parameters():
        assert torch.equal(p, state[n])
        assert (p.grad is None) == (grads[n] is None) and (p.grad is None or torch.equal(p.grad, grads[n]))


def test_unknown_layer_lists_close_names(resnet):
    with pytest.raises(ValueError, match=r"'layr1' is not in the model; closest valid names: \['layer1'"):
        resolve_layer(resnet, "layr1")
    expected = r"'layer1.5' is not in the model; closest valid names: \['layer1.1', 'layer1.0'"
    with pytest.raises(ValueError, match=expected):
        resolve_layer(resnet, "layer1.5")
    assert resolve_layer(resnet, resnet.layer2) == ("layer2", resnet.layer2)
    with pytest.raises(ValueError, match="pool must be one of"):
        extract(resnet, torch.randn(2, 1, 8, 8), "layer1", pool="mean")
