"""README.md's drop-in section: its scikit-learn code runs as written, with only the imports swapped."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

README = Path(__file__).parents[1] / "README.md"


def _drop_in_code() -> str:
    section = README.read_text().split("## A drop-in for scikit-learn's MLP", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return code


def test_the_drop_in_code_swaps_only_imports_of_scikit_learn_code():
    code = _drop_in_code()
    imports = [line for line in code.splitlines() if line.startswith(("from netreg", "import netreg"))]
    assert imports == ["from netreg import NetRegClassifierCV", "from netreg import NetRegRegressor as MLPRegressor"]
    # What the swapped imports stand for is there, commented out, for the reader to compare.
    assert "# from sklearn.neural_network import MLPClassifier, MLPRegressor" in code
    assert "# search = GridSearchCV(" in code
    for piece in ('learning_rate="adaptive"', "early_stopping=True", "ColumnTransformer(", "OneHotEncoder()"):
        assert piece in code, piece
    assert 'pd.DataFrame(search.cv_results_).sort_values("rank_test_score")' in code


def test_the_drop_in_code_runs_as_written_and_prints_what_it_should():
    output = io.StringIO()
    with contextlib.redirect_stdout(output), warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the code's settings converge: no warning
        namespace: dict = {"__name__": "readme_drop_in"}
        exec(compile(_drop_in_code(), str(README), "exec"), namespace)
    lines = output.getvalue().splitlines()
    regression = re.fullmatch(r"price R\^2 on held-out homes: (0\.\d{3}) after (\d+) epochs", lines[0])
    assert regression and float(regression[1]) > 0.9, lines[0]
    # The one-hot columns reached the network as a sparse matrix, and it trained on them.
    encoded = namespace["model"][0].transform(namespace["homes"][:5])
    assert hasattr(encoded, "toarray") and namespace["regressor"].n_features_in_ == encoded.shape[1]
    assert namespace["regressor"].history_[-1].get("learning_rate") is not None  # the adaptive schedule ran
    assert lines[1].split() == ["param_alpha", "mean_test_score", "std_test_score", "rank_test_score"]
    ranks = [int(line.split()[-1]) for line in lines[2:6]]
    assert ranks == [1, 2, 3, 4]
    best = re.fullmatch(r"best \{'alpha': ([\d.e-]+)\}: CV accuracy (0\.\d{3}), test (0\.\d{3})", lines[6])
    assert best and float(best[2]) > 0.85 and float(best[3]) > 0.85, lines[6]
    assert float(best[1]) == float(lines[2].split()[0])  # the best is the first row of the sorted table


def _notebook_code() -> str:
    # The section's own code, before its subsection on trackers.
    section = README.read_text().split("## In a notebook", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return code


def test_the_notebook_code_runs_draws_the_searchs_numbers_and_writes_the_report(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")  # as a notebook's inline backend draws: off screen
    import matplotlib.pyplot as plt
    import numpy as np

    monkeypatch.chdir(tmp_path)
    # One process: forking sweep workers for 12 small members costs more than it saves on a busy machine.
    monkeypatch.setenv("NETREG_N_JOBS", "1")
    namespace: dict = {"__name__": "readme_notebook"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 10 epochs: short on purpose
        exec(compile(_notebook_code(), str(README), "exec"), namespace)
    search, left, middle = namespace["search"], namespace["left"], namespace["middle"]
    lines = {line.get_gid(): line for line in left.get_lines()}
    np.testing.assert_allclose(lines["mean_test_score"].get_ydata(), search.cv_results_["mean_test_score"])
    norms = {line.get_gid(): line for line in middle.get_lines()}
    np.testing.assert_allclose(
        norms["mean_norm[layers.0.weight]"].get_ydata(), search.cv_results_["mean_norm[layers.0.weight]"]
    )
    page = (tmp_path / "report.html").read_text()
    assert page.count('<figure id="') == 4 and "Chosen alpha" in page
    assert "netreg-summary" in search._repr_html_()  # what the bare `search` line shows in Jupyter
    plt.close("all")


def test_the_tracker_example_logs_to_both_trackers(tmp_path, monkeypatch):
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator", reason="the test extra installs tensorboard"
    )
    tracking = pytest.importorskip("mlflow.tracking", reason="the test extra installs mlflow-skinny")
    section = README.read_text().split("### In a tracker: TensorBoard and MLflow", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert "max_iter=40," in code
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{tmp_path / 'mlruns'}")
    output = io.StringIO()
    with contextlib.redirect_stdout(output), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # two epochs
        namespace: dict = {"__name__": "readme_trackers"}
        exec(compile(code.replace("max_iter=40,", "max_iter=2,"), str(README), "exec"), namespace)
    search = namespace["search"]
    assert output.getvalue() == f"alpha = {search.alpha_:.3g}, CV log-loss = {-search.best_score_:.3f}\n"
    events = event_accumulator.EventAccumulator("runs/tb")
    events.Reload()
    assert sum(tag.endswith("/train_loss") for tag in events.Tags()["scalars"]) == 6 * 3
    client = tracking.MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("netreg").experiment_id])
    assert sorted(run.info.run_name for run in runs)[-1] == "digits" and len(runs) == 1 + 6
