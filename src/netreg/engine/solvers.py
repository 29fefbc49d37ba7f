"""The solvers, as small objects found by name in :data:`SOLVERS`.

Each minibatch solver holds its hyperparameters and delegates to :mod:`netreg.engine.optim`
(``init``, ``step``, ``member_state`` / ``load_member_state`` for ``partial_fit``, and
``end_epoch``, which says which stalled members stop). :class:`LBFGS` is full batch and
single member: SciPy's L-BFGS-B with scikit-learn's settings, on a function the engine hands
it. Adding one: ``docs/architecture.md``, "Where to add".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.optimize
import torch
from torch import Tensor

from netreg.engine.optim import AdamState, SGDState, adam_step_, sgd_step_
from netreg.engine.schedules import end_epoch_

__all__ = ["SGD", "Adam", "LBFGS", "LBFGSOutcome", "SOLVERS", "get_solver"]


@dataclass(kw_only=True)
class SGD:
    """SGD with (Nesterov) momentum, as ``torch.optim.SGD`` with dampening 0, and a step size
    per member under scikit-learn's schedules (``lr_schedule``, :mod:`netreg.engine.schedules`).

    Examples
    --------
    >>> import torch
    >>> solver = SGD(learning_rate=0.25, momentum=0.0, nesterov=False)
    >>> params, grads = [torch.ones(2, 3)], [torch.ones(2, 3)]
    >>> state = solver.init(params)
    >>> solver.step(params, grads, state)
    >>> params[0][0].tolist()
    [0.75, 0.75, 0.75]
    """

    name: ClassVar[str] = "sgd"
    full_batch: ClassVar[bool] = False

    learning_rate: float
    momentum: float
    nesterov: bool
    lr_schedule: str = "constant"
    power_t: float = 0.5

    @classmethod
    def from_config(cls, config: Any) -> SGD:
        """The solver of a :class:`netreg.engine.TrainConfig`."""
        return cls(
            learning_rate=config.learning_rate,
            momentum=config.momentum,
            nesterov=config.nesterov,
            lr_schedule=config.lr_schedule,
            power_t=config.power_t,
        )

    def init(self, params: list[Tensor]) -> SGDState:
        """Zero momentum buffers (none without momentum); per-member step sizes under a schedule."""
        scheduled = self.lr_schedule != "constant"
        return SGDState.create(params, self.momentum, self.learning_rate if scheduled else None)

    def step(self, params: list[Tensor], grads: list[Tensor], state: SGDState, active: Tensor | None = None) -> None:
        """Move the members in place; those not ``active`` stay exactly where they are."""
        lr = state.step_size(self.learning_rate, params[0])
        sgd_step_(params, grads, state, lr=lr, momentum=self.momentum, nesterov=self.nesterov, active=active)

    def end_epoch(self, state: SGDState, train_rows: Sequence[Tensor], stalled: Tensor) -> Tensor:
        """Apply the schedule after an epoch over each member's ``train_rows``; return the stalled members that stop."""
        n_rows = torch.tensor([len(rows) for rows in train_rows], dtype=torch.float64)
        return end_epoch_(
            state, n_rows, stalled, schedule=self.lr_schedule, learning_rate=self.learning_rate, power_t=self.power_t
        )

    def member_state(self, state: SGDState, position: int, names: list[str]) -> dict[str, Any]:
        """Member ``position``'s momentum buffers, on the CPU, by parameter name."""
        return state.member(position, names)

    def load_member_state(self, state: SGDState, position: int, names: list[str], saved: Mapping[str, Any]) -> None:
        """Put a :meth:`member_state` back at ``position``."""
        state.load_member_(position, names, saved)


@dataclass(kw_only=True)
class Adam:
    """Adam with a step count per member, as ``torch.optim.Adam`` computes it (or, with
    ``epsilon_form="sklearn"``, with epsilon where scikit-learn's MLP adds it).

    Examples
    --------
    >>> import torch
    >>> solver = Adam(learning_rate=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    >>> params, grads = [torch.ones(2, 3)], [torch.ones(2, 3)]
    >>> state = solver.init(params)
    >>> solver.step(params, grads, state)
    >>> round(params[0][1, 0].item(), 6), state.step.tolist()
    (0.9, [1.0, 1.0])
    """

    name: ClassVar[str] = "adam"
    full_batch: ClassVar[bool] = False

    learning_rate: float
    beta_1: float
    beta_2: float
    epsilon: float
    epsilon_form: str = "torch"

    @classmethod
    def from_config(cls, config: Any) -> Adam:
        """The solver of a :class:`netreg.engine.TrainConfig`."""
        return cls(
            learning_rate=config.learning_rate,
            beta_1=config.beta_1,
            beta_2=config.beta_2,
            epsilon=config.epsilon,
            epsilon_form=config.adam_epsilon,
        )

    def init(self, params: list[Tensor]) -> AdamState:
        """Zero moments and step counts."""
        return AdamState.create(params)

    def step(self, params: list[Tensor], grads: list[Tensor], state: AdamState, active: Tensor | None = None) -> None:
        """Move the members in place; those not ``active`` stay exactly where they are."""
        adam_step_(
            params,
            grads,
            state,
            lr=self.learning_rate,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            active=active,
            epsilon_form=self.epsilon_form,
        )

    def end_epoch(self, state: AdamState, train_rows: Sequence[Tensor], stalled: Tensor) -> Tensor:
        """Adam has no schedule: every stalled member stops."""
        return stalled

    def member_state(self, state: AdamState, position: int, names: list[str]) -> dict[str, Any]:
        """Member ``position``'s moments (by parameter name) and step count, on the CPU."""
        return state.member(position, names)

    def load_member_state(self, state: AdamState, position: int, names: list[str], saved: Mapping[str, Any]) -> None:
        """Put a :meth:`member_state` back at ``position``."""
        state.load_member_(position, names, saved)


