"""The drawings, one function per figure, each on a given ``Axes``, shared by the report and the displays.

Each returns the data it plotted; lines drawn from the results table carry its column name as
their ``gid`` (``"mean_test_score"``, ``"mean_norm[layers.0.weight]"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netreg.display.axes import alpha_positions, format_alpha, loss_label, score_label, set_alpha_axis
from netreg.tuning.records import MemberRecord
from netreg.tuning.sweep_result import SweepResult

__all__ = [
    "CHOSEN_COLOR",
    "PART_COLORS",
    "ROLE_COLORS",
    "draw_alpha_path",
    "draw_evidence",
    "draw_learning_curve",
    "draw_validation_curve",
    "draw_weight_norms",
    "featured_alphas",
    "representative_member",
    "validation_title",
]

PART_COLORS = {"train": "tab:blue", "val": "tab:orange"}
PART_NAMES = {"train": "train", "val": "validation"}
CHOSEN_COLOR = "tab:green"
ROLE_COLORS = {"smallest": "tab:purple", "chosen": CHOSEN_COLOR, "largest": "tab:brown"}
EVIDENCE_COLOR = "tab:purple"


def featured_alphas(result: SweepResult) -> list[tuple[int, list[str]]]:
    """The alphas shown in detail: the smallest, the chosen and the largest, as
    ``(alpha_index, roles)``; an alpha that plays two roles appears once.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> featured_alphas(SimpleNamespace(alphas=np.array([0.0, 1.0, 10.0]), best_index=0))
    [(0, ['smallest', 'chosen']), (2, ['largest'])]
    """
    roles: dict[int, list[str]] = {}
    for index, role in ((0, "smallest"), (result.best_index, "chosen"), (len(result.alphas) - 1, "largest")):
        if index is not None:
            roles.setdefault(int(index), []).append(role)
    return sorted(roles.items())


def representative_member(result: SweepResult, alpha_index: int) -> MemberRecord | None:
    """The member that stands for an alpha in the detailed figures: the first fold
    trained, preferring one that did not diverge; ``None`` if none is trained yet.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> members = [SimpleNamespace(alpha_index=0, fold=0, status="diverged"), SimpleNamespace(alpha_index=0, fold=1, status="ok")]
    >>> representative_member(SimpleNamespace(members=members), 0).fold
    1
    """
    candidates = sorted((m for m in result.members if m.alpha_index == alpha_index), key=lambda m: m.fold)
    candidates.sort(key=lambda m: m.status == "diverged")  # stable: fold order kept within each group
    return candidates[0] if candidates else None


def validation_title(result: SweepResult) -> str:
    """The validation curve's title: the rule and the chosen alpha.

    Examples
    --------
    >>> validation_title(digits_sweep)  # the doctests' shared sweep, conftest.py
    'Validation curve (min rule; chosen alpha = 1)'
    """
    best = result.best_index
    chosen = "no alpha chosen yet" if best is None else f"chosen alpha = {format_alpha(result.alphas[best])}"
    return f"Validation curve ({result.selection} rule; {chosen})"


def draw_validation_curve(ax: Any, result: SweepResult, kind: str = "score") -> dict[str, Any]:
    """Draw the mean train and validation ``kind`` (``"score"`` or ``"loss"``, the data loss)
    against alpha on ``ax``.

    Bands are one standard deviation over folds; the chosen alpha is marked (dashed line
    and star); the alphas successive halving stopped are crosses labeled with the epoch of
    their rung; with ``selection="1se"`` the score's one-standard-error threshold is drawn.

    Returns
    -------
    dict
        ``alpha``, ``x`` (where each alpha is drawn), ``train_{kind}``, ``train_{kind}_std``,
        ``val_{kind}``, ``val_{kind}_std``, ``stopped_at``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> data = draw_validation_curve(ax, digits_sweep)  # the doctests' shared sweep, conftest.py
    >>> bool(np.array_equal(data["val_score"], digits_sweep.cv_results["mean_test_score"]))
    True
    """
    cv = result.cv_results
    x = alpha_positions(result.alphas)
    data: dict[str, Any] = {"alpha": np.asarray(result.alphas), "x": x}
    for part in ("train", "val"):
        column = "test" if part == "val" else part  # the validation folds are cv_results' "test"
        mean, std = np.asarray(cv[f"mean_{column}_{kind}"]), np.asarray(cv[f"std_{column}_{kind}"])
        color = PART_COLORS[part]
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.18, linewidth=0)
        ax.plot(x, mean, "o-", ms=3.5, color=color, gid=f"mean_{column}_{kind}", label=f"{PART_NAMES[part]} mean")
        data[f"{part}_{kind}"], data[f"{part}_{kind}_std"] = mean, std
    best = result.best_index
    if best is not None:
        ax.axvline(x[best], ls="--", lw=1.2, color=CHOSEN_COLOR, gid="chosen", label="chosen alpha")
        ax.plot([x[best]], [cv[f"mean_test_{kind}"][best]], "*", ms=13, color=CHOSEN_COLOR, zorder=5)
    ax.set_ylabel(score_label(result.scoring) if kind == "score" else loss_label(result.task))
    set_alpha_axis(ax, result.alphas)
    ax.grid(alpha=0.3)
    stopped = np.isfinite(result.stopped_at)
    data["stopped_at"] = np.asarray(result.stopped_at)
    if stopped.any():
        # Alphas successive halving stopped: their (partial) validation means, marked apart.
        values = np.asarray(cv[f"mean_test_{kind}"])
        ax.plot(x[stopped], values[stopped], "x", ms=7, color="0.35", gid="stopped", label="stopped at a rung")
        for xi, yi, epoch in zip(x[stopped], values[stopped], result.stopped_at[stopped], strict=True):
            ax.annotate(f"{epoch:.0f}", (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize=7)
    if kind == "score" and result.threshold is not None:
        ax.axhline(result.threshold, ls=":", lw=1.4, color="tab:red", gid="threshold", label="1-SE threshold")
    ax.legend(fontsize=8, title=f"bands: \N{PLUS-MINUS SIGN}1 std over {result.n_folds} folds", title_fontsize=8)
    return data


def draw_evidence(ax: Any, result: SweepResult) -> Any:
    """Draw the Laplace log evidence of each alpha on a second y axis of ``ax`` (a twin
    sharing the alpha axis), where it was computed; returns the twin, or ``None`` if the
    sweep holds no evidence.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> set_alpha_axis(ax, digits_sweep.alphas)
    >>> twin = draw_evidence(ax, digits_sweep)  # the doctests' shared sweep, conftest.py
    >>> twin.get_ylabel()
    'log evidence (Laplace, GGN)'
    """
    evidence = np.asarray(result.log_evidence, dtype=np.float64)
    known = np.isfinite(evidence)
    if not known.any():
        return None
    x = alpha_positions(result.alphas)
    twin = ax.twinx()
    twin.plot(x[known], evidence[known], "D:", ms=4, color=EVIDENCE_COLOR, gid="log_evidence", label="log evidence")
    twin.set_ylabel("log evidence (Laplace, GGN)", color=EVIDENCE_COLOR)
    twin.legend(fontsize=8, loc="lower right")
    return twin


def draw_weight_norms(ax: Any, result: SweepResult) -> dict[str, Any]:
    """Draw the Frobenius norm of each penalized weight matrix (mean over folds) against
    alpha on ``ax``, with the chosen alpha dashed.

    Returns
    -------
    dict
        ``alpha``, ``x``, ``norms`` (``{layer: array}``), ``chosen_x``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> data = draw_weight_norms(Figure().subplots(), digits_sweep)  # the doctests' shared sweep, conftest.py
    >>> sorted(data["norms"])
    ['layers.0.weight', 'layers.1.weight']
    """
    x = alpha_positions(result.alphas)
    norms = {layer: result.mean_norms[:, j] for j, layer in enumerate(result.layers)}
    for layer, values in norms.items():
        ax.plot(x, values, "o-", ms=3.5, gid=f"mean_norm[{layer}]", label=layer)
    best = result.best_index
    if best is not None:
        ax.axvline(x[best], ls="--", lw=1.2, color=CHOSEN_COLOR, gid="chosen", label="chosen alpha")
    if not norms:
        ax.text(0.5, 0.5, "no weight norms recorded yet", transform=ax.transAxes, ha="center", va="center")
    else:
        ax.set_ylim(bottom=0.0)
        ax.legend(fontsize=8)
    ax.set_ylabel("Frobenius norm \N{DOUBLE VERTICAL LINE}W\N{DOUBLE VERTICAL LINE}_F (mean over folds)")
    set_alpha_axis(ax, result.alphas)
    ax.grid(alpha=0.3)
    ax.set_title("Weight norm of each penalized layer", fontsize=11)
    return {
        "alpha": np.asarray(result.alphas),
        "x": x,
        "norms": norms,
        "chosen_x": None if best is None else float(x[best]),
    }


def draw_learning_curve(ax: Any, result: SweepResult, alpha_index: int, roles: Sequence[str] = ()) -> dict[str, Any]:
    """Draw the train and validation data loss per epoch of the member that stands for
    ``alpha_index`` (:func:`representative_member`) on ``ax``; for the chosen alpha
    (``"chosen"`` in ``roles``) also the penalty term and the objective.

    Returns
    -------
    dict
        ``alpha_index``, ``alpha``, ``roles``, ``fold`` and ``status`` of the member shown
        (``None`` if none is trained) and its per-epoch ``epoch``, ``train_loss``,
        ``val_loss``, ``penalty``, ``objective`` arrays.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> panel = draw_learning_curve(Figure().subplots(), digits_sweep, 1, ["chosen"])  # conftest.py's sweep
    >>> panel["alpha"], panel["epoch"].tolist()
    (1.0, [1, 2, 3])
    """
    roles = list(roles)
    member = representative_member(result, alpha_index)
    alpha = float(result.alphas[alpha_index])
    panel: dict[str, Any] = {"alpha_index": alpha_index, "alpha": alpha, "roles": roles, "fold": None, "status": None}
    name = f"{' & '.join(roles) + ' ' if roles else ''}alpha = {format_alpha(alpha)}"
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    if member is None:
        ax.set_title(name, fontsize=10)
        ax.text(0.5, 0.5, "not trained yet", transform=ax.transAxes, ha="center", va="center")
        return panel
    history = member.history
    panel.update(fold=member.fold, status=member.status, epoch=np.array([h["epoch"] for h in history]))
    for key in ("train_loss", "val_loss", "penalty", "objective"):
        panel[key] = np.array([_number(h.get(key)) for h in history])
    ax.plot(panel["epoch"], panel["train_loss"], color=PART_COLORS["train"], gid="train_loss", label="train")
    ax.plot(panel["epoch"], panel["val_loss"], color=PART_COLORS["val"], gid="val_loss", label="validation")
    if "chosen" in roles:
        ax.plot(panel["epoch"], panel["penalty"], color="tab:red", gid="penalty", label="penalty term")
        ax.plot(panel["epoch"], panel["objective"], "k--", lw=1, gid="objective", label="objective (train)")
    if member.best_epoch and member.best_epoch != len(history):
        ax.axvline(member.best_epoch, ls=":", color="0.4", label=f"kept (epoch {member.best_epoch})")
    note = "" if member.status != "diverged" else ", diverged"
    ax.set_title(f"{name} (fold {member.fold}{note})", fontsize=10)
    ax.legend(fontsize=8)
    return panel


def draw_alpha_path(ax: Any, paths: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Draw learned alphas over the epochs on ``ax``: one line per ``name: (epochs, alphas)``
    (``"alpha"`` for one alpha of the whole network, a layer's name for a per-layer alpha),
    on a log scale when every alpha is positive.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> draw_alpha_path(ax, {"alpha": (np.array([5, 10]), np.array([0.1, 0.4]))})
    >>> ax.get_yscale(), ax.get_lines()[0].get_gid()
    ('log', 'alpha')
    """
    for name, (epochs, alphas) in paths.items():
        ax.plot(epochs, alphas, "o-", ms=3.5, gid=name, label=name)
    values = np.concatenate([alphas for _, alphas in paths.values()] or [np.zeros(0)])
    if values.size and (values > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("alpha (learned)")
    ax.grid(alpha=0.3)
    if len(paths) > 1:
        ax.legend(fontsize=8)
    ax.set_title("Alpha learned during the fit", fontsize=11)


def _number(value: Any) -> float:
    """A history value as a float; JSON stores a non-finite one as null."""
    return float("nan") if value is None else float(value)
