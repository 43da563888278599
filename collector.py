"""When CPython's cyclic garbage collector may run, and over what.

Two policies, both measured with `make bench` (README, "Benchmark"):

**Start-up objects are frozen.** Once Ocean has started, an always-on pod
tracks about 120,000 objects from importing Ocean, FastAPI, pydantic and the
integration, nearly all of them alive as long as the process. Every full
collection walked them all: 80-130 ms with the event loop blocked, the largest
stalls of webhook acknowledgements in an incident storm. `gc.freeze()` moves
them to a permanent generation that collections skip; objects created later are
collected as before. One frozen object that later dies is still freed by
reference counting; only one kept alive by a reference cycle would stay.

**No collection while Ocean's forked JQ workers are alive.**
Ocean maps each resync page in a process pool it forks for that page. A forked
worker shares every page of the parent's heap until one side writes to it. The
parent's event loop keeps running meanwhile (pages are fetched ahead), and when
CPython's cyclic garbage collector runs a full collection it writes to every
tracked object: each worker alive then ends up holding its own copy of the
parent's heap, and a large resync's peak memory grows by up to twice the heap
(measured with `make bench`, see the README's memory section).

While a pool is alive the parent pauses cyclic collection. Reference counting
still frees nearly everything at once; only garbage in reference cycles waits
the fraction of a second until the pool is joined.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from loguru import logger

_pools_alive = 0
_paused_by_us = False
_startup_frozen = False


def freeze_startup_objects() -> None:
    """Collect once, then exclude every object alive now from later collections
    (once per process)."""
    global _startup_frozen
    if not _startup_frozen:
        gc.collect()
        gc.freeze()
        _startup_frozen = True
        logger.info(
            f"Start-up objects frozen: {gc.get_freeze_count():,} "
            "(garbage collections skip them)"
        )


@contextmanager
def cyclic_collection_paused() -> Iterator[None]:
    """No cyclic collection in this process while the block runs (re-entrant;
    a collector someone else disabled stays disabled)."""
    global _pools_alive, _paused_by_us
    if _pools_alive == 0 and gc.isenabled():
        gc.disable()
        _paused_by_us = True
    _pools_alive += 1
    try:
        yield
    finally:
        _pools_alive -= 1
        if _pools_alive == 0 and _paused_by_us:
            _paused_by_us = False
            gc.enable()
