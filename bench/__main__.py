"""Run every benchmark of the suite, one after the other, and print what each measured.

    python -m bench              # every `bench/*_bench.py`
    python -m bench consent      # only those whose name contains "consent"

Each benchmark starts its own embedded PostgreSQL, broker and services on free 127.0.0.1
ports and stops them; they run one at a time so that none measures another's load. Figures
are kept in docs/performance.md with the machine they were measured on.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    scripts = sorted(p for p in HERE.glob("*_bench.py")
                     if not wanted or any(w in p.stem for w in wanted))
    if not scripts:
        print(f"no benchmark matches {' '.join(wanted)}", file=sys.stderr)
        return 2
    summary: list[tuple[str, str, float]] = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False)
        seconds = time.perf_counter() - started
        summary.append((script.stem, "ok" if result.returncode == 0 else f"exit {result.returncode}",
                        seconds))
    print(f"\n{'benchmark':<28}{'result':<10}{'took s':>8}")
    for name, state, seconds in summary:
        print(f"{name:<28}{state:<10}{seconds:>8.1f}")
    return 0 if all(state == "ok" for _, state, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
