"""Members per chunk: what was asked for, or what fits; never more than fits in memory."""

from __future__ import annotations

import numpy as np
import pytest

from netreg import NetRegClassifier, NetRegClassifierCV
from netreg.exceptions import InvalidParameterError
from netreg.memory import size_text
from netreg.tuning import plan_sweep, run_sweep
from netreg.tuning.chunking import chunk_size, member_bytes


@pytest.fixture(scope="module")
def plan(digits):
    X, y = digits[0][:120], digits[1][:120]
    return plan_sweep(NetRegClassifier((16,), max_iter=2, random_state=0), X, y, alphas=[0.1, 1.0, 10.0], cv=3)


def test_a_chunk_asked_for_is_refused_when_it_would_not_fit_before_anything_trains(plan, budget, refused, tmp_path):
    each = member_bytes(plan)
    budget(3.5 * each / 1024**3)  # room for 3 members
    assert chunk_size(plan, 3) == 3
    message = (
        f"`chunk_size` must be at most 3 members here: each needs about {size_text(each)}, and a chunk may take "
        f"{size_text(int(3.5 * each))} (half the memory available). Got chunk_size=4. Pass a smaller `chunk_size`, "
        "or leave it out to size chunks to the machine."
    )
    with refused(message, InvalidParameterError):
        chunk_size(plan, 4)
    store = tmp_path / "sweep.sqlite"
    with refused(message, InvalidParameterError):
        run_sweep(plan, scoring="accuracy", chunk_size=4, store=str(store))
    assert not store.exists()  # refused before the store was opened, let alone a member trained


def test_a_sweep_whose_single_member_does_not_fit_is_refused(plan, budget, refused):
    each = member_bytes(plan)
    budget(0.5 * each / 1024**3)
    message = (
        "`batch_size` must be small enough for one member to train in memory. Got one member of this sweep (its "
        f"network, optimizer state and one batch's activations) needs about {size_text(each)}, over the "
        f"{size_text(int(0.5 * each))} netreg may take (half the memory available). Use a smaller network or "
        "`batch_size`."
    )
    for requested in (None, 2):
        with refused(message, InvalidParameterError):
            chunk_size(plan, requested)


def test_the_default_chunk_stays_within_the_cache_in_whole_folds(plan):
    size = chunk_size(plan)
    assert 1 <= size <= len(plan.keys) and (size % len(plan.alphas) == 0 or size < len(plan.alphas))
    assert np.isfinite(member_bytes(plan))


def test_a_sweep_whose_rows_do_not_fit_is_refused_before_its_store_exists(budget, refused, tmp_path):
    # 300 million rows passed every check (only columns were counted), opened the store and were
    # killed by the kernel at 24 GB, leaving sweep.sqlite with its -wal and -shm.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(1000, 3)), np.arange(1000) % 2
    store = tmp_path / "sweep.sqlite"
    search = NetRegClassifierCV(
        hidden_layer_sizes=(4,),
        alphas=[0.1, 1.0],
        cv=2,
        max_iter=2,
        random_state=0,
        n_jobs=1,
        store=str(store),
        chunk_size=4,
        batch_size=20,  # a member's activations small: the rows are what does not fit
    )
    # 80 KiB: the data and a chunk of 4 members fit; 3 sets of 1000 rows at 32 bytes (the chunk's two folds,
    # whose members share their rows, and the refit) do not
    budget(80 / 1024**2)
    with refused(
        "1,000 rows trained in 1 chunk of 4 members at once, and refit, need about 94 KiB of row indices (32 bytes a "
        "row per set of rows); expected a sweep within the 80 KiB netreg may take (half the memory available). Use "
        "a sample of the rows, fewer chunks at once (`n_jobs`), or a `chunk_size` that divides the number of alphas "
        "(the members of one fold share their rows)."
    ):
        search.fit(X, y)
    assert list(tmp_path.iterdir()) == []  # no sweep.sqlite, -wal or -shm
    search.set_params(chunk_size=None).fit(X, y)  # the default: chunks of one fold's alphas, 2 sets of rows, 62 KiB
    assert store.exists() and len(search.cv_results_["mean_test_score"]) == 2


def test_the_default_grid_of_an_x_too_large_for_its_copies_is_refused(budget, refused):
    X, y = np.zeros((1000, 20)), np.arange(1000) % 2
    budget(300 / 1024**2)  # 300 KiB: two copies of X's 160 KB do not fit
    with refused(
        "`alphas` must be a list of alphas for an X this large. Got alphas=16: the default grid's scale (the centered "
        "X's largest singular value) takes 2 copies of its 1,000 x 20 values, about 312 KiB, over the 300 KiB netreg "
        "may take (half the memory available).",
        InvalidParameterError,
    ):
        NetRegClassifierCV(hidden_layer_sizes=(4,), alphas=16, cv=2).fit(X, y)
