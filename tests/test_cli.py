"""The command line: every bad input answered in one or two lines, with the right status,
and nothing already written damaged."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from expected_messages import usage
from netreg.cli import main
from netreg.message_text import COUNTING

FAST = ["--hidden", "4", "--max-iter", "3"]


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    n = 60
    data = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "color": rng.choice(["red", "blue"], n),
            "label": rng.choice(["x", "y"], n),
        }
    )
    data.to_csv("ok.csv", index=False)
    data.to_parquet("ok.parquet")
    np.savez("ok.npz", X=data[["a", "b"]].to_numpy(), label=(data["label"] == "x").astype(int).to_numpy())
    open("empty.csv", "w").close()
    open("header.csv", "w").write("a,b,label\n")
    data.assign(label="x").to_csv("one.csv", index=False)
    broken = data.copy()
    broken.loc[3, "a"] = np.nan
    broken.to_csv("nan.csv", index=False)
    broken = data.astype({"a": object})
    broken.loc[5, "a"] = np.inf
    broken.to_csv("inf.csv", index=False)
    broken = data.astype({"a": object})
    broken.loc[2, "a"] = "n/a?"
    broken.to_csv("mixed.csv", index=False)
    data.drop(columns=["b"]).to_csv("fewer.csv", index=False)
    data.rename(columns={"b": "c"}).drop(columns=["label"]).to_csv("renamed.csv", index=False)
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["train", "nope.csv", "--target", "label"],
            "netreg train: error: `nope.csv`: no such file; expected a .csv, .parquet, .pq or .npz file.",
        ),
        (
            ["train", "empty.csv", "--target", "label"],
            "netreg train: error: `empty.csv`: the file is empty; expected at least one column and one row of data.",
        ),
        (
            ["train", "header.csv", "--target", "label"],
            "netreg train: error: `header.csv`: has columns 'a', 'b', 'label' but no rows; expected at least one row of data.",
        ),
        (
            ["train", "ok.csv", "--target", "lable"],
            "netreg train: error: `ok.csv`: no target column 'lable'; expected a column of that name. Did you mean 'label'? Columns: 'a', 'b', 'color', 'label'.",
        ),
        (
            ["tune", "one.csv", "--target", "label"],
            "netreg tune: error: `one.csv`: target column 'label' has a single class ('x'); expected at least two classes to classify. Choose another target column, or add rows of other classes.",
        ),
        (
            ["train", "nan.csv", "--target", "label"],
            f"netreg train: error: `nan.csv`: missing values in column 'a' (row 3, {COUNTING}); expected a value in every cell. Pass --impute mean (or 'median', 'most_frequent') to fill them in, or --drop-missing to drop such rows.",
        ),
        (
            ["train", "inf.csv", "--target", "label"],
            f"netreg train: error: `inf.csv`: infinite values in column 'a' (row 5, {COUNTING}); expected finite numbers. Replace them, or drop those rows.",
        ),
        (
            ["train", "mixed.csv", "--target", "label"],
            f"netreg train: error: `mixed.csv`: column 'a' mixes numbers and text (row 2: 'n/a?'; row 0: '0.1257302210933933'; {COUNTING}); expected only numbers or only text in a column.",
        ),
        (
            ["train", "ok.csv", "--target", "label", "--alpha", "-1"],
            f"netreg train: error: argument --alpha: expected a number >= 0 such as 0.1, or auto; got '-1' {usage('train')}",
        ),
        (
            ["train", "ok.csv", "--target", "label", "--alpha", "lots"],
            f"netreg train: error: argument --alpha: expected a number >= 0 such as 0.1, or auto; got 'lots' {usage('train')}",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--alphas", "0.1;1"],
            f"netreg tune: error: argument --alphas: expected a grid size such as 16, or comma-separated alphas >= 0 such as 0,0.01,0.1,1; got '0.1;1' {usage('tune')}",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--alphas", "0.1,-1"],
            f"netreg tune: error: argument --alphas: expected a grid size such as 16, or comma-separated alphas >= 0 such as 0,0.01,0.1,1; got '0.1,-1' {usage('tune')}",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--alphas", "0.5"],
            "netreg tune: error: --alphas must be at least 2 distinct values to choose from. Got alphas=[0.5].",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--hidden", "10,x"],
            f"netreg tune: error: argument --hidden: expected hidden layer sizes as positive integers separated by commas, such as 100,100 (or 'none' for a linear model); got '10,x' {usage('tune')}",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--cv", "40"],
            "netreg tune: error: cv=40 stratified folds, but class 'x' has 27 row(s); expected a row of every class in every fold. Use cv <= 27, or collect more rows of that class.",
        ),
    ],
)
def test_bad_input_is_one_line_with_status_two(files, capsys, argv, message):
    status, _, err = run(capsys, *argv, "--out", "run", *FAST)
    assert status == 2
    assert err == message
    assert not (files / "run" / "model").exists()


def test_train_then_predict_on_csv_parquet_and_npz(files, capsys):
    for name in ("ok.csv", "ok.parquet", "ok.npz"):
        status, out, _ = run(
            capsys, "train", name, "--target", "label", "--alpha", "0.5", "--out", f"run-{name}", *FAST
        )
        assert status == 0 and re.search(r"held-out accuracy = \d\.\d{4} \(12 rows held out, 48 trained on\)", out), out
        status, out, _ = run(capsys, "predict", f"run-{name}/model", name)
        predictions = pd.read_csv(pd.io.common.StringIO(out))
        assert status == 0 and len(predictions) == 60 and "prediction" in predictions
    status, _, err = run(capsys, "predict", "run-ok.csv/model", "ok.csv", "--out", "p.csv")
    assert status == 0 and err == "Wrote 60 predictions to p.csv"
    probabilities = pd.read_csv("p.csv")[["proba_x", "proba_y"]].sum(axis=1)
    np.testing.assert_allclose(probabilities, 1.0, rtol=1e-6)


def test_train_with_alpha_auto_says_what_it_learned_per_layer_and_saves_it(files, capsys):
    status, out, _ = run(capsys, "train", "ok.csv", "--target", "label", "--alpha", "auto", "--out", "run", *FAST)
    from netreg.io.models import load_model

    model = load_model("run/model").estimator
    assert status == 0 and model.get_params()["alpha"] == "auto"
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "Alpha learned in the one fit" in line)
    assert f"Log evidence of the final weights at the learned alpha: {model.log_evidence_:.1f}." in lines
    for name, value in model.alpha_.items():  # one row per layer: its name and what it learned
        assert any(name in line and f"{value:.4g}" in line for line in lines[start:])
    assert any(line.startswith("alpha = learned per layer; held-out accuracy = ") for line in lines[start:])


def test_train_with_alpha_auto_writes_a_report_of_alphas_path(files, capsys):
    status, out, _ = run(
        capsys,
        "train",
        "ok.csv",
        "--target",
        "label",
        "--alpha",
        "auto",
        "--out",
        "run",
        "--hidden",
        "4",
        "--max-iter",
        "40",
    )
    from netreg.io.models import load_model

    model = load_model("run/model").estimator
    page = (files / "run" / "report.html").read_text()
    assert status == 0 and "Report: run/report.html" in out and model.alpha_history_
    assert page.count('<figure id="alpha_path">') == 1 and (files / "run" / "alpha_path.png").is_file()
    for name, value in model.alpha_.items():
        assert f"<tr><td>{name}</td><td>{value:.4g}</td>" in page
    # netreg report rewrites it from the folder alone, the same page.
    assert run(capsys, "report", "run")[0] == 0 and (files / "run" / "report.html").read_text() == page
    assert (
        run(capsys, "train", "ok.csv", "--target", "label", "--alpha", "auto", "--out", "quiet", "--no-report", *FAST)[
            0
        ]
        == 0
    )
    assert not (files / "quiet" / "report.html").exists()


def test_tune_with_alpha_auto_runs_the_hybrid_and_says_what_it_learned(files, capsys):
    hybrid = "auto is --search hybrid (alpha learned in one fit, then confirmed by the folds)"
    for given, message in (
        (["--alpha", "0.1"], "argument --alpha: invalid choice: 0.1 (choose from 'auto')"),
        (["--alpha", "auto", "--search", "halving"], f"argument --alpha: {hybrid}, not --search halving"),
        (["--alpha", "auto", "--search", "grid"], f"argument --alpha: {hybrid}, not --search grid"),
        (
            ["--alpha", "auto", "--alphas", "8"],
            f"argument --alphas: --alpha auto lays its own 5 alphas around the learned one: {hybrid}",
        ),
        (
            ["--alpha", "auto", "--selection", "evidence"],
            f"argument --selection: min or 1se with --alpha auto, which the folds confirm: {hybrid}",
        ),
        (
            ["--search", "hybrid", "--alphas", "8"],
            f"argument --alphas: --search hybrid lays its own 5 alphas around the learned one: {hybrid}",
        ),
    ):
        status, out, err = run(capsys, "tune", "ok.csv", "--target", "label", *given, "--out", "run")
        assert (status, out) == (2, "") and err == f"netreg tune: error: {message} {usage('tune')}"
    status, out, _ = run(
        capsys, "tune", "ok.csv", "--target", "label", "--alpha", "auto", "--cv", "3", "--out", "run", *FAST
    )
    from netreg.io.models import load_model
    from netreg.tuning.store import SweepStore

    with SweepStore.read(files / "run" / "sweep.sqlite") as store:
        alphas = np.asarray(store.spec()["alphas"])
    assert status == 0 and len(alphas) == 5
    np.testing.assert_allclose(alphas / alphas[2], np.logspace(-1, 1, 5), rtol=1e-9)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "Alpha learned in the one fit" in line)
    centre = next(line for line in lines if line.startswith("Read as one alpha: "))
    assert centre == f"Read as one alpha: {alphas[2]:.4g}, the centre of the alphas the folds compare below."
    assert sum(line.startswith("│ layers.") for line in lines[start:]) == 2  # one row per penalized weight
    assert load_model("run/model").meta["alpha"] in alphas
    # The report draws what the fit learned (kept in run.json) first; netreg report redraws it from the folder.
    learned = json.loads((files / "run" / "run.json").read_text())["learned"]
    assert learned["centre"] == pytest.approx(alphas[2], rel=1e-12) and set(learned["alpha"]) == {
        "layers.0.weight",
        "layers.1.weight",
    }
    page = (files / "run" / "report.html").read_text()
    assert page.index('<figure id="alpha_path">') < page.index('<figure id="validation_curve">')
    assert run(capsys, "report", "run")[0] == 0 and (files / "run" / "report.html").read_text() == page
    # --search hybrid is the same run: the same recipe, so it reruns into the folder without --force.
    again = run(capsys, "tune", "ok.csv", "--target", "label", "--search", "hybrid", "--cv", "3", "--out", "run", *FAST)
    assert again[0] == 0 and centre in again[1].splitlines()


def test_predict_refuses_other_columns_and_a_broken_model_without_damage(files, capsys):
    assert run(capsys, "train", "ok.csv", "--target", "label", "--out", "run", *FAST)[0] == 0
    model = files / "run" / "model"
    saved = {p.name: p.read_bytes() for p in model.iterdir()}
    status, _, err = run(capsys, "predict", "run/model", "fewer.csv")
    assert status == 2 and err == (
        "netreg predict: error: `fewer.csv`: the columns differ from those seen at fit (missing 'b'); "
        "expected 'a', 'b', 'color', in any order."
    )
    status, _, err = run(capsys, "predict", "run/model", "renamed.csv")
    assert status == 2 and err == (
        "netreg predict: error: `renamed.csv`: the columns differ from those seen at fit (missing 'b'; "
        "unexpected 'c'); expected 'a', 'b', 'color', in any order."
    )
    (files / "p.csv").write_text("keep me")
    status, _, err = run(capsys, "predict", "run/model", "ok.csv", "--out", "p.csv")
    assert (
        status == 2
        and err
        == "netreg predict: error: 'p.csv' already exists; it was not overwritten. Choose another --out or pass --force."
    )
    assert (files / "p.csv").read_text() == "keep me"
    assert {p.name: p.read_bytes() for p in model.iterdir()} == saved
    (model / "weights.safetensors").write_bytes(saved["weights.safetensors"][:64])
    status, _, err = run(capsys, "predict", "run/model", "ok.csv")
    assert status == 2 and re.fullmatch(
        r"netreg predict: error: \S+weights\.safetensors is corrupt or truncated \(.+\)\.", err
    ), err


def test_a_folder_holding_a_different_model_is_refused_unless_forced(files, capsys):
    assert run(capsys, "train", "ok.csv", "--target", "label", "--alpha", "0.1", "--out", "run", *FAST)[0] == 0
    before = (files / "run" / "model" / "model.json").read_text()
    status, _, err = run(capsys, "train", "ok.csv", "--target", "label", "--alpha", "5", "--out", "run", *FAST)
    assert status == 2 and err == (
        f"netreg train: error: {str(files / 'run' / 'model')!r} already holds a different model; it was not "
        "overwritten. Choose another folder, or pass --force to replace it."
    ).replace(str(files) + "/", "")
    assert (files / "run" / "model" / "model.json").read_text() == before
    # The same command again may replace its own model; --force replaces another.
    assert run(capsys, "train", "ok.csv", "--target", "label", "--alpha", "0.1", "--out", "run", *FAST)[0] == 0
    assert run(capsys, "train", "ok.csv", "--target", "label", "--alpha", "5", "--out", "run", "--force", *FAST)[0] == 0
    assert json.loads((files / "run" / "model" / "model.json").read_text())["alpha"] == 5.0


def test_tune_writes_the_run_folder_and_resumes(files, capsys):
    argv = [
        "tune",
        "ok.csv",
        "--target",
        "label",
        "--alphas",
        "0,0.1,10",
        "--cv",
        "2",
        "--out",
        "run",
        "--no-report",
        *FAST,
    ]
    status, out, _ = run(capsys, *argv)
    assert status == 0 and "Chosen alpha = " in out
    assert {p.name for p in (files / "run").iterdir()} >= {"sweep.sqlite", "results.csv", "run.json", "model"}
    results = pd.read_csv(files / "run" / "results.csv")
    assert list(results["alpha"]) == [0.0, 0.1, 10.0] and results["chosen"].sum() == 1
    assert run(capsys, *argv)[0] == 0  # a rerun resumes from the store (nothing to train) and succeeds
    store = (files / "run" / "sweep.sqlite").read_bytes()
    status, _, err = run(capsys, *argv[:5], "0,0.2,10", *argv[6:])
    assert status == 2 and "already holds a different model; it was not overwritten" in err
    status, _, err = run(capsys, *argv[:5], "0,0.2,10", *argv[6:], "--force")  # the model may go; the store stays
    assert status == 2 and "belongs to a different sweep (alphas: stored [0.0, 0.1, 10.0], now [0.0, 0.2, 10.0])" in err
    assert (files / "run" / "sweep.sqlite").read_bytes() == store


def test_no_traceback_reaches_the_terminal(files):
    completed = subprocess.run(
        [sys.executable, "-m", "netreg.cli", "train", "nope.csv", "--target", "label", "--out", "run"],
        capture_output=True,
        text=True,
        cwd=files,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr and len(completed.stderr.strip().splitlines()) <= 2
    completed = subprocess.run(
        [sys.executable, "-m", "netreg.cli", "--debug", "train", "nope.csv", "--target", "label", "--out", "run"],
        capture_output=True,
        text=True,
        cwd=files,
    )
    assert "Traceback" in completed.stderr


def test_bad_data_leaves_an_existing_run_folder_untouched(files, capsys):
    argv = ["tune", "ok.csv", "--target", "label", "--alphas", "0,1", "--cv", "2", "--out", "run", "--no-report", *FAST]
    assert run(capsys, *argv)[0] == 0
    before = {
        p.relative_to(files): p.read_bytes()
        for p in (files / "run").rglob("*")
        if p.is_file() and "sqlite-" not in p.name
    }
    for bad in ("nan.csv", "mixed.csv", "empty.csv", "one.csv"):
        status, _, err = run(capsys, "tune", bad, *argv[2:])
        assert status == 2 and err.startswith(f"netreg tune: error: `{bad}`: ")
    after = {
        p.relative_to(files): p.read_bytes()
        for p in (files / "run").rglob("*")
        if p.is_file() and "sqlite-" not in p.name
    }
    assert after == before
