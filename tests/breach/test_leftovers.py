"""O25: free text in the breach register about a person who is erased is redacted with them;
the register's record of the breach (the rest of its facts, counts, timeline) stays."""

from __future__ import annotations

import json
import uuid

from privacy_kit.protocol import ErasureScope

NAME, EMAIL, PHONE = "Joris Bakker", "Joris.Bakker@example.org", "0612345678"


async def test_o25_erasure_redacts_free_text_naming_the_person_in_the_breach_register(bs) -> None:
    tenant = await bs.tenant()
    erased = await bs.participant(tenant)
    description = (f"Reported by {NAME} ({EMAIL.lower()}, tel. {PHONE}): the export of "
                   f"participant {erased} reached another organisation. Jorisse Bakker was not "
                   f"involved; neither was {erased}x.")
    breach = await bs.register(
        title=f"Export of {erased} sent to the wrong client", description=description,
        affected_subject_ids=[erased],
        reporter={"name": NAME, "email": EMAIL, "phone": PHONE, "subject_id": erased})
    other = await bs.register(description=f"Reported by {NAME}, unrelated to the erasure.")

    provider = bs.app.state.provider
    async with bs.app.state.pool.acquire() as conn, conn.transaction():
        counts = await provider.erase(conn, ErasureScope(kind="subject", subject_id=erased))
    assert counts["breach_register"] >= 3  # the breach, its timeline entry, the other breach
    assert counts["breach_reporter_contacts"] == 1

    after = (await bs.client.get(f"/v1/breaches/{breach['id']}", headers=bs.dpo)).json()
    assert after["facts"]["title"] == "Export of [erased] sent to the wrong client"
    assert after["facts"]["description"] == (
        "Reported by [erased] ([erased], tel. [erased]): the export of participant [erased] "
        f"reached another organisation. Jorisse Bakker was not involved; neither was {erased}x.")
    assert after["affected_subjects"] == 1  # the count stays
    async with bs.app.state.pool.acquire() as conn:
        for table, column in (("breach", "facts"), ("breach", "title"),
                              ("breach_timeline", "data")):
            rows = await conn.fetch(f"SELECT {column}::text AS v FROM {table} "
                                    "WHERE " + ("id" if table == "breach" else "breach_id")
                                    + " = ANY($1::uuid[])",
                                    [uuid.UUID(breach["id"]), uuid.UUID(other["id"])])
            text = json.dumps([r["v"] for r in rows])
            assert NAME not in text and EMAIL.lower() not in text.lower(), (table, column)
            assert PHONE not in text
    theirs = (await bs.client.get(f"/v1/breaches/{other['id']}", headers=bs.dpo)).json()
    assert theirs["facts"]["description"] == "Reported by [erased], unrelated to the erasure."
