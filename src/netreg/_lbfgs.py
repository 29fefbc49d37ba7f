"""Full-batch L-BFGS for a single member, with SciPy's L-BFGS-B as scikit-learn uses it.

The engine computes the objective and its gradient (data loss by autograd, penalty
gradient fused) and SciPy drives the iterations with scikit-learn's settings
(``maxiter=max_iter``, ``maxfun=max_fun``, ``gtol=tol``), so a netreg L-BFGS fit and a
scikit-learn ``MLPClassifier(solver="lbfgs")`` fit minimize the same function the same way.
Each iteration is recorded as an epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.optimize
import torch

from netreg import penalties

if TYPE_CHECKING:
    from netreg.engine import _Run

__all__ = ["fit_lbfgs"]


class _Diverged(Exception):
    pass


def fit_lbfgs(run: _Run) -> None:
    """Train ``run``'s single member to convergence and retire it with its status."""
    c = run.config
    rows = run.rows_train[0].to(run.device)
    x, target, weight = run.X[rows], run.y[rows].unsqueeze(0), run.sample_weight[rows]
    total = weight.sum()
    params = run.param_list
    sizes = [p.numel() for p in params]
    penalized = [run.params[name] for name in run.penalized]
    last: dict[str, Any] = {}

    def load(flat: np.ndarray) -> None:
        values = torch.as_tensor(flat, dtype=run.dtype, device=run.device)
        with torch.no_grad():
            for p, chunk in zip(params, values.split(sizes)):
                p.copy_(chunk.view_as(p))

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        load(flat)
        out = run._forward(run.params, run.buffers, x, True)
        data = (run.task.loss(out, target) * weight).sum(1) / total
        grads = list(torch.autograd.grad(data.sum(), params))
        penalties._add_penalty_grad_(
            penalized, [grads[run.param_index[n]] for n in run.penalized], run.coefs, run.penalty.l1_ratio
        )
        with torch.no_grad():
            penalty = run.penalty.value([p.detach() for p in penalized], run._alpha_columns(), n_samples=run.n_samples)
        value = float(data.detach().sum() + penalty.sum())
        if not np.isfinite(value):
            raise _Diverged
        last.update(x=flat.copy(), data=float(data.detach().sum()))
        return value, torch.cat([g.flatten() for g in grads]).to(torch.float64).cpu().numpy()

    iterations = 0

    def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        nonlocal iterations
        iterations += 1
        xk = intermediate_result.x
        if "x" not in last or not np.array_equal(last["x"], xk):
            objective(xk)
        load(xk)
        train_loss = torch.tensor([last["data"]], dtype=torch.float64, device=run.device)
        _, finite, _ = run._record_epoch(iterations, train_loss)
        if bool(finite.all()):
            run._snapshot(run.last_good, finite)
            run.best_epoch[:] = iterations
        else:
            raise _Diverged

    x0 = torch.cat([p.detach().flatten() for p in params]).to(torch.float64).cpu().numpy()
    try:
        result = scipy.optimize.minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=record,
            # scikit-learn's settings (gtol=tol), so a fit stops where MLPClassifier's would.
            options={"maxiter": c.max_iter, "maxfun": c.max_fun, "gtol": c.tol, "ftol": c.ftol},
        )
    except _Diverged:
        run.histories[0].append(_diverged_record(iterations + 1))
        run._retire(["diverged"], iterations + 1)
        return
    if result.success:
        status = "converged"
    elif result.nit >= c.max_iter or result.nfev >= c.max_fun:
        status = "max_iter"
    else:
        status = "stalled"
    run.lbfgs_message = str(result.message)
    run._retire([status], iterations)


def _diverged_record(epoch: int) -> dict[str, Any]:
    nan = float("nan")
    return {"epoch": epoch, "train_loss": nan, "penalty": nan, "objective": nan}
