"""Saved models: a folder of ``model.json`` (format, versions, the estimator and its parameters, architecture, task, classes, preprocessing, target, feature names, training summary) and ``weights.safetensors``.

A model of several members (``refit="folds"``) is one folder too: ``model.json`` describes the
first and says ``"members": K``; the weights of member k are under the prefix ``"<k>."``. No
pickle: :func:`load_model` checks everything before it builds anything, and :func:`save_model`
writes the folder whole.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

from netreg._version import __version__
from netreg.estimators import (
    FittedState,
    NetRegClassifier,
    NetRegRegressor,
    fitted_state,
    set_fitted_state,
    validate_parameters,
)
from netreg.estimators.folds import FoldsAverage
from netreg.exceptions import ModelFormatError, NetRegError, invalid
from netreg.history import History
from netreg.json_fields import ANY, Is, Items, Keys, OneOf, Value, check_fields
from netreg.nets import MLP, check_network_memory, parameter_count
from netreg.safe_files import read_file, replace_folder
from netreg.tables import fingerprints
from netreg.tables.preprocessing import TablePreprocessor

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

FORMAT, FORMAT_VERSION = "netreg-model", 1
MODEL_FILE, WEIGHTS_FILE = "model.json", "weights.safetensors"
#: The most members a model folder may hold (the folds of a cross-validation).
MAX_MEMBERS = 100
#: The largest ``model.json`` read: far above what a model writes (its history and
#: categories included), far below what would exhaust memory.
MAX_META_BYTES = 256 * 1024**2
#: Room for the safetensors header (the tensors' names, types and shapes as JSON).
HEADER_BYTES = 1024**2
_ITEM_BYTES = {"float32": 4, "float64": 8}
_ESTIMATORS = {"NetRegClassifier": NetRegClassifier, "NetRegRegressor": NetRegRegressor}


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

    Raises
    ------
    ModelFormatError
        If the estimator is not fitted, trained its own module, or transformed its targets
        with something other than a ``StandardScaler``; or ``path`` holds a different
        model (without ``force``), is a file, or a folder of other files.
    OutputError
        If the folder cannot be written (nothing was replaced).

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
    meta = _metadata(estimator, preprocessor, target, extra or {})
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
    files = {WEIGHTS_FILE: weights, MODEL_FILE: json.dumps(meta, indent=2).encode("utf-8")}
    # Checked again just before the swap: another save may have put a model there meanwhile.
    return replace_folder(path, files, lambda: check_model_folder(path, meta["fingerprint"], force=force))


def check_model_folder(path: str | os.PathLike, fingerprint: str, *, force: bool = False) -> None:
    """Refuse to write a model into ``path`` if it holds a different one (unless ``force``).

    "Different" means another fingerprint, or a ``model.json`` that cannot be read. Commands
    call this before they train, so that a refusal costs nothing. A folder of other files
    and no ``model.json`` is refused even with ``force``: it is not a model's to replace.

    Raises
    ------
    ModelFormatError
        If ``path`` is a file, a folder of other files, or holds a different model.

    Examples
    --------
    >>> import tempfile
    >>> check_model_folder(tempfile.mkdtemp() + "/new", "any fingerprint")
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ModelFormatError(f"{str(path)!r} is a file; expected a folder for the model.")
    existing = path / MODEL_FILE
    try:
        others = path.is_dir() and not existing.exists() and any(path.iterdir())
    except FileNotFoundError:  # moved away meanwhile by a concurrent save
        others = False
    if others:
        raise ModelFormatError(
            f"{str(path)!r} is a folder with other files and no {MODEL_FILE}; a model is not written "
            "over it. Choose an empty or new folder."
        )
    if force or not existing.exists():
        return
    try:
        same = json.loads(read_file(existing, MAX_META_BYTES, "a model.json may hold", ModelFormatError))
        same = same.get("fingerprint") == fingerprint
    except (OSError, ValueError, AttributeError, RecursionError, NetRegError):
        same = False  # unreadable, a link, a FIFO: not a model this command made
    if not same:
        raise ModelFormatError(
            f"{str(path)!r} already holds a different model; it was not overwritten. "
            "Choose another folder, or pass `force=True` to replace it."
        )


