"""Peak proportional memory (PSS) of a process tree, and a description of the machine.

Ocean forks JQ worker processes that share most pages with their parent, so
summing RSS would count shared pages several times; PSS splits each shared page
among the processes that map it, so the sum over the tree is the tree's memory.
"""

import os
import platform
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs in the lock file

PROC = Path("/proc")
MB = 1024 * 1024


def process_pss_bytes(pid: int) -> int:
    """PSS of one process (0 if it is gone or a zombie)."""
    try:
        text = (PROC / str(pid) / "smaps_rollup").read_text()
    except FileNotFoundError:
        return _psutil_pss(pid)
    except (ProcessLookupError, PermissionError, OSError):
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def _psutil_pss(pid: int) -> int:
    try:
        return int(psutil.Process(pid).memory_full_info().pss)
    except (psutil.Error, AttributeError):
        return 0


def tree_pss_bytes(pid: int) -> int | None:
    """Sum of PSS over the process and all its descendants; None once it has exited."""
    split = tree_pss_split(pid)
    return None if split is None else split[0] + split[1]


def tree_pss_split(pid: int) -> tuple[int, int, int] | None:
    """(the process's PSS, its descendants' PSS, how many descendants); None once gone."""
    try:
        root = psutil.Process(pid)
        if root.status() == psutil.STATUS_ZOMBIE:
            return None
        descendants = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    own = process_pss_bytes(pid)
    others = sum(process_pss_bytes(member.pid) for member in descendants)
    return own, others, len(descendants)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, its reaped children and its live ones."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in root.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return float(total)


class PssSampler:
    """Samples a process tree's PSS every `interval` seconds on a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self.peak_split = (0, 0)  # (the process, its descendants) at the peak
        self.peak_own_bytes = 0
        self.samples = 0
        self.max_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "PssSampler":
        self._thread.start()
        return self

    def sample(self) -> bool:
        """Take one sample; False once the process has exited."""
        split = tree_pss_split(self.pid)
        if split is None:
            return False
        own, others, descendants = split
        self.samples += 1
        if own + others > self.peak_bytes:
            self.peak_bytes = own + others
            self.peak_split = (own, others)
        self.peak_own_bytes = max(self.peak_own_bytes, own)
        self.max_processes = max(self.max_processes, 1 + descendants)
        return True

    def _run(self) -> None:
        while not self._stop.is_set() and self.sample():
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB

    def peak_breakdown(self) -> dict[str, float]:
        """Where the peak was: the process itself, its JQ workers; and its own largest."""
        own, others = self.peak_split
        return {
            "process_at_peak_mb": round(own / MB, 1),
            "descendants_at_peak_mb": round(others / MB, 1),
            "process_peak_mb": round(self.peak_own_bytes / MB, 1),
        }


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in (PROC / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "ram_total_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "load_average_1_5_15": [round(value, 2) for value in load],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