@dataclass(frozen=True)
class LBFGSOutcome:
    """How an L-BFGS run ended: ``status`` (``"converged"``, ``"max_iter"`` or ``"stalled"``),
    SciPy's ``message`` and the number of iterations ``n_iter``."""

    status: str
    message: str
    n_iter: int


@dataclass(kw_only=True)
class LBFGS:
    """Full-batch L-BFGS: SciPy's L-BFGS-B with scikit-learn's settings.

    ``maxiter=max_iter``, ``maxfun=max_fun``, ``gtol=tol`` and ``ftol``. Its curvature pairs
    live inside SciPy for one run: nothing is kept between runs (``init`` returns ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> def quadratic(x):
    ...     return float(((x - 3.0) ** 2).sum()), 2.0 * (x - 3.0)
    >>> outcome = LBFGS(max_iter=50, max_fun=100, tol=1e-10, ftol=1e-15).minimize(quadratic, np.zeros(2), lambda x: None)
    >>> outcome.status
    'converged'
    """

    name: ClassVar[str] = "lbfgs"
    full_batch: ClassVar[bool] = True

    max_iter: int
    max_fun: int
    tol: float
    ftol: float

    @classmethod
    def from_config(cls, config: Any) -> LBFGS:
        """The solver of a :class:`netreg.engine.TrainConfig`."""
        return cls(max_iter=config.max_iter, max_fun=config.max_fun, tol=config.tol, ftol=config.ftol)

    def init(self, params: list[Tensor]) -> None:
        """No state between runs."""
        return None

    def rest(self, n_iter: int, n_fun: int) -> LBFGS:
        """The solver for what is left of the budget after ``n_iter`` iterations and ``n_fun``
        evaluations (a run restarted when a callback changed alpha).

        Examples
        --------
        >>> LBFGS(max_iter=50, max_fun=100, tol=1e-4, ftol=1e-9).rest(20, 30).max_iter
        30
        """
        return LBFGS(max_iter=self.max_iter - n_iter, max_fun=self.max_fun - n_fun, tol=self.tol, ftol=self.ftol)

    def member_state(self, state: None, position: int, names: list[str]) -> None:
        """Nothing to continue from."""
        return None

    def minimize(
        self,
        loss_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
        x0: np.ndarray,
        on_iteration: Callable[[np.ndarray], None],
    ) -> LBFGSOutcome:
        """Minimize ``loss_and_grad`` (value and float64 gradient at a flat float64 point) from ``x0``.

        ``on_iteration(x)`` is called after each iteration with the new point. An exception
        raised by either function stops the run and propagates.
        """
        n_iter = 0

        # SciPy passes the iteration's result to a callback whose parameter has this name.
        def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            nonlocal n_iter
            n_iter += 1
            on_iteration(intermediate_result.x)

        result = scipy.optimize.minimize(
            loss_and_grad,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=callback,
            options={"maxiter": self.max_iter, "maxfun": self.max_fun, "gtol": self.tol, "ftol": self.ftol},
        )
        if result.success:
            status = "converged"
        elif result.nit >= self.max_iter or result.nfev >= self.max_fun:
            status = "max_iter"
        else:
            status = "stalled"
        return LBFGSOutcome(status, str(result.message), n_iter)


#: Solver name -> class; the order is the one error messages list.
SOLVERS: dict[str, type[SGD] | type[Adam] | type[LBFGS]] = {"adam": Adam, "sgd": SGD, "lbfgs": LBFGS}


def get_solver(config: Any) -> SGD | Adam | LBFGS:
    """The solver object that ``config.solver`` names, with ``config``'s hyperparameters.

    Examples
    --------
    >>> from netreg.engine import TrainConfig
    >>> get_solver(TrainConfig(solver="sgd", momentum=0.5)).momentum
    0.5
    """
    return SOLVERS[config.solver].from_config(config)
