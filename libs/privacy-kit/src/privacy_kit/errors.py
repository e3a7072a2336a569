"""One JSON error shape for every 4xx and 5xx: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from privacy_kit.i18n import SOURCE_LANGUAGE, Text, localize, request_language, tr

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    """An error a person can act on. `code` is a stable machine word, `message` a sentence."""

    def __init__(
        self, status_code: int, code: str, message: str, *, details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code
        self.message = message
        self.details = details


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _default_code(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def describe_validation_errors(
    errors: list[dict[str, Any]], language: str = SOURCE_LANGUAGE,
) -> tuple[str, list[dict[str, str]]]:
    details = []
    for err in errors:
        if err.get("type") == "json_invalid":
            loc = tuple(err.get("loc", ()))
            where = f" near character {loc[1]}" if len(loc) > 1 else ""
            reason = (err.get("ctx") or {}).get("error", "")
            details.append({"field": "body",
                            "message": f"is not valid JSON{where}" + (f" ({reason})" if reason else "")})
            continue
        field = _field_path(tuple(err.get("loc", ())))
        msg = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        raised = (err.get("ctx") or {}).get("error")  # a validator's own `tr(...)` text
        if isinstance(raised, ValueError) and raised.args and isinstance(raised.args[0], Text):
            msg = raised.args[0].in_language(language)
        details.append({"field": field, "message": msg})
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid request"
    return message, details


def _said_in(details: Any, language: str) -> Any:
    """Details whose `message` is a `tr(...)` text, in `language`; anything else as it is."""
    if not isinstance(details, list):
        return details
    return [{**d, "message": d["message"].in_language(language)}
            if isinstance(d, dict) and isinstance(d.get("message"), Text) else d for d in details]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        language = request_language(request)
        return JSONResponse(
            error_body(exc.code, localize(exc.message, language), _said_in(exc.details, language)),
            exc.status_code,
            headers={**(exc.headers or {}), "Content-Language": language},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and message == "Not Found":
            message = tr("No such resource.")
        if exc.status_code == 405:
            message = tr("This method is not allowed on this resource.")
        language = request_language(request)
        return JSONResponse(
            error_body(_default_code(exc.status_code), localize(message, language)),
            exc.status_code,
            headers={**(getattr(exc, "headers", None) or {}), "Content-Language": language},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        language = request_language(request)
        message, details = describe_validation_errors(list(exc.errors()), language)
        return JSONResponse(error_body("invalid_request", message, details), 422,
                            headers={"Content-Language": language})

    # Handled here, not by the catch-all below: a handler for `Exception` makes Starlette re-raise
    # after answering, and uvicorn then closes the keep-alive connection under the gateway.
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    app.add_exception_handler(asyncpg.InterfaceError, _unavailable)
    # A pooled connection whose server went away while it sat idle: the server's farewell is
    # still being read when the next request starts on it (asyncpg: "cannot switch to state
    # 15; another operation (2) is in progress"). The database is away: 503, not 500.
    app.add_exception_handler(asyncpg.InternalClientError, _unavailable)
    app.add_exception_handler(OSError, _unavailable)
    app.add_exception_handler(OverflowError, _out_of_range)  # type: ignore[arg-type]
    app.add_exception_handler(UnicodeError, _not_unicode)  # type: ignore[arg-type]

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ClientDisconnect):  # the caller hung up: nothing of ours went wrong
            log.info("client left during %s %s", request.method, request.url.path)
            return JSONResponse(error_body("client_disconnected", "The request was not finished."), 400)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = tr("Something went wrong on our side; it has been logged.")
        return JSONResponse(
            error_body("internal_error", localize(message, request_language(request))), 500,
        )


# The database refused a value (class 22) or it is too large for an index (class 54): the input
# slipped past validation, so the caller still gets a 4xx; the log says where to tighten.
_REFUSED_VALUES = (asyncpg.DataError, asyncpg.ProgramLimitExceededError)
# The database is restarting, unreachable or full: worth trying again shortly.
_DATABASE_AWAY = (asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
                  asyncpg.InsufficientResourcesError)
RETRY_AFTER_S = "5"


def unavailable_response() -> JSONResponse:
    return JSONResponse(
        error_body("service_unavailable",
                   "This service cannot reach its database right now; try again in a few seconds."),
        503, headers={"Retry-After": RETRY_AFTER_S},
    )


async def _database_error(request: Request, exc: asyncpg.PostgresError) -> JSONResponse:
    if isinstance(exc, _REFUSED_VALUES):
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(error_body(
            "invalid_value", "A value in the request is out of range or too large to store."), 422)
    if isinstance(exc, _DATABASE_AWAY):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return unavailable_response()
    log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "Something went wrong on our side; it has been logged."), 500)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("dependency unavailable on %s %s: %s: %s", request.method, request.url.path,
                type(exc).__name__, exc)
    return unavailable_response()


async def _out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
    log.warning("value out of range on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(error_body(
        "invalid_value", "A date or number in the request is out of range."), 422)


async def _not_unicode(request: Request, exc: UnicodeError) -> JSONResponse:
    log.warning("text that is not Unicode on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(error_body("invalid_value", "The request holds text that is not valid Unicode."), 422)