def _metadata(
    estimator: Any, preprocessor: TablePreprocessor | None, target: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """What ``model.json`` holds for the fitted ``estimator``."""
    state = fitted_state(estimator)
    module = state.module
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
        "versions": {"netreg": __version__, "torch": torch.__version__, "scikit-learn": sklearn.__version__},
        "estimator": type(estimator).__name__,
        "params": params,
        "alpha": _trained_alpha(estimator),
        "auto": _learned(estimator),
        "architecture": {
            "n_features": module.n_features,
            "hidden_layer_sizes": list(module.hidden_layer_sizes),
            "n_outputs": module.n_outputs,
            "activation": module.activation,
            "dropout": module.dropout,
        },
        "task": state.task,
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
        "target_transform": _scaler_config(state.target_transformer),
        "extra": json.loads(json.dumps(extra, default=_plain)),
    }
    meta["fingerprint"] = fingerprints.fingerprint(
        {k: meta[k] for k in ("params", "architecture", "classes", "preprocessing", "target")},
        *(tensor.detach().cpu().numpy() for tensor in module.state_dict().values()),
    )
    return meta


def _trained_alpha(estimator: Any) -> float | dict[str, float]:
    """The alpha of the saved weights: the one ``alpha="auto"`` learned, or the parameter (a
    float, or ``{parameter name: alpha}``)."""
    alpha = getattr(estimator, "alpha_", estimator.alpha)
    if isinstance(alpha, dict):
        return {str(name): float(value) for name, value in alpha.items()}
    if isinstance(alpha, str):
        raise invalid(
            "alpha",
            "the alpha the model's weights were trained with",
            alpha,
            "The model was fitted at a number and set to 'auto' since, without a refit: refit it, or set alpha back.",
        )
    return float(alpha)


def _learned(estimator: Any) -> dict[str, Any] | None:
    """What ``alpha="auto"`` learned besides ``alpha_``: its path, the final log evidence and
    a regression's noise variance (None for a fit at a given alpha)."""
    if not hasattr(estimator, "alpha_history_"):
        return None
    learned = {"alpha_history": estimator.alpha_history_, "log_evidence": estimator.log_evidence_}
    if hasattr(estimator, "noise_variance_"):
        learned["noise_variance"] = estimator.noise_variance_
    return json.loads(json.dumps(learned, default=_plain))


