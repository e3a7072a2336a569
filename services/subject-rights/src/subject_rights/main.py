"""Subject rights: data subject requests as cases, from receipt to answer (O19-O25)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from privacy_kit.app import create_app as create_service
from subject_rights import clients, handlers, sweeps
from subject_rights.cases.views import router, subjects_router
from subject_rights.provider import SubjectRightsProvider
from subject_rights.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """\
Data subject requests (GDPR art. 15-22) as cases: intake by the person or on their behalf,
routing to the controller (a client organisation's Beheerders for its participants, the
platform's DPO for its own users), identity by a one-time code to the address on file, the
four-week term with one extension, refusal only on grounds the law accepts, and carrying out:
the access bundle from every store, erasure through retention with its certificate,
rectification with the recipients told, restriction and objection confirmed by every store,
withdrawal of all consent. Every transition is kept with actor and time.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service(
        settings,
        title="Privacy Suite: subject rights",
        description=DESCRIPTION,
        routers=[router, subjects_router],
        provider=SubjectRightsProvider(),
        subscriptions=handlers.subscriptions(settings),
        migrations=MIGRATIONS,
        on_start=[clients.open_client, sweeps.start],
        on_stop=[sweeps.stop, clients.close_client],
    )
