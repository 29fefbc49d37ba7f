"""Saved models: a folder with the weights in safetensors and everything else in JSON.

Layout of a model folder::

    model.json          format, versions, estimator and its parameters, architecture,
                        task, classes, preprocessing, target, feature names, training summary
    weights.safetensors the network's parameters

No pickle: loading a model executes no code from the file. :func:`load_model` checks the
format and version, that every field is present and well-typed, and that the weights
match the architecture, and refuses anything else with a :class:`ModelFormatError`.
A model is written to a temporary folder first and moved into place, so an interrupted
save never leaves half a model; an existing different model is not overwritten unless
asked (``force=True``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from sklearn.preprocessing import StandardScaler

import netreg
from netreg.estimators import (
    FittedState,
    NetRegClassifier,
    NetRegRegressor,
    fitted_state,
    set_fitted_state,
    validate_parameters,
)
from netreg.exceptions import ModelFormatError, NetRegError
from netreg.history import History
from netreg.io import fingerprints
from netreg.io.json_fields import ANY, Is, Keys, OneOf, Value, check_fields
from netreg.io.preprocessing import TablePreprocessor
from netreg.nets import MLP

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SavedModel",
    "save_model",
    "load_model",
    "check_model_folder",
]

FORMAT, FORMAT_VERSION = "netreg-model", 1
MODEL_FILE, WEIGHTS_FILE = "model.json", "weights.safetensors"


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
    estimator : NetRegClassifier or NetRegRegressor (or a CV estimator: its ``best_estimator_``)
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
    if not hasattr(estimator, "module_"):
        raise ModelFormatError(f"Only a fitted estimator can be saved; got an unfitted {type(estimator).__name__}.")
    if not isinstance(estimator.module_, MLP):
        raise ModelFormatError(
            f"A model folder describes netreg's MLP in JSON, without code; this estimator trained its own module "
            f"({type(estimator.module_).__name__}). Pickle the estimator (pickle or joblib), or save the module's "
            "weights with torch.save(estimator.module_.state_dict(), path)."
        )
    path = Path(path)
    meta = _metadata(estimator, preprocessor, target, extra or {})
    if fingerprint is not None:
        meta["fingerprint"] = fingerprint
    check_model_folder(path, meta["fingerprint"], force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".netreg-model-", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; a model folder is an ordinary folder
    try:
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in estimator.module_.state_dict().items()},
            staging / WEIGHTS_FILE,
        )
        (staging / MODEL_FILE).write_text(json.dumps(meta, indent=2))
        # Move the old model aside before the new one takes its place, so that an
        # interruption leaves one complete model (old or new), never none.
        retired = path.with_name(f".{path.name}.replaced-{os.getpid()}") if path.exists() else None
        if retired is not None:
            os.replace(path, retired)
        os.replace(staging, path)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
        same = json.loads(existing.read_text()).get("fingerprint") == fingerprint
    except (OSError, ValueError, AttributeError):
        same = False
    if not same:
        raise ModelFormatError(
            f"{str(path)!r} already holds a different model; it was not overwritten. "
            "Choose another folder, or pass --force to replace it."
        )


def load_model(path: str | os.PathLike) -> SavedModel:
    """Load a model folder written by :func:`save_model`, checking everything on the way.

    Raises
    ------
    ModelFormatError
        If the folder or a file is missing, a file is corrupt or truncated, the format or
        its version is not this netreg's, a field is missing or of the wrong type, or the
        weights do not fit the architecture.
    """
    path = Path(path)
    where = str(path)
    if not path.is_dir():
        raise ModelFormatError(f"No model folder at {where!r}; expected a folder with {MODEL_FILE} and {WEIGHTS_FILE}.")
    try:
        meta = json.loads((path / MODEL_FILE).read_text())
    except FileNotFoundError:
        raise ModelFormatError(f"{where!r} has no {MODEL_FILE}; it is not a netreg model folder.") from None
    except (OSError, ValueError) as error:
        raise ModelFormatError(f"{where}/{MODEL_FILE} is corrupt ({error}); expected the JSON netreg wrote.") from None
    _check_meta(meta, where)
    try:
        weights = load_file(path / WEIGHTS_FILE)
    except FileNotFoundError:
        raise ModelFormatError(f"{where!r} has no {WEIGHTS_FILE}; the model's weights are missing.") from None
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFormatError(f"{where}/{WEIGHTS_FILE} is corrupt or truncated ({error}).") from None
    architecture = meta["architecture"]
    estimator = _build_estimator(meta, where)
    try:
        module = MLP(
            architecture["n_features"],
            tuple(architecture["hidden_layer_sizes"]),
            architecture["n_outputs"],
            activation=architecture["activation"],
            dropout=architecture["dropout"],
        ).to(getattr(torch, estimator.dtype))
    except (NetRegError, TypeError) as error:
        raise ModelFormatError(f"{where}/{MODEL_FILE} describes an invalid network: {error}") from None
    _check_outputs(meta, module.n_outputs, where)
    expected = {name: tuple(p.shape) for name, p in module.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in weights.items()}
    if expected != found:
        raise ModelFormatError(
            f"{where}/{WEIGHTS_FILE} does not fit the architecture in {MODEL_FILE}: expected tensors "
            f"{expected}, found {found}."
        )
    module.load_state_dict(weights)
    training = meta["training"]
    history = History.from_json(meta.get("history", "[]"))
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
        scaler = _target_transformer(meta["target_transform"], module.n_outputs, where)
        estimator.set_params(transformer=StandardScaler(with_mean=scaler.with_mean, with_std=scaler.with_std))
        state.target_transformer = scaler
    set_fitted_state(estimator, state)
    preprocessor = None if meta["preprocessing"] is None else TablePreprocessor.from_config(meta["preprocessing"])
    return SavedModel(estimator, preprocessor, meta)


def _metadata(
    estimator: Any, preprocessor: TablePreprocessor | None, target: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    state = fitted_state(estimator)
    module = state.module
    task = state.task
    params = estimator.get_params(deep=False)
    if "transformer" in params:
        params["transformer"] = None  # the fitted transformer goes to "target_transform"
    for name in ("module", "module_kwargs"):  # None: netreg's MLP, as in models saved before they existed
        params.pop(name, None)
    params = json.loads(json.dumps(params, default=_plain))
    params["hidden_layer_sizes"] = list(module.hidden_layer_sizes)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {"netreg": netreg.__version__, "torch": torch.__version__, "scikit-learn": sklearn.__version__},
        "estimator": type(estimator).__name__,
        "params": params,
        "alpha": float(estimator.alpha),
        "architecture": {
            "n_features": module.n_features,
            "hidden_layer_sizes": list(module.hidden_layer_sizes),
            "n_outputs": module.n_outputs,
            "activation": module.activation,
            "dropout": module.dropout,
        },
        "task": task,
        "classes": None if state.classes is None else np.asarray(state.classes).tolist(),
        "y_ndim": int(state.y_ndim),
        "target": target,
        "feature_names": None if state.feature_names is None else [str(n) for n in state.feature_names],
        "preprocessing": None if preprocessor is None else preprocessor.to_config(),
        "training": {
            "n_iter": len(state.history),
            "loss": float(estimator.loss_),
            "status": state.status,
            "n_samples_seen": int(state.n_samples_seen),
            "validated": bool(state.validated),
        },
        "history": History(state.history).to_json(),
        "target_transform": _target_transform_config(state.target_transformer),
        "extra": json.loads(json.dumps(extra, default=_plain)),
    }
    meta["fingerprint"] = fingerprints.fingerprint(
        {k: meta[k] for k in ("params", "architecture", "classes", "preprocessing", "target")},
        *(tensor.detach().cpu().numpy() for tensor in module.state_dict().values()),
    )
    return meta


def _is_history(value: Any) -> bool:
    try:
        History.from_json(value)
    except (TypeError, ValueError):
        return False
    return True


_INT = Is(int, expected="an int")
_DICT = Is(dict, expected="a dict")
_STR = Is(str, expected="a str")
#: The fields of model.json that load_model reads (other keys, such as "extra", are free).
_META_SPEC = Keys(
    {
        "format": _STR,
        "format_version": _INT,
        "versions": _DICT,
        "estimator": _STR,
        "params": _DICT,
        "alpha": Is(float, expected="a float"),
        "architecture": Keys(
            {key: ANY for key in ("n_features", "hidden_layer_sizes", "n_outputs", "activation", "dropout")},
            others=True,
        ),
        "task": OneOf("regression", "binary", "multiclass", "multilabel"),
        "classes": Is(list, None, expected="a list or None"),
        "y_ndim": _INT,
        "target": Is(str, None, expected="a str or None"),
        "feature_names": Is(list, None, expected="a list or None"),
        "preprocessing": Is(dict, None, expected="a dict or None"),
        "training": Keys(
            {"n_iter": _INT, "loss": Is(int, float, expected="a number"), "status": _STR},
            optional={"n_samples_seen": _INT, "validated": Is(bool, expected="a bool")},
            others=True,
        ),
    },
    optional={
        "history": Value("the JSON text of a History", _is_history),
        "target_transform": Is(dict, None, expected="a dict or None"),
    },
    others=True,
)


def _check_meta(meta: Any, where: str) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(f'{where}/{MODEL_FILE} is not a netreg model (no "format": "{FORMAT}").')
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{where!r} holds a model in format version {version!r}; this netreg ({netreg.__version__}) reads "
            f"version {FORMAT_VERSION}. Retrain the model, or load it with the netreg version that saved it "
            f"({meta.get('versions', {}).get('netreg', 'unknown')})."
        )
    check_fields(meta, _META_SPEC, source=f"{where}/{MODEL_FILE}", error=ModelFormatError)


def _build_estimator(meta: dict[str, Any], where: str) -> Any:
    """The estimator ``meta`` names, with its saved parameters, checked as ``fit`` checks them."""
    cls = _estimator_class(meta["estimator"], where)
    params = dict(meta["params"])
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise ModelFormatError(f"{where}/{MODEL_FILE} has unknown parameter(s) {unknown} for {meta['estimator']}.")
    estimator = cls(**params)
    try:
        validate_parameters(estimator)
    except NetRegError as error:
        raise ModelFormatError(f"{where}/{MODEL_FILE} has invalid parameters: {error}") from None
    return estimator


def _check_outputs(meta: dict[str, Any], n_outputs: int, where: str) -> None:
    """The task, the classes and the network's outputs must tell one story."""
    task, classes = meta["task"], meta["classes"]
    expected = {"multiclass": n_outputs, "binary": 2, "multilabel": n_outputs}
    if task == "regression" and meta["estimator"] == "NetRegRegressor" and classes is None:
        return
    if meta["estimator"] == "NetRegClassifier" and task in expected and isinstance(classes, list):
        if len(classes) == expected[task] and (task != "binary" or n_outputs == 1):
            return
    raise ModelFormatError(
        f"{where}/{MODEL_FILE} is inconsistent: estimator {meta['estimator']}, task {task!r}, "
        f"{'no' if classes is None else len(classes)} classes, {n_outputs} network outputs."
    )


