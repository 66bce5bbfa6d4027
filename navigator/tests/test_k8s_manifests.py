"""The Kubernetes manifests (deploy/k8s/): valid against the Kubernetes schemas, and complete."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
VERSION = "1.37.0"


def documents():
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path.name, doc


def by_kind(kind):
    return [doc for _name, doc in documents() if doc["kind"] == kind]


def pod_specs():
    for doc in by_kind("Deployment") + by_kind("Job"):
        yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


@pytest.mark.parametrize(("name", "doc"), list(documents()), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_every_manifest_is_valid_against_the_kubernetes_schemas(name, doc):
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_every_container_has_resource_requests_and_limits_and_takes_secrets_from_a_secret():
    for name, spec in pod_specs():
        for container in spec.get("initContainers", []) + spec["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"]), (
                name
            )
            assert {"secretRef": {"name": "navigator-secrets"}} in container["envFrom"], name
            for env in container.get("env", []):
                assert "SECRET" not in env["name"] and "PASSWORD" not in env["name"], (name, env)
                assert "value" not in env or "://" not in str(env["value"]), (name, env)


def test_migrations_run_as_the_owner_and_everything_else_as_the_runtime_role():
    (job,) = by_kind("Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert "migrate" in " ".join(container["command"]) and "grant_runtime_role" in " ".join(container["command"])
    (database_url,) = [e for e in container["env"] if e["name"] == "DATABASE_URL"]
    assert database_url["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_OWNER_URL"
    for name, spec in pod_specs():
        if name != job["metadata"]["name"]:
            for container in spec["containers"]:
                assert all(e["name"] != "DATABASE_URL" for e in container.get("env", [])), name


def test_web_is_ready_on_database_and_broker_alive_on_the_process_and_waits_for_migrations():
    (web,) = [d for d in by_kind("Deployment") if d["metadata"]["name"] == "navigator-web"]
    spec = web["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert "migrate --check" in " ".join(spec["initContainers"][0]["command"])


def test_web_and_every_worker_have_an_autoscaler_and_every_deployment_a_disruption_budget():
    deployments = {d["metadata"]["name"] for d in by_kind("Deployment")}
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind("HorizontalPodAutoscaler")}
    assert {n for n in deployments if n.startswith(("navigator-web", "navigator-worker-"))} <= scaled
    budgets = {tuple(sorted(p["spec"]["selector"]["matchLabels"].items())) for p in by_kind("PodDisruptionBudget")}
    for doc in by_kind("Deployment"):
        assert tuple(sorted(doc["spec"]["selector"]["matchLabels"].items())) in budgets, doc["metadata"]["name"]


def test_beat_runs_twice_so_that_a_standby_can_take_over():
    (beat,) = [d for d in by_kind("Deployment") if d["metadata"]["name"] == "navigator-beat"]
    assert beat["spec"]["replicas"] == 2
