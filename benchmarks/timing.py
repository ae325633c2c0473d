"""Timing helper shared by the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(runs: int, job: Callable[[], object], warm_up: bool = True) -> float:
    """The fastest of `runs` timed calls of `job`, after one untimed call
    (first calls pay for caches, imports and thread pools)."""
    if warm_up:
        job()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)
