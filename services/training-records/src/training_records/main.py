"""Training records: tenants, people, trainings, results and certificates, with privacy built in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from privacy_kit.app import create_app as kit_create_app
from training_records import (
    ended_accounts,
    i18n,  # noqa: F401  (its Dutch texts)
)
from training_records.certificates.views import router as certificates_router
from training_records.contacts import router as contacts_router
from training_records.experts.views import router as experts_router
from training_records.handlers import SUBSCRIPTIONS
from training_records.internal import router as internal_router
from training_records.learning.views import router as learning_router
from training_records.participants.imports import router as import_router
from training_records.participants.views import router as participants_router
from training_records.provider import TrainingRecordsProvider
from training_records.settings import Settings
from training_records.subject_lookup import router as subject_lookup_router
from training_records.tenants.views import router as tenants_router
from training_records.trainings.views import router as trainings_router

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """\
The store that holds most personal data of the suite: tenants (client organisations), their
Beheerders and participants, subject-matter experts, the training catalogue, assignments,
module progress, login times, results and certificates.

Every person's id is a random pseudonymous UUID (the `sub` of their token); names and e-mails
never leave this service in events. Every read of someone's data by someone else is written to
an access log that the person sees in their export as the list of recipients.
"""


async def _health(conn: asyncpg.Connection) -> dict[str, Any]:
    return {"tenants": int(await conn.fetchval("SELECT count(*) FROM tenant"))}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return kit_create_app(
        settings,
        title="Privacy Suite: training records",
        description=DESCRIPTION,
        routers=[tenants_router, import_router, participants_router, learning_router,
                 certificates_router, trainings_router, experts_router, contacts_router,
                 subject_lookup_router, internal_router],
        provider=TrainingRecordsProvider(settings),
        subscriptions=SUBSCRIPTIONS,
        migrations=MIGRATIONS,
        health=_health,
        on_start=[ended_accounts.start],
        on_stop=[ended_accounts.stop],
    )
