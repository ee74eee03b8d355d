"""``livepose batch --ray``: the inputs as Ray tasks, one per input, on a local Ray started here or on a
cluster at an address. The only module that imports Ray.

- ``run_on_ray(items, pending, options, address, workers, retries)`` yields ``(index, BatchRow)`` as
  tasks end. A task whose worker process dies is run again by Ray up to ``retries`` times; a bad input
  is a ``failed`` row from ``run_input`` itself, as in local runs. Paths must be absolute: Ray's workers
  run in folders of their own. On a cluster, every machine needs livepose and the inputs at those paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from livepose.batch.inputs import BatchInput
from livepose.batch.runner import BatchOptions, BatchRow, run_input
from livepose.errors import UserError

__all__ = ["run_on_ray"]


def run_on_ray(items: Sequence[BatchInput], pending: Sequence[int], options: BatchOptions, address: str | None,
               workers: int, retries: int) -> Iterator[tuple[int, BatchRow]]:
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install 'livepose[ray]' (or pip install ray)") from None
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=retries)(run_input)
    try:
        running = {task.remote(items[index], options): index for index in pending}
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            index = running.pop(ready[0])
            try:
                row = ray.get(ready[0])
            except ray.exceptions.RayError as error:  # its worker died more than `retries` times
                item = items[index]
                row = BatchRow(str(item.path), item.name, "failed", error=f"its Ray task failed: {error}")
            yield index, row
    finally:
        if started_here:
            ray.shutdown()
