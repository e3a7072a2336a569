"""Sorting for keyset-paged lists: `?sort=name` or `?sort=-created_at`, checked against the
fields a list offers, and the SQL that continues after a cursor in that order.

A list declares its order once::

    ORDER = Ordering({"created_at": ("t.created_at", "timestamptz"), "name": ("t.name", "text")},
                     tiebreak=("t.id", "uuid"), default="-created_at")

    async def list_x(page: Paging, sort: Annotated[SortOrder, Depends(ORDER)]) -> Page[X]:
        rows = await sort.fetch_page(conn, page, "SELECT * FROM t WHERE tenant_id = $1",
                                     tenant_id)
        return page_of(rows, page, sort.cursor_key)

(`sort.keyset(page, first_param=...)` gives the pieces for a query of another shape.)

The cursor holds the sort it was made for: a cursor from another sort is refused (422).
Only NOT NULL columns are offered: a keyset over NULLs would skip rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Query

from privacy_kit.errors import ApiError
from privacy_kit.i18n import tr
from privacy_kit.paging import PageParams

# For code that reads a whole list (an export), not a page of it.
ALL_ROWS = PageParams(limit=2**31 - 2, cursor=None)


@dataclass(frozen=True)
class SortField:
    column: str  # an SQL expression, e.g. "t.created_at"
    sql_type: str  # its type, to cast the cursor's text back: "timestamptz", "uuid", "text"


@dataclass(frozen=True)
class SortOrder:
    """The order a request asked for."""

    name: str
    descending: bool
    field: SortField
    tiebreak: SortField
    key_name: str  # the row key holding the sort value
    tiebreak_key: str

    @property
    def value(self) -> str:
        return f"-{self.name}" if self.descending else self.name

    def keyset(self, page: PageParams, *, first_param: int) -> tuple[str, str, list[Any]]:
        """(WHERE condition, ORDER BY list, arguments) for the rows after the page's cursor."""
        direction = "DESC" if self.descending else "ASC"
        order_by = f"{self.field.column} {direction}, {self.tiebreak.column} {direction}"
        if page.cursor is None:
            return "TRUE", order_by, []
        if len(page.cursor) != 3 or page.cursor[0] != self.value:
            raise ApiError(422, "invalid_cursor",
                           tr("The cursor belongs to another sort order; start again without it."))
        op = "<" if self.descending else ">"
        a, b = first_param, first_param + 1
        where = (f"({self.field.column}, {self.tiebreak.column}) {op} "
                 f"(${a}::text::{self.field.sql_type}, ${b}::text::{self.tiebreak.sql_type})")
        return where, order_by, [str(page.cursor[1]), str(page.cursor[2])]

    async def fetch_page(
        self, conn: asyncpg.Connection, page: PageParams, select_where: str, *args: Any,
    ) -> list[asyncpg.Record]:
        """The rows of one page: `select_where` (`SELECT ... WHERE <conditions on $1..$n>`,
        with `args` for them) continued after the page's cursor, in this order, one row more
        than the page holds (for `page_of`)."""
        where, order_by, keyset_args = self.keyset(page, first_param=len(args) + 1)
        return list(await conn.fetch(
            f"{select_where} AND {where} ORDER BY {order_by} LIMIT {page.limit + 1}",
            *args, *keyset_args))

    def cursor_key(self, row: Any) -> list[Any]:
        """For `page_of`: the sort value and tiebreak of a row (a record, dict or model)."""
        return [self.value, _get(row, self.key_name), _get(row, self.tiebreak_key)]


def _get(row: Any, key: str) -> Any:
    if isinstance(row, Mapping) or hasattr(row, "keys"):
        value = row[key]
    else:
        value = getattr(row, key)
    return value.isoformat() if hasattr(value, "isoformat") else value


class Ordering:
    """The sorts one list offers; an instance is the FastAPI dependency for `?sort=`."""

    def __init__(
        self, fields: Mapping[str, tuple[str, str]], *, tiebreak: tuple[str, str], default: str,
        keys: Mapping[str, str] | None = None, tiebreak_key: str = "id",
    ) -> None:
        self.fields = {name: SortField(*spec) for name, spec in fields.items()}
        self.tiebreak = SortField(*tiebreak)
        self.keys = dict(keys or {})
        self.tiebreak_key = tiebreak_key
        self.choices = [v for name in self.fields for v in (name, f"-{name}")]
        if default not in self.choices:
            raise ValueError(f"default sort {default!r} is not one of {self.choices}")
        self.default = default
        choices = ", ".join(self.choices)
        self.__signature__ = _signature(default, choices)

    def resolve(self, value: str) -> SortOrder:
        if value not in self.choices:
            raise ApiError(
                422, "invalid_sort",
                tr("sort must be one of: {choices}.", choices=", ".join(self.choices)),
                details=[{"field": "sort", "message": "not a sort this list offers"}],
            )
        name = value.removeprefix("-")
        return SortOrder(name=name, descending=value.startswith("-"), field=self.fields[name],
                         tiebreak=self.tiebreak, key_name=self.keys.get(name, name),
                         tiebreak_key=self.tiebreak_key)

    @property
    def default_order(self) -> SortOrder:
        return self.resolve(self.default)

    async def __call__(self, sort: str | None = None) -> SortOrder:
        return self.resolve(sort or self.default)


def _signature(default: str, choices: str) -> Any:
    """`sort` as FastAPI shows it: a query parameter with the choices listed."""
    import inspect

    parameter = inspect.Parameter(
        "sort", inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[str | None, Query(
            description=f"Order of the list: a field, `-` before it for descending. "
                        f"One of: {choices}. Default: `{default}`.",
            max_length=60, examples=[default],
        )],
        default=None,
    )
    return inspect.Signature([parameter], return_annotation=SortOrder)
