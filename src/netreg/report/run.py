"""A run folder's report: ``sweep.sqlite`` (the results store) read with ``run.json``, which says how to read it::

    {"scoring": "neg_log_loss", "selection": "1se",
     "title": "Digits, 64-32-10 MLP", "data": "sklearn digits, 1797 rows", "target": "digit 0-9"}

``scoring`` is required; ``selection`` defaults to ``"min"``; the others are optional text, and
``test`` the held-out scores (:mod:`netreg.report.heldout`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from netreg.exceptions import StoreError, bad_data
from netreg.io.models import MODEL_FILE, load_model
from netreg.io.run_folder import RUN_FILE, STORE_FILE, RunFolder
from netreg.json_fields import FINITE_NUMBER, Is, Items, Keys, Value, check_fields
from netreg.report.heldout import TEST_SPEC
from netreg.report.learned import write_learned_report
from netreg.report.page import write_report
from netreg.tuning.store import SweepStore
from netreg.tuning.sweep_result import SweepResult

__all__ = ["read_run_file", "report_run"]

_EXAMPLE = '{"scoring": "neg_log_loss", "selection": "min"}'
_TEXT = Is(str, expected="a str")
#: What ``search="hybrid"``'s fit learned (:func:`netreg.report.learned.learned_record`), drawn first.
_NUMBER_OR_NULL = Is(int, float, None, expected="a number or null")
#: An alpha as ``alpha_history_`` records it: one number, or one per penalized weight.
_ALPHA = Value(
    "a number >= 0, or an object of them by parameter name",
    lambda value: all(
        isinstance(a, int | float) and not isinstance(a, bool) and a >= 0
        for a in (value.values() if isinstance(value, dict) else [value])
    ),
)
_LEARNED_SPEC = Keys(
    {
        "centre": FINITE_NUMBER,
        "alpha_history": Items(
            Keys({"epoch": FINITE_NUMBER, "alpha": _ALPHA}, optional={"log_evidence": _NUMBER_OR_NULL}, others=True),
            min_items=0,
            expected="a list",
        ),
    },
    optional={"alpha": _ALPHA, "log_evidence": _NUMBER_OR_NULL},
    expected="a JSON object",
)
_RUN_SPEC = Keys(
    {"scoring": _TEXT},
    optional={
        "selection": _TEXT,
        "title": _TEXT,
        "data": _TEXT,
        "target": _TEXT,
        "test": TEST_SPEC,
        "learned": _LEARNED_SPEC,
    },
    # What netreg.runs.write_run_files records besides the report's settings (the report
    # reads none of it; a key outside these is a typo, such as "selction").
    ignored=("made_by", "task", "command", "alpha", "threshold", "n_folds", "missing"),
    expected="a JSON object",
    hint=f"Write the settings the sweep used, for example {_EXAMPLE}.",
)


def report_run(run_dir: str | os.PathLike) -> Path:
    """Write the report of the sweep in ``run_dir``; returns the path of ``report.html``.

    A folder of ``netreg train --alpha auto`` (no sweep: a model that learned alpha in its
    one fit) gets the report of what it learned (:mod:`netreg.report.learned`). The sweep
    may be finished or not: a partial sweep's report lists the members still
    missing, and says so if no alpha can be chosen yet. The figures (PNG) and
    ``report.html`` are written into ``run_dir``.

    Raises
    ------
    DataError
        If ``run_dir`` is not a folder, or its ``run.json`` is missing or malformed.
    StoreError
        If ``run_dir`` holds no readable ``sweep.sqlite``.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> from netreg import NetRegClassifier
    >>> from netreg.tuning import plan_sweep, run_sweep
    >>> X, y = load_digits(return_X_y=True)
    >>> run_dir = tempfile.mkdtemp()
    >>> net = NetRegClassifier((8,), max_iter=3, random_state=0)
    >>> plan = plan_sweep(net, X[:90] / 16, y[:90], alphas=[0.0, 1.0], cv=2, require_seed=True)
    >>> _ = run_sweep(plan, scoring="accuracy", store=os.path.join(run_dir, "sweep.sqlite"))
    >>> with open(os.path.join(run_dir, "run.json"), "w") as file:
    ...     json.dump({"scoring": "accuracy", "title": "Digits"}, file)
    >>> report_run(run_dir).name
    'report.html'
    """
    run = RunFolder(run_dir)
    folder = run.path
    if not folder.is_dir():
        raise bad_data(f"No run folder at {str(folder)!r}", f"a folder holding {STORE_FILE} and {RUN_FILE}")
    if not run.store.is_file() and not run.run_json.is_file() and (run.model / MODEL_FILE).is_file():
        learned = _learned_report(run)  # netreg train --alpha auto: one fit, no sweep
        if learned is not None:
            return learned
    settings = read_run_file(folder)
    store_path = run.store
    if not store_path.is_file():
        raise StoreError(
            f"The run folder {str(folder)!r} has no results store {STORE_FILE}; "
            f"run the sweep with store={str(store_path)!r} first."
        )
    with SweepStore.read(store_path) as store:
        result = SweepResult.from_members(
            store.spec(),
            store.members(),
            scoring=settings["scoring"],
            selection=settings.get("selection", "min"),
            require_choice=False,
        )
        return write_report(
            result,
            store,
            folder,
            title=settings.get("title"),
            data=settings.get("data"),
            target=settings.get("target"),
            test=settings.get("test"),
            learned=settings.get("learned"),
        )


def _learned_report(run: RunFolder) -> Path | None:
    """The report of a run folder whose model learned alpha in its one fit (``None`` for
    another model): what it learned and alpha's path (:mod:`netreg.report.learned`)."""
    saved = load_model(run.model)
    estimator = saved.estimator
    if estimator.get_params()["alpha"] != "auto" or not hasattr(estimator, "alpha_history_"):
        return None
    extra = saved.meta.get("extra") or {}
    test = {"alpha learned in the fit": extra["test"]} if isinstance(extra.get("test"), dict) else None
    return write_learned_report(
        estimator, run.path, title="netreg training report", data=extra.get("data"), target=saved.target, test=test
    )


def read_run_file(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The settings in ``run_dir/run.json``, checked.

    Raises
    ------
    DataError
        If the file is missing, is not a JSON object, lacks ``scoring``, has an unknown
        key, or a value of the wrong type (the message names the file and the field).

    Examples
    --------
    >>> import tempfile
    >>> from netreg.exceptions import DataError
    >>> folder = tempfile.mkdtemp()
    >>> try:
    ...     read_run_file(folder)
    ... except DataError as error:
    ...     message = str(error)
    >>> message.split(";")[0] == f"The run folder {folder!r} has no run.json"
    True
    """
    folder = Path(run_dir)
    path = RunFolder(folder).run_json
    if not path.is_file():
        raise bad_data(
            f"The run folder {str(folder)!r} has no {RUN_FILE}", f"a JSON file such as {_EXAMPLE} beside {STORE_FILE}"
        )
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise bad_data(
            f"{str(path)!r} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})",
            f"an object such as {_EXAMPLE}",
        ) from None
    check_fields(settings, _RUN_SPEC, source=repr(str(path)))
    return settings
