"""Timing shared by the GPU benchmarks: warm up, then time each call with the device synchronised."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_calls(work: Callable[[], object], repeats: int, sync: Callable[[], None],
               min_warmup: int = 5) -> tuple[float, float]:
    """Median and p95 of ``work()`` in milliseconds, over ``repeats`` calls after a warm-up (a tenth of
    them, at least ``min_warmup``); ``sync`` waits for the device, so queued GPU work is counted."""
    for _ in range(max(min_warmup, repeats // 10)):
        work()
    sync()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        sync()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1e3, samples[int(0.95 * (len(samples) - 1))] * 1e3
