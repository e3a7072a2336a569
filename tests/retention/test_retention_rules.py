"""O15: a retention rule per store and category, declared by the stores, overridable by staff,
every change kept; personal data without a rule shows as needing one."""

from __future__ import annotations

from devstack.testing import auth, wait_for
from privacy_kit.events import Topic
from privacy_kit.protocol import DataCategory, InventoryPublished, RetentionRule, envelope

DPO = auth("dpo", sub="dpo-anna")
OPERATOR = auth("operator", sub="operator-bram")


def _by_key(page: dict) -> dict[tuple[str, str], dict]:
    return {(r["store"], r["category"]): r for r in page["items"]}


async def test_o15_every_store_declares_typed_default_rules_with_the_policy_terms(platform) -> None:
    r = await platform.retention.get("/v1/retention-rules", headers=DPO, params={"limit": 200})
    assert r.status_code == 200, r.text
    rules = _by_key(r.json())
    assert {store for store, _ in rules} >= {"training-records", "consent", "retention", "breach",
                                             "subject-rights", "*"}
    history = rules[("training-records", "training_history")]
    assert (history["period"], history["clock"], history["action"], history["source"]) == (
        "P0D", "account_closed", "anonymise", "declared")
    logins = rules[("training-records", "login_times")]
    assert (logins["period"], logins["clock"], logins["action"]) == ("P180D", "last_activity",
                                                                     "destroy")
    assert rules[("*", "financial_records")]["period"] == "P7Y"
    assert rules[("*", "contact_forms")]["clock"] == "request_handled"
    assert rules[("*", "usage_data")]["period"] == "P180D"
    # Every personal category of the five stores has a rule.
    assert [k for k, v in rules.items() if v["needs_a_rule"]] == []
    health = (await platform.retention.get("/healthz")).json()
    assert health["categories_needing_a_rule"] == []

    first = await platform.retention.get("/v1/retention-rules", headers=DPO, params={"limit": 5})
    second = await platform.retention.get("/v1/retention-rules", headers=DPO,
                                          params={"limit": 5, "cursor": first.json()["next_cursor"]})
    assert len(first.json()["items"]) == 5
    assert not set(_by_key(first.json())) & set(_by_key(second.json()))


async def test_o15_staff_override_a_rule_and_every_change_is_kept_with_who_and_when(
    platform,
) -> None:
    path = "/v1/retention-rules/subject-rights/subject_requests"
    set_ = await platform.retention.put(path, headers=DPO, json={
        "period": "P6M", "clock": "request_handled", "action": "destroy", "auto_approve": True})
    assert set_.status_code == 200, set_.text
    rule = set_.json()
    assert (rule["period"], rule["source"], rule["changed_by"], rule["auto_approve"]) == (
        "P6M", "override", "dpo-anna", True)
    assert rule["declared"]["period"] == "P1Y"

    reverted = await platform.retention.delete(path, headers=OPERATOR)
    assert reverted.status_code == 204
    detail = (await platform.retention.get(path, headers=DPO)).json()
    assert (detail["period"], detail["source"], detail["auto_approve"]) == ("P1Y", "declared",
                                                                           False)
    changes = [(c["change"], c["period"], c["changed_by"]) for c in detail["changes"]]
    assert changes == [("declared", "P1Y", "store subject-rights"),
                       ("override", "P6M", "dpo-anna"), ("revert", None, "operator-bram")]
    assert all(c["changed_at"] for c in detail["changes"])

    other_clock = await platform.retention.put(path, headers=DPO, json={
        "period": "P6M", "clock": "record_created"})
    assert other_clock.status_code == 422
    assert "measures 'subject_requests' from 'request_handled'" in other_clock.json()["error"][
        "message"]
    bad_period = await platform.retention.put(path, headers=DPO, json={
        "period": "six months", "clock": "request_handled"})
    assert bad_period.status_code == 422
    assert "period" in bad_period.json()["error"]["message"]
    unknown = await platform.retention.put("/v1/retention-rules/subject-rights/invoices",
                                           headers=DPO, json={"period": "P7Y",
                                                              "clock": "record_created"})
    assert unknown.status_code == 404
    assert "its categories are: subject_requests" in unknown.json()["error"]["message"]
    participant = await platform.retention.put(path, headers=auth("participant", tenant="t"),
                                               json={"period": "P1D", "clock": "request_handled"})
    assert participant.status_code == 403


async def test_o15_a_personal_category_without_a_rule_needs_one_until_it_gets_one(
    own_platform,
) -> None:
    platform = own_platform
    await platform.start("retention")
    crm = InventoryPublished(store="crm", categories=[
        DataCategory(name="contact_forms", fields=["name", "email", "message"],
                     purpose="answer questions", legal_basis="legitimate interest"),
        DataCategory(name="leads", fields=["email"], purpose="sales",
                     legal_basis="consent"),
        DataCategory(name="sales_totals", fields=["count"], purpose="statistics",
                     legal_basis="legitimate interest", personal=False),
        DataCategory(name="invoices", fields=["customer", "amount"], purpose="billing",
                     legal_basis="legal obligation",
                     retention=RetentionRule(period="P7Y", clock="record_created")),
    ])
    await platform.publish(Topic.INVENTORY, envelope(crm, source="crm"))
    await platform.ready({"crm"})

    needing = (await platform.retention.get("/v1/retention-rules", headers=DPO,
                                            params={"needs_a_rule": "true"})).json()
    assert [(r["store"], r["category"]) for r in needing["items"]] == [("crm", "leads")]
    rules = _by_key((await platform.retention.get("/v1/retention-rules", headers=DPO)).json())
    # A category of the name of a policy term gets the term; a declared rule wins over it.
    assert (rules[("crm", "contact_forms")]["source"],
            rules[("crm", "contact_forms")]["clock"]) == ("policy", "request_handled")
    assert rules[("crm", "invoices")]["source"] == "declared"
    assert rules[("crm", "sales_totals")]["needs_a_rule"] is False
    health = (await platform.retention.get("/healthz")).json()
    assert health["categories_needing_a_rule"] == [{"store": "crm", "category": "leads"}]
    register = (await platform.retention.get("/v1/processing-register", headers=DPO)).json()
    assert {"store": "crm", "category": "leads"} in register["needs_a_rule"]

    given = await platform.retention.put("/v1/retention-rules/crm/leads", headers=OPERATOR,
                                         json={"period": "P2Y", "clock": "last_activity"})
    assert given.status_code == 200, given.text

    async def no_longer_needed() -> bool:
        body = (await platform.retention.get("/healthz")).json()
        return body["categories_needing_a_rule"] == []

    await wait_for(no_longer_needed, what="the rule to count")
