"""Shared fixtures: small real data sets (shipped with scikit-learn) and fixed seeds."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits
from sklearn.preprocessing import StandardScaler

from netreg.exceptions import DataError


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


@pytest.fixture()
def refused():
    """``with refused(message, error):`` expects ``error`` with exactly ``message`` (the whole
    message, verbatim: a substring match would let a garbled message through)."""

    def expect(message, error=DataError):
        return pytest.raises(error, match=f"^{re.escape(message)}$")

    return expect


@pytest.fixture()
def budget(monkeypatch):
    """``budget(gib)``: the machine reports ``2 * gib`` GiB available, so that netreg's memory
    budget (half of it) is ``gib`` GiB whatever the machine: limits are tested without
    allocating anything."""
    from netreg import memory

    def set_budget(gib):
        monkeypatch.setattr(memory, "available_memory", lambda: int(2 * gib * 1024**3))

    return set_budget


@pytest.fixture()
def snapshot():
    """``snapshot(folder, skip=())``: every entry under ``folder`` but ``skip`` (paths relative
    to it), a file as the SHA-256 of its bytes, a link as its target, a folder as "dir", a
    FIFO or device by its type:
    compared before and after, it shows that nothing there changed."""
    import hashlib
    import os
    import stat
    from pathlib import Path

    def take(folder, skip=()):
        folder = Path(folder)
        skipped = [folder / name for name in skip]
        state = {}
        for root, dirs, files in os.walk(folder):
            for name in [*dirs, *files]:
                path = Path(root) / name
                if any(path == s or s in path.parents for s in skipped):
                    continue
                key = str(path.relative_to(folder))
                if path.is_symlink():
                    state[key] = "-> " + os.readlink(path)
                elif path.is_dir():
                    state[key] = "dir"
                elif path.is_file():
                    state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
                else:  # a FIFO or a device: never opened, which could wait forever
                    state[key] = f"special {stat.S_IFMT(path.lstat().st_mode):o}"
        return state

    return take


@pytest.fixture()
def read_only():
    """``read_only(path)``: makes a file or folder read-only for the rest of the test, and
    skips the test where this process writes into read-only folders anyway (root with
    CAP_DAC_OVERRIDE). The same refusals are also tested with ``os.access`` monkeypatched,
    which runs for every user. The mode is restored at the end."""
    import os
    import stat
    import tempfile

    made = []
    probe = tempfile.mkdtemp()
    os.chmod(probe, 0o555)
    try:
        with open(os.path.join(probe, "x"), "w"):
            privileged = True
    except PermissionError:
        privileged = False
    finally:
        os.chmod(probe, 0o755)
        for name in os.listdir(probe):
            os.unlink(os.path.join(probe, name))
        os.rmdir(probe)
    if privileged:
        pytest.skip(
            "this process writes into read-only folders (root with CAP_DAC_OVERRIDE), so none can be made here; "
            "the tests with os.access monkeypatched cover the refusals for every user"
        )

    def make(path):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        made.append((path, mode))
        os.chmod(path, mode & ~0o222)

    yield make
    for path, mode in reversed(made):
        os.chmod(path, mode)


@pytest.fixture()
def within():
    """``within(seconds, function)``: ``function()`` run in a thread, its value returned or its
    error raised again; the test fails, rather than hang the suite, if it has not returned in
    time."""
    import threading

    def run_within(seconds, function):
        outcome = {}

        def run():
            try:
                outcome["value"] = function()
            except BaseException as error:  # noqa: BLE001 - handed back to the test
                outcome["error"] = error

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(seconds)
        assert not thread.is_alive(), f"still running after {seconds} s"
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return run_within


@pytest.fixture()
def same_numbers():
    """``same_numbers(found, expected, rel)``: two dicts of plain data (an evidence's ``to_dict()``)
    with the same keys and values, their floats (and lists of floats) within ``rel``: what equal
    inputs give whatever the memory alignment, which can move a product's last bits."""

    def check(found, expected, rel=1e-12):
        assert found.keys() == expected.keys()
        for key, value in expected.items():
            numbers = isinstance(value, float) or (isinstance(value, list) and all(isinstance(v, float) for v in value))
            assert found[key] == (pytest.approx(value, rel=rel) if numbers and value else value), key

    return check
