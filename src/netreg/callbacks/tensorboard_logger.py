"""Per-epoch curves in TensorBoard, through PyTorch's ``SummaryWriter``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from netreg.callbacks._common import epoch_scalars, member_prefix, require
from netreg.exceptions import invalid
from netreg.tuning.records import MemberRecord
from netreg.tuning.sweep_hooks import SweepCallback
from netreg.tuning.sweep_result import SweepResult

__all__ = ["TensorBoardCallback"]


class TensorBoardCallback(SweepCallback):
    """Write each member's per-epoch curves to TensorBoard event files in ``log_dir``.

    Every number of each epoch's record (:mod:`netreg.history`) is a scalar whose step is the
    epoch (``train_loss``, ..., each penalized layer's norm as ``weight_norm/<parameter>``).

    - Given to a plain estimator's ``fit(callback=...)``, the tags are those names.
    - Given to a CV estimator's ``fit(callback=...)`` (or :func:`~netreg.tuning.run_sweep`),
      each member's tags begin with its alpha and fold, ``alpha=0.01/fold=2/train_loss``.
      A member's curves are written when it is kept (on the driver, so whatever the
      backend); the members a resumed sweep found in its store, when it ends.

    The writer is opened at the first event and closed when the fit (or sweep) ends.

    Parameters
    ----------
    log_dir : str or path-like
        The folder of the event files (made if missing), as TensorBoard's ``--logdir``.

    Raises
    ------
    MissingDependencyError
        If TensorBoard is not installed (``pip install "netreg[tensorboard]"``).
    InvalidParameterError
        If ``log_dir`` is not a path.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> from netreg import NetRegRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(40, 3, random_state=0)
    >>> log_dir = tempfile.mkdtemp()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # three epochs do not converge
    ...     model = NetRegRegressor((4,), max_iter=3, random_state=0).fit(X, y, callback=TensorBoardCallback(log_dir))
    >>> os.listdir(log_dir)[0].startswith("events.out.tfevents")
    True
    """

    def __init__(self, log_dir: str | os.PathLike) -> None:
        if not isinstance(log_dir, str | os.PathLike) or not os.fspath(log_dir):
            raise invalid("log_dir", "a folder path", log_dir)
        self._summary = require(
            "torch.utils.tensorboard", what="TensorBoardCallback", package="TensorBoard", extra="tensorboard"
        )
        self.log_dir = os.fspath(log_dir)
        self._writer: Any = None
        self._in_sweep = False
        self._n_members = 1
        self._logged: set[tuple[int, int]] = set()

    def on_train_begin(self, info: Mapping[str, Any]) -> None:
        self._n_members = int(info.get("n_members", 1))

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
        if self._in_sweep:  # a sweep's members are written whole when kept
            return
        for member, record in records.items():
            prefix = f"member={member}/" if self._n_members > 1 else ""
            for name, value in epoch_scalars(record):
                self._open().add_scalar(prefix + name, value, global_step=epoch)

    def on_train_end(self, result: Any) -> None:
        if not self._in_sweep:
            self._close()

    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        self._in_sweep = True
        self._logged = set()

    def on_member_stored(self, record: MemberRecord) -> None:
        self._logged.add(record.key)
        prefix = member_prefix(record.alpha, record.fold)
        writer = self._open()
        for entry in record.history:
            for name, value in epoch_scalars(entry):
                writer.add_scalar(f"{prefix}/{name}", value, global_step=int(entry["epoch"]))

    def on_sweep_end(self, result: SweepResult) -> None:
        for record in result.members:  # those a resumed sweep read from its store
            if record.key not in self._logged:
                self.on_member_stored(record)
        self._in_sweep = False
        self._close()

    def _open(self) -> Any:
        if self._writer is None:
            self._writer = self._summary.SummaryWriter(log_dir=self.log_dir)
        return self._writer

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
