"""The certificate as a PDF (fpdf2)."""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF


def _latin1(text: str) -> str:
    # The core fonts speak Latin-1; anything beyond is replaced rather than refused.
    return text.encode("latin-1", "replace").decode("latin-1")


def render(*, holder: str, training: str, issued_at: datetime, code: str, verify_url: str) -> bytes:
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(_latin1(f"Certificate: {training}"))
    pdf.set_creator("Privacy Suite training records")
    pdf.add_page()
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 277, 190)
    pdf.set_font("Helvetica", "B", 32)
    pdf.ln(25)
    pdf.cell(0, 16, "Certificate of completion", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 16)
    pdf.ln(8)
    pdf.cell(0, 10, "This certifies that", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(0, 14, _latin1(holder), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 16)
    pdf.cell(0, 10, "has completed the training", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 12, _latin1(training), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 14)
    pdf.cell(0, 10, f"on {issued_at:%d %B %Y}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 8, f"Verification code: {code}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, _latin1(f"Verify at {verify_url}"), align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
