"""Sweeps to report on: a small real one on digits, partial ones in run folders, and
hand-made member records whose numbers the tests choose; and headless Chromium to open a page
as a reader does (required, not optional: CI installs it, and a machine without it fails the
browser tests rather than skipping them)."""

from __future__ import annotations

import json
import re
import subprocess
from html import unescape
from pathlib import Path

import numpy as np

from netreg import NetRegClassifier
from netreg.tuning import MemberRecord, SweepResult, plan_sweep, train_chunk
from netreg.tuning.store import SweepStore

ALPHAS = [0.0, 0.1, 3.0, 100.0]


def digits_plan(digits, alphas=ALPHAS, cv=3, n=150):
    X, y = digits[0][:n], digits[1][:n]
    net = NetRegClassifier((10,), max_iter=8, batch_size=50, tol=0.0, random_state=0, dtype="float64")
    return plan_sweep(net, X, y, alphas=alphas, cv=cv, require_seed=True)


def partial_run_folder(digits, folder, keys):
    """A run folder whose store holds only the members ``keys``, as a sweep killed
    after training them would leave it."""
    folder.mkdir()
    plan = digits_plan(digits, cv=2)
    store = SweepStore.open(folder / "sweep.sqlite", spec=plan.spec, fingerprint=plan.fingerprint)
    try:
        train_chunk(
            plan,
            keys,
            on_member=lambda key, result, seconds: store.write_member(
                MemberRecord.from_result(key, result, seconds), result.state_dict
            ),
        )
    finally:
        store.close()
    (folder / "run.json").write_text(json.dumps({"scoring": "accuracy", "selection": "min"}))
    return plan


def member(alpha_index, fold, alpha, *, train, val, norms, status="ok", epochs=3, m=100):
    """A hand-made member record: accuracy ``train`` and ``val``, kept weight ``norms``."""
    history = []
    for epoch in range(1, epochs + 1):
        penalty = alpha / (2 * m) * sum(n**2 for n in norms.values())
        loss = 1.0 / epoch
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss,
                "penalty": penalty,
                "objective": loss + penalty,
                "val_loss": loss + 0.2,
                "val_score": val,
                "weight_norms": dict(norms),
            }
        )
    return MemberRecord(
        alpha_index=alpha_index,
        fold=fold,
        alpha=alpha,
        seed=0,
        status=status,
        n_iter=epochs,
        best_epoch=epochs,
        metrics={"train_loss": 0.3, "train_score": train, "val_loss": 0.5, "val_score": val},
        history=history,
        message="",
        fit_time_s=0.0,
    )


def made_result(alphas, scores, *, selection="min", n_folds=2):
    """A result from hand-made members: ``scores[a] = (train, val, norms)``, the same on every fold
    but for a small fold-to-fold spread of +-0.01 in the validation score."""
    members = []
    for a, (train, val, norms) in enumerate(scores):
        for fold in range(n_folds):
            spread = 0.01 * (1 if fold % 2 else -1)
            members.append(member(a, fold, alphas[a], train=train, val=val + spread, norms=norms))
    spec = {"alphas": list(alphas), "n_folds": n_folds, "task": "multiclass", "n_outputs": 1}
    return SweepResult.from_members(spec, members, scoring="accuracy", selection=selection)


def total_norm(norms):
    return float(np.sqrt(sum(n**2 for n in norms.values())))


CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--hide-scrollbars",
]

# Test-only: the page itself has no scripts. A copy with this one measures the page once
# it has loaded and writes the measurements into the DOM, which --dump-dom returns.
MEASURE = """<script>
window.addEventListener("load", () => {
  const chosen = document.querySelector("tr.chosen td");
  const out = document.createElement("pre");
  out.id = "measurements";
  out.textContent = JSON.stringify({
    images: [...document.images].map(i => ({figure: i.closest("figure").id, complete: i.complete,
                                            width: i.naturalWidth, height: i.naturalHeight})),
    fetched: performance.getEntriesByType("resource").map(e => e.name),
    rows: [...document.querySelectorAll("table.results tbody tr")].map(r => r.cells[0].textContent),
    chosenRows: [...document.querySelectorAll("table.results tr.chosen")].map(r => r.cells[0].textContent),
    chosenLine: document.querySelector(".chosen-alpha").textContent,
    chosenBackground: chosen ? getComputedStyle(chosen).backgroundColor : null,
    heldOut: [...document.querySelectorAll("table.held-out tbody tr")].map(r => [...r.cells].map(c => c.textContent)),
  });
  document.body.appendChild(out);
});
</script>"""


def chromium(tmp_path, *args):
    """Run headless Chromium with ``args`` (a profile under ``tmp_path``); its standard output."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install it (apt-get install chromium); CI's .ci/run does."
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def measure(tmp_path, html):
    """Open ``html`` in Chromium with the measuring script (:data:`MEASURE`); what it measured."""
    measured = tmp_path / "measured.html"
    measured.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", measured.as_uri())
    found = re.search(r'<pre id="measurements">(.*?)</pre>', dom, flags=re.S)
    assert found, dom[-2000:]
    return json.loads(unescape(found.group(1)))
