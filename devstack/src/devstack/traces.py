"""Look at one trace on a laptop, no collector needed: `python -m devstack trace [TRACE_ID]`.

With `python -m devstack up --traces` every process appends its spans to
`.devstack/traces/<name>.jsonl` (the kit's `OTEL_TRACES_FILE`). This reads them all and
prints one trace as a tree across services: the latest one, or the one whose id you give (a
log line's `trace_id`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    name: str
    start: datetime
    end: datetime

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start).total_seconds() * 1000


def _hex(value: str | None) -> str | None:
    return value.removeprefix("0x") if value else None


def _span(raw: dict[str, Any]) -> Span:
    return Span(
        trace_id=_hex(raw["context"]["trace_id"]) or "",
        span_id=_hex(raw["context"]["span_id"]) or "",
        parent_id=_hex(raw.get("parent_id")),
        service=raw.get("resource", {}).get("attributes", {}).get("service.name", "?"),
        name=raw["name"],
        start=datetime.fromisoformat(raw["start_time"]),
        end=datetime.fromisoformat(raw["end_time"]),
    )


def load_spans(directory: Path) -> list[Span]:
    spans = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                spans.append(_span(json.loads(line)))
    return spans


def latest_trace_id(spans: list[Span]) -> str | None:
    roots = [s for s in spans if s.parent_id is None]
    return max(roots or spans, key=lambda s: s.end).trace_id if spans else None


def render(spans: list[Span], trace_id: str) -> str:
    """The trace as an indented tree, children in start order, with each span's duration."""
    mine = sorted((s for s in spans if s.trace_id == trace_id), key=lambda s: s.start)
    if not mine:
        return f"no spans of trace {trace_id}"
    ids = {s.span_id for s in mine}
    children: dict[str | None, list[Span]] = {}
    for span in mine:  # a parent in another, unsampled or unrecorded process counts as root
        children.setdefault(span.parent_id if span.parent_id in ids else None, []).append(span)
    services = sorted({s.service for s in mine})
    lines = [f"trace {trace_id}: {len(mine)} spans in {', '.join(services)}"]

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            lines.append(f"{'  ' * depth}{span.service:<17} {span.name}  "
                         f"{span.duration_ms:.1f} ms")
            walk(span.span_id, depth + 1)

    walk(None, 1)
    return "\n".join(lines)
