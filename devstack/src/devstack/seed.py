"""`python -m devstack seed`: a small, realistic data set, loaded through the public API.

Two client organisations with a Beheerder each, three trainings, six participants with
assignments, progress, results (and so certificates), consents and one access request. Every
call goes through the gateway as the person who would make it, so the seed shows the API as
it is used. Running it again finds what is there (by name, e-mail and title) instead of making
it twice; creating calls carry an `Idempotency-Key` too.

`--env` prints shell assignments (`TENANT_A=...`) for docs/walkthrough.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from privacy_kit.auth import mint_token

TRAININGS = [
    ("AVG voor beginners", "Wat persoonsgegevens zijn en wat de AVG van u vraagt.",
     ["Wat zijn persoonsgegevens?", "Uw rechten en plichten", "Een datalek herkennen"]),
    ("Veilig werken met persoonsgegevens", "Dagelijkse gewoontes die gegevens beschermen.",
     ["Wachtwoorden en tweestapsverificatie", "Delen met collega's en klanten"]),
    ("Informatiebeveiliging in de zorg", "NEN 7510 in de praktijk van de zorgverlener.",
     ["Dossiers en toegang", "Melden van incidenten"]),
]

TENANTS = [
    {
        "key": "A", "name": "Opleidingen Noord B.V.",
        "beheerder": {"name": "Petra Jansen", "email": "p.jansen@opleidingen-noord.example"},
        "participants": [
            {"name": "Sanne de Vries", "email": "sanne.devries@opleidingen-noord.example",
             "birth_date": "1990-04-12", "company": "Opleidingen Noord B.V.",
             "preferences": {"language": "nl"}},
            {"name": "Çağlar Öztürk", "email": "caglar.ozturk@opleidingen-noord.example",
             "birth_date": "1986-09-03", "phone": "+31 50 123 4567"},
            {"name": "Daan Bakker", "email": "daan.bakker@opleidingen-noord.example",
             "birth_date": "1999-01-27"},
        ],
        "assign": [0, 1],
    },
    {
        "key": "B", "name": "Zorggroep De Linde",
        "beheerder": {"name": "Mohamed el Amrani", "email": "m.elamrani@delinde.example"},
        "participants": [
            {"name": "Fatima Yilmaz", "email": "f.yilmaz@delinde.example",
             "birth_date": "1978-06-30", "company": "Zorggroep De Linde"},
            {"name": "Joost van Dijk", "email": "j.vandijk@delinde.example",
             "birth_date": "1965-11-08"},
            {"name": "Łucja Nowak", "email": "l.nowak@delinde.example",
             "birth_date": "1994-02-14", "preferences": {"language": "en"}},
        ],
        "assign": [0, 2],
    },
]


class SeedError(Exception):
    pass


@dataclass
class Seeded:
    ids: dict[str, str] = field(default_factory=dict)
    created: int = 0
    found: int = 0

    def env(self) -> str:
        return "\n".join(f"{k}={v}" for k, v in self.ids.items())


class Seeder:
    def __init__(self, client: httpx.Client, secret: str) -> None:
        self.client = client
        self.secret = secret
        self.result = Seeded()

    def headers(self, role: str, *, tenant: str | None = None, sub: str | None = None,
                key: str | None = None) -> dict[str, str]:
        token = mint_token(self.secret, role=role, tenant=tenant, sub=sub or f"seed-{role}")
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "nl"}
        if key:
            headers["Idempotency-Key"] = f"seed-{key}"
        return headers

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 202),
             **kwargs: Any) -> Any:
        answer = self.client.request(method, path, **kwargs)
        if answer.status_code not in expect:
            raise SeedError(f"{method} {path} answered {answer.status_code}: {answer.text[:500]}")
        return answer.json() if answer.content else None

    def every(self, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = self.call("GET", path, headers=headers, params=params)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def ensure(self, found: dict[str, Any] | None, create: Any) -> dict[str, Any]:
        if found is not None:
            self.result.found += 1
            return found
        self.result.created += 1
        return dict(create())

    def run(self) -> Seeded:
        operator = self.headers("operator", sub="seed-operator")
        trainings = {t["title"]: t for t in self.every("/v1/trainings", operator)}
        training_ids = []
        for title, description, modules in TRAININGS:
            training = self.ensure(trainings.get(title), lambda t=title, d=description, m=modules:
                                   self.call("POST", "/v1/trainings", json={
                                       "title": t, "description": d,
                                       "modules": [{"title": x} for x in m]},
                                       headers=self.headers("operator", key=f"training-{t}")))
            training_ids.append(training)
        for n, training in enumerate(training_ids, start=1):
            self.result.ids[f"TRAINING_{n}"] = training["id"]
        self.result.ids["MODULE_1"] = training_ids[0]["modules"][0]["id"]

        tenants = {t["name"]: t for t in self.every("/v1/tenants", operator)}
        for spec in TENANTS:
            self.seed_tenant(spec, tenants.get(spec["name"]), training_ids)
        self.seed_consents()
        return self.result

    def seed_tenant(self, spec: dict[str, Any], existing: dict[str, Any] | None,
                    trainings: list[dict[str, Any]]) -> None:
        key = spec["key"]
        tenant = self.ensure(existing, lambda: self.call(
            "POST", "/v1/tenants", json={"name": spec["name"]},
            headers=self.headers("operator", key=f"tenant-{spec['name']}")))
        tid = tenant["id"]
        self.result.ids[f"TENANT_{key}"] = tid
        operator = self.headers("operator")
        beheerders = {b["email"]: b for b in self.every(f"/v1/tenants/{tid}/beheerders", operator)}
        boss = self.ensure(beheerders.get(spec["beheerder"]["email"]), lambda: self.call(
            "POST", f"/v1/tenants/{tid}/beheerders", json=spec["beheerder"],
            headers=self.headers("operator", key=f"beheerder-{tid}")))
        self.result.ids[f"BEHEERDER_{key}"] = boss["id"]
        as_boss = self.headers("beheerder", tenant=tid, sub=boss["id"])
        people = {p["email"]: p for p in self.every(f"/v1/tenants/{tid}/participants", as_boss)}
        assigned = {(a["participant_id"], a["training_id"])
                    for a in self.every(f"/v1/tenants/{tid}/assignments", as_boss)}
        for n, person in enumerate(spec["participants"], start=1):
            participant = self.ensure(people.get(person["email"]), lambda p=person: self.call(
                "POST", f"/v1/tenants/{tid}/participants", json=p,
                headers={**as_boss, "Idempotency-Key": f"seed-participant-{tid}-{p['email']}"}))
            pid = participant["id"]
            self.result.ids[f"PARTICIPANT_{key}{n}"] = pid
            for t in spec["assign"]:
                training = trainings[t]
                if (pid, training["id"]) in assigned:
                    continue
                self.call("POST", f"/v1/tenants/{tid}/assignments", headers=as_boss, json={
                    "participant_id": pid, "training_id": training["id"],
                    "due_date": "2027-03-31"})
                self.learn(tid, pid, training, finish=n != 3)

    def learn(self, tid: str, pid: str, training: dict[str, Any], *, finish: bool) -> None:
        """The participant's own session: modules, then a result (a pass certifies)."""
        me = self.headers("participant", tenant=tid, sub=pid)
        base = f"/v1/tenants/{tid}/participants/{pid}"
        self.call("POST", f"{base}/logins", headers=me)
        modules = training["modules"] if finish else training["modules"][:1]
        for module in modules:
            self.call("PUT", f"{base}/progress/{module['id']}", headers=me,
                      json={"completed": True, "time_spent_s": 900})
        if finish:
            self.call("POST", f"{base}/results", headers=me, json={
                "training_id": training["id"], "score": 84.0, "passed": True})

    def seed_consents(self) -> None:
        """Consents of some participants, given by themselves. A purpose with any record
        already is left alone: the person may have changed their mind since."""
        choices = [("A", 1, {"newsletter": True, "analytics": True}),
                   ("A", 2, {"newsletter": True, "analytics": False, "anonymised-data": False}),
                   ("B", 1, {"newsletter": False, "analytics": True}),
                   ("B", 3, {"newsletter": True})]
        for key, n, purposes in choices:
            pid = self.result.ids[f"PARTICIPANT_{key}{n}"]
            me = self.headers("participant", tenant=self.result.ids[f"TENANT_{key}"], sub=pid)
            state = self.call("GET", f"/v1/subjects/{pid}/consents", headers=me)["consents"]
            for purpose, granted in purposes.items():
                if state[purpose]["record_id"] is not None:
                    continue
                self.call("PUT", f"/v1/subjects/{pid}/consents/{purpose}", headers=me,
                          json={"granted": granted, "method": "settings_page"})
        pid = self.result.ids["PARTICIPANT_A2"]
        tid = self.result.ids["TENANT_A"]
        self.call("POST", "/v1/subject-requests", json={
            "kind": "access", "details": "Graag een kopie van mijn trainingsgegevens."},
            headers={**self.headers("participant", tenant=tid, sub=pid),
                     "Idempotency-Key": f"seed-access-request-{pid}"})


def seed(gateway_url: str, secret: str, *, timeout_s: float = 30.0) -> Seeded:
    with httpx.Client(base_url=gateway_url, timeout=timeout_s) as client:
        try:
            health = client.get("/healthz").json()
        except httpx.HTTPError as exc:
            raise SeedError(f"no gateway at {gateway_url}: is `make run` running?") from exc
        down = [n for n, state in health.get("upstreams", {}).items() if state != "up"]
        if down:
            raise SeedError(f"these services are not up yet: {', '.join(down)}")
        return Seeder(client, secret).run()
