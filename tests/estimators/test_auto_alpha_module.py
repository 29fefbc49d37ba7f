"""``alpha="auto"`` with ``module=``: the MLP's result for the same network given as a module, a
CNN on the digits whose learned alphas the evidence prefers to a grid's, and the layers refused."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from torch import nn

from netreg import NetRegClassifier
from netreg.engine import TrainConfig, train_population
from netreg.evidence.data_checks import check_data
from netreg.evidence.fixed_point import fixed_point
from netreg.evidence.modules import module_member
from netreg.evidence.online import EvidenceAlpha, alpha_schedule
from netreg.exceptions import InvalidParameterError
from netreg.nets import MLP
from own_modules import ImageCNN


class MLPAsModule(nn.Module):
    """A tanh MLP of one hidden layer as a user's module (its layers' names): the Linear path."""

    def __init__(self, mlp: MLP) -> None:
        super().__init__()
        self.layers = copy.deepcopy(mlp.layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[1](torch.tanh(self.layers[0](x)))


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return NetRegClassifier(**params).fit(X, y)


@pytest.mark.parametrize("layerwise", [True, False])
def test_the_same_network_as_a_module_learns_the_mlps_alphas(digits, layerwise):
    X, y = digits[0][:300], digits[1][:300]
    torch.manual_seed(0)
    mlp = MLP(64, (6,), 10, activation="tanh").double()
    config = TrainConfig(max_iter=30, learning_rate=0.01, tol=0.0, dtype="float64", device="cpu")
    learned = {}
    for name, template in [("mlp", mlp), ("module", MLPAsModule(mlp))]:
        learned[name] = EvidenceAlpha(
            X, y, task="multiclass", module=template, schedule=alpha_schedule(30), layerwise=layerwise
        )
        train_population(
            template,
            X,
            y,
            task="multiclass",
            alphas=[1.0],
            config=config,
            init_states=mlp.state_dict(),
            callbacks=learned[name],
        )
    ours, theirs = learned["module"].paths[0], learned["mlp"].paths[0]
    assert len(theirs) == 7 and len(ours) == 7
    for update, reference in zip(ours, theirs):
        assert update["alphas"] == pytest.approx(reference["alphas"], rel=1e-8)
        assert update["gamma"] == pytest.approx(reference["gamma"], rel=1e-8)
    assert learned["module"].final[0].log_evidence == pytest.approx(learned["mlp"].final[0].log_evidence, rel=1e-10)


@pytest.fixture(scope="module")
def images(digits):
    return digits[0][:600].reshape(-1, 1, 8, 8), digits[1][:600]


CNN = {"module": ImageCNN, "module_kwargs": {"channels": 2, "dropout": 0.0}, "max_iter": 20, "learning_rate_init": 0.01}
GRID = [1e-3, 0.1, 1.0, 10.0, 100.0]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_cnn_learns_per_layer_alphas_the_evidence_prefers_to_a_grids(images, seed):
    X, y = images
    model = _fit(X, y, alpha="auto", random_state=seed, **CNN)
    assert sorted(model.alpha_) == ["conv.weight", "head.weight"]  # the penalized ones: not BatchNorm's
    assert all(np.isfinite(a) and a > 0 for a in model.alpha_.values())
    assert np.isfinite(model.log_evidence_)
    grid = []
    for alpha in GRID:
        fixed = _fit(X, y, alpha=alpha, random_state=seed, **CNN)
        member = module_member(fixed.module_, fixed.module_.state_dict(), list(model.alpha_))
        grid.append(fixed_point(member, check_data(member, X, y, task="multiclass"), [alpha, alpha]).log_evidence)
    # Measured margins over the best of the grid: 7.1, 5.1 and 3.2 nats for seeds 0, 1, 2.
    assert model.log_evidence_ >= max(grid) - 1.0


class Signal(nn.Module):
    """Conv1d over a (channels, steps) row, then Linear."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(n_features, 2, 3)
        self.head = nn.Linear(2 * 62, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).flatten(1))


class Upsample(nn.Module):
    """ConvTranspose2d, then Linear."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(n_features, 1, 2, stride=2)
        self.head = nn.Linear(256, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(x).flatten(1))


class Pairwise(nn.Module):
    """A Bilinear form of the two halves of a row."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        super().__init__()
        self.pair = nn.Bilinear(n_features // 2, n_features // 2, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pair(*x.chunk(2, dim=1))


HINT = "Choose alpha by cross-validation instead, with NetRegClassifierCV."


@pytest.mark.parametrize(
    ("params", "shape", "gap"),
    [
        ({"module": Signal}, (1, 64), "the penalized weight 'conv.weight' of a Conv1d"),
        ({"module": Upsample}, (1, 8, 8), "the penalized weight 'up.weight' of a ConvTranspose2d"),
        ({"module": Pairwise}, (64,), "the penalized weight 'pair.weight' of a Bilinear"),
    ],
)
def test_layers_the_curvature_does_not_read_are_refused_before_training(digits, params, shape, gap, refused):
    X, y = digits[0][:100].reshape(-1, *shape), digits[1][:100]
    model = NetRegClassifier(alpha="auto", max_iter=2, **params)
    with refused(
        f"`alpha` must be a number with {gap} (the curvature reads Linear and Conv2d weights (groups=1, zero "
        "padding), with biases and norm layers unpenalized): alpha='auto' chooses alpha by the Laplace evidence. "
        f"Got alpha='auto'. {HINT}",
        InvalidParameterError,
    ):
        model.fit(X, y)
    assert not hasattr(model, "module_")
