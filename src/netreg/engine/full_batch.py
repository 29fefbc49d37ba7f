"""Full-batch training (L-BFGS): each solver iteration is an epoch of the :class:`Trainer`.

A callback that stops the member ends the run; one that changes its alpha restarts the solver
from the current point, and the callbacks then see the converged point once more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from netreg import penalties
from netreg.engine.minibatches import member_batch, rows_slice
from netreg.engine.step import loss_and_grads
from netreg.engine.stopping import advance

if TYPE_CHECKING:
    from netreg.engine.loop import Trainer

__all__ = ["fit_full_batch"]


def fit_full_batch(trainer: Trainer) -> None:
    """The full-batch solver on the single member's training rows; each iteration is an epoch."""
    inputs, state = trainer.inputs, trainer.state
    rows = rows_slice(state.train_rows[0].to(inputs.device))
    batch = member_batch(inputs, rows, unit_weights=trainer.unit_weights, generators=state.dropout_draws())
    params = state.param_list
    sizes = [p.numel() for p in params]
    penalty = state.penalty_term(inputs.penalty.l1_ratio)
    last: dict[str, Any] = {}

    def load(flat: np.ndarray) -> None:
        values = torch.as_tensor(flat, dtype=inputs.dtype, device=inputs.device)
        with torch.no_grad():
            for p, chunk in zip(params, values.split(sizes), strict=True):
                p.copy_(chunk.view_as(p))

    def loss_and_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
        load(flat)
        data, _, grads = loss_and_grads(
            trainer.forward, inputs.task.loss, state.params, params, state.buffers, batch, penalty
        )
        with torch.no_grad():
            weights = [p.detach() for p in state.penalized_weights]
            value = penalties.scaled_value(weights, penalty.scales, l1_ratio=penalty.l1_ratio)
        total = float(data.sum() + value.sum())
        if not np.isfinite(total):
            raise _Diverged
        last.update(x=flat.copy(), data=float(data.sum()))
        return total, torch.cat([g.flatten() for g in grads]).to(torch.float64).cpu().numpy()

    iterations = evaluations = 0

    def counted(flat: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        return loss_and_grad(flat)

    def on_iteration(xk: np.ndarray) -> None:
        nonlocal iterations
        iterations += 1
        if "x" not in last or not np.array_equal(last["x"], xk):
            loss_and_grad(xk)
        load(xk)
        train_loss = torch.tensor([last["data"]], dtype=torch.float64, device=inputs.device)
        objective, finite, _ = trainer.record_epoch(iterations, train_loss)
        if not bool(finite.all()):
            raise _Diverged
        state.progress, _ = advance(state.progress, objective, finite, iterations, tol=0.0, keep_best=False)
        trainer.snapshot(state.last_good, finite)
        if trainer.stop_requests:
            raise _Stopped
        if trainer.alpha_changes:
            trainer.alpha_changes.clear()
            raise _AlphaChanged(xk.copy())

    def current() -> np.ndarray:
        return torch.cat([p.detach().flatten() for p in params]).to(torch.float64).cpu().numpy()

    def minimize(solver: Any, x0: np.ndarray) -> Any:
        outcome = solver.minimize(counted, x0, on_iteration)
        if outcome.status == "converged" and trainer.population.records_alphas(state.ids[0]):
            # A callback adapts alpha: it sees the converged point once more, as the next iteration.
            if iterations < trainer.solver.max_iter:
                on_iteration(current())
        return outcome

    x0 = current()
    solver = trainer.solver
    while True:
        try:
            outcome = minimize(solver, x0)
        except _Diverged:
            nan = float("nan")
            state.histories[0].append({"epoch": iterations + 1, "train_loss": nan, "penalty": nan, "objective": nan})
            trainer.retire(["diverged"], iterations + 1)
            return
        except _Stopped:
            reasons = dict(trainer.stop_requests)
            trainer.stop_requests.clear()
            trainer.retire(["stopped"], iterations, reasons)
            return
        except _AlphaChanged as change:
            # The curvature pairs L-BFGS holds describe the old objective: start afresh from here.
            x0, solver = change.x, trainer.solver.rest(iterations, evaluations)
            if solver.max_iter > 0 and solver.max_fun > 0:
                continue
            trainer.lbfgs_message = "the iterations or evaluations allowed were spent"
            trainer.retire(["max_iter"], iterations)
            return
        break
    trainer.lbfgs_message = outcome.message
    trainer.retire([outcome.status], iterations)


class _Diverged(Exception):
    """Raised inside the full-batch solver's functions: the objective became non-finite."""


class _Stopped(Exception):
    """Raised after a full-batch iteration: a callback stopped the member."""


class _AlphaChanged(Exception):
    """Raised after a full-batch iteration: a callback changed alpha at the point ``x``."""

    def __init__(self, x: np.ndarray) -> None:
        super().__init__()
        self.x = x
