"""The online re-estimate's cost: the Kronecker factors of the re-estimates from a bounded sample of rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from evidence_helpers import random_mlp

from netreg.engine import TrainConfig, train_population
from netreg.evidence import kfac_factors, stack_members
from netreg.evidence.data_checks import EvidenceData, check_data
from netreg.evidence.fixed_point import fixed_point
from netreg.evidence.modules import module_member
from netreg.evidence.online import MINIBATCH_TOL, SETTLE, EvidenceAlpha, alpha_schedule, curvature_sample
from netreg.exceptions import InvalidParameterError
from netreg.losses import get_task
from netreg.nets import MLP


def _data(rng, n=400, d=5, q=3):
    X = rng.normal(size=(n, d))
    y = np.argmax(X[:, :q] + 0.5 * rng.normal(size=(n, q)), axis=1)
    return X, y


def test_the_sample_is_a_fixed_subset_whose_weights_keep_the_rows_count(rng):
    X, y = _data(rng)
    weight = rng.uniform(0.5, 2.0, size=len(X))
    net = stack_members(random_mlp(5, (4,), 3))
    data = check_data(net, X, y, task="multiclass", sample_weight=weight)
    sample = curvature_sample(data, 100)
    rows = [int(np.flatnonzero((X == row).all(1))[0]) for row in sample.x.numpy()]
    assert len(set(rows)) == 100 and rows == sorted(rows)
    assert torch.equal(sample.y, data.y[rows])
    assert sample.m == pytest.approx(data.m, rel=1e-12)
    assert torch.allclose(sample.weight / sample.weight.sum(), data.weight[rows] / data.weight[rows].sum())
    assert torch.equal(curvature_sample(data, 100).x, sample.x)  # the same rows on every call
    assert curvature_sample(data, len(X)) is data


def test_the_samples_kronecker_factors_are_unbiased_estimates_of_the_full_ones(rng):
    # Averaged over many samples, the sampled factors (weights scaled to m) are the sums over all rows.
    X, y = _data(rng, n=60)
    net = stack_members(random_mlp(5, (4,), 3))
    data = check_data(net, X, y, task="multiclass")
    full = kfac_factors(net, data.x, data.weight, task="multiclass")
    draws = 400
    total = [[torch.zeros_like(a), torch.zeros_like(g)] for a, g in full]
    for seed in range(draws):
        sample = curvature_sample(data, 20, seed=seed)
        for j, (a, g) in enumerate(kfac_factors(net, sample.x, sample.weight, task="multiclass")):
            total[j][0] += a / draws
            total[j][1] += g / draws
    for (a, g), (mean_a, mean_g) in zip(full, total, strict=True):
        # Monte Carlo error of 400 draws of 20 rows out of 60: a few per cent of the factors' norm.
        assert float((mean_a - a).norm() / a.norm()) < 0.03
        assert float((mean_g - g).norm() / g.norm()) < 0.03


def _learner(X, y, **params):
    return EvidenceAlpha(X, y, task="multiclass", activation="tanh", schedule=alpha_schedule(20), **params)


def test_re_estimates_read_the_sample_and_the_final_evidence_every_row(rng):
    X, y = _data(rng)
    net = random_mlp(5, (4,), 3)
    state_dict, alphas = net.state_dict(), {"layers.0.weight": 0.5, "layers.1.weight": 2.0}
    stacked = stack_members(net)
    data = check_data(stacked, X, y, task="multiclass")
    learn = _learner(X, y, curvature="kfac", curvature_rows=100)
    full = learn.evaluate(state_dict, alphas)
    sampled = learn.evaluate(state_dict, alphas, sampled=True)
    # The re-estimates sum their Kronecker factors in float32; the final evidence in float64.
    single = torch.float32
    assert sampled == fixed_point(
        stacked, curvature_sample(data, 100), list(alphas.values()), curvature="kfac", factor_dtype=single
    )
    assert full == fixed_point(stacked, data, list(alphas.values()), curvature="kfac")
    assert sampled.gamma != full.gamma
    # The exact curvature reads every row, and so does a learner without a bound.
    exact = _learner(X, y, curvature="exact", curvature_rows=100)
    assert exact.evaluate(state_dict, alphas, sampled=True) == exact.evaluate(state_dict, alphas)
    unbounded = _learner(X, y, curvature="kfac", curvature_rows=None)
    every_row = unbounded.evaluate(state_dict, alphas, sampled=True)
    assert every_row == fixed_point(stacked, data, list(alphas.values()), curvature="kfac", factor_dtype=single)
    assert every_row.gamma == pytest.approx(full.gamma, rel=1e-5) and every_row.gamma != full.gamma


def test_a_run_learns_from_the_sample_what_it_learns_from_every_row(rng):
    # The sample moves the learned alphas by less than the tolerance within which minibatch
    # re-estimates count as agreeing (MINIBATCH_TOL); the final evidence is that of every row.
    X, y = _data(rng, n=1200)
    learned = {}
    for rows in (None, 600):
        learn = _learner(X, y, curvature="kfac", curvature_rows=rows)
        result = train_population(
            MLP(5, (8,), 3, activation="tanh"),
            X,
            y,
            task="multiclass",
            alphas=[1.0],
            config=TrainConfig(max_iter=20, learning_rate=0.01, batch_size=64, tol=0.0),
            callbacks=learn,
        )
        learned[rows] = learn.paths[0][-1]["alphas"], learn.final[0], result.members[0]
    (whole, _, _), (sampled, final_sampled, member) = learned[None], learned[600]
    assert len(whole) == 2
    for name, value in whole.items():
        assert sampled[name] != value
        assert math.isclose(sampled[name], value, rel_tol=MINIBATCH_TOL)
    trained = stack_members(member.state_dict, activation="tanh")
    data = check_data(trained, X, y, task="multiclass")
    alphas = list(member.history[-1]["alphas"].values())
    every_row = fixed_point(trained, data, alphas, curvature="kfac")
    # Equal up to the last bits a GEMM's kernel may round differently at another memory alignment.
    for field in ("new_alphas", "gamma", "log_evidence"):
        assert getattr(final_sampled, field) == pytest.approx(getattr(every_row, field), rel=1e-12)


def test_a_users_modules_re_estimates_read_the_sample_too(rng):
    X, y = _data(rng)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    alphas = {"0.weight": 0.5, "2.weight": 2.0}
    learn = EvidenceAlpha(
        X, y, task="multiclass", module=module, schedule=alpha_schedule(20), curvature="kfac", curvature_rows=100
    )
    sampled = learn.evaluate(module.state_dict(), alphas, sampled=True)
    member = module_member(module, module.state_dict(), alphas)
    data = check_data(member, X, y, task="multiclass")
    assert sampled == fixed_point(
        member, curvature_sample(data, 100), list(alphas.values()), curvature="kfac", factor_dtype=torch.float32
    )
    assert learn.evaluate(module.state_dict(), alphas) == fixed_point(
        member, data, list(alphas.values()), curvature="kfac"
    )


def test_lbfgs_weights_count_as_settled_above_the_objectives_rounding():
    # SETTLE (1e-7) is below float32's epsilon (1.19e-7): a float32 objective's relative decrease
    # under ten epsilons is rounding, and counts as settled.
    float32, float64 = (alpha_schedule(200, full_batch=True, dtype=dtype) for dtype in ("float32", "float64"))
    assert float32.settle == 10 * float(np.finfo(np.float32).eps) and float64.settle == SETTLE
    assert float32.settled(1e-6) and not float64.settled(1e-6) and not float32.settled(2e-6)


def test_a_schedule_for_a_dtype_it_does_not_know_is_refused(refused):
    message = "`dtype` must be one of 'float32', 'float64'. Got dtype='float16'. Did you mean 'float64'?"
    with refused(message, InvalidParameterError):
        alpha_schedule(200, full_batch=True, dtype="float16")


@pytest.mark.parametrize(
    ("rows", "expected"), [(0, "an int >= 1"), (2.5, "an int >= 1"), ("all", "an int >= 1, 'auto' or None")]
)
def test_a_sample_size_that_is_not_a_positive_count_is_refused(rows, expected, refused):
    X, y = np.zeros((4, 2)), np.zeros(4)
    with refused(f"`curvature_rows` must be {expected}. Got curvature_rows={rows!r}.", InvalidParameterError):
        EvidenceAlpha(X, y, task="regression", activation="relu", schedule=alpha_schedule(20), curvature_rows=rows)
    data = EvidenceData(torch.zeros(4, 2), torch.zeros(4, 1), torch.ones(4), get_task("regression"))
    with refused(f"`n_rows` must be an int >= 1. Got n_rows={rows!r}.", InvalidParameterError):
        curvature_sample(data, rows)


@pytest.mark.parametrize(("n_classes", "expected"), [(10, 512), (30, 1500)])
def test_the_re_estimates_sample_holds_at_least_rows_per_output_per_class(n_classes, expected):
    from netreg.evidence.online import CURVATURE_ROWS, ROWS_PER_OUTPUT

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(3000, 5)), rng.integers(0, n_classes, size=3000)
    learn = EvidenceAlpha(X, y, task="multiclass", activation="relu", schedule=alpha_schedule(10), curvature="kfac")
    state = MLP(5, (8,), n_classes).state_dict()
    learn.evaluate(state, {name: 1.0 for name in state if name.endswith("weight")}, sampled=True)
    assert len(learn._sample.x) == max(CURVATURE_ROWS, ROWS_PER_OUTPUT * n_classes) == expected
    assert learn._sample.m == 3000  # the sample's weights count every row
