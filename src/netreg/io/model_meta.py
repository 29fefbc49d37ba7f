"""What ``model.json`` holds, written and checked: the metadata of a saved model.

:func:`model_metadata` writes it from a fitted estimator; :func:`check_meta` checks every
field :func:`netreg.io.models.load_model` reads (with :func:`netreg.json_fields.check_fields`), and
:func:`estimator_from_meta`, :func:`check_outputs` and :func:`target_transformer_from`
rebuild what the fields describe, refusing anything inconsistent with a
:class:`~netreg.exceptions.ModelFormatError`.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import sklearn
import torch
from sklearn.preprocessing import StandardScaler

from netreg._version import __version__
from netreg.estimators import NetRegClassifier, NetRegRegressor, fitted_state, validate_parameters
from netreg.exceptions import ModelFormatError, NetRegError, invalid
from netreg.history import History
from netreg.json_fields import ANY, Is, Items, Keys, OneOf, Value, check_fields
from netreg.tables import fingerprints
from netreg.tables.preprocessing import TablePreprocessor

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MODEL_FILE",
    "WEIGHTS_FILE",
    "model_metadata",
    "check_meta",
    "estimator_from_meta",
    "check_outputs",
    "target_transform_config",
    "target_transformer_from",
]

FORMAT, FORMAT_VERSION = "netreg-model", 1
MODEL_FILE, WEIGHTS_FILE = "model.json", "weights.safetensors"


def model_metadata(
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
        "target_transform": target_transform_config(state.target_transformer),
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


def check_meta(meta: Any, where: str) -> None:
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


def estimator_from_meta(meta: dict[str, Any], where: str) -> Any:
    """The estimator ``meta`` names, with its saved parameters, checked as ``fit`` checks them."""
    cls = _estimator_class(meta["estimator"], where)
    params = dict(meta["params"])
    if isinstance(params.get("class_weight"), dict):
        # JSON keys are strings: class_weight's keys are the classes, as saved beside it.
        labels = {str(label): label for label in meta["classes"] or []}
        params["class_weight"] = {labels.get(key, key): value for key, value in params["class_weight"].items()}
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise ModelFormatError(f"{where}/{MODEL_FILE} has unknown parameter(s) {unknown} for {meta['estimator']}.")
    estimator = cls(**params)
    try:
        validate_parameters(estimator)
    except NetRegError as error:
        raise ModelFormatError(f"{where}/{MODEL_FILE} has invalid parameters: {error}") from None
    return estimator


def check_outputs(meta: dict[str, Any], n_outputs: int, where: str) -> None:
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


def target_transform_config(transformer: Any) -> dict[str, Any] | None:
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


def target_transformer_from(config: Any, n_outputs: int, where: str) -> StandardScaler:
    """The fitted ``StandardScaler`` that :func:`target_transform_config` wrote.

    ``with_mean`` and ``with_std`` are bools, and the statistics they use are there:
    ``n_outputs`` finite numbers (``scale`` > 0).
    """

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
                f"{where}/{MODEL_FILE} has a malformed field 'target_transform': {key} {value!r} is not "
                f"{n_outputs} finite number(s){' > 0' if key == 'scale' else ''}."
            )
        return array

    flags_ok = isinstance(config, dict) and all(isinstance(config.get(k), bool) for k in ("with_mean", "with_std"))
    if not flags_ok or config.get("kind") != "StandardScaler":
        raise ModelFormatError(
            f"{where}/{MODEL_FILE} has a malformed field 'target_transform': got {config!r}; expected a "
            "StandardScaler's mean and scale."
        )
    scaler = StandardScaler(with_mean=config["with_mean"], with_std=config["with_std"])
    scaler.mean_, scaler.scale_ = vector("mean", scaler.with_mean), vector("scale", scaler.with_std)
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
