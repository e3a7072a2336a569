"""The certificate as a PDF (fpdf2), in Dutch or English, with DejaVu Sans embedded so that
every name prints as written (see fonts/README.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from babel.dates import format_date
from fpdf import FPDF

from privacy_kit.i18n import Language
from training_records.i18n import tr

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVuSans"


def render(*, holder: str, training: str, issued_at: datetime, code: str, verify_url: str,
           language: Language = "en") -> bytes:
    def say(msgid: str, **params: str) -> str:
        return tr(msgid, **params).in_language(language)

    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(say("Certificate: {training}", training=training))
    pdf.set_lang(language)
    pdf.set_creator("Privacy Suite training records")
    pdf.add_page()
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 277, 190)
    pdf.set_font(FAMILY, "B", 30)
    pdf.ln(25)
    pdf.cell(0, 16, say("Certificate of completion"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 16)
    pdf.ln(8)
    pdf.cell(0, 10, say("This certifies that"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "B", 24)
    pdf.cell(0, 14, holder, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 16)
    pdf.cell(0, 10, say("has completed the training"), align="C", new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font(FAMILY, "B", 20)
    pdf.multi_cell(0, 12, training, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 14)
    issued_on = format_date(issued_at.date(), format="long", locale=language)
    pdf.cell(0, 10, say("on {date}", date=issued_on), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)
    pdf.set_font(FAMILY, "", 11)
    pdf.cell(0, 8, say("Verification code: {code}", code=code), align="C", new_x="LMARGIN",
             new_y="NEXT")
    pdf.cell(0, 8, say("Check that this certificate is genuine at {url}", url=verify_url),
             align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
