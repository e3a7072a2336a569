"""Input hygiene, once for every service and the gateway.

PostgreSQL refuses NUL in text and an encoder refuses unpaired surrogates; a year 9999 makes
a deadline overflow; a 10 MB value or 200,000 keys fill the memory and the tables. None of it
should reach a view. Two parts:

- `RequestHygieneMiddleware` (ASGI, outermost but one): a body larger than the limit answers
  413; a JSON body is parsed once and walked: NUL, unpaired surrogates, strings, keys and ids
  longer than their limits, too deep, too many keys or items, numbers JSON cannot carry
  exactly (I-JSON, RFC 7493), duplicate keys and dates outside the years 1900..2200 answer 422
  naming the field. Then the untouched body is handed on.
- `guard_params` (a dependency on every route of `create_app`): the same rules for path and
  query parameters, and integer parameters without a bound of their own kept within a
  PostgreSQL integer, so `?offset=99999999999999999999` is a 422, not a 500.

The annotated types below (`Text`, `Id`, `Date`, `PastDateTime`, `Limit`, `Offset`) say the
same in a model or a view, so that the OpenAPI document tells clients the limits.
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field, StringConstraints
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_kit.errors import ApiError, error_body

MIN_YEAR = 1900
MAX_YEAR = 2200
# The largest value a PostgreSQL `integer` holds: the bound of integer parameters without one.
MAX_INT_PARAM = 2**31 - 1
# I-JSON (RFC 7493): integers beyond this lose precision in most JSON parsers.
MAX_JSON_INT = 2**53 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")
_ISO_DATE = re.compile(r"^([0-9]{4})-[0-9]{2}-[0-9]{2}(?:[Tt ][0-9]{2}:[0-9]{2}.*)?$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class InputLimits:
    """What one request may carry. Built from the service's settings (`from_settings`)."""

    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    max_depth: int = 32
    max_keys: int = 1000
    max_items: int = 100_000
    max_string_chars: int = 20_000
    max_key_chars: int = 200
    max_id_chars: int = 200
    max_param_chars: int = 1000

    @classmethod
    def from_settings(cls, settings: Any) -> InputLimits:
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_upload_bytes=settings.max_upload_bytes,
            max_depth=settings.max_json_depth,
            max_keys=settings.max_json_keys,
            max_items=settings.max_json_items,
            max_string_chars=settings.max_string_chars,
            max_id_chars=settings.max_id_chars,
        )


def text_problem(value: str, max_chars: int) -> str | None:
    """Why this string cannot be taken, or None."""
    if "\x00" in value:
        return "must not contain NUL characters (\\u0000)"
    if _SURROGATE.search(value):
        return "must be valid Unicode (it holds an unpaired surrogate)"
    if len(value) > max_chars:
        return f"must be at most {max_chars} characters (got {len(value)})"
    match = _ISO_DATE.match(value)
    if match and not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        return f"must be a date between the years {MIN_YEAR} and {MAX_YEAR}"
    return None


def _is_id(key: str) -> bool:
    return key == "id" or key.endswith("_id")


def json_problems(document: Any, limits: InputLimits) -> list[dict[str, str]]:
    """Every field of a parsed JSON document that breaks a limit, as {"field", "message"}."""
    problems: list[dict[str, str]] = []
    stack: list[tuple[Any, str, int, bool]] = [(document, "", 0, False)]
    while stack and len(problems) < 20:
        value, path, depth, is_id = stack.pop()
        where = path or "body"
        if depth > limits.max_depth:
            problems.append({"field": where,
                             "message": f"nests deeper than {limits.max_depth} levels"})
            continue
        if isinstance(value, str):
            reason = text_problem(value, limits.max_id_chars if is_id else limits.max_string_chars)
            if reason:
                problems.append({"field": where, "message": reason})
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_JSON_INT:
                problems.append({"field": where, "message":
                                 f"must be between -{MAX_JSON_INT} and {MAX_JSON_INT}"})
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.append({"field": where, "message": "must be a finite number"})
        elif isinstance(value, dict):
            if len(value) > limits.max_keys:
                problems.append({"field": where, "message":
                                 f"has {len(value)} keys; at most {limits.max_keys} are taken"})
                continue
            for key, item in value.items():
                reason = text_problem(key, limits.max_key_chars)
                if reason:
                    problems.append({"field": f"{path}.{key[:40]}" if path else key[:40],
                                     "message": f"key {reason}"})
                    continue
                stack.append((item, f"{path}.{key}" if path else key, depth + 1, _is_id(key)))
        elif isinstance(value, list):
            if len(value) > limits.max_items:
                problems.append({"field": where, "message":
                                 f"has {len(value)} items; at most {limits.max_items} are taken"})
                continue
            stack.extend((item, f"{path}.{i}" if path else str(i), depth + 1, is_id)
                         for i, item in enumerate(value))
    return problems


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