def _scaler_config(transformer: Any) -> dict[str, Any] | None:
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


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return str(value)
    return repr(value)


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

    Examples
    --------
    >>> load_model("no/such/folder")
    Traceback (most recent call last):
    ...
    netreg.exceptions.ModelFormatError: No model folder at 'no/such/folder'; expected a folder with model.json and weights.safetensors.
    """
    path = Path(path)
    where = str(path)
    source = f"{where}/{MODEL_FILE}"
    if not path.is_dir():
        raise ModelFormatError(f"No model folder at {where!r}; expected a folder with {MODEL_FILE} and {WEIGHTS_FILE}.")
    try:
        meta = json.loads(read_file(path / MODEL_FILE, MAX_META_BYTES, "a model.json may hold", ModelFormatError))
    except FileNotFoundError:
        raise ModelFormatError(f"{where!r} has no {MODEL_FILE}; it is not a netreg model folder.") from None
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise ModelFormatError(f"{source} is corrupt ({reason}); expected the JSON netreg wrote.") from None
    _check_fields(meta, where)
    n_members = meta.get("members", 1)
    if not isinstance(n_members, int) or isinstance(n_members, bool) or not 1 <= n_members <= MAX_MEMBERS:
        raise ModelFormatError(f'{source} has "members": {n_members!r}; expected an int from 1 to {MAX_MEMBERS}.')
    estimator = _estimator(meta, source)  # its parameters only: nothing large
    # Everything the fields declare is checked before anything of their size is built.
    _check_declared(meta, source)
    preprocessor = _preprocessor(meta, source)
    architecture = meta["architecture"]
    n_params = parameter_count(
        architecture["n_features"], architecture["hidden_layer_sizes"], architecture["n_outputs"]
    )
    limit = n_members * (n_params * _ITEM_BYTES.get(str(meta["params"].get("dtype", "float32")), 8) + HEADER_BYTES)
    try:
        weights = load_tensors(
            read_file(path / WEIGHTS_FILE, limit, "the network in model.json can need", ModelFormatError)
        )
    except FileNotFoundError:
        raise ModelFormatError(f"{where!r} has no {WEIGHTS_FILE}; the model's weights are missing.") from None
    except (SafetensorError, ValueError) as error:
        raise ModelFormatError(f"{where}/{WEIGHTS_FILE} is corrupt or truncated ({error}).") from None
    if n_members == 1:
        return SavedModel(_load_member(estimator, meta, weights, where), preprocessor, meta)
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
    source = f"{where}/{MODEL_FILE}"
    architecture, params, training = meta["architecture"], meta["params"], meta["training"]
    try:
        module = MLP(
            architecture["n_features"],
            tuple(architecture["hidden_layer_sizes"]),
            architecture["n_outputs"],
            activation=architecture["activation"],
            dropout=architecture["dropout"],
        ).to(getattr(torch, estimator.dtype))
    except NetRegError as error:
        raise ModelFormatError(f"{source} describes an invalid network: {error}") from None
    # A refit or partial_fit builds the network from the parameters: they must describe this one.
    for key in ("hidden_layer_sizes", "activation", "dropout"):
        if key in params and _as_list(params[key]) != _as_list(architecture[key]):
            raise ModelFormatError(
                f"{source} is inconsistent: params.{key} is {params[key]!r}, the architecture's is "
                f"{architecture[key]!r}."
            )
    expected = {name: tuple(p.shape) for name, p in module.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in weights.items()}
    if expected != found:
        raise ModelFormatError(
            f"{where}/{WEIGHTS_FILE} does not fit the architecture in {MODEL_FILE}: expected tensors "
            f"{expected}, found {found}."
        )
    dtype = next(iter(module.state_dict().values())).dtype
    wrong = sorted(name for name, tensor in weights.items() if tensor.dtype != dtype)
    if wrong:
        raise ModelFormatError(
            f"{where}/{WEIGHTS_FILE} holds {weights[wrong[0]].dtype} tensors ({', '.join(wrong)}); the model in "
            f"{MODEL_FILE} is {dtype}."
        )
    module.load_state_dict(weights)
    history = History.from_json(meta.get("history", "[]"))
    # Early stopping keeps validation scores: its best_validation_score_ is their best.
    if training.get("validated") and not any(record.get("val_score") is not None for record in history):
        raise ModelFormatError(
            f"{source} is inconsistent: training.validated is true (early stopping), but its history "
            "has no validation score."
        )
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
        scaler = _scaler(meta["target_transform"], module.n_outputs, source)
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


def _is_alpha(value: Any) -> bool:
    """A float, or a non-empty dict of parameter names to floats."""
    if isinstance(value, dict):
        return bool(value) and all(isinstance(k, str) and type(v) is float for k, v in value.items())
    return type(value) is float


def _is_history(value: Any) -> bool:
    try:
        History.from_json(value)
    except (TypeError, ValueError):
        return False
    return True


_INT = Is(int, expected="an int")
_DICT = Is(dict, expected="a dict")
_STR = Is(str, expected="a str")
_COUNT = Value("an int >= 1", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1)
_LABEL_TYPES = {str: (str,), int: (int, float), float: (int, float), bool: (bool,)}


def _is_labels(value: Any) -> bool:
    """A flat list of distinct labels of one kind (text, numbers or bools), sorted: classes as
    scikit-learn's ``LabelBinarizer`` orders them (what ``partial_fit`` relies on)."""
    if not isinstance(value, list) or not value or type(value[0]) not in _LABEL_TYPES:
        return False
    kinds = _LABEL_TYPES[type(value[0])]
    if not all(type(label) in kinds for label in value):
        return False
    if any(isinstance(label, float) and not math.isfinite(label) for label in value):
        return False
    return all(a < b for a, b in zip(value[:-1], value[1:], strict=True))


