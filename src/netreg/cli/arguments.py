"""The command line's arguments: the library's parameters as flags, and the flags' value types.

A bad value is an argparse error: usage and one line, status 2.
"""

from __future__ import annotations

import argparse
import ast
import math
import re
from collections.abc import Callable

from netreg import memory
from netreg._checks import DEPTH_REASON, MAX_HIDDEN_LAYERS, MAX_SEED, Range
from netreg.engine.config import RULES
from netreg.grid import MAX_ALPHAS
from netreg.nets import DROPOUT, TRAINING_COPIES, parameter_count
from netreg.penalties import L1_RATIO

__all__ = [
    "FLAGS",
    "NEGATED_FLAGS",
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_BAD_INPUT",
    "as_flags",
    "parse_alphas",
    "parse_alpha",
    "parse_hidden",
    "parse_seed",
    "positive_int",
    "fraction",
    "batch_size",
    "in_range",
    "dropout",
    "l1_ratio",
    "learning_rate",
    "device",
    "n_jobs",
    "scoring",
    "column_names",
    "column_name",
    "LOG_TRACKERS",
    "log_target",
]

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


#: Python parameter -> the flag that sets it (library messages name parameters in backticks).
FLAGS = {
    "task": "--task",
    "force": "--force",
    "drop_missing": "--drop-missing",
    "random_state": "--seed",
    "seed": "--seed",
    "alpha": "--alpha",
    "alphas": "--alphas",
    "cv": "--cv",
    "hidden_layer_sizes": "--hidden",
    "max_iter": "--max-iter",
    "solver": "--solver",
    "selection": "--selection",
    "search": "--search",
    "refit": "--refit",
    "factor": "--factor",
    "min_epochs": "--min-epochs",
    "scoring": "--scoring",
    "chunk_size": "--chunk-size",
    "test_size": "--test-size",
    "validation": "--validation",
    "backend": "--backend",
    "address": "--address",
    "batch_size": "--batch-size",
    "dropout": "--dropout",
    "penalty": "--penalty",
    "l1_ratio": "--l1-ratio",
    "learning_rate_init": "--learning-rate",
    "early_stopping": "--early-stopping",
    "class_weight": "--class-weight",
    "device": "--device",
    "n_jobs": "--n-jobs",
    "drop": "--drop",
    "id_column": "--id",
    "impute": "--impute",
    "node_ip_address": "--node-address",
    "out_dir": "--out",
    "out": "--out",
    "log": "--log",
    "log_dir": "--log",
    "tracking_uri": "--log",
}
#: Parameters whose flag turns them off.
NEGATED_FLAGS = {"standardize": "--no-standardize", "standardize_target": "--no-standardize-target"}


def as_flags(message: str) -> str:
    """``message`` with the parameters it names in backticks written as this command's flags.

    Examples
    --------
    >>> as_flags("Choose another folder, or pass `force=True` to replace it.")
    'Choose another folder, or pass --force to replace it.'
    >>> as_flags("Pass `task='classification'`; `max_iter` too; `warm_start=False` stays.")
    'Pass --task classification; --max-iter too; `warm_start=False` stays.'
    >>> as_flags("Pass `drop=['name', 'notes']` or `id_column='name'`.")
    'Pass --drop name,notes or --id name.'
    """

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(3)
        if name in NEGATED_FLAGS and value == "False":
            return NEGATED_FLAGS[name]
        if name not in FLAGS:
            return match.group(0)
        if value is None or value == "True":
            return FLAGS[name]
        if value.startswith("[") and value.endswith("]"):  # a list of names: as the flag takes it
            try:
                return f"{FLAGS[name]} {','.join(str(item) for item in ast.literal_eval(value))}"
            except (ValueError, SyntaxError):
                pass
        return f"{FLAGS[name]} {value.strip(chr(39) + chr(34))}"

    return re.sub(r"`(\w+)(=([^`]*))?`", flag, message)


def parse_alphas(text: str) -> int | list[float]:
    text = text.strip()
    try:
        if "," not in text and text.isdigit():
            _check_grid_size(int(text), text)
            return int(text)
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    _check_grid_size(len(values), text)
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected a grid size such as 16, or comma-separated alphas >= 0 such as 0,0.01,0.1,1; got {text!r}"
        )
    return values


def _check_grid_size(n_alphas: int, text: str) -> None:
    if n_alphas > MAX_ALPHAS:
        raise argparse.ArgumentTypeError(
            f"expected a grid of at most {MAX_ALPHAS} alphas (each is trained once per fold), such as 16; "
            f"got {n_alphas} ({_head(text)})"
        )


def _head(text: str, length: int = 20) -> str:
    """The start of a long flag value, quoted, for a message of one line: ``'1,1,1,1,1,1,1,1,1,1,'...``."""
    return f"{text[:length]!r}{'...' if len(text) > length else ''}"


def parse_alpha(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    value = _float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 such as 0.1, or auto; got {text!r}")
    return value


def parse_hidden(text: str) -> tuple[int, ...]:
    text = text.strip()
    if text.lower() in ("", "none", "0"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = (0,)
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"expected hidden layer sizes as positive integers separated by commas, such as 100,100 (or 'none' "
            f"for a linear model); got {_head(text, 80)}"
        )
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_HIDDEN_LAYERS} hidden layers ({DEPTH_REASON}); got {len(sizes):,} layers "
            f"({_head(text)})"
        )
    # The hidden layers alone (one input, one output) must fit; the data's width is checked
    # with the network, before training.
    n_params = parameter_count(1, sizes, 1)
    needed, budget = TRAINING_COPIES * 4 * n_params, memory.memory_budget()
    if needed > budget:
        raise argparse.ArgumentTypeError(
            f"expected hidden layers small enough to train in memory; got {_head(text, 80)}: at least {n_params:,} "
            f"parameters, about {memory.size_text(needed)} to train, over the {memory.size_text(budget)} netreg "
            "may take (half the memory available)"
        )
    return sizes


