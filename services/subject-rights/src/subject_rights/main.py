"""Subject rights: data subject requests as cases with deadlines."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from privacy_kit.app import create_app as create_service
from subject_rights.provider import SubjectRightsProvider
from subject_rights.requests.views import router
from subject_rights.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service(
        settings,
        title="Privacy Suite: subject rights",
        description="Data subject requests (O19-O23): intake, deadlines, outcome.",
        routers=[router],
        provider=SubjectRightsProvider(),
        migrations=MIGRATIONS,
    )
