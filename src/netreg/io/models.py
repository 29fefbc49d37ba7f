"""Saved models: a folder with the weights in safetensors and everything else in JSON.

Layout of a model folder::

    model.json          format, versions, estimator and its parameters, architecture,
                        task, classes, preprocessing, target, feature names, training summary
    weights.safetensors the network's parameters

A model of several members (the fold models of ``refit="folds"``,
:class:`~netreg.estimators.folds.FoldsAverage`) is one folder too: ``model.json``
describes the first member and says ``"members": K``; the weights file holds each
member's parameters under the prefix ``"<k>."``. It loads as the members' average.

No pickle: loading a model executes no code from the file. :func:`load_model` checks,
before it builds anything, that both files are regular files of a plausible size (never
links, FIFOs or devices: :mod:`netreg.io.model_files`), the format and version, that
every field is present and well-typed (:mod:`netreg.io.model_meta`), that the network
fits in memory and the fields agree with each other (:mod:`netreg.io.model_checks`), and
that the weights are exactly the architecture's tensors; it refuses anything else with a
:class:`ModelFormatError`.

A model is written to a private temporary folder first and moved into place under a
lock of the folder above, so an interrupted save never leaves half a model, concurrent
saves take turns, and nothing is left beside the model folder (the temporary folder of a
save that was killed is removed by the next save beside it). Both files get the
permissions of any file the user writes (``0666`` less the umask). An existing different
model is not overwritten unless asked (``force=True``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.base import clone

from netreg.estimators import FittedState, set_fitted_state
from netreg.estimators.folds import FoldsAverage
from netreg.exceptions import ModelFormatError, NetRegError
from netreg.history import History
from netreg.io.model_checks import (
    MAX_META_BYTES,
    check_declared,
    check_history,
    check_params_match,
    check_weights,
    preprocessor_from,
    weights_limit,
)
from netreg.io.model_files import read_model_file, staging_folder, swap_into_place, write_new_file
from netreg.io.model_meta import (
    FORMAT,
    FORMAT_VERSION,
    MODEL_FILE,
    WEIGHTS_FILE,
    check_meta,
    estimator_from_meta,
    model_metadata,
    target_transformer_from,
)
from netreg.nets import MLP
from netreg.safe_files import write_error
from netreg.tables import fingerprints
from netreg.tables.preprocessing import TablePreprocessor

#: The most members a model folder may hold (the folds of a cross-validation).
MAX_MEMBERS = 100

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MODEL_FILE",
    "WEIGHTS_FILE",
    "SavedModel",
    "save_model",
    "load_model",
    "check_model_folder",
]


@dataclass
class SavedModel:
    """A loaded model: the fitted estimator, its preprocessing, and the saved metadata."""

    estimator: Any
    preprocessor: TablePreprocessor | None
    meta: dict[str, Any]

    @property
    def target(self) -> str | None:
        """Name of the target column the model was trained on."""
        return self.meta.get("target")


def save_model(
    estimator: Any,
    path: str | os.PathLike,
    *,
    preprocessor: TablePreprocessor | None = None,
    target: str | None = None,
    extra: dict[str, Any] | None = None,
    fingerprint: str | None = None,
    force: bool = False,
) -> Path:
    """Write a fitted :class:`netreg.NetRegClassifier` or :class:`netreg.NetRegRegressor` to a folder.

    Parameters
    ----------
    estimator : NetRegClassifier, NetRegRegressor or FoldsAverage (or a CV estimator: its ``best_estimator_``)
        Fitted.
    path : path
        The model folder (created).
    preprocessor : TablePreprocessor, optional
        The fitted preprocessing of the raw table, applied again by :func:`load_model`'s
        users before predicting.
    target : str, optional
        Name of the target column.
    extra : dict, optional
        JSON-serializable information to keep (held-out score, data file, ...).
    fingerprint : str, optional
        What identifies this model for overwrite checks; a command passes a digest of its
        data and settings (:func:`check_model_folder`), so rerunning the same command may
        replace the model it made before. Default: a digest of the settings and weights.
    force : bool, default=False
        Replace a different model already in ``path``.

    Returns
    -------
    Path
        The model folder.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = NetRegClassifier((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> folder = save_model(model, tempfile.mkdtemp() + "/iris")
    >>> bool((load_model(folder).estimator.predict(X) == model.predict(X)).all())
    True
    """
    estimator = getattr(estimator, "best_estimator_", estimator)
    members = estimator.estimators_ if isinstance(estimator, FoldsAverage) else [estimator]
    estimator = members[0]
    if not hasattr(estimator, "module_"):
        raise ModelFormatError(f"Only a fitted estimator can be saved; got an unfitted {type(estimator).__name__}.")
    if not isinstance(estimator.module_, MLP):
        raise ModelFormatError(
            f"A model folder describes netreg's MLP in JSON, without code; this estimator trained its own module "
            f"({type(estimator.module_).__name__}). Pickle the estimator (pickle or joblib), or save the module's "
            "weights with torch.save(estimator.module_.state_dict(), path)."
        )
    path = Path(path)
    meta = model_metadata(estimator, preprocessor, target, extra or {})
    states = [member.module_.state_dict() for member in members]
    if len(members) > 1:
        meta["members"] = len(members)
        meta["fingerprint"] = fingerprints.fingerprint(
            meta["fingerprint"], *(tensor.detach().cpu().numpy() for state in states[1:] for tensor in state.values())
        )
    if fingerprint is not None:
        meta["fingerprint"] = fingerprint
    check_model_folder(path, meta["fingerprint"], force=force)
    weights = save_tensors(
        {
            (f"{k}.{name}" if len(members) > 1 else name): tensor.detach().cpu().contiguous()
            for k, state in enumerate(states)
            for name, tensor in state.items()
        }
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with staging_folder(path, (MODEL_FILE, WEIGHTS_FILE)) as staging:
            write_new_file(staging / WEIGHTS_FILE, weights)
            write_new_file(staging / MODEL_FILE, json.dumps(meta, indent=2).encode("utf-8"))
            # Under a lock of the folder above: a concurrent save waits, then finds this model.
            swap_into_place(staging, path, lambda: check_model_folder(path, meta["fingerprint"], force=force))
    except OSError as error:
        raise write_error(path, error) from None
    return path


def check_model_folder(path: str | os.PathLike, fingerprint: str, *, force: bool = False) -> None:
    """Refuse to write a model into ``path`` if it holds a different one (unless ``force``).

    "Different" means another fingerprint, or a ``model.json`` that cannot be read. Commands
    call this before they train, so that a refusal costs nothing.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ModelFormatError(f"{str(path)!r} is a file; expected a folder for the model.")
    existing = path / MODEL_FILE
    if path.is_dir() and not existing.exists() and any(path.iterdir()):
        # Not a model folder: whatever is in it is not ours to replace, not even with force.
        raise ModelFormatError(
            f"{str(path)!r} is a folder with other files and no {MODEL_FILE}; a model is not written "
            "over it. Choose an empty or new folder."
        )
    if force or not existing.exists():
        return
    try:
        same = json.loads(read_model_file(existing, MAX_META_BYTES, "a model.json may hold")).get("fingerprint")
        same = same == fingerprint
    except (OSError, ValueError, AttributeError, RecursionError, NetRegError):
        same = False  # unreadable, a link, a FIFO: not a model this command made
    if not same:
        raise ModelFormatError(
            f"{str(path)!r} already holds a different model; it was not overwritten. "
            "Choose another folder, or pass `force=True` to replace it."
        )


def load_model(path: str | os.PathLike) -> SavedModel:
    """Load a model folder written by :func:`save_model`, checking everything on the way.

    Raises
    ------
    ModelFormatError
        If the folder or a file is missing, a file is a link, not a regular file, too
        large, corrupt or truncated, the format or its version is not this netreg's, a
        field is missing or of the wrong type, the network would not fit in memory, the
        fields disagree (task, classes, outputs, preprocessing, parameters), or the
        weights do not fit the architecture.
    """
    path = Path(path)
    where = str(path)
    if not path.is_dir():
        raise ModelFormatError(f"No model folder at {where!r}; expected a folder with {MODEL_FILE} and {WEIGHTS_FILE}.")
    try:
        meta = json.loads(read_model_file(path / MODEL_FILE, MAX_META_BYTES, "a model.json may hold"))
    except FileNotFoundError:
        raise ModelFormatError(f"{where!r} has no {MODEL_FILE}; it is not a netreg model folder.") from None
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise ModelFormatError(f"{where}/{MODEL_FILE} is corrupt ({reason}); expected the JSON netreg wrote.") from None
    check_meta(meta, where)
    n_members = meta.get("members", 1)
    if not isinstance(n_members, int) or isinstance(n_members, bool) or not 1 <= n_members <= MAX_MEMBERS:
        raise ModelFormatError(
            f'{where}/{MODEL_FILE} has "members": {n_members!r}; expected an int from 1 to {MAX_MEMBERS}.'
        )
    estimator = estimator_from_meta(meta, where)  # its parameters only: nothing large
    # Everything the fields declare is checked before anything of their size is built.
    check_declared(meta, where)
    preprocessor = preprocessor_from(meta, where)
    try:
        data = read_model_file(
            path / WEIGHTS_FILE, n_members * weights_limit(meta), "the network in model.json can need"
        )
        weights = load_tensors(data)
    except FileNotFoundError:
        raise ModelFormatError(f"{where!r} has no {WEIGHTS_FILE}; the model's weights are missing.") from None
    except (SafetensorError, ValueError) as error:
        raise ModelFormatError(f"{where}/{WEIGHTS_FILE} is corrupt or truncated ({error}).") from None
    if n_members == 1:
        _load_member(estimator, meta, weights, where)
        return SavedModel(estimator, preprocessor, meta)
    members = []
    for k in range(n_members):
        prefix = f"{k}."
        own = {name[len(prefix) :]: tensor for name, tensor in weights.items() if name.startswith(prefix)}
        members.append(_load_member(clone(estimator), meta, own, where))
    extra = sorted(
        set(weights) - {f"{k}.{name}" for k, member in enumerate(members) for name in member.module_.state_dict()}
    )
    if extra:
        raise ModelFormatError(f"{where}/{WEIGHTS_FILE} holds tensors of no member: {', '.join(extra[:5])}.")
    return SavedModel(FoldsAverage(members), preprocessor, meta)


def _load_member(estimator: Any, meta: dict[str, Any], weights: dict[str, torch.Tensor], where: str) -> Any:
    """``estimator`` fitted with ``weights``, as ``meta`` describes it."""
    architecture = meta["architecture"]
    try:
        module = MLP(
            architecture["n_features"],
            tuple(architecture["hidden_layer_sizes"]),
            architecture["n_outputs"],
            activation=architecture["activation"],
            dropout=architecture["dropout"],
        ).to(getattr(torch, estimator.dtype))
    except NetRegError as error:
        raise ModelFormatError(f"{where}/{MODEL_FILE} describes an invalid network: {error}") from None
    check_params_match(meta, where)
    check_weights(weights, module, where)
    module.load_state_dict(weights)
    training = meta["training"]
    history = History.from_json(meta.get("history", "[]"))
    check_history(training, history, where)
    state = FittedState(
        module=module,
        task=meta["task"],
        classes=None if meta["classes"] is None else np.asarray(meta["classes"]),
        y_ndim=meta["y_ndim"],
        n_features=architecture["n_features"],
        feature_names=meta["feature_names"],
        history=history,
        status=str(training["status"]),
        n_samples_seen=int(training.get("n_samples_seen", 0)),
        validated=bool(training.get("validated", False)),
    )
    if meta.get("target_transform") is not None:
        scaler = target_transformer_from(meta["target_transform"], module.n_outputs, where)
        estimator.set_params(transformer=clone(scaler))
        state.target_transformer = scaler
    set_fitted_state(estimator, state)
    if estimator.alpha == "auto":
        alpha = meta["alpha"]
        estimator.alpha_ = dict(alpha) if isinstance(alpha, dict) else float(alpha)
        learned = meta.get("auto") or {}
        if "alpha_history" in learned:
            estimator.alpha_history_ = learned["alpha_history"]
            estimator.log_evidence_ = learned["log_evidence"]
        if "noise_variance" in learned:
            estimator.noise_variance_ = learned["noise_variance"]
    return estimator
