"""O12: a one-click unsubscribe link (RFC 8058) that works without signing in, per person and
purpose, signed and expiring, recorded in the ledger like any withdrawal."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

from consent.unsubscribe import service as unsubscribe
from devstack.testing import auth, service_auth, wait_for

ONE_CLICK = {"content": b"List-Unsubscribe=One-Click",
             "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


def path(url: str) -> str:
    return urlsplit(url).path


async def test_o12_one_click_unsubscribe_withdraws_in_the_ledger_without_signing_in(consent) -> None:
    sub = f"sub-{uuid.uuid4().hex[:12]}"
    me = auth("participant", tenant="t1", sub=sub)
    r = await consent.client.put(f"/v1/subjects/{sub}/consents/newsletter", headers=me,
                                 json={"granted": True})
    assert r.status_code == 200, r.text

    mint = f"/v1/subjects/{sub}/unsubscribe-link?purpose=newsletter"
    assert (await consent.client.get(mint, headers=me)).status_code == 403
    link = (await consent.client.get(mint, headers=auth("operator"))).json()
    assert link["headers"]["List-Unsubscribe"] == f"<{link['url']}>"
    assert link["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link["url"].startswith("http://127.0.0.1:8000/v1/unsubscribe/")
    assert (await consent.client.get(mint, headers=service_auth("subject-rights"))).status_code == 200

    # Fetching the link (as a mail scanner would) changes nothing.
    offer = await consent.client.get(path(link["url"]))
    assert offer.status_code == 200 and offer.json()["purposes"] == ["newsletter"]
    # A POST without the one-click body is not an unsubscribe.
    refused = await consent.client.post(path(link["url"]))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_one_click"
    state = (await consent.client.get(f"/v1/subjects/{sub}/consents", headers=me)).json()
    assert state["consents"]["newsletter"]["granted"] is True

    done = await consent.client.post(path(link["url"]), **ONE_CLICK)  # no Authorization header
    assert done.status_code == 200, done.text
    assert done.json()["purposes"] == ["newsletter"] and len(done.json()["records"]) == 1
    state = (await consent.client.get(f"/v1/subjects/{sub}/consents", headers=me)).json()
    newsletter = state["consents"]["newsletter"]
    assert newsletter["granted"] is False and newsletter["method"] == "unsubscribe-link"
    history = (await consent.client.get(f"/v1/subjects/{sub}/consents/history",
                                        headers=me)).json()["items"]
    assert history[-1]["id"] == done.json()["records"][0]
    assert history[-1]["actor"] == {"sub": sub, "role": "subject", "on_behalf": False}
    assert history[-1]["tenant_id"] == "t1" and history[-1]["granted"] is False
    check = (await consent.client.get(f"/v1/subjects/{sub}/consents/verification",
                                      headers=me)).json()
    assert check["valid"] is True

    async def withdrawal_seen() -> bool:
        return any(r["type"] == "consent.changed" and '"granted": false' in r["data"]
                   for r in await consent.seen(sub))
    await wait_for(withdrawal_seen, what="the withdrawal on privacy.consent")

    # Clicking again records nothing new.
    again = await consent.client.post(path(link["url"]), **ONE_CLICK)
    assert again.status_code == 200 and again.json()["records"] == []


async def test_o12_an_all_link_covers_every_direct_marketing_purpose_multipart_too(consent) -> None:
    sub = f"sub-{uuid.uuid4().hex[:12]}"
    link = (await consent.client.get(f"/v1/subjects/{sub}/unsubscribe-link?purpose=all",
                                     headers=auth("dpo"))).json()
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
            f"One-Click\r\n--{boundary}--\r\n").encode()
    done = await consent.client.post(
        path(link["url"]), content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert done.status_code == 200, done.text
    assert set(done.json()["purposes"]) == {"newsletter", "service-email", "advertising"}
    state = (await consent.client.get(f"/v1/subjects/{sub}/consents",
                                      headers=auth("dpo"))).json()["consents"]
    assert not any(state[p]["granted"] for p in done.json()["purposes"])
    assert state["analytics"]["record_id"] is None  # not a message purpose: untouched


async def test_o12_links_are_signed_expiring_and_only_for_message_purposes(consent) -> None:
    sub, dpo = f"sub-{uuid.uuid4().hex[:12]}", auth("dpo")
    bad_purpose = await consent.client.get(
        f"/v1/subjects/{sub}/unsubscribe-link?purpose=analytics", headers=dpo)
    assert bad_purpose.status_code == 422
    unknown = await consent.client.get(f"/v1/subjects/{sub}/unsubscribe-link?purpose=nope",
                                       headers=dpo)
    assert unknown.status_code == 404
    link = (await consent.client.get(f"/v1/subjects/{sub}/unsubscribe-link?purpose=newsletter",
                                     headers=dpo)).json()
    # Another person's id in the token breaks the signature.
    header, claims, signature = path(link["url"]).rsplit("/", 1)[1].split(".")
    forged = f"/v1/unsubscribe/{header}.{claims[:-4]}AAAA.{signature}"
    r = await consent.client.post(forged, **ONE_CLICK)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_unsubscribe_link"

    settings = consent.app.state.settings
    async with consent.app.state.pool.acquire() as conn:
        old = await unsubscribe.mint_link(conn=conn, settings=settings, subject_id=sub,
                                          purpose="newsletter",
                                          now=time.time() - settings.unsubscribe_ttl_s - 60)
    r = await consent.client.post(path(old.url), **ONE_CLICK)
    assert r.status_code == 410 and r.json()["error"]["code"] == "unsubscribe_link_expired"
    assert await consent.fetch("SELECT 1 FROM consent_record WHERE subject_id = $1", sub) == []
