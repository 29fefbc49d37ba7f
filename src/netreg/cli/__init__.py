"""The ``netreg`` command: parses arguments, calls the library, renders what it returns.

An error a user can fix is printed in one or two lines, status 2; any other failure exits
with status 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from rich.console import Console
from sklearn.exceptions import ConvergenceWarning

from netreg.cli.arguments import EXIT_BAD_INPUT, EXIT_FAILURE, as_flags
from netreg.cli.parser import parse_args
from netreg.exceptions import NetRegError, NetRegWarning

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``netreg`` command line; returns the exit status."""
    try:
        args = parse_args(argv)
    except SystemExit as exit:  # argparse: --help (0) or a bad argument (2, already printed)
        return int(exit.code or 0)
    # Piped into a file or another program, a table is not cut to 80 columns (rich's default
    # without a terminal): a log or a CI transcript keeps each row on one line.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        # Warnings worth a user's attention (training stopped before converging, a column
        # that looks like an id, categories never seen at fit) are printed as notes, once
        # each, when they are raised: a note on the data comes before the training it concerns.
        noted, shown = (ConvergenceWarning, NetRegWarning), set()

        def note(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
            text = str(message)
            if issubclass(category, noted) and text not in shown:
                shown.add(text)
                errors.print(f"netreg {args.command}: note: {as_flags(text)}", markup=False)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for category in noted:
                warnings.simplefilter("always", category)
            warnings.showwarning = note
            return args.run(args, console)
    except KeyboardInterrupt:
        errors.print(f"netreg {args.command}: interrupted; results already written are kept (rerun to resume).")
        return 130
    except NetRegError as error:
        if args.debug:
            raise
        errors.print(f"netreg {args.command}: error: {as_flags(str(error))}", markup=False)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001 - the command line must not end in a traceback
        if args.debug:
            raise
        errors.print(
            f"netreg {args.command}: failed: {type(error).__name__}: {error}\n(rerun with --debug for the traceback)",
            markup=False,
        )
        return EXIT_FAILURE
