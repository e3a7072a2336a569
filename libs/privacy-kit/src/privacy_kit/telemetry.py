"""OpenTelemetry: FastAPI, httpx and asyncpg instrumented; OTLP export only when configured."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

log = logging.getLogger(__name__)
_instrumented_libraries = False


def setup_tracing(service_name: str, otlp_endpoint: str) -> None:
    """Install the process's tracer provider once; later calls (tests with many apps) keep it."""
    global _instrumented_libraries
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        # Without a collector nothing reads the spans: they still get ids and carry the trace
        # context onwards (gateway, outbox, Kafka headers), but record nothing.
        sampler = ALWAYS_ON if otlp_endpoint else ALWAYS_OFF
        provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}), sampler=sampler
        )
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = otlp_endpoint.rstrip("/") + "/v1/traces"
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        trace.set_tracer_provider(provider)
    if not _instrumented_libraries:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
        AsyncPGInstrumentor().instrument()
        _instrumented_libraries = True


def instrument_app(app: FastAPI) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz")


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis=2000)
