"""The command line's arguments: the library's parameters as flags, and the flags' value types.

A bad value is an argparse error: usage and one line, status 2.
"""

from __future__ import annotations

import argparse
import math
import re

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
    "positive_int",
    "fraction",
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
    "factor": "--factor",
    "min_epochs": "--min-epochs",
    "scoring": "--scoring",
    "chunk_size": "--chunk-size",
    "test_size": "--test-size",
    "backend": "--backend",
    "address": "--address",
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
    """

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(3)
        if name in NEGATED_FLAGS and value == "False":
            return NEGATED_FLAGS[name]
        if name not in FLAGS:
            return match.group(0)
        if value is None or value == "True":
            return FLAGS[name]
        return f"{FLAGS[name]} {value.strip(chr(39) + chr(34))}"

    return re.sub(r"`(\w+)(=([^`]*))?`", flag, message)


# -- value types ------------------------------------------------------------------------
def parse_alphas(text: str) -> int | list[float]:
    text = text.strip()
    try:
        if "," not in text and text.isdigit():
            return int(text)
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected a grid size such as 16, or comma-separated alphas >= 0 such as 0,0.01,0.1,1; got {text!r}"
        )
    return values


def parse_alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 such as 0.1; got {text!r}")
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
            f"for a linear model); got {text!r}"
        )
    return sizes


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1 such as 0.2; got {text!r}")
    return value
