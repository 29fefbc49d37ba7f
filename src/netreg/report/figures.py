"""The report's figures, drawn from a :class:`~netreg.tuning.sweep.SweepResult`.

Each function returns the matplotlib ``Figure`` and the data it plotted, as plain arrays,
so that a test can hold the figure against the results table. Lines drawn from the table
carry its column name as their ``gid`` (``"mean_test_score"``, ``"mean_norm[layers.0.weight]"``).

Figures are built on matplotlib's object API with the Agg canvas, never through pyplot:
no global figure registry to leak, no display backend to pick.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from netreg.report.axes import alpha_positions, format_alpha, loss_label, score_label, set_alpha_axis
from netreg.tuning.records import MemberRecord
from netreg.tuning.results import SweepResult
from netreg.tuning.store import SweepStore

__all__ = [
    "new_figure",
    "featured_alphas",
    "learning_curves",
    "representative_member",
    "validation_curve",
    "weight_histograms",
    "weight_norm_curve",
]

PART_COLORS = {"train": "tab:blue", "val": "tab:orange"}
PART_NAMES = {"train": "train", "val": "validation"}
CHOSEN_COLOR = "tab:green"
ROLE_COLORS = {"smallest": "tab:purple", "chosen": CHOSEN_COLOR, "largest": "tab:brown"}


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


def validation_curve(result: SweepResult) -> tuple[Figure, dict[str, Any]]:
    """Mean train and validation score (left) and data loss (right) against alpha.

    Bands are one standard deviation over folds; the chosen alpha is marked, and with
    ``selection="1se"`` the one-standard-error threshold is drawn.

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``alpha``, ``x`` (where each alpha is drawn), ``{part}_{kind}`` and
        ``{part}_{kind}_std`` for part in train/val and kind in score/loss,
        ``chosen_alpha``, ``chosen_x``, ``threshold`` (``None`` where not drawn).

    Examples
    --------
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> figure, data = validation_curve(result)
    >>> bool(np.array_equal(data["val_score"], result.cv_results["mean_test_score"]))
    True
    """
    cv = result.cv_results
    x = alpha_positions(result.alphas)
    figure = new_figure(11.0, 4.2)
    axes = figure.subplots(1, 2)
    data: dict[str, Any] = {"alpha": np.asarray(result.alphas), "x": x}
    best = result.best_index
    for ax, kind in zip(axes, ("score", "loss"), strict=True):
        for part in ("train", "val"):
            column = "test" if part == "val" else part  # the validation folds are cv_results' "test"
            mean, std = np.asarray(cv[f"mean_{column}_{kind}"]), np.asarray(cv[f"std_{column}_{kind}"])
            color = PART_COLORS[part]
            ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.18, linewidth=0)
            ax.plot(x, mean, "o-", ms=3.5, color=color, gid=f"mean_{column}_{kind}", label=f"{PART_NAMES[part]} mean")
            data[f"{part}_{kind}"], data[f"{part}_{kind}_std"] = mean, std
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
        for ax, kind in zip(axes, ("score", "loss"), strict=True):
            values = np.asarray(cv[f"mean_test_{kind}"])
            ax.plot(x[stopped], values[stopped], "x", ms=7, color="0.35", gid="stopped", label="stopped at a rung")
            for xi, yi, epoch in zip(x[stopped], values[stopped], result.stopped_at[stopped], strict=True):
                ax.annotate(f"{epoch:.0f}", (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize=7)
    data["threshold"] = result.threshold
    if result.threshold is not None:
        axes[0].axhline(result.threshold, ls=":", lw=1.4, color="tab:red", gid="threshold", label="1-SE threshold")
    for ax in axes:
        ax.legend(fontsize=8, title=f"bands: \N{PLUS-MINUS SIGN}1 std over {result.n_folds} folds", title_fontsize=8)
    data["chosen_alpha"] = None if best is None else float(result.alphas[best])
    data["chosen_x"] = None if best is None else float(x[best])
    chosen = "no alpha chosen yet" if best is None else f"chosen alpha = {format_alpha(result.alphas[best])}"
    figure.suptitle(f"Validation curve ({result.selection} rule; {chosen})", fontsize=11)
    return figure, data


def weight_norm_curve(result: SweepResult) -> tuple[Figure, dict[str, Any]]:
    """Frobenius norm of each penalized weight matrix (mean over folds) against alpha.

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``alpha``, ``x``, ``norms`` (``{layer: array}``), ``chosen_x``.

    Examples
    --------
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> figure, data = weight_norm_curve(result)
    >>> sorted(data["norms"])
    ['layers.0.weight', 'layers.1.weight']
    """
    x = alpha_positions(result.alphas)
    figure = new_figure(6.5, 4.2)
    ax = figure.subplots()
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
    data = {"alpha": np.asarray(result.alphas), "x": x, "norms": norms}
    data["chosen_x"] = None if best is None else float(x[best])
    return figure, data


def learning_curves(result: SweepResult) -> tuple[Figure, dict[str, Any]]:
    """Train and validation data loss per epoch for the smallest, chosen and largest alpha.

    Each alpha is shown by one member (:func:`representative_member`). The chosen
    alpha's panel also shows the penalty term and the objective (data loss + penalty).

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``panels``: one dict per alpha of :func:`featured_alphas`, with ``alpha_index``,
        ``alpha``, ``roles``, ``fold`` and ``status`` of the member shown (``None`` if
        none is trained) and its per-epoch ``epoch``, ``train_loss``, ``val_loss``,
        ``penalty``, ``objective`` arrays.

    Examples
    --------
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> figure, data = learning_curves(result)
    >>> [(panel["alpha"], panel["roles"], panel["epoch"].tolist()) for panel in data["panels"]]
    [(0.0, ['smallest'], [1, 2, 3]), (1.0, ['chosen', 'largest'], [1, 2, 3])]
    """
    featured = featured_alphas(result)
    figure = new_figure(4.0 * len(featured) + 1.0, 4.0)
    axes = np.atleast_1d(figure.subplots(1, len(featured), sharey=True, squeeze=False)[0])
    panels = []
    for ax, (index, roles) in zip(axes, featured, strict=True):
        member = representative_member(result, index)
        alpha = float(result.alphas[index])
        panel: dict[str, Any] = {"alpha_index": index, "alpha": alpha, "roles": roles, "fold": None, "status": None}
        name = f"{' & '.join(roles)} alpha = {format_alpha(alpha)}"
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if member is None:
            ax.set_title(name, fontsize=10)
            ax.text(0.5, 0.5, "not trained yet", transform=ax.transAxes, ha="center", va="center")
            panels.append(panel)
            continue
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
        panels.append(panel)
    axes[0].set_ylabel(loss_label(result.task))
    figure.suptitle("Learning curves (data loss without penalty; the penalty term shown apart)", fontsize=11)
    return figure, {"panels": panels}


def weight_histograms(result: SweepResult, store: SweepStore) -> tuple[Figure, dict[str, Any]]:
    """Histograms of each penalized layer's weights at the smallest, chosen and largest alpha.

    The weights are the member's kept weights, read from ``store``
    (:class:`~netreg.tuning.store.SweepStore`), of the member :func:`representative_member`
    picks. Counts are on a log scale so that the tails stay visible next to the peak
    at zero that a large alpha makes.

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``layers``: ``{layer: {"bins": edges, "alphas": [{"alpha_index", "alpha",
        "roles", "fold", "values", "counts"}]}}``.

    Examples
    --------
    >>> from netreg.tuning import SweepStore
    >>> with SweepStore.read(digits_store) as store:  # the doctests' shared sweep and its store (conftest.py)
    ...     figure, data = weight_histograms(digits_sweep, store)
    >>> [entry["values"].size for entry in data["layers"]["layers.0.weight"]["alphas"]]
    [512, 512]
    """
    layers = result.layers
    featured = [(i, roles, representative_member(result, i)) for i, roles in featured_alphas(result)]
    featured = [(i, roles, member) for i, roles, member in featured if member is not None]
    weights = {i: store.weights(i, member.fold) for i, _, member in featured}
    figure = new_figure(8.0, 0.6 + 2.6 * max(len(layers), 1))
    axes = np.atleast_1d(figure.subplots(max(len(layers), 1), 1, squeeze=False)[:, 0])
    data: dict[str, Any] = {"layers": {}}
    if not layers:
        axes[0].text(0.5, 0.5, "no penalized weights recorded yet", transform=axes[0].transAxes, ha="center")
    for ax, layer in zip(axes, layers, strict=False):  # without layers, one axis holds the note above
        values = {i: weights[i][layer].detach().double().numpy().ravel() for i, _, _ in featured}
        finite = np.concatenate([v[np.isfinite(v)] for v in values.values()] or [np.zeros(0)])
        bins = np.histogram_bin_edges(finite if finite.size else [0.0], bins=60)
        entries = []
        for index, roles, member in featured:
            shown = values[index][np.isfinite(values[index])]
            color = ROLE_COLORS["chosen" if "chosen" in roles else roles[0]]
            label = f"{' & '.join(roles)} alpha = {format_alpha(result.alphas[index])}"
            counts, _, _ = ax.hist(shown, bins=bins, histtype="step", lw=1.6, color=color, label=label)
            entries.append(
                {
                    "alpha_index": index,
                    "alpha": float(result.alphas[index]),
                    "roles": roles,
                    "fold": member.fold,
                    "values": values[index],
                    "counts": np.asarray(counts),
                }
            )
        shape = "\N{MULTIPLICATION SIGN}".join(str(n) for n in weights[featured[0][0]][layer].shape) if featured else ""
        ax.set_title(f"{layer} ({shape})", fontsize=10)
        ax.set_yscale("log")
        ax.set_ylabel("count (log scale)")
        ax.set_xlabel("weight value")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        data["layers"][layer] = {"bins": bins, "alphas": entries}
    figure.suptitle("Weights of each penalized layer (one member per alpha)", fontsize=11)
    return figure, data


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of that size (inches), drawn off screen, laid out by matplotlib."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _number(value: Any) -> float:
    """A history value as a float; JSON stores a non-finite one as null."""
    return float("nan") if value is None else float(value)
