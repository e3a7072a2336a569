"""O29, O7: the record of processing activities in both roles, with retention rules and the
sub-processor register, as JSON and CSV; sub-processor changes are dated and announced."""

from __future__ import annotations

import csv
import io
import uuid

from devstack.testing import auth, read_events
from privacy_kit.events import Topic
from privacy_kit.protocol import SubProcessorChanged, payload_of

DPO = auth("dpo", sub="dpo-anna")
OPERATOR = auth("operator", sub="operator-bram")


async def test_o29_the_register_is_the_art30_record_in_both_roles(platform) -> None:
    r = await platform.retention.get("/v1/processing-register", headers=DPO)
    assert r.status_code == 200, r.text
    register = r.json()
    processor = {(a["store"], a["category"]): a for a in register["processor"]["activities"]}
    controller = {(a["store"], a["category"]): a for a in register["controller"]["activities"]}
    history = processor[("training-records", "training_history")]
    assert history["retention"] == {"period": "P0D", "clock": "account_closed",
                                    "action": "anonymise", "source": "declared",
                                    "auto_approve": False}
    assert history["data_subjects"] and history["recipients"] and history["legal_basis"]
    assert ("consent", "consent-ledger") in controller
    assert ("training-records", "beheerder_profile") in controller
    for activity in [*processor.values(), *controller.values()]:
        assert activity["purpose"] and activity["legal_basis"]
        if activity["personal"]:
            assert activity["data_subjects"], activity
            assert activity["retention"] is not None and not activity["needs_a_rule"], activity
    assert register["security_measures"] and register["stores_missing"] == []
    assert {s["store"] for s in register["stores"]} == {
        "training-records", "consent", "retention", "breach", "subject-rights"}
    refused = await platform.retention.get("/v1/processing-register",
                                           headers=auth("beheerder", tenant="t"))
    assert refused.status_code == 403


async def test_o7_sub_processors_outside_the_eea_need_a_transfer_basis_and_changes_are_announced(
    platform,
) -> None:
    name = f"Mailstroom {uuid.uuid4().hex[:6]} B.V."
    added = await platform.retention.post("/v1/sub-processors", headers=OPERATOR, json={
        "name": name, "service": "sending transactional e-mail", "location": "nl"})
    assert added.status_code == 201, added.text
    mail = added.json()
    assert (mail["location"], mail["in_eea"], mail["added_by"]) == ("NL", True, "operator-bram")

    no_basis = await platform.retention.post("/v1/sub-processors", headers=OPERATOR, json={
        "name": "Cloudhost Inc.", "service": "backups", "location": "US"})
    assert no_basis.status_code == 422
    message = no_basis.json()["error"]["message"]
    assert "outside the EEA" in message and "standard_contractual_clauses" in message
    no_adequacy = await platform.retention.post("/v1/sub-processors", headers=OPERATOR, json={
        "name": "Datacenter Ltd.", "service": "hosting", "location": "IN",
        "transfer_basis": "adequacy_decision"})
    assert no_adequacy.status_code == 422
    assert "no adequacy decision for IN" in no_adequacy.json()["error"]["message"]
    backups = await platform.retention.post("/v1/sub-processors", headers=OPERATOR, json={
        "name": "Cloudhost Inc.", "service": "backups", "location": "US",
        "transfer_basis": "standard_contractual_clauses"})
    assert backups.status_code == 201, backups.text
    not_by_dpo = await platform.retention.post("/v1/sub-processors", headers=DPO, json={
        "name": "X", "service": "y", "location": "NL"})
    assert not_by_dpo.status_code == 403

    to_us = await platform.retention.patch(f"/v1/sub-processors/{mail['id']}", headers=OPERATOR,
                                           json={"location": "US"})
    assert to_us.status_code == 422
    moved = await platform.retention.patch(f"/v1/sub-processors/{backups.json()['id']}",
                                           headers=OPERATOR, json={"location": "DE"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["in_eea"], moved.json()["transfer_basis"]) == (True, None)
    removed = await platform.retention.delete(f"/v1/sub-processors/{mail['id']}",
                                              headers=OPERATOR)
    assert removed.status_code == 200 and removed.json()["removed_at"]

    detail = (await platform.retention.get(f"/v1/sub-processors/{mail['id']}",
                                           headers=DPO)).json()
    assert [c["change"] for c in detail["changes"]] == ["added", "removed"]
    assert all(c["changed_at"] and c["changed_by"] == "operator-bram" for c in detail["changes"])
    listed = await platform.retention.get("/v1/sub-processors",
                                          headers=auth("beheerder", tenant="t"))
    assert listed.status_code == 200
    assert mail["id"] not in [s["id"] for s in listed.json()["items"]]
    everything = await platform.retention.get("/v1/sub-processors", headers=DPO,
                                              params={"include_removed": "true"})
    assert mail["id"] in [s["id"] for s in everything.json()["items"]]

    events = await read_events(
        platform.suite.kafka_bootstrap, platform.suite.topic(Topic.TENANT), expect=2,
        match=lambda e: e.type == "subprocessor.changed"
        and e.data["sub_processor_id"] == mail["id"])
    changes = [payload_of(e, SubProcessorChanged) for e in events]
    assert [c.change for c in changes] == ["added", "removed"]
    assert changes[0].location == "NL" and changes[0].in_eea
    assert name not in str([e.data for e in events])  # ids, places and codes only


async def test_o29_the_register_comes_as_csv_too(platform) -> None:
    r = await platform.retention.post("/v1/sub-processors", headers=OPERATOR, json={
        "name": "Analytica AG", "service": "usage statistics", "location": "CH",
        "transfer_basis": "adequacy_decision"})
    assert r.status_code == 201, r.text
    for request in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        headers = {**DPO, **request.get("headers", {})}
        answer = await platform.retention.get("/v1/processing-register", headers=headers,
                                              params=request.get("params"))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        activities = [row for row in rows if row["record"] == "activity"]
        history = next(row for row in activities if row["category"] == "training_history")
        assert (history["role"], history["retention_period"], history["retention_action"]) == (
            "processor", "P0D", "anonymise")
        assert any(row["record"] == "sub_processor" and row["sub_processor"] == "Analytica AG"
                   and row["location"] == "CH" and row["transfer_basis"] == "adequacy_decision"
                   for row in rows)
    as_json = await platform.retention.get("/v1/processing-register", headers=DPO,
                                           params={"format": "json"})
    assert "Analytica AG" in [s["name"] for s in as_json.json()["transfers_outside_eea"]]
