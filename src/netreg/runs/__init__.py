"""Runs: what ``netreg tune``, ``train``, ``predict`` and ``demo`` do, as library functions that return plain data, write a run folder and report progress through callbacks."""

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
