from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
            "examples": [{"name": "Acme Opleidingen B.V.", "special_data_agreement": False}]
        },
    )

    name: str = Field(min_length=1, max_length=200, description="The client organisation's name.")
    contract_state: ContractState = "active"
    special_data_agreement: bool = Field(
        False,
        description="A separate written agreement allows special-category data and BSNs (O5).",
    )
    beheerder_view: BeheerderView = Field("assigned", description=_VIEW)


class TenantUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"contract_state": "terminated"}]}
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    contract_state: ContractState | None = None
    special_data_agreement: bool | None = None
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
    special_data_agreement: bool
    created_at: datetime
    updated_at: datetime
    beheerder_view: BeheerderView = "assigned"
