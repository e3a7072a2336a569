"""OpenTelemetry: FastAPI and httpx instrumented, asyncpg too when spans are exported; spans
exported only when configured.

The standard `OTEL_*` variables are honoured: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (e.g. `parentbased_traceidratio` and `0.1`),
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` with their `_HEADERS`,
`_TIMEOUT` and `_COMPRESSION`, the `OTEL_BSP_*` batch settings, `OTEL_TRACES_EXPORTER=none`
and `OTEL_SDK_DISABLED=true`. `OTEL_TRACES_FILE` (ours) appends every span as one JSON line
to a file: a way to look at a trace on a laptop with no collector (`python -m devstack trace`).
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler
from opentelemetry.trace import Span

log = logging.getLogger(__name__)
_instrumented_libraries = False
_instrumented_asyncpg = False


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span as one line of JSON (the SDK's own span format)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(lines)  # one write per batch: lines of several processes never interleave
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def _exporters(otlp_endpoint: str, traces_file: str) -> list[SpanExporter]:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return []
    exporters: list[SpanExporter] = []
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            exporters.append(OTLPSpanExporter())  # reads the variable itself
        else:
            exporters.append(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"))
    if traces_file:
        exporters.append(JsonLinesSpanExporter(traces_file))
    return exporters


def _sampler(exporting: bool) -> Sampler | None:
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None  # the SDK reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
    # Without an exporter nothing reads the spans: they still get ids and carry the trace
    # context onwards (gateway, outbox, Kafka headers, log lines), but record nothing.
    return ParentBased(ALWAYS_ON) if exporting else ALWAYS_OFF


def setup_tracing(service_name: str, otlp_endpoint: str, traces_file: str = "") -> None:
    """Install the process's tracer provider once; later calls (tests with many apps) keep it."""
    global _instrumented_libraries, _instrumented_asyncpg
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider) and not _env_true("OTEL_SDK_DISABLED"):
        exporters = _exporters(otlp_endpoint, traces_file)
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
        provider = TracerProvider(
            resource=Resource.create(attributes), sampler=_sampler(bool(exporters))
        )
        for exporter in exporters:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    if not _instrumented_libraries:
        # Always: the gateway's and the services' calls carry the trace context onwards.
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument(request_hook=_redact_client_url,
                                             async_request_hook=_async_redact_client_url)
        _instrumented_libraries = True
    if not _instrumented_asyncpg and _records_spans():
        # Only when spans go somewhere: a query span is a leaf that carries no context
        # onwards, and wrapping every query costs a regex, attributes and a span each time.
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().instrument()
        _instrumented_asyncpg = True


def _records_spans() -> bool:
    """Whether the process's tracer provider has anywhere to send spans."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        return False
    processor = getattr(provider, "_active_span_processor", None)
    return bool(getattr(processor, "_span_processors", ()))


def fastapi_options() -> dict[str, Any]:
    """`FastAPI(**fastapi_options())`: FastAPI's own (native) OpenTelemetry switched off.

    Recent FastAPI versions trace, meter and log every request themselves as soon as a tracer
    provider is installed, on top of `instrument_app`'s middleware: two server spans per
    request, a span per dependency and endpoint, request metrics and exception logs, even when
    nothing records them. The kit keeps one instrumentation (the instrumentor's: the trace
    context it extracts and its excluded probe routes are what the tests pin down).
    """
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False,
                          "operation_spans": False}}


# O25: paths carry subject ids (personal data, and erased with the person), so no span keeps a
# raw path. FastAPI's instrumentation names server spans by route template already
# ("GET /v1/subjects/{subject_id}/consents"), but puts the raw path and URL into attributes;
# these hooks put the template there instead. Client spans keep only the origin of the URL.
UNMATCHED = "<unmatched>"
_PATH_ATTRIBUTES = ("http.target", "url.path")
_URL_ATTRIBUTES = ("http.url", "url.full")


def route_template_of(scope: dict[str, Any]) -> str:
    """The template of the route a request will match, found before routing has run: the
    same lookup that names the span, so name and attributes agree."""
    from opentelemetry.instrumentation.fastapi import _get_route_details

    try:
        template = _get_route_details(scope)
    except Exception:  # an app without routes of its own: say nothing rather than the path
        template = None
    return str(template) if template else UNMATCHED


def _redact_server_span(span: Span, scope: dict[str, Any]) -> None:
    if span is None or not span.is_recording():
        return
    template = route_template_of(scope)
    for name in _PATH_ATTRIBUTES:
        span.set_attribute(name, template)
    server = scope.get("server") or ("", None)
    origin = f"{scope.get('scheme', 'http')}://{server[0]}" + (f":{server[1]}" if server[1] else "")
    for name in _URL_ATTRIBUTES:
        span.set_attribute(name, origin + template)
    span.set_attribute("url.query", "")


def _client_origin(url: Any) -> str:
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<url>"
    return f"{parts.scheme}://{parts.netloc}/…"


def _redact_client_url(span: Span, request: Any) -> None:
    if span is None or not span.is_recording():
        return
    for name in _URL_ATTRIBUTES:
        span.set_attribute(name, _client_origin(getattr(request, "url", "")))


async def _async_redact_client_url(span: Span, request: Any) -> None:
    _redact_client_url(span, request)


_own_providers = False


def instrument_app(app: FastAPI, tracer_provider: TracerProvider | None = None) -> None:
    from opentelemetry.instrumentation import fastapi as fastapi_instrumentation

    global _own_providers
    if tracer_provider is not None:  # spans of its own (tests): always named by route
        _own_providers = True
    _skip_route_lookup_when_not_recording(fastapi_instrumentation)
    # No "http send"/"http receive" child spans: one per ASGI message, they said nothing the
    # server span does not (status, timing) and cost a span each on every request, recorded or
    # not (issue 10: 6% of the consent read's CPU).
    fastapi_instrumentation.FastAPIInstrumentor.instrument_app(
        app, excluded_urls="/healthz$,/livez$,/metrics$", server_request_hook=_redact_server_span,
        tracer_provider=tracer_provider, exclude_spans=["receive", "send"])


def _skip_route_lookup_when_not_recording(module: Any) -> None:
    """The instrumentor names each server span after its route by matching the path against
    every route of the app, one regular expression after another, before the app routes the
    request itself: about 0.3 ms per request on consent's 60 routes. The name is only read
    when the span is recorded, so without an exporter the lookup is skipped (the span still
    carries the trace context; its name falls back to the method)."""
    original = getattr(module, "_get_route_details", None)
    if original is None or getattr(original, "_privacy_kit", False):
        return

    def route_details(scope: Any) -> str | None:
        return original(scope) if _own_providers or _records_spans() else None

    route_details._privacy_kit = True  # type: ignore[attr-defined]
    module._get_route_details = route_details


def current_trace_ids() -> tuple[str | None, str | None]:
    """The current trace and span id as hex, or (None, None) outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis=2000)
