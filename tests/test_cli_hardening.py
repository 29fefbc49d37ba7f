"""Bad input from an attacker or a careless user: one or two lines, exit status 2, checked before
any work, and nothing outside the target folder (nor anything already written) changed."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat

import numpy as np
import pandas as pd
import pytest

import netreg
from expected_messages import usage
from netreg import NetRegClassifier
from netreg import safe_files as io_files
from netreg.cli import main
from netreg.message_text import COUNTING

FAST = ["--hidden", "4", "--max-iter", "3"]


@pytest.fixture()
def folder(tmp_path, monkeypatch):
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
    data.assign(label=[[1, 2]] * n).to_parquet("lists.parquet")
    (tmp_path / "dup.csv").write_text(
        "a,b,c,d,label,label\n" + "".join(f"{i},1,2,3,x,{'xy'[i % 2]}\n" for i in range(20))
    )
    (tmp_path / "a_file").write_text("not a folder")
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


@pytest.fixture()
def never_trains(monkeypatch):
    """Training would fail the test: a refusal must come before it."""

    def fit(self, *args, **kwargs):
        raise AssertionError("trained before the refusal")

    monkeypatch.setattr(NetRegClassifier, "fit", fit)


SEED = "expected a seed from 0 to 4294967295 such as 0; got"


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["train", "ok.csv", "--target", "label", "--seed", "-5", "--out", "run"],
            f"netreg train: error: argument --seed: {SEED} '-5' {usage('train')}",
        ),
        (
            ["train", "ok.csv", "--target", "label", "--seed", "4294967296", "--out", "run"],
            f"netreg train: error: argument --seed: {SEED} '4294967296' {usage('train')}",
        ),
        (
            ["demo", "--seed", "-5", "--out", "run"],
            f"netreg demo: error: argument --seed: {SEED} '-5' {usage('demo')}",
        ),
        (
            ["demo", "--seed", "99999999999", "--out", "run"],
            f"netreg demo: error: argument --seed: {SEED} '99999999999' {usage('demo')}",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--seed", "-1", "--out", "run"],
            f"netreg tune: error: argument --seed: {SEED} '-1' {usage('tune')}",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--alphas", "100000000", "--out", "run"],
            "netreg tune: error: argument --alphas: expected a grid of at most 10000 alphas (each is trained once per "
            f"fold), such as 16; got 100000000 ('100000000') {usage('tune')}",
        ),
        (
            ["train", "ok.csv", "--target", "label", "--hidden", "10000000,10000000", "--out", "run"],
            "netreg train: error: argument --hidden: expected hidden layers small enough to train in memory; got "
            "'10000000,10000000': at least 100,000,040,000,001 parameters, about 2.5e+03 TiB to train, over the 1.0 GiB "
            f"netreg may take (half the memory available) {usage('train')}",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--hidden", ",".join(["1"] * 20_000), "--out", "run"],
            "netreg tune: error: argument --hidden: expected at most 1000 hidden layers (a plain MLP that deep does "
            "not train, and every layer adds time to every step); got 20,000 layers ('1,1,1,1,1,1,1,1,1,1,'...) (see "
            "netreg tune --help)",
        ),
        (
            ["train", "lists.parquet", "--target", "label", "--out", "run"],
            "netreg train: error: `lists.parquet`: target column 'label' holds a value of type ndarray (row 0, "
            f"{COUNTING}: array([1, 2])); expected one number or label per row.",
        ),
        (
            ["train", "dup.csv", "--target", "label", "--out", "run"],
            "netreg train: error: `dup.csv`: column 'label' appears 2 times; expected distinct column names.",
        ),
        (
            ["tune", "dup.csv", "--target", "label", "--out", "run"],
            "netreg tune: error: `dup.csv`: column 'label' appears 2 times; expected distinct column names.",
        ),
        (
            ["train", "ok.csv", "--target", "label", "--out", "a_file"],
            "netreg train: error: --out must be a folder that can be created and written. Got 'a_file': it is a file. "
            "Choose another folder.",
        ),
        (
            ["train", "ok.csv", "--target", "label", "--out", "a_file/run"],
            "netreg train: error: --out must be a folder that can be created and written. Got 'a_file/run': 'a_file' "
            "is a file. Choose another folder.",
        ),
        (
            ["tune", "ok.csv", "--target", "label", "--out", "a_file/run"],
            "netreg tune: error: --out must be a folder that can be created and written. Got 'a_file/run': 'a_file' "
            "is a file. Choose another folder.",
        ),
        (
            ["demo", "--out", "a_file"],
            "netreg demo: error: --out must be a folder that can be created and written. Got 'a_file': it is a file. "
            "Choose another folder.",
        ),
    ],
)
def test_bad_input_exits_2_before_any_work_and_changes_nothing(
    folder, capsys, snapshot, budget, never_trains, argv, message
):
    budget(1)
    before = snapshot(folder)
    status, _, err = run(capsys, *argv, *([] if argv[0] == "demo" else FAST))
    assert (status, err) == (2, message)
    assert snapshot(folder) == before  # nothing created, nothing changed


def test_a_network_too_large_for_the_machine_is_refused_before_training(folder, capsys, snapshot, budget):
    # --hidden 10000000 passes the parser (its layers alone fit) and is refused with the data's width.
    budget(1)
    before = snapshot(folder)
    status, _, err = run(capsys, "train", "ok.csv", "--target", "label", "--hidden", "10000000", "--out", "run")
    assert status == 2 and err == (
        "netreg train: error: --hidden must be layer sizes whose network fits in memory. Got 4 inputs -> 10000000 "
        "-> 1 output: 60,000,001 parameters, about 1.6 GiB to train (7 copies in float32: weights, gradients, "
        "optimizer state, best weights), over the 1.0 GiB netreg may take (half the memory available). Use fewer or "
        "smaller hidden layers, or fewer features."
    )
    assert snapshot(folder) == before


def test_a_file_of_more_rows_than_memory_is_refused_before_reading_and_leaves_nothing(folder, capsys, snapshot, budget):
    # A 2.6 MB compressed NPZ of 300 million rows was read, opened the store and was killed at 24 GB.
    import io
    import zipfile

    def header(shape, dtype):
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
        return buffer.getvalue()

    with zipfile.ZipFile(folder / "huge.npz", "w") as archive:  # the headers of 300 million rows, no data
        archive.writestr("X.npy", header((300_000_000, 2), "<f8"))
        archive.writestr("target.npy", header((300_000_000,), "<i8"))
    budget(1)
    before = snapshot(folder)
    status, _, err = run(capsys, "tune", "huge.npz", "--target", "target", "--out", "run", *FAST)
    assert (status, err) == (
        2,
        "netreg tune: error: `huge.npz`: 300,000,000 rows x 3 columns need about 26.8 GiB to read and encode (4 "
        "copies of 8-byte values); expected a table within the 1.0 GiB netreg may take (half the memory available). "
        "Use a sample of the rows, or fewer columns.",
    )
    assert snapshot(folder) == before  # no run folder, no sweep.sqlite, -wal or -shm


@pytest.fixture()
def trained(folder, capsys):
    assert run(capsys, "train", "ok.csv", "--target", "label", "--alpha", "0.0001", "--out", "run", *FAST)[0] == 0
    return folder / "run" / "model"


def test_predict_refuses_an_out_it_cannot_or_may_not_write_before_predicting(folder, trained, capsys, snapshot):
    (folder / "p.csv").write_text("keep me")
    (folder / "dangling.csv").symlink_to(folder / "created-through-the-link.csv")
    expected = "netreg predict: error: --out must be a path for a file in a folder that can be written. Got"
    cases = [
        (
            "p.csv",
            "netreg predict: error: 'p.csv' already exists; it was not overwritten. Choose another --out or pass --force.",
        ),
        (
            "dangling.csv",
            "netreg predict: error: 'dangling.csv' already exists; it was not overwritten. Choose another --out or pass "
            "--force.",
        ),
        ("run", f"{expected} 'run': it is a folder. Choose another path."),
        ("a_file/p.csv", f"{expected} 'a_file/p.csv': 'a_file' is a file. Choose another path."),
    ]
    before = snapshot(folder)
    for out, message in cases:
        status, output, err = run(capsys, "predict", "run/model", "ok.csv", "--out", out)
        assert (status, output, err) == (2, "", message)
    status, _, err = run(capsys, "predict", "run/model", "ok.csv", "--out", "run", "--force")
    assert (status, err) == (2, f"{expected} 'run': it is a folder. Choose another path.")
    assert snapshot(folder) == before
    # --force replaces the link itself, never the file it points to.
    assert run(capsys, "predict", "run/model", "ok.csv", "--out", "dangling.csv", "--force")[0] == 0
    assert not (folder / "dangling.csv").is_symlink() and not (folder / "created-through-the-link.csv").exists()
    assert len(pd.read_csv(folder / "dangling.csv")) == 60


def test_an_out_folder_that_cannot_be_written_is_refused_before_training(folder, capsys, monkeypatch, never_trains):
    # What the system allows decides (root writes anywhere; CI runs as a user: see the next test).
    monkeypatch.setattr(io_files.os, "access", lambda path, mode: False)
    for command in ("train", "tune"):
        status, _, err = run(capsys, command, "ok.csv", "--target", "label", "--out", "run", *FAST)
        assert (status, err) == (
            2,
            f"netreg {command}: error: --out must be a folder that can be created and written. Got 'run': "
            "'.' is a folder that cannot be written. Choose another folder.",
        )
    status, _, err = run(capsys, "predict", "run/model", "ok.csv", "--out", "p.csv")
    assert (status, err) == (
        2,
        "netreg predict: error: --out must be a path for a file in a folder that can be written. Got 'p.csv': "
        "'.' is a folder that cannot be written. Choose another path.",
    )
    assert sorted(p.name for p in folder.iterdir()) == ["a_file", "dup.csv", "lists.parquet", "ok.csv"]


def test_a_read_only_out_folder_is_refused_before_training(folder, trained, capsys, read_only, snapshot):
    (folder / "ro").mkdir()
    read_only(folder / "ro")
    read_only(folder / "run")
    before = snapshot(folder)
    status, _, err = run(capsys, "train", "ok.csv", "--target", "label", "--out", "ro/run", *FAST)
    assert (status, err) == (
        2,
        "netreg train: error: --out must be a folder that can be created and written. Got 'ro/run': 'ro' is a "
        "folder that cannot be written. Choose another folder.",
    )
    status, _, err = run(capsys, "train", "ok.csv", "--target", "label", "--out", "run", "--force", *FAST)
    assert (status, err) == (
        2,
        "netreg train: error: --out must be a folder that can be created and written. Got 'run': it is a folder "
        "that cannot be written. Choose another folder.",
    )
    status, _, err = run(capsys, "predict", "run/model", "ok.csv", "--out", "ro/p.csv")
    assert (status, err) == (
        2,
        "netreg predict: error: --out must be a path for a file in a folder that can be written. Got 'ro/p.csv': "
        "'ro' is a folder that cannot be written. Choose another path.",
    )
    assert snapshot(folder) == before


def test_files_in_a_run_folder_that_link_elsewhere_are_replaced_never_written_through(folder, capsys, snapshot):
    outside = folder / "outside"
    outside.mkdir()
    for name in ("precious.csv", "precious.html", "precious.png"):
        (outside / name).write_text(f"the user's {name}")
    run_dir = folder / "run"
    argv = ["tune", "ok.csv", "--target", "label", "--alphas", "0,1", "--cv", "2", "--out", "run", *FAST]
    assert run(capsys, *argv)[0] == 0  # a run folder netreg made: its files may be replaced
    for name, target in [("results.csv", "precious.csv"), ("report.html", "precious.html")]:
        (run_dir / name).unlink()
        (run_dir / name).symlink_to(outside / target)
    (run_dir / "weight_norms.png").unlink()
    (run_dir / "weight_norms.png").symlink_to(outside / "missing.png")
    before = snapshot(outside)
    assert run(capsys, *argv)[0] == 0
    assert run(capsys, "report", "run")[0] == 0
    assert snapshot(outside) == before and not (outside / "missing.png").exists()
    for name in ("results.csv", "report.html", "weight_norms.png", "run.json"):
        assert (run_dir / name).is_file() and not (run_dir / name).is_symlink()
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(("-wal", "-shm", ".partial"))]


def test_a_full_disk_while_writing_the_report_exits_2_and_leaves_the_old_report(folder, capsys, monkeypatch):
    argv = ["tune", "ok.csv", "--target", "label", "--alphas", "0,1", "--cv", "2", "--out", "run", *FAST]
    assert run(capsys, *argv)[0] == 0
    old_report = (folder / "run" / "report.html").read_bytes()
    real_mkstemp, real_fdopen, full = io_files.tempfile.mkstemp, io_files.os.fdopen, set()

    def mkstemp(prefix, suffix, dir):
        descriptor, name = real_mkstemp(prefix=prefix, suffix=suffix, dir=dir)
        if prefix == ".report.html.":
            full.add(descriptor)
        return descriptor, name

    def fdopen(descriptor, mode):
        handle = real_fdopen(descriptor, mode)
        if descriptor in full:
            handle.write = lambda data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device"))
        return handle

    monkeypatch.setattr(io_files.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(io_files.os, "fdopen", fdopen)
    status, _, err = run(capsys, "report", "run")
    assert (status, err) == (
        2,
        "netreg report: error: Could not write 'run/report.html': No space left on device; nothing was replaced. "
        "Free some space and rerun.",
    )
    assert (folder / "run" / "report.html").read_bytes() == old_report
    assert not [p.name for p in (folder / "run").iterdir() if p.name.endswith(".partial")]


def test_predictions_csv_does_not_hand_formulas_to_a_spreadsheet(folder, capsys):
    data = pd.read_csv("ok.csv")
    data.assign(label=np.where(data["label"] == "x", '=HYPERLINK("http://evil","x")', "@SUM(1)")).to_csv(
        "evil.csv", index=False
    )
    assert run(capsys, "train", "evil.csv", "--target", "label", "--out", "run", *FAST)[0] == 0
    assert run(capsys, "predict", "run/model", "ok.csv", "--out", "p.csv")[0] == 0
    written = pd.read_csv("p.csv")
    assert set(written["prediction"]) <= {'\'=HYPERLINK("http://evil","x")', "'@SUM(1)"}
    assert list(written.columns[1:]) == ['proba_=HYPERLINK("http://evil","x")', "proba_@SUM(1)"]
    assert written.iloc[:, 1:].to_numpy().dtype == np.float64  # probabilities stay numbers
    status, out, _ = run(capsys, "predict", "run/model", "ok.csv")
    assert status == 0 and out.splitlines()[1].startswith("'")


def test_a_model_folder_whose_files_are_links_or_fifos_is_refused_without_waiting(folder, trained, capsys, snapshot):
    (trained / "model.json").unlink()
    os.mkfifo(trained / "model.json")
    before = snapshot(folder)
    status, _, err = run(capsys, "predict", "run/model", "ok.csv")
    assert (status, err) == (
        2,
        "netreg predict: error: run/model/model.json is a FIFO; expected the regular file netreg wrote.",
    )
    assert snapshot(folder) == before


def test_a_ray_cluster_that_does_not_answer_is_a_clear_error(folder, capsys):
    pytest.importorskip("ray", reason="Ray is a test dependency (netreg[test]); the backend needs it")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["tune", "ok.csv", "--target", "label", "--alphas", "0,1", "--cv", "2", "--backend", "ray"]
    status, _, err = run(capsys, *argv, "--address", f"127.0.0.1:{port}", "--out", "run", "--no-report", *FAST)
    assert (status, err) == (
        2,
        f"netreg tune: error: Nothing answers at the Ray cluster address '127.0.0.1:{port}' (Connection refused, "
        "waited up to 10 s); expected the address `ray start --head` printed, such as 'HEAD:6379'. Is the cluster "
        "running?",
    )
    assert not (folder / "run" / "model").exists()


def _node(path, kind):
    """A FIFO, or a character device like /dev/null (1, 3), made at ``path`` for the test."""
    if kind == "fifo":
        os.mkfifo(path)
        return
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a character device needs CAP_MKNOD (root); the FIFO case runs for every user")


@pytest.mark.parametrize(
    "kind, what", [("fifo", "a FIFO"), ("device", "a character device"), ("link", "a link to a character device")]
)
def test_predict_never_replaces_a_device_or_fifo_even_with_force(folder, trained, capsys, snapshot, kind, what):
    # Before: --out NODE --force put a regular file in place of the node (as root, of /dev/null).
    if kind == "link":
        _node(folder / "null", "device")
        (folder / "node").symlink_to(folder / "null")
    else:
        _node(folder / "node", kind)
    before = snapshot(folder)
    for force in ([], ["--force"]):
        status, output, err = run(capsys, "predict", "run/model", "ok.csv", "--out", "node", *force)
        assert (status, output, err) == (
            2,
            "",
            f"netreg predict: error: --out must be a path for a file in a folder that can be written. Got 'node': "
            f"it is {what}, which netreg never replaces (only a regular file). Choose another path.",
        )
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    "files",
    [["results.csv"], ["run.json"], ["report.html"], ["validation_curve.png"], ["run.json", "report.html"]],
)
@pytest.mark.parametrize("command", ["tune", "train"])
def test_a_folder_of_the_users_own_files_is_not_a_run_folder_to_write_into(
    folder, capsys, snapshot, never_trains, files, command
):
    # Before: tune --out DIR replaced the user's results.csv, run.json, report.html or figure
    # without a word when DIR held no model/.
    (folder / "mine").mkdir()
    for name in files:
        (folder / "mine" / name).write_text(f"the user's own {name}")
    before = snapshot(folder)
    status, _, err = run(capsys, command, "ok.csv", "--target", "label", "--alphas", "0,1", "--out", "mine", *FAST)
    listed = " and ".join(files)
    which = "those files are" if len(files) > 1 else "that file is"
    assert (status, err) == (
        2,
        f"netreg {command}: error: --out must be a new folder or a run folder netreg made. Got 'mine': it holds "
        f"{listed} and no run.json of netreg's, so {which} not a run's to replace. Choose another folder, or move "
        f"the {'files' if len(files) > 1 else 'file'} away.",
    )
    assert snapshot(folder) == before


def test_a_run_folder_netreg_made_is_written_into_again_and_its_run_json_is_marked(folder, capsys):
    argv = ["tune", "ok.csv", "--target", "label", "--alphas", "0,1", "--cv", "2", "--out", "run", *FAST]
    assert run(capsys, *argv)[0] == 0
    run_json = json.loads((folder / "run" / "run.json").read_text())
    assert run_json["made_by"] == f"netreg {netreg.__version__}" and run_json["command"] == "tune"
    assert run(capsys, *argv)[0] == 0
    (folder / "run" / "run.json").write_text(json.dumps({k: v for k, v in run_json.items() if k != "made_by"}))
    assert run(capsys, *argv)[0] == 2  # the mark is what makes the folder netreg's


EMPTY = "Got '': an empty path, which names nothing."


@pytest.mark.parametrize(
    "argv", [["tune", "ok.csv", "--target", "label", *FAST], ["train", "ok.csv", "--target", "label", *FAST], ["demo"]]
)
def test_an_empty_out_is_refused_not_taken_for_the_current_folder(folder, trained, capsys, snapshot, argv):
    # Before: --out "" wrote the run into the current folder and printed "Wrote /: ...".
    before = snapshot(folder)
    status, output, err = run(capsys, *argv, "--out", "")
    assert (status, err) == (
        2,
        f"netreg {argv[0]}: error: --out must be a folder that can be created and written. {EMPTY} Name the folder "
        "('.' for this one).",
    )
    assert "Wrote" not in output and snapshot(folder) == before


def test_predict_refuses_an_empty_out_instead_of_printing_the_predictions(folder, trained, capsys, snapshot):
    before = snapshot(folder)
    assert run(capsys, "predict", "run/model", "ok.csv", "--out", "") == (
        2,
        "",
        f"netreg predict: error: --out must be a path for a file in a folder that can be written. {EMPTY} Name the "
        "file.",
    )
    assert snapshot(folder) == before


def test_a_store_held_by_another_process_is_said_to_be_held(folder, capsys, monkeypatch, snapshot):
    # Before: "... SQLite says: database is locked. Choose a writable path." of a writable path.
    import subprocess
    import sys

    from netreg.tuning import store_files

    argv = ["tune", "ok.csv", "--target", "label", "--alphas", "0,1", "--cv", "2", "--out", "run", *FAST]
    assert run(capsys, *argv)[0] == 0
    monkeypatch.setattr(store_files, "BUSY_TIMEOUT_S", 0.2)  # netreg waits 30 s
    hold = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE'); "
        "print('locked', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, "run/sweep.sqlite"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(folder)
        status, _, err = run(capsys, *argv)
    finally:
        holder.communicate("")
    assert (status, err) == (
        2,
        "netreg tune: error: The results store 'run/sweep.sqlite' is locked by another "
        "process (another sweep, or a program that has it open), which held it for more than 0.2 s; nothing was "
        "written. Rerun when that process has finished, or choose another path.",
    )
    assert snapshot(folder) == before