def _estimator_class(name: str, where: str) -> type:
    classes = {"NetRegClassifier": NetRegClassifier, "NetRegRegressor": NetRegRegressor}
    if name not in classes:
        raise ModelFormatError(f"{where}/{MODEL_FILE} names estimator {name!r}; expected one of {sorted(classes)}.")
    return classes[name]


def _target_transform_config(transformer: Any) -> dict[str, Any] | None:
    """A fitted ``StandardScaler`` of the targets as JSON; other transformers are refused."""
    if transformer is None:
        return None
    if type(transformer) is not StandardScaler:
        raise ModelFormatError(
            f"A model whose targets were transformed by {type(transformer).__name__} cannot be saved without pickle; "
            "expected transformer=None or StandardScaler(). Use pickle or joblib for other transformers."
        )
    return {
        "kind": "StandardScaler",
        "with_mean": bool(transformer.with_mean),
        "with_std": bool(transformer.with_std),
        "mean": None if transformer.mean_ is None else np.asarray(transformer.mean_).tolist(),
        "scale": None if transformer.scale_ is None else np.asarray(transformer.scale_).tolist(),
    }


def _target_transformer(config: Any, n_outputs: int, where: str) -> StandardScaler:
    """The fitted ``StandardScaler`` that :func:`_target_transform_config` wrote."""

    def vector(key: str) -> np.ndarray | None:
        value = config.get(key)
        if value is None:
            return None
        array = np.asarray(value, dtype=np.float64) if isinstance(value, list) else np.empty(0)
        if array.shape != (n_outputs,) or not np.isfinite(array).all() or (key == "scale" and (array <= 0).any()):
            raise ModelFormatError(
                f"{where}/{MODEL_FILE} has a malformed field 'target_transform': {key} {value!r} is not "
                f"{n_outputs} finite number(s){' > 0' if key == 'scale' else ''}."
            )
        return array

    if not isinstance(config, dict) or config.get("kind") != "StandardScaler":
        raise ModelFormatError(
            f"{where}/{MODEL_FILE} has a malformed field 'target_transform': got {config!r}; expected a "
            "StandardScaler's mean and scale."
        )
    scaler = StandardScaler(with_mean=bool(config.get("with_mean")), with_std=bool(config.get("with_std")))
    scaler.mean_, scaler.scale_ = vector("mean"), vector("scale")
    scaler.var_ = None if scaler.scale_ is None else scaler.scale_**2
    scaler.n_features_in_ = n_outputs
    scaler.n_samples_seen_ = 0
    return scaler


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return str(value)
    return repr(value)
