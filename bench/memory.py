"""Peak memory of the suite's processes (VmHWM), reset before the step a benchmark measures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.result import row
from devstack.stack import Stack

TARGET_MIB = 300.0  # the bound on any one service's peak memory


def vm(pid: int, key: str) -> int:
    """A /proc/PID/status figure in KiB (VmHWM, VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def pids(stack: Stack) -> dict[str, int]:
    return {name: stack.pid(name) for name in stack.ports}


def reset_peaks(stack: Stack) -> None:
    for pid in pids(stack).values():
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def peaks(stack: Stack) -> dict[str, float]:
    """MiB per process name."""
    return {name: round(vm(pid, "VmHWM") / 1024, 1) for name, pid in pids(stack).items()}


def peak_rows(what: str, peak: dict[str, float]) -> list[dict[str, Any]]:
    """A row per process of its peak memory (`peaks`) during `what`, each under TARGET_MIB."""
    return [row(f"peak memory {what}: {name}", mib, "MiB", target=("<", TARGET_MIB))
            for name, mib in peak.items()]


def max_peak_row(what: str, peak: dict[str, float]) -> list[dict[str, Any]]:
    """The one row of the process that needed most (none when no process was measured)."""
    return [row(f"peak memory of any service, {what}", max(peak.values()), "MiB",
                target=("<", TARGET_MIB))] if peak else []
