"""Callbacks users attach to a fit: the table of them, and the trackers (TensorBoard, MLflow).

netreg has two kinds of callback, each defined beside the code that calls it, and this
package is where a user finds them:

- :class:`Callback` (defined in :mod:`netreg.engine.hooks`): the engine's hooks
  (``on_train_begin``, ``on_epoch_end``, ``on_member_end``, ``on_train_end``), which a plain
  estimator's ``fit(callback=...)`` takes;
- :class:`SweepCallback` (defined in :mod:`netreg.tuning.sweep_hooks`): those plus a sweep's
  (``on_sweep_begin``, ``on_member_stored``, ``on_sweep_end``) and a CV estimator's
  ``on_fit_end``, which a CV estimator's ``fit(callback=...)`` takes;
- the trackers, defined here (a layer above tuning, since they log a sweep and save its
  model): :class:`TensorBoardCallback` and :class:`MLflowCallback`. Both are sweep callbacks,
  so either ``fit`` takes them. Each needs an optional extra (``pip install
  "netreg[tensorboard]"``, ``"netreg[mlflow]"``), imported only when one is made.

:func:`tracker_callbacks` makes them from the command line's ``--log`` values.
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
