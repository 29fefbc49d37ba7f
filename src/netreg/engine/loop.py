"""The training loop: ``Trainer.fit -> fit_loop -> run_epoch -> train_step`` (or ``fit_full_batch``).

The computations are the pure functions of :mod:`~netreg.engine.step`,
:mod:`~netreg.engine.stopping` and :mod:`~netreg.engine.row_sets`; members that stop retire at
the epoch's end (``on_member_end``) and leave the stacked tensors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from netreg import penalties
from netreg.engine.full_batch import fit_full_batch
from netreg.engine.health import Health
from netreg.engine.hooks import Callback, CallbackList
from netreg.engine.inputs import Inputs
from netreg.engine.minibatches import EpochLosses, epoch_steps, member_batch, population_batch, step_flops
from netreg.engine.population import Population
from netreg.engine.results import MemberResult, PopulationResult, epoch_records
from netreg.engine.row_sets import Rows, eval_chunk, evaluate
from netreg.engine.solvers import get_solver
from netreg.engine.state import PopulationState, initial_state
from netreg.engine.step import PenaltyTerm, loss_and_grads, penalty_value, per_batch, stacked_forward
from netreg.engine.stopping import Progress, advance, reprieve, status_message, statuses, watched_metric
from netreg.engine.threads import limit_threads, run_threads
from netreg.exceptions import DivergenceError

__all__ = ["Trainer"]


class Trainer:
    """One population run: the validated ``inputs``, the changing state, the solver and the callbacks."""

    def __init__(self, inputs: Inputs, callbacks: Callback | Sequence[Callback] | None = None) -> None:
        self.inputs = inputs
        self.config = inputs.config
        self.solver = get_solver(inputs.config)
        # A single fit takes the fast path (docs/architecture.md, "Measurements and history").
        # Decided once: a population whose callbacks stop all but one member computes as it did.
        self.single = inputs.n_members == 1 and inputs.config.alpha_scale != "batch"
        self.unit_weights = bool((inputs.sample_weight == 1).all())
        self.forward = stacked_forward(inputs.template, single=self.single)
        self._own: tuple[PopulationState, dict[str, Tensor], list[Tensor]] | None = None
        self.keep_best = inputs.config.early_stopping and not self.solver.full_batch
        self.state: PopulationState | None = None
        self.health: Health | None = None
        self.results: list[MemberResult] = []
        self.stop_requests: dict[int, str] = {}
        self.lbfgs_message = ""
        self.batch_penalty: Tensor | None = None  # alpha_scale="batch": the epoch's penalty, batch by batch
        self.batch_penalties: EpochLosses | None = None  # and its batches' penalties
        self.alpha_changes: set[int] = set()  # members whose alpha a callback changed since the last epoch's end
        self.population = Population(lambda: self.state, inputs.alphas, self.stop_requests, self.alpha_changes)
        self.callbacks = CallbackList(callbacks, self.population)

    def fit(self) -> PopulationResult:
        """Train every member until it stops; report and return the results."""
        inputs = self.inputs
        started = time.perf_counter()
        cuda = [inputs.device] if inputs.device.type == "cuda" else []
        threads = run_threads(self.config.n_threads, step_flops(inputs))
        with limit_threads(threads), torch.random.fork_rng(devices=cuda):
            if cuda:
                torch.manual_seed(inputs.seeds[0])
            else:
                # The CPU generator alone: torch.manual_seed also queues a CUDA seeding,
                # recording a stack trace, which costs a millisecond per fit.
                torch.default_generator.manual_seed(inputs.seeds[0])
            self.start()
            self.callbacks.notify(
                "on_train_begin",
                {
                    "n_members": inputs.n_members,
                    "max_iter": self.config.max_iter,
                    "device": str(inputs.device),
                    "dtype": self.config.dtype,
                    "alphas": list(inputs.alphas),
                },
            )
            if self.solver.full_batch:
                fit_full_batch(self)
            else:
                self.fit_loop()
        self.results.sort(key=lambda result: result.index)
        result = PopulationResult(self.results, time.perf_counter() - started, str(inputs.device), self.config.dtype)
        self.callbacks.notify("on_train_end", result)
        diverged = [member for member in self.results if member.status == "diverged"]
        if diverged and inputs.raise_on_divergence:
            raise DivergenceError(diverged[0].message, history=diverged[0].history)
        return result

    def start(self) -> None:
        """The initial state, and the health checks' baselines read from it."""
        self.state = initial_state(self.inputs, self.solver)
        self.health = Health.start(self.inputs, self.state)

    def fit_loop(self) -> None:
        """Minibatch epochs until every member has stopped."""
        for epoch in range(1, self.config.max_iter + 1):
            train_loss = self.run_epoch()
            self.end_epoch(epoch, train_loss)
            if not self.state.ids:
                return

    def run_epoch(self) -> Tensor:
        """One pass over each member's training rows; returns each member's mean batch loss."""
        penalty = self.state.penalty_term(self.inputs.penalty.l1_ratio)
        if self.single:
            # The scales as numbers: one scalar multi-tensor add, no broadcast of (1, 1, 1) tensors.
            penalty = penalty._replace(scales=[float(scale) for scale in penalty.scales])
        steps = epoch_steps(self.state, self.config, self.inputs.device, single=self.single)
        shape = (len(steps), self.state.n_members, self.inputs.device)
        self.batch_penalties = EpochLosses(*shape) if self.config.alpha_scale == "batch" else None
        self.inputs.template.train()
        # Losses stay on the device until the epoch ends: no synchronization with it per step.
        losses = EpochLosses(*shape)
        for index, active, n_valid in steps:
            loss, total = self.train_step(index, active, penalty, n_valid=n_valid)
            losses.add(loss, total)
        if self.batch_penalties is not None:
            self.batch_penalty = self.batch_penalties.mean()
        return losses.mean()

    def train_step(
        self, index: Tensor | slice, active: Tensor | None, penalty: PenaltyTerm, n_valid: Tensor | None = None
    ) -> tuple[Tensor, Tensor | int]:
        """Loss, gradients and one solver step on a minibatch.

        ``index`` holds a population's ``(K or 1, B)`` rows (-1 = padding; ``n_valid``: each
        member's number of valid rows, on the CPU) or, in a run of one member, the member's
        ``(B,)`` rows or a slice of them. Returns each member's ``(K,)`` mean loss on the
        batch and its total row weight (``(K,)`` or ``(1,)``, or the number of rows when all
        rows weigh 1).
        """
        inputs, state = self.inputs, self.state
        own = self.forward.own_weights
        params, param_list = self.own_params() if own else (state.params, state.param_list)
        if self.single:
            batch = member_batch(inputs, index, unit_weights=self.unit_weights, generators=state.dropout_draws())
        else:
            batch = population_batch(inputs, index, state.n_members, n_valid=n_valid, generators=state.dropout_draws())
        if self.batch_penalties is not None:  # scikit-learn's sgd/adam objective: alpha / the batch's weight
            penalty = per_batch(penalty, state.n_samples, batch.weight)
        loss, total, grads = loss_and_grads(
            self.forward, inputs.task.loss, params, param_list, state.buffers, batch, penalty
        )
        total = batch.target.shape[1] if total is None else total
        if self.batch_penalties is not None:  # at the weights this batch saw, as scikit-learn reports it
            self.batch_penalties.add(penalty_value(state.penalized_weights, penalty), total)
        if own:
            grads = [grad.unsqueeze(0) for grad in grads]
        self.solver.step(state.param_list, grads, state.optimizer, active)
        return loss, total

    def own_params(self) -> tuple[dict[str, Tensor], list[Tensor]]:
        """A single member's parameters without the member axis: leaves sharing the stacked
        ones' memory (solver steps move both), so that no view enters the graph (a view's
        backward, and its history rebuilt after each in-place step, would cost every step)."""
        state = self.state
        if self._own is None or self._own[0] is not state:
            own = {name: p.detach().squeeze(0).requires_grad_(True) for name, p in state.params.items()}
            self._own = (state, own, list(own.values()))
        return self._own[1], self._own[2]

    def end_epoch(self, epoch: int, train_loss: Tensor) -> None:
        """Record the epoch, let the callbacks act, update the counters, retire stopped members."""
        state, c = self.state, self.config
        objective, finite, held_out = self.record_epoch(epoch, train_loss)
        metric = watched_metric(
            objective, held_out, early_stopping=c.early_stopping, metric=c.early_stopping_metric, monitor=c.monitor
        )
        state.progress, better = advance(state.progress, metric, finite, epoch, tol=c.tol, keep_best=self.keep_best)
        if self.alpha_changes:
            state.progress = self.restart_counters(state.progress)
        # The solver's schedule may keep stalled members going at a smaller step size.
        stalled = state.progress.bad_epochs >= c.n_iter_no_change
        stop = self.solver.end_epoch(state.optimizer, state.train_rows, stalled)
        state.progress = reprieve(state.progress, stalled & ~stop)
        if bool(finite.any()):
            self.snapshot(state.last_good, finite.to(self.inputs.device))
            if self.keep_best:
                self.snapshot(state.best, better.to(self.inputs.device))
        # A request made while members retired (from on_member_end) may name one of them.
        for member in [m for m in self.stop_requests if m not in state.ids]:
            del self.stop_requests[member]
        requested = [member in self.stop_requests for member in state.ids]
        status = statuses(
            state.progress,
            finite,
            epoch,
            n_iter_no_change=c.n_iter_no_change,
            max_iter=c.max_iter,
            early_stopping=c.early_stopping,
            stop_requested=requested,
        )
        reasons = dict(self.stop_requests)
        self.stop_requests.clear()
        if any(status):
            self.retire(status, epoch, reasons)

    def restart_counters(self, progress: Progress) -> Progress:
        """The stopping counters with those of the members whose alpha changed this epoch
        started afresh, when they watch the training objective (which the new alpha changes;
        a held-out metric does not depend on alpha)."""
        changed = [member in self.alpha_changes for member in self.state.ids]
        self.alpha_changes.clear()
        if self.config.early_stopping:
            return progress
        mask = torch.tensor(changed)
        return progress._replace(
            best_metric=torch.where(mask, math.inf, progress.best_metric),
            bad_epochs=torch.where(mask, 0, progress.bad_epochs),
        )

    def record_epoch(self, epoch: int, train_loss: Tensor) -> tuple[Tensor, Tensor, dict[str, tuple[Tensor, Tensor]]]:
        """Compute the epoch's penalty, norms and held-out metrics, record them, notify the callbacks."""
        state = self.state
        with torch.no_grad():
            weights = [w.detach() for w in state.penalized_weights]
            scales = list(state.scales.values())
            penalty = penalties.scaled_value(weights, scales, l1_ratio=self.inputs.penalty.l1_ratio)
            penalty = penalty.to(torch.float64).expand(state.n_members)
            penalty = penalty if self.batch_penalty is None else self.batch_penalty  # scikit-learn's, batch by batch
            norms = torch.stack([w.flatten(1).norm(dim=1) for w in weights], 1) if weights else None
            objective = train_loss + penalty
            # Finite, and neither an overflowed optimizer state nor a runaway loss (engine.health).
            finite = self.health.check(state, train_loss, objective)
            held_out = {name: self.evaluate(rows) for name, rows in state.eval_rows.items()}
        columns = {"train_loss": train_loss, "penalty": penalty, "objective": objective}
        if getattr(state.optimizer, "learning_rate", None) is not None:  # SGD under a schedule
            columns["learning_rate"] = state.optimizer.learning_rate
        for name, (loss, score) in held_out.items():
            columns[f"{name}_loss"], columns[f"{name}_score"] = loss, score
        records = epoch_records(state.ids, epoch, columns, norms, state.penalized)
        for position, member in enumerate(state.ids):
            if self.population.records_alphas(member):  # a callback changed its alpha (Population.set_alpha)
                records[member]["alphas"] = dict(zip(state.penalized, state.alphas[position].tolist(), strict=True))
            state.histories[position].append(records[member])
        self.callbacks.notify("on_epoch_end", epoch, records)
        return objective, finite, held_out

    def evaluate(
        self, rows: Rows, params: Mapping[str, Tensor] | None = None, buffers: Mapping[str, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        """Loss and score of each member (current, or the given ``params``) on ``rows``, in eval mode."""
        state, inputs = self.state, self.inputs
        params = {name: p.detach() for name, p in (state.params if params is None else params).items()}
        buffers = state.buffers if buffers is None else buffers
        inputs.template.eval()
        try:
            return evaluate(
                lambda x, shared: self.forward(params, buffers, x.to(inputs.dtype), shared),
                inputs.X,
                inputs.y,
                rows,
                inputs.task,
                eval_chunk(inputs.X, inputs.dtype, rows.n_members, self.config.eval_batch_size),
            )
        finally:
            inputs.template.train()

    @torch.no_grad()
    def snapshot(self, copy: dict[str, Tensor], mask: Tensor) -> None:
        """Copy the current parameters and buffers of the members in ``mask`` into ``copy``."""
        everyone = bool(mask.all())
        for name, p in (*self.state.params.items(), *self.state.buffers.items()):
            if everyone:
                copy[name].copy_(p)
            else:
                copy[name][mask] = p.detach()[mask]

    def retire(self, status: list[str], epoch: int, reasons: Mapping[int, str] | None = None) -> None:
        """Report the members with a status (the others have ``""``), then drop them from the state."""
        state, inputs, reasons = self.state, self.inputs, reasons or {}
        leaving = [position for position, s in enumerate(status) if s]
        where = torch.tensor(leaving, dtype=torch.long)
        on_device = where.to(inputs.device)
        source = state.best if self.keep_best else state.last_good
        final = {name: source[name][on_device] for name in state.params}
        final_buffers = {name: source[name][on_device] for name in state.buffers}
        metrics = self.final_metrics(final, final_buffers, leaving)
        names = list(state.params)
        for row, position in enumerate(leaving):
            member = state.ids[position]
            history = state.histories[position]
            if status[position] == "stopped":
                history[-1] = {**history[-1], "stop_reason": reasons[member]}
            weights = {name: value[row].detach().cpu().clone() for name, value in final.items()}
            weights.update({name: b[row].cpu().clone() for name, b in final_buffers.items()})
            result = MemberResult(
                index=member,
                alpha=inputs.alphas[member],
                seed=inputs.seeds[member],
                status=status[position],
                n_iter=epoch,
                best_epoch=int(state.progress.best_epoch[position]),
                state_dict=weights,
                history=history,
                metrics={key: values[row] for key, values in metrics.items()},
                message=self.health.message(member, epoch=epoch, objective=history[-1]["objective"])
                if status[position] == "diverged"
                else status_message(
                    status[position],
                    self.config,
                    epoch=epoch,
                    alpha=inputs.alphas[member],
                    objective=history[-1]["objective"],
                    lbfgs_message=self.lbfgs_message,
                    reason=reasons.get(member, ""),
                ),
                optimizer_state=self.solver.member_state(state.optimizer, position, names),
            )
            self.results.append(result)
            self.callbacks.notify("on_member_end", result)
        self.state = state.take([p for p, s in enumerate(status) if not s])

    def final_metrics(
        self, params: dict[str, Tensor], buffers: dict[str, Tensor], positions: list[int]
    ) -> dict[str, list[float]]:
        """Train and held-out loss and score of the members at ``positions`` with the given weights."""
        state, inputs = self.state, self.inputs
        where = torch.tensor(positions, dtype=torch.long)
        sets = {
            "train": Rows.build(
                [inputs.train_rows[state.ids[p]] for p in positions], inputs.sample_weight, inputs.device
            )
        }
        sets.update({name: rows.take(where) for name, rows in state.eval_rows.items()})
        metrics: dict[str, list[float]] = {}
        for name, rows in sets.items():
            loss, score = self.evaluate(rows, params, buffers)
            metrics[f"{name}_loss"], metrics[f"{name}_score"] = loss.cpu().tolist(), score.cpu().tolist()
        return metrics
