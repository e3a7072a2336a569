"""The breach service's own Dutch and English texts (see privacy_kit.i18n)."""

from __future__ import annotations

from pathlib import Path

from privacy_kit.i18n import Translator

tr = Translator(Path(__file__).parent / "locale")