#: The fields of model.json that load_model reads (other keys, such as "extra", are free).
_META_SPEC = Keys(
    {
        "format": _STR,
        "format_version": _INT,
        "versions": _DICT,
        "estimator": _STR,
        "params": _DICT,
        "alpha": Value("a float or a dict of parameter names to floats", _is_alpha),
        "architecture": Keys(
            {
                "n_features": _COUNT,
                "hidden_layer_sizes": Items(_COUNT, min_items=0, expected="a list"),
                "n_outputs": _COUNT,
                # Checked by the network itself, which is built last: "describes an invalid network".
                "activation": ANY,
                "dropout": ANY,
            },
            others=True,
        ),
        "task": OneOf("regression", "binary", "multiclass", "multilabel"),
        "classes": Value(
            "None or a sorted list of distinct labels of one kind (str, finite number or bool)",
            lambda v: v is None or _is_labels(v),
        ),
        "y_ndim": OneOf(1, 2),
        "target": Is(str, None, expected="a str or None"),
        "feature_names": Value(
            "None or a list of str", lambda v: v is None or (isinstance(v, list) and all(isinstance(n, str) for n in v))
        ),
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
        "auto": Is(dict, None, expected="a dict or None"),
    },
    others=True,
)


def _check_fields(meta: Any, where: str) -> None:
    """The format, its version, and every field load_model reads, each alone."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(f'{where}/{MODEL_FILE} is not a netreg model (no "format": "{FORMAT}").')
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        versions = meta.get("versions")
        saved_by = versions.get("netreg", "unknown") if isinstance(versions, dict) else "unknown"
        raise ModelFormatError(
            f"{where!r} holds a model in format version {version!r}; this netreg ({__version__}) reads "
            f"version {FORMAT_VERSION}. Retrain the model, or load it with the netreg version that saved it "
            f"({saved_by})."
        )
    check_fields(meta, _META_SPEC, source=f"{where}/{MODEL_FILE}", error=ModelFormatError)


def _estimator(meta: dict[str, Any], source: str) -> Any:
    """The estimator ``meta`` names, with its saved parameters, checked as ``fit`` checks them."""
    if meta["estimator"] not in _ESTIMATORS:
        raise ModelFormatError(
            f"{source} names estimator {meta['estimator']!r}; expected one of {sorted(_ESTIMATORS)}."
        )
    cls = _ESTIMATORS[meta["estimator"]]
    params = dict(meta["params"])
    if isinstance(params.get("class_weight"), dict):
        # JSON keys are strings: class_weight's keys are the classes, as saved beside it.
        labels = {str(label): label for label in meta["classes"] or []}
        params["class_weight"] = {labels.get(key, key): value for key, value in params["class_weight"].items()}
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise ModelFormatError(f"{source} has unknown parameter(s) {unknown} for {meta['estimator']}.")
    estimator = cls(**params)
    try:
        validate_parameters(estimator)
    except NetRegError as error:
        raise ModelFormatError(f"{source} has invalid parameters: {error}") from None
    return estimator


def _check_declared(meta: dict[str, Any], source: str) -> None:
    """Refuse a network that would not fit in memory, or fields that tell different stories:
    the task, classes and outputs, ``y_ndim``, and the feature names."""
    architecture = meta["architecture"]
    n_features, hidden, n_outputs = (architecture[k] for k in ("n_features", "hidden_layer_sizes", "n_outputs"))
    try:
        check_network_memory(n_features, hidden, n_outputs)
    except NetRegError as error:
        raise ModelFormatError(f"{source} describes a network too large for this machine: {error}") from None
    task, classes = meta["task"], meta["classes"]
    expected = {"multiclass": n_outputs, "binary": 2, "multilabel": n_outputs}
    regressor = task == "regression" and meta["estimator"] == "NetRegRegressor" and classes is None
    classifier = (
        meta["estimator"] == "NetRegClassifier"
        and task in expected
        and isinstance(classes, list)
        and len(classes) == expected[task]
        and (task != "binary" or n_outputs == 1)
    )
    if not (regressor or classifier):
        raise ModelFormatError(
            f"{source} is inconsistent: estimator {meta['estimator']}, task {task!r}, "
            f"{'no' if classes is None else len(classes)} classes, {n_outputs} network outputs."
        )
    multi = task == "multilabel" or (task == "regression" and n_outputs > 1)
    if multi and meta["y_ndim"] != 2:
        raise ModelFormatError(
            f"{source} is inconsistent: task {task!r} with {n_outputs} outputs predicts a 2-D array, "
            f"but y_ndim is {meta['y_ndim']}."
        )
    names = meta["feature_names"]
    if names is not None and len(names) != n_features:
        raise ModelFormatError(
            f"{source} is inconsistent: {len(names)} feature names for a network of {n_features} inputs."
        )


def _preprocessor(meta: dict[str, Any], source: str) -> TablePreprocessor | None:
    """The saved preprocessing, rebuilt; its output width must be the network's ``n_features``."""
    config = meta["preprocessing"]
    if config is None:
        return None
    try:
        preprocessor = TablePreprocessor.from_config(config)
    except NetRegError as error:
        raise ModelFormatError(f"{source} has a malformed field 'preprocessing': {error}") from None
    width, n_features = len(preprocessor.feature_names_out_), meta["architecture"]["n_features"]
    if width != n_features:
        raise ModelFormatError(
            f"{source} is inconsistent: its preprocessing makes {width} features of a table, its network "
            f"takes {n_features}."
        )
    return preprocessor


