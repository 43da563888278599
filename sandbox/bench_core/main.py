"""The core-floor integration: the integration's kinds, fed from files, no API calls.

`sandbox.bench` runs it with `ocean sail sandbox/bench_core` (ONCE), the same
environment, blueprints and mapping as the real run, and BENCH_CORE_DATA set to
a directory holding `services.jsonl` and `incidents.jsonl` (written by
`sandbox.bench_core.snapshot`). Each kind yields batches of 100 raw objects, as
the real integration yields pages of 100. Lines are parsed as they are yielded,
the counterpart of the real integration parsing each HTTP response.
"""

import os
from pathlib import Path

from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.core.ocean_types import ASYNC_GENERATOR_RESYNC_TYPE

from sandbox.bench_core.jsonl import DATA_ENV, read_batches


def data_file(kind: str) -> Path:
    directory = os.environ.get(DATA_ENV)
    if not directory:
        raise RuntimeError(f"{DATA_ENV} is not set (a directory with {kind}.jsonl)")
    return Path(directory) / f"{kind}.jsonl"


async def yield_file(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    count = 0
    for batch in read_batches(data_file(kind)):
        count += len(batch)
        yield batch
    logger.warning(f"bench core: yielded {count} {kind} from {data_file(kind)}")


@ocean.on_resync("services")
async def resync_services(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for batch in yield_file(kind):
        yield batch


@ocean.on_resync("incidents")
async def resync_incidents(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for batch in yield_file(kind):
        yield batch
