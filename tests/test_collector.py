"""The collector pause around Ocean's forked JQ pools (collector.py)."""

import gc
from collections.abc import Iterator

import pytest

import collector
from collector import cyclic_collection_paused, freeze_startup_objects


@pytest.fixture(autouse=True)
def collector_enabled_again() -> Iterator[None]:
    yield
    gc.enable()


def test_the_collector_is_paused_inside_and_resumed_after() -> None:
    assert gc.isenabled()
    with cyclic_collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_pools_resume_it_only_when_the_last_one_ends() -> None:
    first = cyclic_collection_paused()
    second = cyclic_collection_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_disabled_by_someone_else_stays_disabled() -> None:
    gc.disable()
    with cyclic_collection_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_it_resumes_when_the_pool_fails() -> None:
    with pytest.raises(RuntimeError), cyclic_collection_paused():
        raise RuntimeError("a worker died")
    assert gc.isenabled()


@pytest.fixture
def nothing_frozen_yet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(collector, "_startup_frozen", False)
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("nothing_frozen_yet")
def test_start_up_objects_are_frozen_once() -> None:
    before = gc.get_freeze_count()
    startup_objects = [{"lives": "as long as the process"} for _ in range(1_000)]
    freeze_startup_objects()
    frozen = gc.get_freeze_count()
    assert frozen >= before + len(startup_objects)
    later = [{"created": "after start"} for _ in range(1_000)]
    freeze_startup_objects()
    assert gc.get_freeze_count() == frozen, "a second call froze later objects"
    del later  # alive (and tracked) through the second call
