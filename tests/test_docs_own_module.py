"""docs/own_module.md: its code runs as written (the example with fewer epochs) and prints what it says."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

DOC = Path(__file__).parents[1] / "docs" / "own_module.md"


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def _run(code):
    output = io.StringIO()
    with contextlib.redirect_stdout(output), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(compile(code, str(DOC), "exec"), {"__name__": "own_module_example"})
    return output.getvalue()


def test_the_cnn_example_runs_sweeps_reports_and_compares(tmp_path, monkeypatch):
    example = _python_blocks(DOC.read_text())[0]
    assert "EPOCHS = 40\n" in example
    monkeypatch.chdir(tmp_path)
    printed = _run(example.replace("EPOCHS = 40\n", "EPOCHS = 2\n")).splitlines()
    assert [line.split(":")[0] for line in printed] == ["CNN", "MLP"]
    accuracies = [float(line.rsplit(" ", 1)[1]) for line in printed]
    assert all(0.1 < accuracy <= 1.0 for accuracy in accuracies)  # two epochs: better than chance
    assert (tmp_path / "runs" / "cnn" / "report.html").is_file()
    assert "features.0.weight" in (tmp_path / "runs" / "cnn" / "report.html").read_text()
    # Run again: the CNN's sweep is read back from its store, not trained again.
    again = _run(example.replace("EPOCHS = 40\n", "EPOCHS = 2\n")).splitlines()
    assert again == printed


def test_the_cnn_learns_one_alpha_per_penalized_weight_as_the_page_shows(tmp_path, monkeypatch):
    # The page's alpha="auto" block goes on from the sweep's (its data and SmallCNN).
    sweep, auto = _python_blocks(DOC.read_text())[:2]
    assert "max_iter=40" in auto
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "own_module_example"}
    output = io.StringIO()
    with contextlib.redirect_stdout(output), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(compile(sweep.replace("EPOCHS = 40\n", "EPOCHS = 2\n"), str(DOC), "exec"), namespace)
        exec(compile(auto.replace("max_iter=40", "max_iter=4"), str(DOC), "exec"), namespace)
    learned, scores = output.getvalue().splitlines()[-2:]
    assert sorted(namespace["cnn"].alpha_) == ["classifier.2.weight", "features.0.weight"]
    assert learned == str(namespace["cnn"].alpha_)
    assert re.fullmatch(r"accuracy 0\.\d{4}, log-loss \d\.\d{4}", scores)
    assert "{'features.0.weight': " in DOC.read_text()


def test_what_the_penalty_targets_is_as_the_page_says():
    block = _python_blocks(DOC.read_text())[2]
    printed = _run(block).splitlines()
    assert printed == ["['conv.weight', 'head.weight']", "['embed.weight', 'conv.weight', 'head.weight']"]
    assert "# ['conv.weight', 'head.weight']" in block


@pytest.mark.parametrize("number", [r"CNN: alpha [\d.]+, held-out accuracy 0\.\d{4}", r"MLP: alpha [\d.]+, held"])
def test_the_page_shows_the_printed_results(number):
    assert re.search(number, DOC.read_text())
