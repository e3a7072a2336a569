from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal
from privacy_kit.i18n import RequestLanguage
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import SortOrder
from training_records.access import not_found
from training_records.certificates import pdf, service
from training_records.certificates.models import CertificateRead, CertificateVerification
from training_records.reading import read_person

router = APIRouter(tags=["certificates"])


@router.get(
    "/v1/tenants/{tenant_id}/participants/{participant_id}/certificates",
    response_model=Page[CertificateRead],
    summary="A participant's certificates (the person, their Beheerder, staff)",
)
async def list_certificates(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
) -> Page[CertificateRead]:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="certificates")
    rows = await service.list_of(conn=conn, participant_id=participant_id, page=page, sort=sort)
    return page_of(rows, page, sort.cursor_key)


@router.get(
    "/v1/tenants/{tenant_id}/participants/{participant_id}/certificates/{certificate_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}},
                     "description": "The certificate, with its verification code"}},
    summary="Download a certificate as PDF (the person, their Beheerder, staff)",
    description="In Dutch or English (`Accept-Language`). The PDF names the holder as written "
    "(any script DejaVu Sans covers), the training, the date, the verification code and the "
    "public address where anyone can check it.",
)
async def certificate_pdf(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, certificate_id: uuid.UUID, conn: DbConn,
    request: Request, principal: CurrentPrincipal, language: RequestLanguage,
) -> Response:
    person, _ = await read_person(conn, principal=principal, request=request,
                                  tenant_id=tenant_id, participant_id=participant_id,
                                  what="certificate")
    certificate = await service.get(conn=conn, participant_id=participant_id,
                                    certificate_id=certificate_id)
    if certificate is None:
        raise not_found("certificate")
    verify_url = f"{public_base_url(request)}/v1/certificates/{certificate.verification_code}"
    body = pdf.render(holder=person["name"], training=certificate.training,
                      issued_at=certificate.issued_at, code=certificate.verification_code,
                      verify_url=verify_url, language=language)
    filename = f"certificate-{certificate.verification_code}.pdf"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Content-Language": language, "Vary": "Accept-Language"})


def public_base_url(request: Request) -> str:
    """Where people reach the suite: PUBLIC_BASE_URL, else what the gateway forwarded."""
    configured: str = request.app.state.settings.public_base_url
    if configured:
        return configured.rstrip("/")
    host = request.headers.get("x-forwarded-host")
    if host:
        proto = request.headers.get("x-forwarded-proto", "https").split(",")[0].strip()
        return f"{proto}://{host.split(',')[0].strip()}"
    return str(request.base_url).rstrip("/")


@router.get(
    "/v1/certificates/{code}/verification", response_model=CertificateVerification,
    summary="Verify a certificate by its code (alias of /v1/certificates/{code})",
    include_in_schema=False,
)
@router.get(
    "/v1/certificates/{code}", response_model=CertificateVerification,
    summary="Verify a certificate by its code (public: no token needed)",
    description="Answers whether the code belongs to a genuine certificate, for which training "
    "and when it was issued. It never returns who holds it. A certificate whose holder's data "
    "has since been erased is still genuine: `valid: true`, `status: holder_erased`.",
)
async def verify_certificate(
    conn: DbConn, code: str = Path(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$"),
) -> CertificateVerification:
    return await service.verify(conn=conn, code=code)
