"""The page: self-contained, built from a run folder or a result, also for partial sweeps;
run folders it cannot read are refused with messages that say what is missing."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from html import escape
from html.parser import HTMLParser

import numpy as np
import pytest
from report_helpers import digits_plan, made_result, partial_run_folder

from netreg.exceptions import DataError, StoreError
from netreg.report import report_run, summarize, write_report
from netreg.report.page import NO_STORE_MSG
from netreg.tuning import plan_sweep, run_sweep
from netreg.tuning.store import SweepStore


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html):
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _rows(html):
    return re.findall(r'<tr class="alpha( chosen)?"><td>(.*?)</td>', html)


def test_a_run_folder_gives_a_self_contained_page_with_its_figures(run_folder, sweep, capsys):
    _, result, _ = sweep
    path = report_run(run_folder)
    assert path == run_folder / "report.html"
    assert capsys.readouterr() == ("", "")  # library code prints nothing
    html = path.read_text(encoding="utf-8")
    tags = _tags(html)
    names = {tag for tag, _ in tags}
    assert not names & {"script", "link", "iframe", "object", "embed", "base"}
    for _, attrs in tags:
        for key in ("src", "href", "srcset", "poster", "action"):
            assert key not in attrs or attrs[key].startswith("data:"), attrs
    style = re.search(r"<style>(.*?)</style>", html, flags=re.S).group(1)
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    assert "http:" not in html and "https:" not in html
    # Each image is the PNG written beside the page, embedded byte for byte.
    images = [attrs for tag, attrs in tags if tag == "img"]
    files = ["validation_curve.png", "weight_norms.png", "learning_curves.png", "evidence.png", "weight_histograms.png"]
    assert len(images) == len(files)
    for attrs, name in zip(images, files):
        data = base64.b64decode(attrs["src"].removeprefix("data:image/png;base64,"))
        assert data == (run_folder / name).read_bytes() and data.startswith(b"\x89PNG\r\n\x1a\n")
    # Title and description from run.json, escaped; summary; table with the chosen row.
    assert "<title>Digits &lt;test&gt;</title>" in html and "data: 150 digits" in html
    for line in summarize(result):
        assert escape(line) in html
    rows = _rows(html)
    assert len(rows) == len(result.alphas)
    assert [i for i, (chosen, _) in enumerate(rows) if chosen] == [result.best_index]
    assert rows[result.best_index][1].startswith(f"{result.alpha:.3g} ")
    assert f"Chosen alpha: <strong>{result.alpha:.3g}</strong> (1se rule)" in html
    assert "incomplete" not in html and NO_STORE_MSG not in html


def test_without_a_store_the_weight_histograms_are_left_out_and_the_page_says_so(sweep, tmp_path):
    _, result, _ = sweep
    path = write_report(result, None, tmp_path / "out")
    html = path.read_text(encoding="utf-8")
    assert escape(NO_STORE_MSG) in html
    assert html.count("<img ") == 4 and not (tmp_path / "out" / "weight_histograms.png").exists()
    assert "<title>netreg sweep report</title>" in html


def test_a_16_alpha_report_stays_small(digits, tmp_path):
    plan = digits_plan(digits, alphas=[0.0, *np.logspace(-3, 3, 15)], cv=2, n=100)
    result = run_sweep(plan, scoring="accuracy", store=str(tmp_path / "sweep.sqlite"))
    with SweepStore.read(tmp_path / "sweep.sqlite") as store:
        path = write_report(result, store, tmp_path)
    html = path.read_text(encoding="utf-8")
    assert len(_rows(html)) == 16
    assert path.stat().st_size < 2_000_000, path.stat().st_size


def test_a_partial_sweep_lists_the_missing_members(digits, tmp_path):
    # Fold 0 of every alpha, and fold 1 of the first two: alphas 0 and 0.1 can be compared.
    keys = [(a, 0) for a in range(4)] + [(0, 1), (1, 1)]
    partial_run_folder(digits, tmp_path / "run", keys)
    html = report_run(tmp_path / "run").read_text(encoding="utf-8")
    assert "The sweep is incomplete: 2 member(s) not trained yet" in html
    assert '<ul class="members"><li>alpha = 3: fold 1</li><li>alpha = 100: fold 1</li></ul>' in html
    assert "No alpha chosen yet" not in html and len(re.findall(r"<tr class=\"alpha chosen\">", html)) == 1
    # (Outside the figures: their base64 data may spell anything, "4/4" included.)
    text = re.sub(r'src="data:[^"]*"', "", html)
    assert "4/4" not in text and html.count("<td>1/2</td>") == 2 and html.count("<td>2/2</td>") == 2


def test_members_owing_their_evidence_are_listed(digits, tmp_path):
    # A sweep stopped after training these members and before their evidence was computed.
    keys = [(a, f) for f in range(2) for a in range(4)]
    partial_run_folder(digits, tmp_path / "run", keys)
    with sqlite3.connect(tmp_path / "run" / "sweep.sqlite") as raw:
        raw.execute(
            """UPDATE members SET evidence = '{"units_off": [0], "pending": true}' WHERE fold = 0 AND alpha_index < 2"""
        )
    html = report_run(tmp_path / "run").read_text(encoding="utf-8")
    assert "2 member(s) trained, their Laplace evidence not computed yet" in html
    assert '<ul class="members"><li>alpha = 0: fold 0</li><li>alpha = 0.1: fold 0</li></ul>' in html
    assert "incomplete" not in html


def test_a_sweep_with_no_alpha_on_every_fold_still_renders_what_it_has(digits, tmp_path):
    partial_run_folder(digits, tmp_path / "run", [(a, 0) for a in range(4)])
    html = report_run(tmp_path / "run").read_text(encoding="utf-8")
    assert "No alpha chosen yet" in html
    assert "No alpha could be chosen yet: no alpha has a validation score on all 2 folds." in html
    assert "The sweep is incomplete: 4 member(s) not trained yet" in html
    assert "<li>alpha = 0: fold 1</li><li>alpha = 0.1: fold 1</li><li>alpha = 3: fold 1</li>" in html
    # Every per-member figure is still drawn, and every alpha still has its row, unranked.
    assert html.count("<img ") == 4 and "chosen" not in "".join(c for c, _ in _rows(html))
    assert len(_rows(html)) == 4 and html.count("<td>\N{EM DASH}</td></tr>") == 4


def _refusal(error, message):
    return pytest.raises(error, match=f"^{re.escape(message)}$")


def test_a_run_folder_without_run_json_is_refused(run_folder):
    (run_folder / "run.json").unlink()
    message = (
        f"The run folder {str(run_folder)!r} has no run.json; expected a JSON file such as "
        '{"scoring": "neg_log_loss", "selection": "min"} beside sweep.sqlite.'
    )
    with _refusal(DataError, message):
        report_run(run_folder)


def test_a_run_folder_without_the_store_is_refused(run_folder):
    (run_folder / "sweep.sqlite").unlink()
    store = run_folder / "sweep.sqlite"
    message = (
        f"The run folder {str(run_folder)!r} has no results store sweep.sqlite; "
        f"run the sweep with store={str(store)!r} first."
    )
    with _refusal(StoreError, message):
        report_run(run_folder)


def test_a_missing_run_folder_is_refused(tmp_path):
    folder = tmp_path / "nowhere"
    message = f"No run folder at {str(folder)!r}; expected a folder holding sweep.sqlite and run.json."
    with _refusal(DataError, message):
        report_run(folder)


@pytest.mark.parametrize(
    "content, problem",
    [
        (
            "{scoring",
            "is not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2); "
            'expected an object such as {"scoring": "neg_log_loss", "selection": "min"}.',
        ),
        (
            '["accuracy"]',
            "must be a JSON object; got ['accuracy']. Write the settings the sweep used, for example "
            '{"scoring": "neg_log_loss", "selection": "min"}.',
        ),
        (
            '{"selection": "min"}',
            "misses key 'scoring'; expected keys 'scoring' and optionally 'selection', 'title', 'data', 'target', "
            "'test', 'learned'. Write the settings the sweep used, for example "
            '{"scoring": "neg_log_loss", "selection": "min"}.',
        ),
        (
            '{"scoring": "accuracy", "selction": "1se"}',
            "has unexpected key 'selction'; expected keys 'scoring' and optionally 'selection', 'title', 'data', "
            "'target', 'test', 'learned'. Write the settings the sweep used, for example "
            '{"scoring": "neg_log_loss", "selection": "min"}.',
        ),
        ('{"scoring": "accuracy", "title": 3}', ": `title` must be a str; got 3."),
        (
            '{"scoring": "accuracy", "test": {"rows": 3, "chosen": 0.9}}',
            ': `test` must be an object {"rows": n, "<model>": {"<metric>": number}}; got {\'rows\': 3, '
            "'chosen': 0.9}.",
        ),
        (
            '{"scoring": "accuracy", "learned": {"centre": "x", "alpha_history": []}}',
            ": `learned.centre` must be a finite number; got 'x'.",
        ),
        (
            '{"scoring": "accuracy", "learned": {"centre": 1.0, "alpha_history": [{"epoch": 3, "alpha": 1.0, '
            '"log_evidence": "abc"}]}}',
            ": `learned.alpha_history[0].log_evidence` must be a number or null; got 'abc'.",
        ),
        (
            '{"scoring": "accuracy", "learned": {"centre": 1.0, "alpha_history": [{"epoch": 3, "alpha": {"w": -1}}]}}',
            ": `learned.alpha_history[0].alpha` must be a number >= 0, or an object of them by parameter name; "
            "got {'w': -1}.",
        ),
        (
            '{"scoring": "accuracy", "learned": {"centre": 1.0, "alpha_history": [{"alpha": 1.0}]}}',
            ": `learned.alpha_history[0]` misses key 'epoch'; expected keys 'epoch', 'alpha' and optionally "
            "'log_evidence'.",
        ),
    ],
)
def test_a_malformed_run_json_is_refused_with_what_is_wrong(run_folder, content, problem):
    (run_folder / "run.json").write_text(content)
    separator = "" if problem.startswith(":") else " "
    with _refusal(DataError, f"{str(run_folder / 'run.json')!r}{separator}{problem}"):
        report_run(run_folder)


def test_run_json_settings_reach_the_selection(run_folder, sweep):
    _, result, _ = sweep
    (run_folder / "run.json").write_text(json.dumps({"scoring": "neg_log_loss"}))  # selection defaults to "min"
    html = report_run(run_folder).read_text(encoding="utf-8")
    best = int(np.flatnonzero(result.cv_results["mean_test_score"] == result.cv_results["mean_test_score"].max())[-1])
    assert f"Chosen alpha: <strong>{result.alphas[best]:.3g}</strong> (min rule)" in html


def test_a_sweep_stopped_before_any_member_finished_still_renders(digits, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    plan = digits_plan(digits, cv=2)
    SweepStore.open(folder / "sweep.sqlite", spec=plan.spec, fingerprint=plan.fingerprint).close()
    (folder / "run.json").write_text(json.dumps({"scoring": "accuracy"}))
    html = report_run(folder).read_text(encoding="utf-8")
    assert "0 of 8 members trained" in html and "The sweep is incomplete: 8 member(s) not trained yet" in html
    assert html.count("<img ") == 4 and len(_rows(html)) == 4 and html.count("<td>0/2</td>") == 4


def test_a_regression_sweep_on_a_positive_grid_is_reported_in_its_own_units(diabetes, tmp_path):
    from netreg import NetRegRegressor
    from netreg.report import validation_curve

    X, y = diabetes
    net = NetRegRegressor((8,), max_iter=5, random_state=0)
    result = run_sweep(plan_sweep(net, X, y, alphas=[0.1, 1.0, 10.0], cv=2), scoring="r2")
    figure, _ = validation_curve(result)
    score_ax, loss_ax = figure.axes
    assert score_ax.get_ylabel() == "score: R\N{SUPERSCRIPT TWO} (1 = perfect)"
    assert (
        loss_ax.get_ylabel() == "data loss: squared error / 2\n(target units\N{SUPERSCRIPT TWO} as trained, per sample)"
    )
    assert [t.get_text() for t in score_ax.get_xticklabels()] == ["0.1", "1", "10"]  # no "0": no alpha = 0 here
    # Each y-label spans no more than the height of its axes (on one line, the loss label ran
    # past the top of the axes up to the figure's title).
    renderer = figure.canvas.get_renderer()
    for ax in (score_ax, loss_ax):
        label, frame = ax.yaxis.label.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert frame.y0 <= label.y0 and label.y1 <= frame.y1
    html = write_report(result, None, tmp_path).read_text(encoding="utf-8")
    assert "validation R\N{SUPERSCRIPT TWO}" in html and len(_rows(html)) == 3


def test_the_cautions_of_the_result_are_on_the_page(tmp_path):
    result = made_result([0.0, 0.1, 1.0], [(0.9, 0.7, {"w": 2.0}), (0.9, 0.8, {"w": 1.0}), (0.9, 0.9, {"w": 0.5})])
    assert result.best_index == 2 and len(result.notes()) == 1
    html = write_report(result, None, tmp_path).read_text(encoding="utf-8")
    assert f'<div class="notice"><p>{escape(result.notes()[0])}</p></div>' in html


def test_the_held_out_test_scores_are_on_the_page_one_row_per_model(tmp_path):
    result = made_result([0.0, 0.1, 1.0], [(0.9, 0.7, {"w": 2.0}), (0.9, 0.8, {"w": 1.0}), (0.9, 0.75, {"w": 0.5})])
    test = {
        "rows": 1597,
        "chosen alpha = 0.1, refit on the 200 training rows": {"log_loss": 0.31234, "accuracy": 0.95},
        "alpha = 0, fit on the 200 training rows": {"log_loss": 0.52, "accuracy": 0.94},
    }
    html = write_report(result, None, tmp_path, test=test).read_text(encoding="utf-8")
    assert "<h2>Held-out test</h2>" in html
    assert (
        '<p class="held-out">Scores on the 1597 rows held out before alpha was chosen: no model was trained on them, '
        "and they took no part in choosing alpha.</p>"
    ) in html
    assert '<th scope="col">model</th><th scope="col">log-loss</th><th scope="col">accuracy</th>' in html
    assert (
        '<tr class="model"><td>chosen alpha = 0.1, refit on the 200 training rows</td><td>0.3123</td><td>0.95</td></tr>'
    ) in html
    assert html.index("Held-out test") < html.index("<h2>Figures</h2>")
    assert "Held-out test" not in write_report(result, None, tmp_path).read_text(encoding="utf-8")


def test_a_hybrid_searchs_report_draws_what_its_fit_learned_beside_the_folds(digits, tmp_path):
    from netreg import NetRegClassifierCV
    from netreg.display.displays import alpha_paths
    from netreg.report.figures import learned_alpha_figure
    from netreg.report.learned import learned_record

    X, y = digits
    search = NetRegClassifierCV((8,), search="hybrid", cv=3, max_iter=20, random_state=0).fit(X[:300], y[:300])
    learned = learned_record(search)
    fit = search.learned_estimator_
    assert learned["centre"] == search.learned_alpha_ == search.alphas_[2] and learned["alpha"] == fit.alpha_
    assert learned["alpha_history"] == fit.alpha_history_ and learned["log_evidence"] == fit.log_evidence_
    figure, data = learned_alpha_figure(learned, search.sweep_)
    for name, (epochs, alphas) in alpha_paths(fit.alpha_history_).items():
        np.testing.assert_array_equal(data["paths"][name][0], epochs)
        np.testing.assert_array_equal(data["paths"][name][1], alphas)
    np.testing.assert_array_equal(data["log_evidence"], [r["log_evidence"] for r in fit.alpha_history_])
    np.testing.assert_array_equal(data["val_score"], search.cv_results_["mean_test_score"])
    assert data["centre_x"] == search.alphas_[2]
    right = figure.axes[2]
    assert [line.get_xdata()[0] for line in right.get_lines() if line.get_gid() == "learned"] == [search.alphas_[2]]
    page = search.report(tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.index('<figure id="alpha_path">') < page.index('<figure id="validation_curve">')
    # A search that learned nothing draws no such figure.
    grid = NetRegClassifierCV((8,), alphas=[0.1, 1.0], cv=3, max_iter=3, random_state=0).fit(X[:300], y[:300])
    assert learned_record(grid) is None
    assert '<figure id="alpha_path">' not in grid.report(tmp_path / "grid.html").read_text(encoding="utf-8")
