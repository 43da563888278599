"""JSON-lines files of raw objects: one object per line, read back in batches."""

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
BATCH_SIZE = 100
# The core-floor integration (main.py) reads its files from this directory.
DATA_ENV = "BENCH_CORE_DATA"


def write_jsonl(path: Path, objects: Iterable[JSON]) -> int:
    """Write the objects, one compact JSON document per line; returns the count."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for obj in objects:
            out.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
            out.write("\n")
            count += 1
    return count


def read_batches(path: Path, size: int = BATCH_SIZE) -> Iterator[list[JSON]]:
    """The file's objects in order, `size` at a time (the last batch may be shorter)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    batch: list[JSON] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            batch.append(json.loads(line))
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch
