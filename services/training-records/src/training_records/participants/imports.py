"""CSV import of participants by a Beheerder.

All or nothing: the whole file is validated first; if any row is bad, nothing is stored and the
answer (422) lists every bad row by line number, field and reason. A file that is valid is
stored in one transaction. Line numbers are those of the file: the header is line 1.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from pydantic import ValidationError

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal
from privacy_kit.errors import ApiError
from privacy_kit.guards import BSN, CATEGORY_NAMES, is_under_16, record_findings, screen
from training_records import parental
from training_records.access import check_registrar
from training_records.participants import service
from training_records.participants.flows import special_data_allowed
from training_records.participants.models import ImportLineError, ImportReport, ParticipantCreate
from training_records.settings import Settings, SettingsDep
from training_records.tenants import service as tenants
from training_records.tenants.service import agreement_in_force

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["participants"])

REQUIRED = ("name", "email", "birth_date")
OPTIONAL = ("phone", "company", "street", "postal_code", "city", "country", "language",
            "parental_consent_method", "parental_consent_verified_at")
_ADDRESS = ("street", "postal_code", "city", "country")
MAX_REPORTED = 1000

_EXAMPLE = ("name,email,birth_date,company\n"
            "Sanne de Vries,sanne@example.org,1990-04-12,Acme B.V.\n"
            "Ahmed Yilmaz,ahmed@example.org,1985-11-02,Acme B.V.\n")


def _row_to_body(row: dict[str, str]) -> dict[str, Any]:
    value = {k: v.strip() for k, v in row.items() if k and v is not None and v.strip()}
    body: dict[str, Any] = {k: value[k] for k in ("name", "email", "birth_date", "phone",
                                                  "company") if k in value}
    address = {k: value[k] for k in _ADDRESS if k in value}
    if address:
        body["address"] = address
    if "language" in value:
        body["preferences"] = {"language": value["language"]}
    if "parental_consent_method" in value or "parental_consent_verified_at" in value:
        body["parental_consent"] = {"method": value.get("parental_consent_method", ""),
                                    "verified_at": value.get("parental_consent_verified_at")}
    return body


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts[:1] == ["address"] and len(parts) > 1:
        return parts[1]
    if parts[:1] == ["parental_consent"] and len(parts) > 1:
        return f"parental_consent_{parts[1]}"
    if parts[:1] == ["preferences"]:
        return "language"
    return parts[0] if parts else "row"


def _refused(category: str) -> str:
    what = "a BSN" if category == BSN else f"{CATEGORY_NAMES[category]} data (a special category)"
    return (f"contains {what}, which this organisation may not store (no separate written "
            "agreement)")


def parse(text: str, *, bsn_allowed: bool, max_rows: int) -> tuple[list[tuple[int, ParticipantCreate]],
                                                                   list[ImportLineError]]:
    """Every row checked: shape, BSN in any cell (O5), age (O6), duplicate e-mails."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + \
            ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
        return [], [ImportLineError(line=1, field="header", reason="; ".join(problems) +
                    f". Columns: {', '.join(REQUIRED)} (required), {', '.join(OPTIONAL)}.")]
    good: list[tuple[int, ParticipantCreate]] = []
    errors: list[ImportLineError] = []
    seen: dict[str, int] = {}
    rows = 0
    line = reader.line_num + 1
    for row in reader:
        rows += 1
        if rows > max_rows:
            errors.append(ImportLineError(line=line, field="file",
                                          reason=f"more than {max_rows} rows; split the file"))
            break
        row_errors = _check_row(line, row, bsn_allowed=bsn_allowed, seen=seen)
        if isinstance(row_errors, ParticipantCreate):
            good.append((line, row_errors))
        else:
            errors.extend(row_errors)
        line = reader.line_num + 1
    if rows == 0:
        errors.append(ImportLineError(line=1, field="file", reason="the file has no data rows"))
    return good, errors


def _check_row(
    line: int, row: dict[str, Any], *, bsn_allowed: bool, seen: dict[str, int]
) -> ParticipantCreate | list[ImportLineError]:
    if None in row:
        return [ImportLineError(line=line, field="row", reason="more cells than columns")]
    errors = []
    if not bsn_allowed:  # O5, the kit's rule for every cell
        errors = [ImportLineError(line=line, field=f.field, reason=_refused(f.category))
                  for f in screen({k: v for k, v in row.items() if v})]
    try:
        body = ParticipantCreate.model_validate(_row_to_body(row))
    except ValidationError as exc:
        errors += [ImportLineError(line=line, field=_field_of(tuple(e["loc"])),
                                   reason=str(e["msg"]).removeprefix("Value error, "))
                   for e in exc.errors()]
        return errors
    if service.is_child_without_consent(body.birth_date, body.parental_consent):
        errors.append(ImportLineError(line=line, field="birth_date",
                                      reason="under 16 without parental consent"))
    if body.parental_consent and body.parental_consent.verified_at < body.birth_date:
        errors.append(ImportLineError(line=line, field="parental_consent_verified_at",
                                      reason="before the birth date"))
    email = body.email.lower()
    if email in seen:
        errors.append(ImportLineError(line=line, field="email",
                                      reason=f"the same e-mail as line {seen[email]}"))
    else:
        seen[email] = line
    return errors or body


