"""The curvature of a user's module: the MLP's closed form for the same network, KFC's factors
against per-row Jacobians and loss Hessians computed by torch.func, exact where the Kronecker
factoring is exact, and the refusals of what it does not read."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call, hessian, jacrev

from netreg.evidence import kfac_factors, stack_members
from netreg.evidence.data_checks import check_data
from netreg.evidence.fixed_point import fixed_point, weight_blocks
from netreg.evidence.modules import module_ggn, module_kfac_factors, module_kronecker_diagonal, module_member
from netreg.exceptions import InvalidParameterError
from netreg.nets import MLP


class Layers(nn.Module):
    """netreg's MLP as a user's module: the same parameter names and forward pass."""

    def __init__(self, mlp: MLP) -> None:
        super().__init__()
        self.layers = mlp.layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.tanh(layer(x))
        return self.layers[-1](x)


class TinyCNN(nn.Module):
    """Conv2d -> tanh -> (max pool) -> Linear, multiclass logits."""

    def __init__(self, size: int, padding: int, pool: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=padding)
        self.pool = pool
        side = size - 2 + 2 * padding
        self.head = nn.Linear(3 * (side // 2 if pool else side) ** 2, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.tanh(self.conv(x))
        if self.pool:
            z = nn.functional.max_pool2d(z, 2)
        return self.head(z.flatten(1))


@pytest.fixture(scope="module")
def mlp_and_module(digits):
    torch.manual_seed(0)
    X, y = digits[0][:120], digits[1][:120]
    mlp = MLP(64, (6,), 10, activation="tanh").double()
    net = stack_members(mlp)
    member = module_member(Layers(mlp), mlp.state_dict(), ["layers.0.weight", "layers.1.weight"])
    return net, member, check_data(net, X, y, task="multiclass"), check_data(member, X, y, task="multiclass")


def test_a_linear_modules_kronecker_factors_are_the_mlps(mlp_and_module):
    net, member, data, module_data = mlp_and_module
    ours = module_kfac_factors(member, module_data.x, module_data.weight, task="multiclass")
    theirs = kfac_factors(net, data.x, data.weight, task="multiclass")
    for (a, g), (a_mlp, g_mlp) in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, a_mlp, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(g, g_mlp, rtol=1e-12, atol=1e-14)


def test_a_modules_factors_summed_in_float32_are_the_float64_ones_to_single_precision(mlp_and_module):
    _, member, _, module_data = mlp_and_module
    exact = weight_blocks(member, module_data, "kfac")
    single = weight_blocks(member, module_data, "kfac", dtype=torch.float32)
    for (a, g), (a32, g32) in zip(exact, single, strict=True):
        assert a32.dtype == g32.dtype == torch.float64
        torch.testing.assert_close(a32, a, rtol=1e-5, atol=1e-6 * float(a.abs().max()))
        torch.testing.assert_close(g32, g, rtol=1e-5, atol=1e-6 * float(g.abs().max()))
        assert not torch.equal(g32, g)  # they were summed in float32, not copied
    assert all(p.dtype == torch.float64 for p in member.module.parameters())  # summed on a copy


@pytest.mark.parametrize("curvature", ["exact", "kfac", "ekfac"])
def test_a_linear_modules_fixed_point_is_the_mlps(mlp_and_module, curvature):
    net, member, data, module_data = mlp_and_module
    ours = fixed_point(member, module_data, [0.3, 5.0], curvature=curvature)
    theirs = fixed_point(net, data, [0.3, 5.0], curvature=curvature)
    assert ours.gamma == pytest.approx(theirs.gamma, rel=1e-10)
    assert ours.new_alphas == pytest.approx(theirs.new_alphas, rel=1e-10)
    assert ours.log_evidence == pytest.approx(theirs.log_evidence, rel=1e-12)


def _rows(n, size, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, size, size, generator=generator, dtype=torch.float64)


def _brute_force(cnn, x, weight):
    """Per row, the Jacobians of the outputs with respect to the conv's weight and to its output
    (``torch.func.jacrev``) and the cross-entropy's Hessian in the outputs (``torch.func.hessian``)."""
    params = {k: v.detach() for k, v in cnn.named_parameters()}

    def from_conv_output(z, row):
        z = torch.tanh(z)
        if cnn.pool:
            z = nn.functional.max_pool2d(z, 2)
        return functional_call(
            cnn.head, {"weight": params["head.weight"], "bias": params["head.bias"]}, (z.flatten(1),)
        )[0]

    def from_weight(w, row):
        return functional_call(cnn, {**params, "conv.weight": w}, (row[None],))[0]

    label = torch.tensor(1)  # the cross-entropy's Hessian in the logits does not depend on it
    blocks, G = [], 0
    for row, w in zip(x, weight):
        out = from_weight(params["conv.weight"], row)
        loss_hessian = hessian(lambda f: nn.functional.cross_entropy(f[None], label[None]))(out)
        J = jacrev(from_weight)(params["conv.weight"], row).flatten(1)  # (q, P)
        blocks.append(w * J.T @ loss_hessian @ J)
        z = cnn.conv(row[None]).detach()
        Jz = jacrev(from_conv_output)(z, row)[:, 0].flatten(2)  # (q, out, T)
        for t in range(Jz.shape[-1]):
            G = G + w * Jz[:, :, t].T @ loss_hessian @ Jz[:, :, t]
    return sum(blocks), G


