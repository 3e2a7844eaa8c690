"""Small models the widget tests share."""

import torch
from torch import nn


def cnn() -> nn.Module:
    """A 3-class CNN for (N, 1, H, W) images, seeded: the same weights in every test."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
