"""Users' own modules, as the tests of the estimators and the sweep pass them with ``module=``.

Importable by name (``from own_modules import ImageCNN``), so that pickled estimators and
Ray's workers find the classes.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ImageCNN(nn.Module):
    """Conv2d -> BatchNorm2d -> ReLU -> max pool -> Dropout -> Linear, for (channels, 8, 8) images."""

    def __init__(self, n_features: int, n_outputs: int, channels: int = 4, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(n_features, channels, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(channels)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(channels * 16, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(torch.relu(self.norm(self.conv(x))), 2)
        return self.head(self.drop(x.flatten(1)))


class TinyNet(nn.Module):
    """A table network: Linear -> LayerNorm (or BatchNorm1d) -> tanh -> Linear."""

    def __init__(self, n_features: int, n_outputs: int, width: int = 8, batch_norm: bool = False) -> None:
        super().__init__()
        self.hidden = nn.Linear(n_features, width, bias=not batch_norm)
        # BatchNorm's batch statistics weigh every row alike: sample weights are not repeated rows.
        self.norm = nn.BatchNorm1d(width) if batch_norm else nn.LayerNorm(width)
        self.out = nn.Linear(width, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.norm(self.hidden(x))))


def told(input_shape: tuple[int, ...], n_outputs: int, *, scale: float = 1.0) -> nn.Module:
    """A builder function told the row shape (not n_features): flatten, one linear layer."""
    module = nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(input_shape).prod()), n_outputs))
    with torch.no_grad():
        module[1].weight.mul_(scale)
    return module


class _FixedStart(nn.Module):
    """Starts from the same weights whatever the seed and dtype (its own ``reset_parameters``:
    multiples of 1/64 in [-0.5, 0.5], exact in float32 and float64), so that a plain PyTorch
    loop can start where netreg does."""

    def reset_parameters(self) -> None:
        generator = torch.Generator().manual_seed(5)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.copy_(torch.randint(-32, 33, parameter.shape, generator=generator) / 64)


class Unused(_FixedStart):
    """A layer that ``forward`` never uses beside the one it does."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        super().__init__()
        self.used = nn.Linear(n_features, n_outputs)
        self.unused = nn.Linear(n_features, 3)
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.used(x)


class Tied(_FixedStart):
    """One layer registered under two names (applied twice), and an output layer."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        super().__init__()
        self.first = nn.Linear(n_features, n_features)
        self.again = self.first
        self.out = nn.Linear(n_features, n_outputs)
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.again(torch.tanh(self.first(x)))))
