"""Query strings are checked as strictly as bodies: a parameter the route does not declare is
a 422, not silently ignored (a misspelt filter would otherwise return everything)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from privacy_kit.errors import ApiError
from privacy_kit.i18n import tr

# By route id, with the route itself: holding it keeps its id from being reused.
_DECLARED: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def declared_query_params(route: APIRoute) -> frozenset[str]:
    """Every query parameter the route takes, through all its dependencies, by its alias."""
    known = _DECLARED.get(id(route))
    if known is not None and known[0] is route:
        return known[1]
    names: set[str] = set()
    pending: list[Any] = [route.dependant]
    while pending:
        dependant = pending.pop()
        for field in dependant.query_params:
            model = getattr(field, "type_", None) or getattr(field.field_info, "annotation", None)
            if isinstance(model, type) and issubclass(model, BaseModel):  # Annotated[M, Query()]
                names.update(f.alias or n for n, f in model.model_fields.items())
            else:
                names.add(field.alias)
        pending.extend(dependant.dependencies)
    declared = frozenset(names)
    _DECLARED[id(route)] = (route, declared)
    return declared


async def reject_unknown_query_params(request: Request) -> None:
    """App-wide dependency: 422 `unknown_query_parameter` naming what the route does take."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = declared_query_params(route)
    unknown = sorted(set(request.query_params) - allowed)
    if not unknown:
        return
    takes = ", ".join(sorted(allowed)) if allowed else tr("none")
    raise ApiError(
        422, "unknown_query_parameter",
        tr("Unknown query parameter: {names}. This route takes: {takes}.",
           names=", ".join(unknown), takes=takes),
        details=[{"field": name, "message": "unknown query parameter"} for name in unknown],
    )
