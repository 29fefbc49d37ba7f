"""Messages that many tests expect in full, each written once here, so that a change of
wording is one edit (the rows' counting is netreg's own ``message_text.COUNTING``)."""

from __future__ import annotations


def not_a_nonnegative_float(name: str, shown: str) -> str:
    """netreg's refusal of a value that is not a finite float >= 0 (``_checks.check_float``
    through the ``invalid`` template), for the parameter ``name`` given the value written ``shown``.

    Examples
    --------
    >>> not_a_nonnegative_float("alpha", "-0.1")
    '`alpha` must be a finite float >= 0. Got alpha=-0.1.'
    """
    return f"`{name}` must be a finite float >= 0. Got {name}={shown}."


def usage(command: str) -> str:
    """How every refusal of a flag by ``netreg <command>`` ends (argparse's, one line): where the usage is.

    Examples
    --------
    >>> usage("train")
    '(see netreg train --help)'
    """
    return f"(see netreg {command} --help)"