def _scaler(config: Any, n_outputs: int, source: str) -> StandardScaler:
    """The fitted ``StandardScaler`` :func:`_scaler_config` wrote: ``with_mean`` and
    ``with_std`` are bools, and the statistics they use are ``n_outputs`` finite numbers
    (``scale`` > 0)."""

    def vector(key: str, needed: bool) -> np.ndarray | None:
        value = config.get(key)
        if value is None and not needed:
            return None
        numbers = isinstance(value, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value
        )
        array = np.asarray(value, dtype=np.float64) if numbers else np.empty(0)
        if array.shape != (n_outputs,) or (key == "scale" and (array <= 0).any()):
            raise ModelFormatError(
                f"{source} has a malformed field 'target_transform': {key} {value!r} is not "
                f"{n_outputs} finite number(s){' > 0' if key == 'scale' else ''}."
            )
        return array

    flags_ok = isinstance(config, dict) and all(isinstance(config.get(k), bool) for k in ("with_mean", "with_std"))
    if not flags_ok or config.get("kind") != "StandardScaler":
        raise ModelFormatError(
            f"{source} has a malformed field 'target_transform': got {config!r}; expected a "
            "StandardScaler's mean and scale."
        )
    scaler = StandardScaler(with_mean=config["with_mean"], with_std=config["with_std"])
    scaler.mean_, scaler.scale_ = vector("mean", scaler.with_mean), vector("scale", scaler.with_std)
    scaler.var_ = None if scaler.scale_ is None else scaler.scale_**2
    scaler.n_features_in_ = n_outputs
    scaler.n_samples_seen_ = 0
    return scaler


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else [value] if isinstance(value, int) else value
