"""Logs an on-call engineer can search: one JSON object per line, each naming the service,
the request id and the trace id, from our code, uvicorn and every library alike.

`configure_logging(settings)` runs once per process (from `create_app`, after uvicorn has set
up its own logging, which it replaces). uvicorn's access log is switched off: it prints raw
paths, and paths carry subject ids, which are personal data. The kit's request middleware
(`privacy_kit.metrics`) logs one `privacy.access` line per request with the route template
(`/v1/subjects/{subject_id}/consents`) instead.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from privacy_kit.telemetry import current_trace_ids

request_id_var: ContextVar[str | None] = ContextVar("privacy_request_id", default=None)
service_var: ContextVar[str | None] = ContextVar("privacy_service", default=None)

access_log = logging.getLogger("privacy.access")

_TEXT_FORMAT = ("%(asctime)s %(levelname)s %(service)s %(name)s "
                "[request_id=%(request_id)s trace_id=%(trace_id)s] %(message)s")
_configured: logging.Handler | None = None


class ContextFilter(logging.Filter):
    """Puts service, request id, trace id and span id on every record that passes a handler."""

    def __init__(self, default_service: str) -> None:
        super().__init__()
        self.default_service = default_service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = service_var.get() or self.default_service
        record.request_id = request_id_var.get()
        record.trace_id, record.span_id = current_trace_ids()
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def log_handler(service_name: str, *, fmt: str = "json", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing one line per record (JSON or text) with the request context."""
    handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.addFilter(ContextFilter(service_name))
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    return handler


def configure_logging(service_name: str, *, level: str = "INFO", fmt: str = "json") -> logging.Handler:
    """Install the process's log handler once; later calls (tests with many apps) keep it."""
    global _configured
    if _configured is not None:
        return _configured
    handler = log_handler(service_name, fmt=fmt)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):  # their messages reach the root handler instead
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
    for chatty in ("aiokafka", "httpx"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.WARNING))
    _configured = handler
    return handler
