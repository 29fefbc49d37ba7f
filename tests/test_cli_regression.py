"""Regression from the command line: the target standardized for training, predictions in its
units, and a warning when a model predicts worse than the mean."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from netreg.cli import main


@pytest.fixture()
def diabetes_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    load_diabetes(as_frame=True).frame.to_csv("diabetes.csv", index=False)
    return tmp_path / "diabetes.csv"


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


def _held_out_r2(out):
    return float(re.search(r"held-out R\^2 = (-?\d+\.\d{4})", out).group(1))


def test_train_on_diabetes_is_as_good_as_ridge_cv_on_the_same_split(diabetes_csv, capsys):
    # scikit-learn's diabetes target runs from 25 to 346: trained as it is, the network
    # barely leaves the mean; standardized, it matches RidgeCV.
    status, out, _ = run(capsys, "train", "diabetes.csv", "--target", "target", "--alphas", "8", "--out", "run")
    assert status == 0, out
    frame = pd.read_csv(diabetes_csv)
    X, y = frame.drop(columns="target").to_numpy(), frame["target"].to_numpy()
    train, test = train_test_split(np.arange(len(y)), test_size=0.2, random_state=0)  # train's split (seed 0)
    scaler = StandardScaler().fit(X[train])  # as netreg's table preprocessing does, on the training rows
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 25)).fit(scaler.transform(X[train]), y[train])
    reference = ridge.score(scaler.transform(X[test]), y[test])
    assert _held_out_r2(out) == pytest.approx(reference, abs=0.05)
    status, out, _ = run(capsys, "predict", "run", "diabetes.csv")
    predictions = pd.read_csv(pd.io.common.StringIO(out))["prediction"]
    assert status == 0 and 100 < predictions.mean() < 200  # in the target's units


def test_an_unstandardized_target_is_trained_as_asked_and_the_poor_fit_is_named(diabetes_csv, capsys):
    status, out, _ = run(
        capsys,
        "train",
        "diabetes.csv",
        "--target",
        "target",
        "--no-standardize-target",
        "--alpha",
        "0.0001",
        "--max-iter",
        "50",
        "--out",
        "r",
    )
    assert status == 0 and _held_out_r2(out) < 0
    assert (
        "Note: a held-out R^2 below 0 means the model predicts worse than the mean of the target would. Check the "
        "learning rate and the number of epochs (--max-iter), or let alpha be chosen from a grid (leave out --alpha)."
    ) in " ".join(out.split())
