"""Run every benchmark of the suite, one after the other, and end with one table of results.

    python -m bench              # every `bench/*_bench.py` (what `make bench` runs)
    python -m bench consent      # only those whose name contains "consent"

Each benchmark starts its own embedded PostgreSQL, broker and services on free 127.0.0.1
ports and stops them; they run one at a time so that none measures another's load. Each
prints, as its last line, `RESULT {json}` (see `bench/result.py`); the table at the end holds
every row of every benchmark with its target and whether it was met. Exit status 1 when a
benchmark did not run to the end; a missed target shows as FAIL in the table but does not
change the status (timing is not a test: on a shared machine it measures the neighbours too).
Figures are kept in docs/performance.md with the machine they were measured on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.result import format_row, header, parse, row

HERE = Path(__file__).resolve().parent

# Benchmarks that print a flat RESULT object ({"name": value, ...}) instead of rows: the issue's
# targets for the names that have one, the label and unit of each.
FLAT_ROWS: dict[str, tuple[str, str, tuple[str, float] | None]] = {
    "erasures_per_s": ("subject erasures through the gateway, sustained", "/s", (">=", 300.0)),
    "round_trip_ms_p50": ("erasure round trip, median", "ms", ("<", 100.0)),
    "jobs": ("erasure jobs in flight", "jobs", None),
    "breach_register_median_s": ("breach of 100,000 subjects registered, median", "s",
                                 ("<", 5.0)),
    "breach_peak_rss_mib": ("breach service peak memory", "MiB", None),
    "access_bundle_median_ms": ("access bundle approval, median", "ms", None),
    "access_bundle_worst_ms": ("access bundle approval, worst", "ms", None),
    "import_s": ("import of 10,000 participants (CSV)", "s", None),
    "tenant_erasure_s": ("training-records tenant erasure", "s", None),
    "peak_rss_mib": ("training-records peak memory", "MiB", None),
}


def rows_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(result.get("rows"), list):
        return list(result["rows"])
    rows = []
    for key, value in result.items():
        if key == "bench" or not isinstance(value, int | float) or isinstance(value, bool):
            continue
        label, unit, target = FLAT_ROWS.get(key, (key, "", None))
        rows.append(row(label, float(value), unit, target=target))
    return rows


def run(script: Path) -> tuple[int, dict[str, Any] | None, float]:
    """Run one benchmark, its output passed through; return its exit code and RESULT."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{script.stem}"], cwd=HERE.parent, text=True,
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    result = None
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        result = parse(line.rstrip("\n")) or result
    return process.wait(), result, time.perf_counter() - started


def table(outcomes: list[tuple[str, int, dict[str, Any] | None, float]]) -> list[str]:
    lines = [f"{'benchmark':<20}{header()}"]
    for name, code, result, seconds in outcomes:
        if result is None:
            lines.append(f"{name:<20}{'(no RESULT line)':<48}{'':>12}  {'':<6}{'':<10}"
                         f"{'FAIL' if code else '-':<7}exit {code}, {seconds:.0f} s")
            continue
        lines += [f"{name:<20}{format_row(entry)}" for entry in rows_of(result)]
        if code:
            lines.append(f"{name:<20}{'exit code':<48}{code:>12}")
    return lines


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    scripts = sorted(p for p in HERE.glob("*_bench.py")
                     if not wanted or any(w in p.stem for w in wanted))
    if not scripts:
        print(f"no benchmark matches {' '.join(wanted)}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    outcomes = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        code, result, seconds = run(script)
        outcomes.append((script.stem.removesuffix("_bench"), code, result, seconds))
    print(f"\nSummary ({os.cpu_count()} CPUs, load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; ratios are measured side by side in one run)")
    print("\n".join(table(outcomes)))
    return 0 if all(code == 0 for _, code, _, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
