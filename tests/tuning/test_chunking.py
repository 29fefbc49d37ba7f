"""Members per chunk: what was asked for, or what fits; never more than fits in memory."""

from __future__ import annotations

import numpy as np
import pytest

from netreg import NetRegClassifier
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
