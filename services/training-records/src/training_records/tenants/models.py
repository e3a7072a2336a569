from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from privacy_kit.guards import strict_date_text, up_to_today

ContractState = Literal["active", "suspended", "terminated"]
# O2: what a Beheerder sees of the tenant's participants they did not register or assign.
BeheerderView = Literal["assigned", "shared"]
_VIEW = ("O2: `assigned` (default): a Beheerder sees the profile and results of the participants "
         "they or their team registered or assigned, of others only name and status; `shared`: "
         "every Beheerder of the organisation sees every participant.")


class TenantCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Acme Opleidingen B.V."}]
        },
    )

    name: str = Field(min_length=1, max_length=200, description="The client organisation's name.")
    contract_state: ContractState = "active"
    beheerder_view: BeheerderView = Field("assigned", description=_VIEW)


class TenantUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"contract_state": "terminated"}]}
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    contract_state: ContractState | None = None
    beheerder_view: BeheerderView | None = Field(None, description=_VIEW)


class TenantRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "id": "0b5c3d4e-6f70-4a8b-9c0d-1e2f3a4b5c6d", "name": "Acme Opleidingen B.V.",
                "contract_state": "active", "special_data_agreement": False,
                "created_at": "2026-11-21T10:00:00Z", "updated_at": "2026-11-21T10:00:00Z",
            }]
        }
    )

    id: uuid.UUID
    name: str
    contract_state: ContractState
    special_data_agreement: bool = Field(
        False, description="Whether a separate written agreement for special-category data and "
        "BSNs is in force (O5); recorded at `POST /v1/tenants/{id}/special-category-agreements`.")
    created_at: datetime
    updated_at: datetime
    beheerder_view: BeheerderView = "assigned"


AgreementAction = Literal["recorded", "ended"]


class AgreementCreate(BaseModel):
    """O5: the separate written agreement (or its end), entered by platform staff."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"effective_on": "2026-11-01", "document_reference": "DPA-annex-B 2026-114"},
        {"action": "ended", "effective_on": "2026-12-31",
         "document_reference": "termination letter 2026-131"}]})

    action: AgreementAction = Field("recorded", description="'recorded' puts an agreement in "
                                    "force, 'ended' ends the one in force.")
    effective_on: Annotated[
        date, BeforeValidator(strict_date_text),
        AfterValidator(up_to_today("an agreement is recorded once it is signed, not before")),
    ] = Field(description="The date of the signed agreement (or its end).")
    document_reference: str = Field(
        min_length=1, max_length=200,
        description="Where the signed document is kept (a contract or file number).")


class AgreementRead(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    action: AgreementAction
    effective_on: date
    document_reference: str
    recorded_by: str
    recorded_at: datetime


class AgreementState(BaseModel):
    """What other services ask (service token): is an agreement in force, and which."""

    tenant_id: uuid.UUID
    in_force: bool
    agreement_id: uuid.UUID | None
