"""Keep Ocean's forked JQ workers sharing this process's memory.

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

_pools_alive = 0
_paused_by_us = False


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
