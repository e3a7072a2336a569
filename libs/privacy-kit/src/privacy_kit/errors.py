"""One JSON error shape for every 4xx and 5xx: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from privacy_kit.i18n import localize, request_language, tr

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


def describe_validation_errors(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
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
        details.append({"field": field, "message": msg})
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid request"
    return message, details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        language = request_language(request)
        return JSONResponse(
            error_body(exc.code, localize(exc.message, language), exc.details), exc.status_code,
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
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = describe_validation_errors(list(exc.errors()))
        return JSONResponse(error_body("invalid_request", message, details), 422)

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
