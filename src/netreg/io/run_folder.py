"""The run folder: what ``netreg tune``, ``train`` and ``demo`` write, and where.

Layout, named here and nowhere else::

    sweep.sqlite    the results store (every member of the sweep, resumable)
    results.csv     one row per alpha: scores, losses, weight norms (cv_results)
    run.json        how the run was made: data, target, task, scoring, selection, chosen alpha
    model/          the model refit with the chosen alpha (:mod:`netreg.io.models`)
    report.html     the evidence (:mod:`netreg.report`), beside its figures (PNG)

Files are written through :meth:`RunFolder.write_bytes` and :meth:`RunFolder.write_text`,
the one place where a file is created inside a run folder (:func:`netreg.io.files.write_file`:
whole or not at all, never through a link); the store and the model folder keep the same
rules (:mod:`netreg.tuning.store`, :mod:`netreg.io.models`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from netreg.io.files import check_writable_folder, write_file

__all__ = [
    "FIGURE_FILES",
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
}


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

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "path", Path(path))

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
        """Refuse, before any work, a folder that could not be created or written.

        ``name`` is the parameter that gave the folder (see
        :func:`netreg.io.files.check_writable_folder`).
        """
        check_writable_folder(self.path, name)

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write the file ``name`` in the folder (created if missing); returns its path.

        The bytes go to a new temporary file beside it (created exclusively, so never
        through an existing file or link), which then replaces ``name`` in one rename: a
        reader sees the old file or the new one, never half a file, and a link at ``name``
        is replaced, not written through. The file gets the usual permissions (0666
        less the umask).

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