def _patches(cnn, x):
    """Every output pixel's input patch by slicing, ``(n, T, in * 3 * 3)``."""
    pad = cnn.conv.padding[0]
    padded = nn.functional.pad(x, [pad] * 4)
    side = padded.shape[-1] - 2
    return torch.stack([padded[:, :, i : i + 3, j : j + 3].flatten(1) for i in range(side) for j in range(side)], dim=1)


def test_kfc_is_the_exact_block_for_one_row_and_one_position():
    torch.manual_seed(1)
    cnn = TinyCNN(size=3, padding=0, pool=False).double()  # a 1x1 output: one position
    x, weight = _rows(1, 3), torch.tensor([1.0], dtype=torch.float64)
    member = module_member(cnn, cnn.state_dict(), ["conv.weight", "head.weight"])
    (A, G), _ = module_kfac_factors(member, x, weight, task="multiclass")
    block, _ = _brute_force(cnn, x, weight)
    torch.testing.assert_close(torch.kron(G[0], A[0]), block, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        module_ggn(member, x, weight, task="multiclass")[:54, :54], block, rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize(("padding", "pool"), [(1, True), (0, False)])
def test_kfc_factors_and_the_exact_ggn_against_per_row_jacobians(padding, pool):
    torch.manual_seed(2)
    cnn = TinyCNN(size=4, padding=padding, pool=pool).double()
    x, weight = _rows(3, 4, seed=3), torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    member = module_member(cnn, cnn.state_dict(), ["conv.weight", "head.weight"])
    (A, G), _ = module_kfac_factors(member, x, weight, task="multiclass")
    block, G_brute = _brute_force(cnn, x, weight)
    patches = _patches(cnn, x)
    T = patches.shape[1]
    A_brute = torch.einsum("i,itp,itq->pq", weight, patches, patches) / (T * weight.sum())
    torch.testing.assert_close(A[0], A_brute, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(G[0], G_brute, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        module_ggn(member, x, weight, task="multiclass")[:54, :54], block, rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize(("padding", "pool"), [(1, True), (0, False)])
def test_ekfac_eigenvalues_are_the_exact_blocks_diagonal_in_the_kfc_basis(padding, pool):
    # The conv's block against per-row Jacobians (its positions summed inside the square), the
    # head's against the module's exact GGN; each rotated by kron(U_G, U_A) of KFC's factors.
    torch.manual_seed(2)
    cnn = TinyCNN(size=4, padding=padding, pool=pool).double()
    x, weight = _rows(3, 4, seed=3), torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    member = module_member(cnn, cnn.state_dict(), ["conv.weight", "head.weight"])
    bases = [
        (torch.linalg.eigh(A)[1], torch.linalg.eigh(G)[1])
        for A, G in module_kfac_factors(member, x, weight, task="multiclass")
    ]
    conv, head = module_kronecker_diagonal(member, x, weight, bases, task="multiclass")
    H = module_ggn(member, x, weight, task="multiclass")
    for values, block, (u_a, u_g) in zip(
        (conv, head), (_brute_force(cnn, x, weight)[0], H[54:, 54:]), bases, strict=True
    ):
        Q = torch.kron(u_g[0], u_a[0])
        torch.testing.assert_close(values[0], (Q.T @ block @ Q).diagonal(), rtol=1e-10, atol=1e-12)


def test_a_linear_modules_ekfac_eigenvalues_are_the_mlps_and_summed_in_float32_to_single_precision(mlp_and_module):
    net, member, data, module_data = mlp_and_module
    ours, theirs = weight_blocks(member, module_data, "ekfac"), weight_blocks(net, data, "ekfac")
    single = weight_blocks(member, module_data, "ekfac", dtype=torch.float32)
    for values, mlp_values, values32 in zip(ours, theirs, single, strict=True):
        torch.testing.assert_close(values, mlp_values, rtol=1e-10, atol=1e-12 * float(values.max()))
        assert values32.dtype == torch.float64 and not torch.equal(values32, values)
        torch.testing.assert_close(values32, values, rtol=1e-4, atol=1e-5 * float(values.max()))


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(3, 3)
        self.out = nn.Linear(3, 2)

    def forward(self, x):
        return self.out(torch.tanh(self.first(torch.tanh(self.first(x)))))


def test_a_layer_called_twice_is_refused_by_the_kronecker_factors(refused):
    module = Tied().double()
    member = module_member(module, module.state_dict(), ["first.weight", "out.weight"])
    x = torch.randn(4, 3, dtype=torch.float64)
    with refused(
        "`module` must be a module whose forward calls each layer with a penalized weight once. "
        "Got 'first.weight' used by 2 calls. The Kronecker-factored curvature reads one input and one output per layer.",
        InvalidParameterError,
    ):
        module_kfac_factors(member, x, torch.ones(4, dtype=torch.float64), task="multiclass")
