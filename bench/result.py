"""The one line each benchmark prints last, and `python -m bench` reads into its summary table.

    RESULT {"bench": "consent", "rows": [{"label": ..., "value": ..., "unit": ...,
            "target": {"op": ">=", "value": 35.0} | null, "note": ...}, ...]}

A row's `target` is checked by `python -m bench` (`op` one of `>=`, `>`, `<=`, `<`); a row
without one is a figure for reference (the bare baseline, a p99). Keep `value` in `unit`.
"""

from __future__ import annotations

import json
import operator
from typing import Any

PREFIX = "RESULT "
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def row(label: str, value: float, unit: str, *, target: tuple[str, float] | None = None,
        note: str = "") -> dict[str, Any]:
    if target is not None and target[0] not in _OPS:
        raise ValueError(f"unknown comparison {target[0]!r}")
    return {"label": label, "value": value, "unit": unit, "note": note,
            "target": {"op": target[0], "value": target[1]} if target else None}


def print_result(bench: str, rows: list[dict[str, Any]], **extra: Any) -> None:
    """Print the RESULT line (last line of the benchmark's output)."""
    print(PREFIX + json.dumps({"bench": bench, "rows": rows, **extra}), flush=True)


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def header(width: int = 48) -> str:
    return f"{'figure':<{width}}{'value':>12}  {'unit':<6}{'target':<10}{'result':<7}note"


def format_row(entry: dict[str, Any], width: int = 48) -> str:
    """One row as a line of a table: label, value, unit, target and whether it was met."""
    target = entry.get("target")
    verdict = passed(entry)
    return (f"{entry['label'][:width - 1]:<{width}}{number(entry['value']):>12}  "
            f"{entry.get('unit', ''):<6}"
            f"{(target['op'] + ' ' + number(target['value'])) if target else '':<10}"
            f"{'' if verdict is None else 'pass' if verdict else 'FAIL':<7}"
            f"{entry.get('note', '')}")


def print_rows(rows: list[dict[str, Any]]) -> None:
    """A benchmark's own table of its rows, labels in full (the columns of `python -m bench`)."""
    width = max([48, *(len(r["label"]) + 2 for r in rows)])
    print("\n".join([header(width), *(format_row(r, width) for r in rows)]), flush=True)


def parse(line: str) -> dict[str, Any] | None:
    if not line.startswith(PREFIX):
        return None
    try:
        result = json.loads(line[len(PREFIX):])
    except json.JSONDecodeError:
        return None
    return result if isinstance(result, dict) else None


def passed(entry: dict[str, Any]) -> bool | None:
    """Whether the row meets its target, or None when it has none."""
    target = entry.get("target")
    if not target:
        return None
    return bool(_OPS[target["op"]](float(entry["value"]), float(target["value"])))
