"""Before a saved model is built: its declared sizes fit in memory, its fields tell one story,
and its weights are the tensors the architecture needs.

:func:`netreg.io.models.load_model` calls these after :func:`netreg.io.model_meta.check_meta`
has checked each field of ``model.json`` alone; each problem is one
:class:`~netreg.exceptions.ModelFormatError` naming the file and the fields that disagree.
"""

from __future__ import annotations

from typing import Any

import torch

from netreg.exceptions import ModelFormatError, NetRegError
from netreg.io.model_meta import MODEL_FILE, WEIGHTS_FILE, check_outputs
from netreg.nets import check_network_memory, parameter_count
from netreg.tables.preprocessing import TablePreprocessor

__all__ = [
    "MAX_META_BYTES",
    "HEADER_BYTES",
    "check_declared",
    "check_history",
    "check_params_match",
    "check_weights",
    "preprocessor_from",
    "weights_limit",
]

#: The largest ``model.json`` read: far above what a model writes (its history and
#: categories included), far below what would exhaust memory.
MAX_META_BYTES = 256 * 1024**2
#: Room for the safetensors header (the tensors' names, types and shapes as JSON).
HEADER_BYTES = 1024**2
_ITEM_BYTES = {"float32": 4, "float64": 8}


def check_declared(meta: dict[str, Any], where: str) -> None:
    """Refuse a ``model.json`` whose network would not fit in memory, or whose fields disagree.

    Checked: the network's size (:func:`netreg.nets.check_network_memory`), the task,
    classes and outputs (:func:`netreg.io.model_meta.check_outputs`), ``y_ndim``, the
    and the feature names.
    """
    source = f"{where}/{MODEL_FILE}"
    architecture = meta["architecture"]
    n_features, hidden, n_outputs = (architecture[k] for k in ("n_features", "hidden_layer_sizes", "n_outputs"))
    try:
        check_network_memory(n_features, hidden, n_outputs)
    except NetRegError as error:
        raise ModelFormatError(f"{source} describes a network too large for this machine: {error}") from None
    check_outputs(meta, n_outputs, where)
    multi = meta["task"] == "multilabel" or (meta["task"] == "regression" and n_outputs > 1)
    if multi and meta["y_ndim"] != 2:
        raise ModelFormatError(
            f"{source} is inconsistent: task {meta['task']!r} with {n_outputs} outputs predicts a 2-D array, "
            f"but y_ndim is {meta['y_ndim']}."
        )
    names = meta["feature_names"]
    if names is not None and len(names) != n_features:
        raise ModelFormatError(
            f"{source} is inconsistent: {len(names)} feature names for a network of {n_features} inputs."
        )


def check_history(training: dict[str, Any], history: Any, where: str) -> None:
    """A model trained with early stopping (``training.validated``) has validation scores in its
    history: its ``best_validation_score_`` is their best."""
    if training.get("validated") and not any(record.get("val_score") is not None for record in history):
        raise ModelFormatError(
            f"{where}/{MODEL_FILE} is inconsistent: training.validated is true (early stopping), but its history "
            "has no validation score."
        )


def check_params_match(meta: dict[str, Any], where: str) -> None:
    """The estimator's saved parameters must describe the saved network (a refit or
    ``partial_fit`` builds the network from them)."""
    params, architecture = meta["params"], meta["architecture"]
    for key in ("hidden_layer_sizes", "activation", "dropout"):
        if key in params and _as_list(params[key]) != _as_list(architecture[key]):
            raise ModelFormatError(
                f"{where}/{MODEL_FILE} is inconsistent: params.{key} is {params[key]!r}, the architecture's is "
                f"{architecture[key]!r}."
            )


def preprocessor_from(meta: dict[str, Any], where: str) -> TablePreprocessor | None:
    """The saved preprocessing, rebuilt and checked against the network's inputs (None if none).

    Its output width must be the network's ``n_features``; built before the network, so
    an inconsistent folder costs nothing large.
    """
    config = meta["preprocessing"]
    if config is None:
        return None
    source = f"{where}/{MODEL_FILE}"
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


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else [value] if isinstance(value, int) else value


def weights_limit(meta: dict[str, Any]) -> int:
    """The most bytes the weights file of ``meta``'s network can hold: its parameters in the
    estimator's dtype, and the header."""
    architecture = meta["architecture"]
    n_params = parameter_count(
        architecture["n_features"], architecture["hidden_layer_sizes"], architecture["n_outputs"]
    )
    return n_params * _ITEM_BYTES.get(str(meta["params"].get("dtype", "float32")), 8) + HEADER_BYTES


def check_weights(weights: dict[str, torch.Tensor], module: torch.nn.Module, where: str) -> None:
    """The weights must be exactly the module's tensors: the same names, shapes and dtype."""
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