class _DuplicateKey(ValueError):
    pass


def _refusal(status: int, code: str, message: str,
             details: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status)


def _invalid(problems: list[dict[str, str]]) -> JSONResponse:
    message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return _refusal(422, "invalid_request", message, problems)


def _too_large(limit: int) -> JSONResponse:
    return _refusal(413, "payload_too_large",
                    f"The request body is larger than {limit} bytes; send less at once.")


def is_json(content_type: str | None) -> bool:
    """FastAPI reads a body without a content type as JSON, so this does too."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class RequestHygieneMiddleware:
    """Body size, JSON shape and text hygiene for every request (see the module docstring).

    `route_limits` gives other limits to the requests of some routes, by method and path
    pattern (the gateway: a breach naming up to 200,000 affected people is bigger than any other
    body, and gets through to the breach service, which takes it; every other route keeps the
    tight default)."""

    def __init__(self, app: ASGIApp, limits: InputLimits | None = None,
                 route_limits: Mapping[tuple[str, str], InputLimits] | None = None) -> None:
        self.app = app
        self.default_limits = limits or InputLimits()
        self.route_limits = [(method, re.compile(pattern), route)
                             for (method, pattern), route in (route_limits or {}).items()]

    def limits_for(self, scope: Scope) -> InputLimits:
        for method, pattern, limits in self.route_limits:
            if scope["method"] == method and pattern.match(scope["path"]):
                return limits
        return self.default_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and (declared is None or declared.strip() == "0"):
            await self.app(scope, receive, send)
            return
        json_body = is_json(headers.get("content-type"))
        limits = self.limits_for(scope)
        limit = limits.max_body_bytes if json_body else limits.max_upload_bytes
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        if not json_body:
            await self.app(scope, _counting(receive, limit), send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the caller left; let the app see it
                await self.app(scope, _replay(bytes(body), receive, message), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await _too_large(limit)(scope, receive, send)
                return
        refusal = self._check_json(bytes(body), limits)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    def _check_json(self, body: bytes, limits: InputLimits) -> JSONResponse | None:
        if not body.strip():
            return None
        try:
            document = json.loads(body, object_pairs_hook=_unique_keys)
        except _DuplicateKey as exc:
            return _invalid([{"field": str(exc)[:40], "message": "appears twice in one object"}])
        except RecursionError:
            return _invalid([{"field": "body",
                              "message": f"nests deeper than {limits.max_depth} levels"}])
        except json.JSONDecodeError:
            return None  # FastAPI says where the JSON breaks, in the shared error shape
        except UnicodeDecodeError as exc:
            return _invalid([{"field": "body", "message": "is not valid JSON: not UTF-8 text "
                              f"(byte {exc.start} cannot be read)"}])
        except ValueError as exc:  # e.g. an integer of thousands of digits
            return _invalid([{"field": "body", "message": f"cannot be read: {exc}"}])
        problems = json_problems(document, limits)
        return _invalid(problems) if problems else None


def _replay(body: bytes, receive: Receive, first: Message | None = None) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if first is not None:
        pending.append(first)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    """An upload without a declared length is cut off (413) once it passes the limit."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise ApiError(413, "payload_too_large",
                               f"The request body is larger than {limit} bytes; send less at once.")
        return message

    return counted


