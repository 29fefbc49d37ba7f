"""`netreg train` with a grid leaves the evidence `netreg tune` leaves: its report opens in
headless Chromium with every figure, a row per alpha and the held-out test scores, and
`netreg report` redraws it from the run folder."""

from __future__ import annotations

import json

import pandas as pd
from report_helpers import measure
from sklearn.datasets import load_digits

from netreg.cli import main
from netreg.io import RunFolder


def test_train_with_a_grid_writes_a_report_that_opens_in_chromium(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    load_digits(as_frame=True).frame.iloc[:300].to_csv("digits.csv", index=False)
    argv = ["train", "digits.csv", "--target", "target", "--hidden", "8", "--max-iter", "10", "--cv", "3"]
    status = main([*argv, "--alphas", "0,0.1,1,10", "--out", "run"])
    out = capsys.readouterr().out
    assert status == 0, out
    folder = RunFolder("run")
    assert "Report: run/report.html" in out and "Cross-validated neg_log_loss (higher is better)" in out
    run = json.loads(folder.run_json.read_text())
    assert run["command"] == "train" and run["scoring"] == "neg_log_loss"
    (model, scores), *_ = ((key, value) for key, value in run["test"].items() if key != "rows")
    assert run["test"]["rows"] == 60 and model == f"alpha = {run['alpha']:.3g} (chosen), trained on 240 rows"
    assert list(pd.read_csv(folder.results)["alpha"]) == [0.0, 0.1, 1.0, 10.0]

    m = measure(tmp_path, folder.report.read_text(encoding="utf-8"))
    figures = ["validation_curve", "weight_norms", "learning_curves", "evidence", "weight_histograms"]
    assert [image["figure"] for image in m["images"]] == figures
    assert all(image["complete"] and image["width"] > 0 for image in m["images"])
    assert m["fetched"] == [] and len(m["rows"]) == 4
    assert m["heldOut"] == [[model, f"{scores['accuracy']:.4g}", f"{scores['log_loss']:.4g}"]]

    # The folder is a run folder: netreg report redraws the page from it.
    before = folder.report.stat().st_mtime_ns
    assert main(["report", "run"]) == 0 and folder.report.stat().st_mtime_ns >= before
    assert capsys.readouterr().out.strip() == "Wrote run/report.html"
