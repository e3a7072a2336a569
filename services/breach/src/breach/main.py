"""Breach: the register, per-tenant 24 h notifications and the 72 h authority deadline."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from breach.provider import BreachProvider
from breach.register.views import router
from breach.settings import Settings
from privacy_kit.app import create_app as create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service(
        settings,
        title="Privacy Suite: breach",
        description="Breach register (O26), client notifications (O27), authority deadlines (O28).",
        routers=[router],
        provider=BreachProvider(),
        migrations=MIGRATIONS,
    )