def _is_int_annotation(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(a is int for a in typing.get_args(annotation))
    return False


def _has_upper_bound(field_info: Any) -> bool:
    return any(hasattr(m, "le") or hasattr(m, "lt") for m in field_info.metadata)


def unbounded_int_params(route: Any) -> set[str]:
    """Names (aliases) of a route's integer path/query parameters that set no maximum."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return set()
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for param in (*current.path_params, *current.query_params):
            if _is_int_annotation(param.field_info.annotation) and not _has_upper_bound(
                param.field_info
            ):
                names.add(param.alias)
    return names


def declared_path_lengths(route: Any) -> dict[str, int]:
    """Path parameters whose route declares its own `max_length` (e.g. a signed token)."""
    dependant = getattr(route, "dependant", None)
    lengths: dict[str, int] = {}
    pending = [dependant] if dependant is not None else []
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for param in current.path_params:
            for meta in param.field_info.metadata:
                if isinstance(getattr(meta, "max_length", None), int):
                    lengths[param.alias] = meta.max_length
    return lengths


# By route id, with the route itself (holding it keeps its id from being reused): a route's
# parameters do not change, so they are looked up once, not on every request.
_PARAM_RULES: dict[int, tuple[Any, dict[str, int], set[str]]] = {}


def _param_rules(route: Any) -> tuple[dict[str, int], set[str]]:
    known = _PARAM_RULES.get(id(route))
    if known is not None and known[0] is route:
        return known[1], known[2]
    declared, bounded = declared_path_lengths(route), unbounded_int_params(route)
    if route is not None:
        _PARAM_RULES[id(route)] = (route, declared, bounded)
    return declared, bounded


async def guard_params(request: Request) -> None:
    """Dependency on every route: path and query parameters follow the same rules as bodies."""
    path_params, query_string = request.path_params, request.scope.get("query_string")
    if not path_params and not query_string:
        return
    limits: InputLimits = getattr(request.app.state, "input_limits", None) or InputLimits()
    problems: list[dict[str, str]] = []
    declared, bounded = _param_rules(request.scope.get("route"))
    for name, value in path_params.items():
        longest = declared.get(name, limits.max_id_chars)
        if isinstance(value, str) and (reason := text_problem(value, longest)):
            problems.append({"field": name, "message": reason})
    if query_string:
        _check_query(request, limits, bounded, problems)
    if problems:
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise ApiError(422, "invalid_request", message, details=problems)


def _check_query(request: Request, limits: InputLimits, bounded: set[str],
                 problems: list[dict[str, str]]) -> None:
    for name, value in request.query_params.multi_items():
        reason = text_problem(name, limits.max_key_chars) or text_problem(
            value, limits.max_param_chars)
        if reason is None and name in bounded and _INTEGER.match(value.strip()) and (
            abs(int(value)) > MAX_INT_PARAM
        ):
            reason = f"must be at most {MAX_INT_PARAM}"
        if reason:
            problems.append({"field": name[:40], "message": reason})


# Shared annotated types: use them in models and views, so the OpenAPI shows the limits.


def _clean(value: str) -> str:
    reason = text_problem(value, max_chars=10**9)
    if reason:
        raise ValueError(reason)
    return value


def _sane_date(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


def _not_in_future(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone offset, e.g. 2026-11-21T09:30:00+01:00")
    if value > datetime.now(UTC) + timedelta(minutes=5):
        raise ValueError("must not be in the future")
    return value


Text = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(_clean)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=300), AfterValidator(_clean)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_clean)]
Date = Annotated[date, AfterValidator(_sane_date)]
DateTime = Annotated[datetime, AfterValidator(_sane_date)]
PastDateTime = Annotated[datetime, AfterValidator(_sane_date), AfterValidator(_not_in_future)]
Limit = Annotated[int, Query(ge=1, le=1000, description="How many items at most")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT_PARAM, description="How many items to skip")]
Count = Annotated[int, Field(ge=0, le=MAX_INT_PARAM)]

__all__ = [
    "Count", "Date", "DateTime", "Id", "InputLimits", "Limit", "Offset", "PastDateTime",
    "RequestHygieneMiddleware", "ShortText", "Text", "guard_params", "json_problems",
    "text_problem",
]
