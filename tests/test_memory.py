"""The memory budget: read from the machine, half of what is available, stated in messages."""

from __future__ import annotations

import os

import pytest

from netreg import memory


def test_available_memory_is_what_the_kernel_reports_as_available():
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo: not Linux (CI runs Linux)")
    with open("/proc/meminfo") as handle:
        fields = dict(line.split(":", 1) for line in handle)
    reported = int(fields["MemAvailable"].split()[0]) * 1024
    # Memory moves while the test runs; 1 GiB apart is the same reading.
    assert abs(memory.available_memory() - reported) < 1024**3


def test_the_budget_is_half_the_memory_available(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 10 * 1024**3)
    assert memory.memory_budget() == 5 * 1024**3
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # the system does not say
    assert memory.memory_budget() == memory.FALLBACK_BYTES // 2


@pytest.mark.parametrize(
    "n_bytes, text",
    [
        (0, "0 KiB"),
        (5000, "5 KiB"),
        (300 * 1024**2, "300 MiB"),
        (1.5 * 1024**3, "1.5 GiB"),
        (2 * 1024**4, "2.0 TiB"),
        (1e18, "9.1e+05 TiB"),
    ],
)
def test_sizes_are_written_for_people(n_bytes, text):
    assert memory.size_text(n_bytes) == text
