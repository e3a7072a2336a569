"""The consent service: purposes, policy versions, the ledger, cookie choices, objections."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from consent import i18n  # noqa: F401  (its Dutch texts)
from consent.catalogue.views import router as catalogue_router
from consent.cookies.views import router as cookie_router
from consent.ledger.views import router as ledger_router
from consent.provider import ConsentProvider
from consent.settings import Settings
from privacy_kit.app import create_app as create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service(
        settings,
        title="Privacy Suite: consent",
        description="Purposes, policy versions, the append-only consent ledger with hash chain, "
                    "cookie choices with Google Consent Mode v2, marketing objections.",
        routers=[catalogue_router, ledger_router, cookie_router],
        provider=ConsentProvider(settings),
        migrations=MIGRATIONS,
    )
