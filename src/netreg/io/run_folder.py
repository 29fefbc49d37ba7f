"""The run folder: what ``netreg tune``, ``train`` and ``demo`` write, and where (named here and nowhere else)::

    sweep.sqlite    the results store          results.csv   one row per alpha
    run.json        how the run was made       model/        the model refit (netreg.io.models)
    report.html     the report, beside its figures (PNG)

Only a run folder netreg made (``run.json``'s ``made_by`` mark, written first) is written
into; every file goes through :meth:`RunFolder.write_bytes` or :meth:`RunFolder.write_text`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netreg._version import __version__
from netreg.exceptions import DataError, NetRegError, invalid
from netreg.safe_files import check_writable_folder, read_file, write_file

__all__ = [
    "FIGURE_FILES",
    "MADE_BY",
    "MODEL_DIR",
    "REPORT_FILE",
    "RESULTS_FILE",
    "RUN_FILE",
    "STORE_FILE",
    "RunFolder",
]

STORE_FILE = "sweep.sqlite"
RESULTS_FILE = "results.csv"
RUN_FILE = "run.json"
MODEL_DIR = "model"
REPORT_FILE = "report.html"
#: The report's figures, by what they show.
FIGURE_FILES = {
    "validation_curve": "validation_curve.png",
    "weight_norms": "weight_norms.png",
    "learning_curves": "learning_curves.png",
    "weight_histograms": "weight_histograms.png",
    "evidence": "evidence.png",
    "alpha_path": "alpha_path.png",  # a run of alpha="auto" (netreg.report.learned)
}
#: The key of ``run.json`` that marks the folder as a run netreg made (``"netreg 0.1.0"``).
MADE_BY = "made_by"
#: The files a run replaces only in a folder it made (the store and the model have their own checks).
_REPLACED = (RUN_FILE, RESULTS_FILE, REPORT_FILE, *FIGURE_FILES.values())
#: More than any run.json netreg writes (its list of missing members included).
_MAX_RUN_JSON_BYTES = 64 * 1024**2


@dataclass(frozen=True, init=False)
class RunFolder:
    """The paths of a run folder, and the writing of files into it.

    Parameters
    ----------
    path : str or os.PathLike
        The folder (it need not exist yet).

    Attributes
    ----------
    path : pathlib.Path
        The folder.

    Examples
    --------
    >>> folder = RunFolder("runs/label")
    >>> str(folder.store), str(folder.model), str(folder.figure("weight_norms"))
    ('runs/label/sweep.sqlite', 'runs/label/model', 'runs/label/weight_norms.png')
    >>> RunFolder.contents()
    'sweep.sqlite, results.csv, run.json, model/'
    """

    path: Path
    # The path as given: Path("") is ".", and an empty path is refused, not read as this folder.
    _given: str = field(repr=False, compare=False)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "path", Path(path))
        object.__setattr__(self, "_given", os.fspath(path))

    @property
    def store(self) -> Path:
        """The results store, ``sweep.sqlite``."""
        return self.path / STORE_FILE

    @property
    def results(self) -> Path:
        """The table of results per alpha, ``results.csv``."""
        return self.path / RESULTS_FILE

    @property
    def run_json(self) -> Path:
        """How the run was made, ``run.json``."""
        return self.path / RUN_FILE

    @property
    def model(self) -> Path:
        """The model folder, ``model/``."""
        return self.path / MODEL_DIR

    @property
    def report(self) -> Path:
        """The report page, ``report.html``."""
        return self.path / REPORT_FILE

    def figure(self, name: str) -> Path:
        """The PNG file of the figure ``name`` (a key of :data:`FIGURE_FILES`)."""
        return self.path / FIGURE_FILES[name]

    @staticmethod
    def contents() -> str:
        """What a finished ``tune`` leaves besides the report, as the commands list it."""
        return f"{STORE_FILE}, {RESULTS_FILE}, {RUN_FILE}, {MODEL_DIR}/"

    def check_writable(self, name: str = "out_dir") -> None:
        """Refuse, before any work, a folder that could not be created or written, or is not netreg's.

        ``name`` is the parameter that gave the folder. The folder must be writable (see
        :func:`netreg.safe_files.check_writable_folder`; an empty path is refused), and either
        hold none of the files a run writes or be a run folder netreg made (its ``run.json``
        has the :data:`MADE_BY` mark): a user's own ``results.csv``, ``run.json``,
        ``report.html`` or figure is never replaced, not even with ``force``.

        Raises
        ------
        InvalidParameterError
            If the folder cannot be written, or holds files of those names and no
            ``run.json`` netreg wrote.

        Examples
        --------
        >>> import tempfile
        >>> folder = RunFolder(tempfile.mkdtemp())
        >>> _ = folder.write_text(RESULTS_FILE, "the user's own table")
        >>> folder.check_writable()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        netreg.exceptions.InvalidParameterError: `out_dir` must be a new folder or a run folder netreg made. Got '...': it holds results.csv and no run.json of netreg's, so that file is not a run's to replace. Choose another folder, or move the file away.
        >>> _ = folder.write_run_json({"scoring": "accuracy"})
        >>> folder.check_writable()
        """
        check_writable_folder(self._given, name)
        if not self.path.is_dir() or self.made_by_netreg():
            return
        found = [file for file in _REPLACED if os.path.lexists(self.path / file)]
        if found:
            files = f"{', '.join(found[:-1])} and {found[-1]}" if len(found) > 1 else found[0]
            which = "those files are" if len(found) > 1 else "that file is"
            raise invalid(
                name,
                "a new folder or a run folder netreg made",
                got=f"{str(self.path)!r}: it holds {files} and no {RUN_FILE} of netreg's, so {which} not a run's "
                "to replace",
                fix=f"Choose another folder, or move the {'files' if len(found) > 1 else 'file'} away.",
            )

    def made_by_netreg(self) -> bool:
        """Whether the folder's ``run.json`` is one netreg wrote (a regular file with the :data:`MADE_BY` mark).

        Examples
        --------
        >>> import tempfile
        >>> folder = RunFolder(tempfile.mkdtemp())
        >>> folder.made_by_netreg()
        False
        >>> _ = folder.write_run_json({"scoring": "accuracy"})
        >>> folder.made_by_netreg()
        True
        """
        try:
            run = json.loads(read_file(self.run_json, _MAX_RUN_JSON_BYTES, "a run.json may hold", DataError))
        except (OSError, ValueError, RecursionError, NetRegError):
            return False  # missing, unreadable, a link, a FIFO, not JSON: not a run.json netreg wrote
        return isinstance(run, dict) and str(run.get(MADE_BY, "")).startswith("netreg ")

    def write_run_json(self, settings: Mapping[str, Any]) -> Path:
        """Write ``run.json``: ``settings`` as JSON, with the :data:`MADE_BY` mark first.

        A run writes it before any other file of the folder, so that a run killed midway
        leaves a folder its rerun recognizes as its own.

        Examples
        --------
        >>> import tempfile
        >>> folder = RunFolder(tempfile.mkdtemp())
        >>> print(folder.write_run_json({"scoring": "accuracy"}).read_text())  # doctest: +ELLIPSIS
        {
          "made_by": "netreg ...",
          "scoring": "accuracy"
        }
        """
        run = {MADE_BY: f"netreg {__version__}", **settings}
        return self.write_text(RUN_FILE, json.dumps(run, indent=2, default=str))

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write the file ``name`` in the folder (created if missing); returns its path.

        Written whole, never through a link, as :func:`netreg.safe_files.write_file` writes.

        Raises
        ------
        OutputError
            If the file cannot be written (a full disk, a read-only folder); the
            temporary file is removed and what was at ``name`` is left as it was.

        Examples
        --------
        >>> import tempfile
        >>> folder = RunFolder(tempfile.mkdtemp())
        >>> folder.write_bytes("a.bin", b"1").read_bytes()
        b'1'
        """
        return write_file(self.path / name, data)

    def write_text(self, name: str, text: str) -> Path:
        """Write the file ``name`` as UTF-8 text, as :meth:`write_bytes` does; returns its path.

        Examples
        --------
        >>> import tempfile
        >>> folder = RunFolder(tempfile.mkdtemp())
        >>> folder.write_text(RUN_FILE, "{}") == folder.run_json
        True
        """
        return self.write_bytes(name, text.encode("utf-8"))