async def _existing_emails(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, good: list[tuple[int, ParticipantCreate]]
) -> list[ImportLineError]:
    emails = [b.email.lower() for _, b in good]
    taken = {r["e"] for r in await conn.fetch(
        """SELECT lower(email) AS e FROM person WHERE tenant_id = $1 AND kind = 'participant'
           AND lower(email) = ANY($2::text[])""", tenant_id, emails)}
    return [ImportLineError(line=line, field="email", reason="already registered in this tenant")
            for line, b in good if b.email.lower() in taken]


async def _read_body(request: Request, limit: int) -> str:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "file_too_large", f"The file is larger than {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "file_too_large", f"The file is larger than {limit} bytes.")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid_csv", "The file is not UTF-8 text; export it as CSV "
                       f"UTF-8 (byte {exc.start} cannot be read).") from exc


async def _store(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, good: list[tuple[int, ParticipantCreate]],
    actor: str,
) -> list[dict[str, Any]]:
    records, created = [], []
    for line, body in good:
        pid = uuid.uuid4()
        dumped = body.model_dump(mode="json")
        records.append((
            pid, tenant_id, "participant", actor, body.name, body.email, body.birth_date,
            *(json.dumps(dumped[k]) if dumped[k] is not None else None
              for k in ("address", "preferences")),
            None,  # O6: the parental consent is recorded in consent, see _record_consents
            body.phone, body.company,
        ))
        created.append({"line": line, "id": str(pid)})
    await conn.copy_records_to_table(
        "person", records=records,
        columns=["id", "tenant_id", "kind", "created_by", "name", "email", "birth_date",
                 "address", "preferences", "parental_consent", "phone", "company"])
    return created


@router.post(
    "/participants/import", status_code=201, response_model=ImportReport,
    summary="Import participants from a CSV file, all or nothing (Beheerder, operator)",
    description="Send the file as the request body (`Content-Type: text/csv`, UTF-8, comma or "
    "semicolon separated, header on line 1). Columns: `name`, `email`, `birth_date` (required), "
    "`phone`, `company`, `street`, `postal_code`, `city`, `country`, `language`, "
    "`parental_consent_method`, `parental_consent_verified_at`. The whole file is validated "
    "first; if any row is bad, **nothing is stored** and the 422 answer lists every bad row "
    "(`details`: line, field, reason). BSNs (O5), under-16s without parental consent (O6) and "
    "duplicate e-mails are bad rows.",
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}, "example": _EXAMPLE}}}},
    responses={422: {"description": "Bad rows; nothing stored", "content": {"application/json": {
        "example": {"error": {"code": "invalid_csv",
                              "message": "2 problem(s) in 1000 row(s); nothing was stored.",
                              "details": [{"line": 7, "field": "email",
                                           "reason": "value is not a valid email address"},
                                          {"line": 12, "field": "birth_date",
                                           "reason": "under 16 without parental consent"}]}}}}},
               413: {"description": "File too large"}},
)
async def import_participants(
    tenant_id: uuid.UUID, request: Request, conn: DbConn, principal: CurrentPrincipal,
    settings: SettingsDep,
) -> ImportReport:
    check_registrar(principal, tenant_id, "imports people")
    text = await _read_body(request, settings.import_max_bytes)
    bsn_allowed = await special_data_allowed(conn=conn, tenant_id=tenant_id)
    try:
        good, errors = parse(text, bsn_allowed=bsn_allowed, max_rows=settings.import_max_rows)
    except csv.Error as exc:
        raise ApiError(422, "invalid_csv", f"The file is not valid CSV: {exc}.") from exc
    async with conn.transaction():
        # Lock out a concurrent import of the same tenant between the check and the insert.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"import:{tenant_id}")
        await tenants.ensure_contract_active(conn=conn, tenant_id=tenant_id)
        errors += await _existing_emails(conn, tenant_id, good)
        if errors:
            errors.sort(key=lambda e: e.line)
            raise ApiError(
                422, "invalid_csv",
                f"{len(errors)} problem(s) in the file; nothing was stored. Correct the listed "
                "lines and send the whole file again.",
                details=[e.model_dump() for e in errors[:MAX_REPORTED]])
        created = await _store(conn, tenant_id, good, principal.sub)
        await _record_findings_and_consents(conn, settings, tenant_id, good, created,
                                            principal.sub, special=bsn_allowed)
    return ImportReport(imported=len(created), participants=created)


async def _record_findings_and_consents(
    conn: asyncpg.Connection, settings: Settings, tenant_id: uuid.UUID,
    good: list[tuple[int, ParticipantCreate]], created: list[dict[str, Any]], actor: str, *,
    special: bool,
) -> None:
    """With the agreement, which field held what (O5); for each under-16, the parental
    consent recorded in consent and referenced here (O6)."""
    agreement = await agreement_in_force(conn=conn, tenant_id=tenant_id) if special else None
    for (_, body), entry in zip(good, created, strict=True):
        pid = uuid.UUID(entry["id"])
        if agreement is not None:
            findings = screen(body.model_dump(mode="json", exclude_none=True))
            await record_findings(conn, findings, record_kind="participant", record_id=pid,
                                  tenant_id=tenant_id, subject_id=pid, agreement_id=agreement)
        if body.parental_consent and is_under_16(body.birth_date):
            recorded = await parental.record(settings, subject_id=pid,
                                             consent=body.parental_consent, verified_by=actor)
            row = await service.get_row(conn=conn, tenant_id=tenant_id, participant_id=pid)
            await service.set_parental_consent(conn=conn, row=row, actor=actor,
                                               reference=parental.reference(recorded))
