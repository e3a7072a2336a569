"""Multi-step work on a case with side effects in other services: filing with routing and the
identity code, and carrying out what the controller decided. Calls over HTTP happen outside
database transactions; each state change is one transaction with its events."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from privacy_kit import guards
from privacy_kit.auth import Principal, forbidden
from privacy_kit.calls import service_client
from privacy_kit.errors import ApiError
from privacy_kit.holds import refuse_if_held
from privacy_kit.i18n import Joined
from privacy_kit.messages import queue_message
from privacy_kit.outbox import emit
from privacy_kit.protocol import SubjectObjected, SubjectRestricted, SubjectRestrictionLifted
from subject_rights import bundles, clients, deadlines
from subject_rights.cases import service
from subject_rights.cases.access import check_controller, is_subject
from subject_rights.cases.models import (
    COMPLAINT_NOTICE,
    ERASURE_EXCEPTIONS,
    NOT_ACCEPTED,
    OPEN,
    REFUSAL_GROUNDS,
    Approval,
    ExtensionCreate,
    RefusalCreate,
    SubjectRequestCreate,
)
from subject_rights.i18n import tr
from subject_rights.settings import Settings

SYSTEM = "subject-rights"


def _conflict(code: str, message: str) -> ApiError:
    return ApiError(409, code, message)


def _role_of(principal: Principal) -> str:
    return next((r for r in ("dpo", "operator", "beheerder", "participant")
                 if principal.has(r)), "subject")


async def _email(client: httpx.AsyncClient, settings: Settings, subject_id: str | None) -> str | None:
    """The e-mail address on file, or None (unknown person, or training-records unreachable:
    the case itself still tells the person)."""
    if subject_id is None:
        return None
    try:
        person = await clients.person(client, settings, subject_id, with_email=True)
    except clients.Unavailable:
        return None
    return person.email if person else None


async def _tell(
    conn: asyncpg.Connection, row: asyncpg.Record, email: str | None, title: str, body: str
) -> bool:
    if not email:
        return False
    await queue_message(conn, kind="subject_request", recipient=email, title=title,
                        body=f"{body}\n\nYour request: {row['id']}", subject_id=row["subject_id"],
                        tenant_id=row["tenant_id"])
    return True


# --- filing (O19, O20, O21, O23) ---------------------------------------------------------------


def _received_at(body: SubjectRequestCreate, on_behalf: bool, settings: Settings) -> datetime:
    now = datetime.now(UTC)
    if not on_behalf:
        if body.received_on is not None or body.channel not in (None, "online"):
            raise ApiError(422, "invalid_request", tr("channel and received_on are for "
                                                      "requests entered on someone's behalf; "
                                                      "yours is received now."))
        return now
    if body.channel not in ("email", "letter") or body.received_on is None:
        raise ApiError(422, "invalid_request", tr("A request entered on the person's behalf "
                                                  "names how it came in ('channel': 'email' or "
                                                  "'letter') and the day it was received "
                                                  "('received_on'); the term runs from that "
                                                  "day."))
    today = deadlines.local_date(now)
    if body.received_on > today:
        raise ApiError(422, "invalid_received_on", tr("received_on lies in the future."))
    if body.received_on < today - timedelta(days=settings.answer_within_days):
        raise ApiError(422, "invalid_received_on",
                       tr("received_on lies more than four weeks back; enter requests when "
                          "they arrive (the term runs from receipt)."))
    # The term depends on the day of receipt only; its start stands for it.
    return deadlines.start_of_day(body.received_on)


async def _route(
    client: httpx.AsyncClient, settings: Settings, principal: Principal, subject_id: str,
) -> str | None:
    """The tenant that controls the subject's data (O23), None for the platform's own users.
    A Beheerder reaches only participants of their own tenant."""
    self_filed = subject_id == principal.sub
    if self_filed and principal.tenant and not principal.is_staff:
        return principal.tenant
    try:
        person = await clients.person(client, settings, subject_id)
    except clients.Unavailable as exc:
        raise exc.api_error() from exc
    tenant = person.tenant_id if person else None
    if principal.has("beheerder") and not principal.is_staff and not self_filed:
        if tenant is None or tenant != principal.tenant or (person and person.kind != "participant"):
            raise forbidden(tr("You can file requests only for participants of your own "
                               "organisation."))
    return tenant


async def file_request(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, principal: Principal,
    body: SubjectRequestCreate,
) -> asyncpg.Record:
    subject_id = body.subject_id or principal.sub
    on_behalf = subject_id != principal.sub
    if on_behalf and not (principal.is_staff or principal.has("beheerder")):
        raise forbidden(tr("You can only file a request about yourself."))
    if body.rectification is not None and body.kind != "rectification":
        raise ApiError(422, "invalid_request", tr("'rectification' belongs to rectification requests."))
    received_at = _received_at(body, on_behalf, settings)
    tenant_id = await _route(client, settings, principal, subject_id)
    # O5: no BSN or special-category data in the free text without the tenant's agreement.
    screened = await guards.check_for_tenant(
        settings, {"details": body.details, "rectification": body.rectification},
        tenant_id=tenant_id)
    email = None if not on_behalf else await _email(client, settings, subject_id)
    async with conn.transaction():
        row = await service.create(
            conn, settings=settings, kind=body.kind, details=body.details, subject_id=subject_id,
            tenant_id=tenant_id, submitted_by=principal.sub, actor_role=_role_of(principal),
            channel=body.channel or "online", on_behalf=on_behalf, received_at=received_at,
            rectification=body.rectification, verified_by_sign_in=not on_behalf,
        )
        await guards.record_findings(
            conn, screened.findings, record_kind="subject_request", record_id=row["id"],
            tenant_id=tenant_id, subject_id=subject_id, agreement_id=screened.agreement_id)
        if on_behalf:
            await _send_code(conn, settings, row, email, actor=principal.sub,
                             actor_role=_role_of(principal))
    return await after_verification(conn, client, settings, row)


async def _send_code(
    conn: asyncpg.Connection, settings: Settings, row: asyncpg.Record, email: str | None, *,
    actor: str, actor_role: str,
) -> bool:
    if not email:
        await service.transition(
            conn, row, action="code_not_sent", to_status=row["status"], actor=actor,
            actor_role=actor_role, note="no e-mail address on file: the controller verifies "
            "the person another way (never with a copy of an identity document)")
        return False
    code, expires = await service.issue_code(conn, settings=settings, case_id=row["id"])
    hours = max(1, settings.identity_code_ttl_s // 3600)
    await _tell(conn, row, email, "Your code to confirm your privacy request",
                f"Someone entered a privacy request ({row['kind']}) in your name. If it was you, "
                f"confirm it with this code: {code}\nThe code is valid for {hours} hour(s) and "
                f"{settings.identity_code_max_tries} tries. We never ask for a copy of your "
                "identity document. If it was not you, ignore this message.")
    await service.transition(conn, row, action="code_sent", to_status=row["status"],
                             actor=actor, actor_role=actor_role,
                             note=f"one-time code sent to the address on file, valid until "
                                  f"{expires.isoformat()}")
    return True


async def resend_code(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, principal: Principal,
    row: asyncpg.Record,
) -> bool:
    if row["status"] != "awaiting_verification":
        raise _conflict("not_awaiting_verification", tr("This request needs no identity code."))
    email = await _email(client, settings, row["subject_id"])
    async with conn.transaction():
        row = await service.get_row(conn, row["id"], for_update=True)
        return await _send_code(conn, settings, row, email, actor=principal.sub,
                                actor_role=_role_of(principal))


async def verify(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings,
    principal: Principal | None, case_id: uuid.UUID, *, code: str | None,
    method: str | None = None, note: str = "",
) -> asyncpg.Record:
    """O20: by the one-time code (no sign-in needed: the code is the proof), by signing in as
    the person, or recorded by the controller."""
    error: ApiError | None = None
    async with conn.transaction():
        row = await service.get_row(conn, case_id, for_update=True)
        if row["status"] != "awaiting_verification":
            raise _conflict("not_awaiting_verification",
                            tr("This request is not waiting for verification."))
        if code is not None:
            error = await service.check_code(conn, settings=settings, case_id=case_id, code=code)
            how, actor, role = "one-time code", "the person", "subject"
        elif principal is not None and method is None and is_subject(principal, row, settings):
            how, actor, role = "signed in as the person", principal.sub, "subject"
        elif principal is not None and method is not None:
            role = check_controller(principal, row, "recorded by the controller")
            how, actor = f"{method} (recorded by the controller)", principal.sub
        else:
            raise ApiError(422, "code_required", tr("Send the one-time code from the e-mail."))
        if error is None:
            row = await service.transition(
                conn, row, action="verified", to_status="verified", actor=actor, actor_role=role,
                note=(f"identity checked: {how}" + (f"; {note}" if note else "")),
                verified_at=datetime.now(UTC), verification_method=method or (
                    "code" if code is not None else "signed_in"))
    if error is not None:  # committed first: the wrong try counts
        raise error
    return await after_verification(conn, client, settings, row)


async def after_verification(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, row: asyncpg.Record,
) -> asyncpg.Record:
    """A withdrawal of consent needs no decision (O11: as easy as giving): carried out once the
    person is identified."""
    if row["kind"] == "consent-withdrawal" and row["status"] == "verified":
        try:
            return await _withdraw_consent(conn, client, settings, row, actor=SYSTEM,
                                           actor_role="system", decided=False)
        except ApiError:  # consent unreachable: the request stays verified; approving retries
            return row
    return row


# --- deciding --------------------------------------------------------------------------------


def _ensure_open(row: asyncpg.Record) -> None:
    if row["status"] not in OPEN:
        raise _conflict("case_closed", tr("This request is already {status}.",
                                                  status=row["status"]))


async def approve(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, principal: Principal,
    case_id: uuid.UUID, body: Approval, authorization: str,
) -> asyncpg.Record:
    row = await service.get_row(conn, case_id)
    role = check_controller(principal, row, body.instruction_reference)
    _ensure_open(row)
    if row["status"] == "awaiting_verification":
        raise _conflict("not_verified", tr("The person has not been identified yet (O20): a "
                                           "request is carried out only after the one-time code "
                                           "or another check."))
    if row["status"] == "in_progress":
        raise _conflict("in_progress", tr("This request is already being carried out."))
    if row["subject_id"] is None:
        raise _conflict("subject_erased", tr("The person has been erased; nothing is left to do."))
    decided = {"decided_at": datetime.now(UTC), "decided_by": principal.sub,
               "instruction_reference": body.instruction_reference}
    note = body.note or None
    kind = row["kind"]
    if kind in ("access", "portability"):
        async with conn.transaction():
            row = await service.transition(conn, row, action="approved", to_status="in_progress",
                                           actor=principal.sub, actor_role=role, note=note,
                                           **decided)
        return await build_bundle(conn, client, settings, row)
    if kind == "erasure":
        return await _erase(conn, client, settings, row, principal, role, note, decided)
    if kind == "rectification":
        return await _rectify(conn, client, settings, row, principal, role, body, decided,
                              authorization)
    if kind in ("restriction", "objection"):
        async with conn.transaction():
            row = await service.transition(conn, row, action="approved", to_status="in_progress",
                                           actor=principal.sub, actor_role=role, note=note,
                                           **decided)
            event = SubjectRestricted() if kind == "restriction" else SubjectObjected()
            await emit(conn, event, source=SYSTEM, subject_id=row["subject_id"],
                       tenant_id=row["tenant_id"], correlation_id=str(row["id"]))
            await service.merge_outcome(conn, row["id"], {
                "restriction": {"cause": "restricted" if kind == "restriction" else "objected",
                                "requested_at": datetime.now(UTC).isoformat(),
                                "expected_stores": sorted(settings.store_urls)}})
            return await service.get_row(conn, row["id"])
    if kind == "consent-withdrawal":
        async with conn.transaction():
            row = await service.get_row(conn, row["id"], for_update=True)
        return await _withdraw_consent(conn, client, settings, row, actor=principal.sub,
                                       actor_role=role, decided=True, **decided)
    # automated-decision-review: a person has reviewed the decision; the note says the outcome.
    if not body.note:
        raise ApiError(422, "note_required", tr("Say what the human review of the automated "
                                                "decision found, in 'note'; the person is "
                                                "told."))
    email = await _email(client, settings, row["subject_id"])
    async with conn.transaction():
        row = await service.transition(conn, row, action="completed", to_status="completed",
                                       actor=principal.sub, actor_role=role, note=note,
                                       outcome={"review": body.note}, **decided)
        await _tell(conn, row, email, "The review of an automated decision",
                    f"A person has reviewed the decision, as you asked: {body.note}")
    return row


async def build_bundle(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, row: asyncpg.Record,
) -> asyncpg.Record:
    """Assemble the bundle; complete when every store answered, otherwise stay in progress and
    say which store is missing (the controller asks again)."""
    if row["subject_id"] is None:
        raise _conflict("subject_erased", tr("The person has been erased; there is nothing to send."))
    bundle, email = await asyncio.gather(
        bundles.assemble(client, settings, case_id=row["id"], subject_id=row["subject_id"],
                         kind=row["kind"]),
        _email(client, settings, row["subject_id"]))
    missing = sorted(k for k, v in bundle.stores.items() if v != "included")
    async with conn.transaction():
        row = await service.get_row(conn, row["id"], for_update=True)
        bundle_id = await bundles.store(conn, settings, row["id"], bundle)
        outcome = {"bundle": {"id": str(bundle_id), "complete": bundle.complete,
                              "stores": bundle.stores, "created_at": bundle.created_at.isoformat()}}
        if bundle.complete:
            row = await service.transition(
                conn, row, action="completed", to_status="completed", actor=SYSTEM,
                actor_role="system", note="bundle assembled from every store",
                outcome={**json.loads(row["outcome"] or "{}"), **outcome})
            await _tell(conn, row, email, "Your data is ready",
                        "The copy of your data you asked for is ready. Download it while signed "
                        f"in: /v1/subject-requests/{row['id']}/bundle. It is deleted after "
                        f"{max(1, settings.bundle_ttl_s // 86400)} day(s).")
        else:
            row = await service.transition(
                conn, row, action="bundle_incomplete", to_status="in_progress", actor=SYSTEM,
                actor_role="system", note="not answered: " + ", ".join(missing),
                outcome={**json.loads(row["outcome"] or "{}"), **outcome})
    return row


async def _erase(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, row: asyncpg.Record,
    principal: Principal, role: str, note: str | None, decided: dict[str, Any],
) -> asyncpg.Record:
    """O25: an erasure job at retention; the case completes when the job does."""
    subject_id = row["subject_id"]
    try:
        answer = await clients.start_erasure_job(client, settings, subject_id, row["id"])
    except clients.Unavailable as exc:
        raise exc.api_error() from exc
    if answer.legal_hold:
        holds = await clients.active_legal_holds(client, settings, subject_id)
        email = await _email(client, settings, subject_id)
        explanation = ("The data is kept under a legal hold until it is released: "
                       + ("; ".join(h["reason"] for h in holds) or "a legal claim or investigation"))
        grounds = [HOLD_REFUSAL_GROUNDS.get(h.get("ground") or "", "legal_claims") for h in holds]
        async with conn.transaction():
            row = await service.transition(
                conn, row, action="refused", to_status="refused", actor=principal.sub,
                actor_role=role, note=explanation,
                refusal_ground=grounds[0] if grounds else "legal_claims",
                refusal_explanation=explanation,
                outcome={"kept": [{"what": "all data of the person", "ground": h["reason"],
                                   "legal_basis": REFUSAL_GROUNDS[g],
                                   "reference": h.get("reference")}
                                  for h, g in zip(holds, grounds, strict=True)]}, **decided)
            await _tell(conn, row, email, "Your erasure request",
                        f"We cannot erase your data now. {explanation}\n{COMPLAINT_NOTICE}")
        return row
    assert answer.job_id is not None
    email = await _email(client, settings, subject_id)
    async with conn.transaction():
        await _lock_job(conn, answer.job_id)
        # Locked: our own store's erasure (which de-identifies this row) waits for us, or has
        # already run, and then no message naming the person may be written any more.
        row = await service.get_row(conn, row["id"], for_update=True)
        erased_already = row["subject_id"] is None
        row = await service.transition(
            conn, row, action="approved", to_status="in_progress", actor=principal.sub,
            actor_role=role, note=f"erasure job {answer.job_id} started at retention",
            erasure_job_id=answer.job_id, **decided)
        if not erased_already:
            await _tell(conn, row, email, "Your erasure request is being carried out",
                        "Your data is being erased from every part of the platform. Nothing is "
                        "kept under a legal hold. The proof of erasure stays with your request.")
        done = await conn.fetchval("SELECT true FROM erasure_job_outcome WHERE job_id = $1",
                                   answer.job_id)
    if done:  # the job finished before we recorded its id
        return await complete_erasure(conn, client, settings, answer.job_id) or row
    return row


async def _lock_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 25))", str(job_id))


async def complete_erasure(
    conn: asyncpg.Connection, client: httpx.AsyncClient | None, settings: Settings,
    job_id: uuid.UUID,
) -> asyncpg.Record | None:
    """The job is complete: the case carries its certificate and what was kept (O25)."""
    job = await clients.erasure_job(client or service_client(), settings, job_id)
    async with conn.transaction():
        await _lock_job(conn, job_id)
        return await finish_erasure_case(conn, job_id, job)


async def finish_erasure_case(
    conn: asyncpg.Connection, job_id: uuid.UUID, job: dict[str, Any]
) -> asyncpg.Record | None:
    row = await conn.fetchrow(
        "SELECT * FROM subject_request WHERE erasure_job_id = $1 FOR UPDATE", job_id)
    if row is None or row["status"] != "in_progress":
        return row
    certificate = job.get("certificate")
    kept = kept_under_holds(certificate or {})
    outcome = {**json.loads(row["outcome"] or "{}"), "certificate": certificate,
               "kept": kept, "stores": sorted(job.get("stores", {}))}
    note = f"erasure job {job_id} completed in every store"
    if kept:
        note += "; part of the data is kept under a legal hold"
    return await service.transition(
        conn, row, action="completed", to_status="completed", actor="retention",
        actor_role="system", note=note, outcome=outcome)


# A hold's lawful ground at retention, as the refusal ground of an erasure request (O22).
HOLD_REFUSAL_GROUNDS = {"legal_claims": "legal_claims", "legal_obligation": "legal_obligation",
                        "authority_request": "legal_obligation",
                        "investigation": "legal_obligation"}


def kept_under_holds(certificate: dict[str, Any]) -> list[dict[str, Any]]:
    """What the certificate says a legal hold kept (O17, O25): per store and category how many
    records, and the lawful ground and reference of the holds on it (never a hold's free text)."""
    holds = [h for h in certificate.get("holds") or [] if isinstance(h, dict)]
    kept = []
    for store, counts in sorted((certificate.get("held") or {}).items()):
        for category, n in sorted((counts or {}).items()):
            if not n:
                continue
            # A hold on this very category kept it; else a hold on all of someone's data.
            on_it = ([h for h in holds if h.get("category") == category]
                     or [h for h in holds if h.get("category") is None] or holds)
            kept.append({
                "what": f"{n} record(s) of '{category}' in {store}",
                "store": store, "category": category, "records": n,
                "ground": _joined(h.get("ground") for h in on_it),
                "legal_basis": _joined(h.get("lawful_ground") for h in on_it),
                "reference": _joined(h.get("reference") for h in on_it),
            })
    return kept


def _joined(values: Any) -> str | None:
    return "; ".join(sorted({v for v in values if v})) or None


async def _rectify(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, row: asyncpg.Record,
    principal: Principal, role: str, body: Approval, decided: dict[str, Any], authorization: str,
) -> asyncpg.Record:
    """O24: applied by the store that owns the data, with the decider's own authority; every
    recipient is told and the case lists who, and when."""
    changes = body.rectification or (json.loads(row["rectification"])
                                     if row["rectification"] else None)
    if not changes:
        raise ApiError(422, "rectification_required",
                       tr("Name the corrections to apply in 'rectification' (field: new "
                          "value)."))
    # O17: held data is frozen; refused here too, before training-records is asked.
    await refuse_if_held(conn, subject_id=row["subject_id"], tenant_id=row["tenant_id"],
                         categories=("participant_profile", "career"))
    if row["tenant_id"] is None:
        raise _conflict("not_held_in_training_records",
                        tr("This person is not a participant of an organisation; correct the "
                           "data where it is held and close the request with a note."))
    try:
        answer = await clients.rectify_participant(
            client, settings, tenant_id=row["tenant_id"], subject_id=row["subject_id"],
            changes=changes, authorization=authorization)
    except clients.Unavailable as exc:
        raise exc.api_error() from exc
    if answer.status_code != 200:
        error = answer.json().get("error", {}) if answer.headers.get(
            "content-type", "").startswith("application/json") else {}
        raise ApiError(answer.status_code if 400 <= answer.status_code < 500 else 502,
                       error.get("code", "rectification_failed"),
                       tr("training-records refused the correction: {reason}",
                          reason=error.get("message", f"HTTP {answer.status_code}")))
    changed: list[str] = answer.json().get("changed_fields", [])
    told_at = datetime.now(UTC).isoformat()
    register, register_error = await clients.processing_register(client, settings)
    recipients = _recipients(register, changed, told_at) if changed else []
    email = await _email(client, settings, row["subject_id"])
    async with conn.transaction():
        row = await service.transition(
            conn, row, action="completed", to_status="completed", actor=principal.sub,
            actor_role=role, note=body.note or None,
            rectification=changes,
            outcome={"changed_fields": changed, "recipients_told": recipients,
                     **({"register": f"unavailable: {register_error}"} if register_error else {})},
            **decided)
        if changed:
            await _tell(conn, row, email, "Your data has been corrected",
                        "We corrected: " + ", ".join(changed) + ". We told: "
                        + ", ".join(sorted({r["recipient"] for r in recipients})) + ".")
    return row


def _recipients(
    register: dict[str, Any] | None, changed: list[str], told_at: str
) -> list[dict[str, Any]]:
    """Who received the corrected data: the recipients the register names for the categories
    holding those fields, and every other store (which may hold a copy). All are told by the
    `subject.rectified` event the owning store emitted with the correction (field names only)."""
    via = "subject.rectified event on privacy.subject (field names only)"
    told: list[dict[str, Any]] = []
    stores = []
    for store in (register or {}).get("stores", []):
        if store["store"] != "training-records" and store.get("personal", True):
            stores.append(store["store"])
        if store["store"] != "training-records":
            continue
        for category in store.get("categories", []):
            if set(category.get("fields", [])) & set(changed):
                told.extend({"recipient": r, "category": category["name"], "via": via,
                             "told_at": told_at} for r in category.get("recipients", []))
    told.extend({"recipient": f"store {s}", "category": None, "via": via, "told_at": told_at}
                for s in sorted(stores))
    return told


async def _withdraw_consent(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, row: asyncpg.Record,
    *, actor: str, actor_role: str, decided: bool, **columns: Any,
) -> asyncpg.Record:
    try:
        result = await clients.withdraw_all_consent(client, settings, row["subject_id"])
    except clients.Unavailable as exc:
        raise exc.api_error() from exc
    email = await _email(client, settings, row["subject_id"])
    async with conn.transaction():
        row = await service.get_row(conn, row["id"], for_update=True)
        if row["status"] != "verified":
            return row
        row = await service.transition(
            conn, row, action="completed", to_status="completed", actor=actor,
            actor_role=actor_role,
            note=None if decided else "a withdrawal of consent needs no decision (O11)",
            outcome={"withdrawn_purposes": result.get("withdrawn", []),
                     "recorded_at": result.get("recorded_at")}, **columns)
        await _tell(conn, row, email, "Your consents are withdrawn",
                    "We recorded a withdrawal for every purpose: "
                    + ", ".join(result.get("withdrawn", [])) + ".")
    return row


def check_ground(kind: str, ground: str) -> None:
    """O22: only a ground the law accepts; the message names them."""
    accepted = [g for g in REFUSAL_GROUNDS if kind == "erasure" or g not in ERASURE_EXCEPTIONS]
    if ground in accepted:
        return
    raise ApiError(
        422, "ground_not_accepted",
        tr("'{ground}' is not a ground on which this request can be refused. Accepted: "
           "{accepted}. Not accepted: '{effort}' and '{backup}': the controller must find the "
           "data, also in backups (erased data restored from a backup is erased again).",
           ground=ground, effort=NOT_ACCEPTED[0], backup=NOT_ACCEPTED[1],
           accepted=Joined([Joined([f"{g} (", REFUSAL_GROUNDS[g], ")"], "") for g in accepted],
                           "; ")),
        details=[{"field": "ground", "message": tr("not an accepted ground")}])


async def refuse(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, principal: Principal,
    case_id: uuid.UUID, body: RefusalCreate,
) -> asyncpg.Record:
    row = await service.get_row(conn, case_id)
    role = check_controller(principal, row, body.instruction_reference)
    _ensure_open(row)
    if row["status"] == "in_progress":
        raise _conflict("in_progress", tr("This request is already being carried out."))
    check_ground(row["kind"], body.ground)
    email = await _email(client, settings, row["subject_id"])
    async with conn.transaction():
        row = await service.transition(
            conn, row, action="refused", to_status="refused", actor=principal.sub,
            actor_role=role, note=f"ground: {body.ground}", refusal_ground=body.ground,
            refusal_explanation=body.explanation, decided_at=datetime.now(UTC),
            decided_by=principal.sub, instruction_reference=body.instruction_reference)
        await _tell(conn, row, email, "Your privacy request is refused",
                    f"We refuse your request ({row['kind']}) because "
                    f"{REFUSAL_GROUNDS[body.ground]}.\n{body.explanation}\n{COMPLAINT_NOTICE}")
    return row


async def extend(
    conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings, principal: Principal,
    case_id: uuid.UUID, body: ExtensionCreate,
) -> asyncpg.Record:
    """O21: once, by up to two months, only before the first term ends, with a reason the
    person is told."""
    row = await service.get_row(conn, case_id)
    role = check_controller(principal, row, body.instruction_reference)
    _ensure_open(row)
    if row["extended_at"] is not None:
        raise _conflict("already_extended", tr("The term of a request can be extended only once."))
    if datetime.now(UTC) >= row["first_due_at"]:
        raise _conflict("first_term_ended", tr("The first term has ended; an extension must "
                                               "be decided and explained to the person within "
                                               "it (GDPR art. 12(3))."))
    email = await _email(client, settings, row["subject_id"])
    new_due = deadlines.extended_due_at(row["first_due_at"], body.months)
    async with conn.transaction():
        row = await service.get_row(conn, case_id, for_update=True)
        row = await service.transition(
            conn, row, action="extended", to_status=row["status"], actor=principal.sub,
            actor_role=role, note=f"term extended by {body.months} month(s) to "
            f"{deadlines.last_day(new_due).isoformat()}: {body.reason}",
            due_at=new_due, extended_at=datetime.now(UTC), extension_months=body.months,
            extension_reason=body.reason, due_soon_raised_at=None, overdue_raised_at=None)
        told = await _tell(conn, row, email, "We need more time for your privacy request",
                           f"We will answer by {deadlines.last_day(new_due).isoformat()}. "
                           f"Why: {body.reason}")
        await service.merge_outcome(conn, row["id"], {"extension_told": told})
    return row


async def withdraw(
    conn: asyncpg.Connection, settings: Settings, principal: Principal, case_id: uuid.UUID,
) -> asyncpg.Record:
    async with conn.transaction():
        row = await service.get_row(conn, case_id, for_update=True)
        if not is_subject(principal, row, settings):
            raise forbidden(tr("Only the person who asked can withdraw a request."))
        if row["status"] not in ("awaiting_verification", "verified"):
            raise _conflict("cannot_withdraw", tr("A request that is {status} cannot be "
                                                  "withdrawn.", status=row["status"]))
        return await service.transition(conn, row, action="withdrawn", to_status="withdrawn",
                                        actor=principal.sub, actor_role="subject")


async def lift_restriction(
    conn: asyncpg.Connection, settings: Settings, principal: Principal, case_id: uuid.UUID,
    instruction_reference: str | None, note: str,
) -> asyncpg.Record:
    """Ends a restriction (or the restriction of an objection) in every store."""
    async with conn.transaction():
        row = await service.get_row(conn, case_id, for_update=True)
        role = check_controller(principal, row, instruction_reference)
        outcome = json.loads(row["outcome"] or "{}")
        restriction = outcome.get("restriction")
        if row["kind"] not in ("restriction", "objection") or not restriction:
            raise _conflict("not_restricted", tr("This request has put no restriction in place."))
        if restriction.get("lift_requested_at"):
            raise _conflict("already_lifted", tr("The restriction has been lifted already."))
        if row["subject_id"] is None:
            raise _conflict("subject_erased", tr("The person has been erased."))
        await emit(conn, SubjectRestrictionLifted(), source=SYSTEM, subject_id=row["subject_id"],
                   tenant_id=row["tenant_id"], correlation_id=str(row["id"]))
        restriction["lift_requested_at"] = datetime.now(UTC).isoformat()
        return await service.transition(conn, row, action="restriction_lift_requested",
                                        to_status=row["status"], actor=principal.sub,
                                        actor_role=role, note=note or None,
                                        outcome={**outcome, "restriction": restriction})
