"""Callbacks users attach to a fit: the table of them, and the trackers (TensorBoard, MLflow).

:class:`Callback` (the engine's hooks, :mod:`netreg.engine.hooks`) is what a plain estimator's
``fit(callback=...)`` takes; :class:`SweepCallback` (:mod:`netreg.tuning.sweep_hooks`) adds a
sweep's hooks, for a CV estimator's. The trackers defined here, :class:`TensorBoardCallback`
and :class:`MLflowCallback`, are sweep callbacks, so either ``fit`` takes them; each needs its
optional extra, imported only when one is made. :func:`tracker_callbacks` makes them from the
command line's ``--log`` values.
"""

from __future__ import annotations

from collections.abc import Sequence

from netreg.callbacks.mlflow_logger import MLflowCallback
from netreg.callbacks.tensorboard_logger import TensorBoardCallback
from netreg.engine.hooks import Callback
from netreg.tuning.sweep_hooks import SweepCallback

__all__ = ["Callback", "SweepCallback", "TensorBoardCallback", "MLflowCallback", "TRACKERS", "tracker_callbacks"]

#: The trackers by the name ``--log`` gives them (``--log tensorboard:DIR``, ``--log mlflow:URI``).
TRACKERS = {"tensorboard": TensorBoardCallback, "mlflow": MLflowCallback}


def tracker_callbacks(logs: Sequence[tuple[str, str]]) -> list[SweepCallback]:
    """The trackers of ``(name, target)`` pairs: a :data:`TRACKERS` name and its folder or tracking URI.

    Raises
    ------
    MissingDependencyError
        If a tracker's library is not installed.

    Examples
    --------
    >>> tracker_callbacks([])
    []
    """
    return [TRACKERS[name](target) for name, target in logs]
