"""The authority report as a PDF (fpdf2): the same sections as the JSON, for the DPO's file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fpdf import FPDF
from pydantic import BaseModel

from breach.authority.models import AuthorityReport
from breach.clock import local


def _latin1(text: str) -> str:
    # The core fonts speak Latin-1; anything beyond is replaced rather than refused.
    return text.encode("latin-1", "replace").decode("latin-1")


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        amsterdam = local(value)
        assert amsterdam is not None
        return f"{amsterdam:%Y-%m-%d %H:%M %Z} (Amsterdam) / {value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, list):
        return "; ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{_label(k)}: {_value(v)}" for k, v in value.items())
    return str(value)


def render(report: AuthorityReport) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Breach report {report.breach_id}"))
    pdf.set_creator("Privacy Suite breach register")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, "Melding datalek / Personal data breach notification",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, _latin1(f"Breach {report.breach_id}, generated {_value(report.generated_at)}. "
                                 "Sections follow the Autoriteit Persoonsgegevens' form."),
                   new_x="LMARGIN", new_y="NEXT")
    sections = {k: getattr(report, k) for k in type(report).model_fields
                if k not in ("breach_id", "generated_at")}
    for name, part in sections.items():
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 7, _latin1(_label(name)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        if isinstance(part, BaseModel):
            fields = {k: getattr(part, k) for k in type(part).model_fields}
        else:
            fields = {"": part}
        for key, value in fields.items():
            line = f"{_label(key)}: {_value(value)}" if key else _value(value)
            pdf.multi_cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