def parse_seed(text: str) -> int:
    value = _int(text, -1)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED} such as 0; got {text!r}")
    return value


#: The trackers ``--log`` names (``netreg.callbacks.TRACKERS``, not imported here to keep ``--help`` fast).
LOG_TRACKERS = ("tensorboard", "mlflow")


def log_target(text: str) -> tuple[str, str]:
    """``TRACKER:TARGET``, a tracker of :data:`LOG_TRACKERS` and its folder or tracking URI.

    Examples
    --------
    >>> log_target("tensorboard:runs/tb"), log_target("mlflow:http://localhost:5000")
    (('tensorboard', 'runs/tb'), ('mlflow', 'http://localhost:5000'))
    >>> log_target("wandb:x")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected tensorboard:DIR or mlflow:URI; got 'wandb:x'
    """
    name, _, target = text.partition(":")
    if name not in LOG_TRACKERS or not target.strip():
        raise argparse.ArgumentTypeError(f"expected tensorboard:DIR or mlflow:URI; got {text!r}")
    return name, target


def positive_int(text: str) -> int:
    value = _int(text, 0)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def fraction(text: str) -> float:
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1 such as 0.2; got {text!r}")
    return value


def batch_size(text: str) -> int | str:
    """``"auto"`` or a positive integer (the estimators' ``batch_size``).

    Examples
    --------
    >>> batch_size("auto"), batch_size("32")
    ('auto', 32)
    """
    if text.strip() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a positive integer such as 32; got {text!r}") from None


def in_range(rule: Range, words: str, example: str) -> Callable[[str], float]:
    """A flag's value type: a number that ``rule``, the parameter's declared range, accepts.

    Examples
    --------
    >>> dropout("0.2"), l1_ratio("1"), learning_rate("1e-3")
    (0.2, 1.0, 0.001)
    >>> dropout("1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a probability in [0, 1) such as 0.2; got '1'
    """

    def parse(text: str) -> float:
        value = _float(text)
        if not rule.accepts(value):
            raise argparse.ArgumentTypeError(f"expected {words} such as {example}; got {text!r}")
        return value

    return parse


#: The estimators' ``dropout``, ``l1_ratio`` and ``learning_rate_init``.
dropout = in_range(DROPOUT, "a probability in [0, 1)", "0.2")
l1_ratio = in_range(L1_RATIO, "a number in [0, 1]", "0.5")
learning_rate = in_range(RULES["learning_rate"], "a number > 0", "0.001")


def device(text: str) -> str:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, checked to be on this machine.

    Examples
    --------
    >>> device("cpu")
    'cpu'
    >>> device("gpu")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected auto, cpu, cuda, cuda:N or mps; got 'gpu'
    """
    text = text.strip()
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda, cuda:N or mps; got {text!r}")
    if text in ("auto", "cpu"):
        return text
    import torch  # only for a device to check: the command line starts without it

    if text == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError("mps is not available on this machine; use auto or cpu")
    if text.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(text.partition(":")[2] or 0)
        if index >= count:
            found = f"{count} CUDA device(s)" if count else "no CUDA device"
            raise argparse.ArgumentTypeError(f"{text} is not available on this machine ({found}); use auto or cpu")
    return text


def n_jobs(text: str) -> int:
    """A number of cores as scikit-learn's ``n_jobs`` takes it: positive, or negative to count back from all.

    Examples
    --------
    >>> n_jobs("2"), n_jobs("-1")
    (2, -1)
    >>> n_jobs("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a nonzero integer (-1: every core); got '0'
    """
    value = _int(text, 0)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a nonzero integer (-1: every core); got {text!r}")
    return value


def scoring(text: str) -> str:
    """A scorer name, checked as the CV estimators check it (:func:`netreg.tuning.scoring.check_scoring_name`).

    Examples
    --------
    >>> scoring("roc_auc")
    'roc_auc'
    >>> scoring("rocauc")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a scikit-learn scorer name; got 'rocauc'. Did you mean 'roc_auc', 'roc_auc_ovr' or 'roc_auc_ovo'?
    """
    from netreg.exceptions import InvalidParameterError
    from netreg.tuning.scoring import check_scoring_name  # imported when the flag is given: it loads torch

    text = text.strip()
    try:
        return check_scoring_name(text)
    except InvalidParameterError as error:
        fix = str(error).partition(f"Got scoring={text!r}. ")[2]
        raise argparse.ArgumentTypeError(f"expected a scikit-learn scorer name; got {text!r}. {fix}".strip()) from None


def column_names(text: str) -> list[str]:
    """Comma-separated column names, such as ``name,notes`` (each non-empty, distinct).

    Examples
    --------
    >>> column_names("name, notes")
    ['name', 'notes']
    """
    names = [name.strip() for name in text.split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected distinct column names separated by commas, such as name,notes; got {text!r}"
        )
    return names


def column_name(text: str) -> str:
    """A column name (not empty).

    Examples
    --------
    >>> column_name("Name")
    'Name'
    """
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a column name; got {text!r}")
    return text.strip()


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _int(text: str, invalid: int) -> int:
    """``int(text)``, or ``invalid`` (a value the caller refuses) where it is not an integer."""
    try:
        return int(text)
    except ValueError:
        return invalid
