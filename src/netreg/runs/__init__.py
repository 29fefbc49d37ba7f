"""Runs: from a data file to a regularized model, a results table and a report, in a folder.

What ``netreg tune``, ``netreg train``, ``netreg predict`` and ``netreg demo`` do, as library
functions: they return plain data and write files, and report progress through callbacks;
the command line only parses arguments and renders what they return.

A *run folder* holds the results store, ``results.csv``, ``run.json``, ``model/`` and the
report (:class:`netreg.io.RunFolder` names them).

Modules: :mod:`~netreg.runs.training_table` (a data file read for training),
:mod:`~netreg.runs.tune` (``tune_table``), :mod:`~netreg.runs.train` (``train_table``),
:mod:`~netreg.runs.predict` (``predict_table``), :mod:`~netreg.runs.common` (``run.json``,
``results.csv``, the estimator's parameters and the recipe of a run).
"""

from netreg.runs.common import make_estimator_params, recipe, write_run_files
from netreg.runs.predict import Predictions, predict_table
from netreg.runs.train import held_out_scores, train_table
from netreg.runs.training_table import TrainingTable, load_training_table
from netreg.runs.tune import tune_table

__all__ = [
    "TrainingTable",
    "load_training_table",
    "tune_table",
    "train_table",
    "held_out_scores",
    "predict_table",
    "Predictions",
    "write_run_files",
    "make_estimator_params",
    "recipe",
]
