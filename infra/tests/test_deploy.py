"""The deployment files (infra/deploy) agree with the catalog, the topics and each other.

Nothing here starts a container: the files are parsed, and the topic-creation scripts of the
compose file and the Kubernetes job are run against a fake Kafka admin client.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.local.catalog import ROOT, SERVICES

DEPLOY = ROOT / "infra" / "deploy"
K8S = DEPLOY / "k8s"
TOPICS = json.loads((ROOT / "infra" / "kafka" / "topics.json").read_text())["topics"]


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def compose() -> dict[str, Any]:
    (doc,) = load_all(DEPLOY / "compose.yaml")
    return doc


def k8s_docs() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in load_all(path)]


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def test_every_file_parses() -> None:
    assert compose()["services"]
    paths = sorted(K8S.glob("*.yaml"))
    assert {p.stem for p in paths} >= {"namespace", "configmap", "topics-job", *SERVICES}
    for path in paths:
        docs = load_all(path)
        assert docs, path
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), path


# -- compose ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "port"), SERVICES.items())
def test_compose_runs_each_service_on_its_port(name: str, port: int) -> None:
    svc = compose()["services"][name]
    command = svc["command"]
    assert f"services.{name}.app:create_app" in command
    assert command[command.index("--port") + 1] == str(port)
    assert [str(p).rsplit(":", 1)[-1] for p in svc["ports"]] == [str(port)]
    env = svc["environment"]
    url = env[f"{name.upper()}_DATABASE_URL"]
    assert re.fullmatch(rf"postgresql://tsunagu_{name}:\$\{{{name.upper()}_DB_PASSWORD:\?[^}}]*\}}"
                        rf"@postgres:5432/tsunagu_{name}", url), url
    assert env["TSUNAGU_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "TSUNAGU_MUNICIPALITY_CODE" in env
    assert env["OTEL_SERVICE_NAME"] == f"tsunagu-{name}"
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(svc["healthcheck"]["test"])
    assert svc["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
        "topics": {"condition": "service_completed_successfully"},
    }


def test_compose_infrastructure() -> None:
    services = compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"
    assert any(v.startswith("./postgres-init.sql:/docker-entrypoint-initdb.d/") for v in postgres["volumes"])
    # postgres-init.sql reads each role's secret from these, the same variables the URLs use.
    sql_vars = set(re.findall(r"^\\getenv \w+ (\w+)$", (DEPLOY / "postgres-init.sql").read_text(), re.M))
    expected = {f"{name.upper()}_DB_PASSWORD" for name in SERVICES}
    assert sql_vars == expected
    assert expected <= postgres["environment"].keys()


# -- kubernetes ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "port"), SERVICES.items())
def test_k8s_deployment_and_service(name: str, port: int) -> None:
    deployment = k8s_object("Deployment", name)
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["command"][container["command"].index("--port") + 1] == str(port)
    assert f"services.{name}.app:create_app" in container["command"]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= container["resources"].keys()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["envFrom"] == [{"configMapRef": {"name": "tsunagu-config"}}]
    env = {e["name"]: e for e in container["env"]}
    assert env[f"{name.upper()}_DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": f"tsunagu-{name}-db", "key": "url"}}
    service = k8s_object("Service", name)
    assert [p["port"] for p in service["spec"]["ports"]] == [port]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_k8s_service_files_share_one_template() -> None:
    def skeleton(name: str, port: int) -> str:
        text = (K8S / f"{name}.yaml").read_text()
        return text.replace(name.upper(), "{NAME}").replace(name, "{name}").replace(str(port), "{port}")

    skeletons = {name: skeleton(name, port) for name, port in SERVICES.items()}
    first = next(iter(skeletons.values()))
    assert all(s == first for s in skeletons.values()), [n for n, s in skeletons.items() if s != first]


def test_k8s_config_map() -> None:
    data = k8s_object("ConfigMap", "tsunagu-config")["data"]
    assert re.fullmatch(r"\d{6}", data["TSUNAGU_MUNICIPALITY_CODE"])
    assert data["TSUNAGU_KAFKA_BOOTSTRAP"]
    assert not [d for d in k8s_docs() if d["kind"] == "Secret"], "secrets are never committed"


# -- topics: run each job's script against a fake admin client --------------------------------

class FakeAdmin:
    created: list[Any]
    bootstrap: str

    def __init__(self, bootstrap_servers: str, **_: Any) -> None:
        FakeAdmin.bootstrap = bootstrap_servers
        FakeAdmin.created = []

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def list_topics(self) -> list[str]:
        return ["__consumer_offsets"]

    async def create_topics(self, topics: list[Any]) -> None:
        FakeAdmin.created.extend(topics)


def run_script(script: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr("aiokafka.admin.AIOKafkaAdminClient", FakeAdmin)
    monkeypatch.setattr("infra.local.topics.AIOKafkaAdminClient", FakeAdmin)
    FakeAdmin.created = []
    exec(compile(script, "<topics job>", "exec"), {"__name__": "__main__"})
    return FakeAdmin.created


def assert_declared(created: list[Any], replication: int) -> None:
    assert {t.name: (t.num_partitions, t.replication_factor, t.topic_configs) for t in created} == {
        t["name"]: (t["partitions"], replication, t["config"]) for t in TOPICS}


def test_compose_topics_job_creates_every_declared_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    job = compose()["services"]["topics"]
    assert job["command"][:2] == ["python", "-c"]
    assert_declared(run_script(job["command"][2], monkeypatch), replication=1)
    assert FakeAdmin.bootstrap == "kafka:9092"


def test_k8s_topics_job_creates_every_declared_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    pod = k8s_object("Job", "tsunagu-topics")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": "tsunagu-config"}}]
    env = {**k8s_object("ConfigMap", "tsunagu-config")["data"],
           **{e["name"]: e["value"] for e in container["env"]}}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert container["command"][:2] == ["python", "-c"]
    assert_declared(run_script(container["command"][2], monkeypatch), replication=3)
    assert FakeAdmin.bootstrap == env["TSUNAGU_KAFKA_BOOTSTRAP"]


# -- secrets, database, image -----------------------------------------------------------------

def placeholder(value: str) -> bool:
    """An environment placeholder (${VAR...}) or a documentation one (<secret>)."""
    return value.startswith("${") or re.fullmatch(r"<[\w-]+>", value) is not None


def test_no_literal_password_anywhere() -> None:
    files = [p for p in DEPLOY.rglob("*") if p.is_file()]
    assert len(files) >= 12
    for path in files:
        text = path.read_text()
        # Placeholders' own text (${X_PASSWORD:?set X}) and psql variable references carry no value.
        scrubbed = re.sub(r":'\w+'", "", re.sub(r"\$\{[^}]*\}", "${}", text))
        for m in re.finditer(r"(?i)password\w*[\"']?\s*[:=]\s*(\S+)", scrubbed):
            assert placeholder(m.group(1).strip("\"'")), f"{path.name}: {m.group(0)}"
        for m in re.finditer(r"://[^\s/:@]+:([^\s@]+)@", text):
            assert placeholder(m.group(1)), f"{path.name}: {m.group(0)}"
        if path.suffix == ".sql":
            for line in text.splitlines():
                if not line.lstrip().startswith("--"):
                    assert not re.search(r"(?i)\bpassword\b(?!\s+:'\w+')", line), f"{path.name}: {line}"


def test_postgres_init_creates_every_database() -> None:
    sql = (DEPLOY / "postgres-init.sql").read_text()
    after_connect = {block.split(None, 1)[0]: block for block in sql.split("\\connect ")[1:]}
    for name in SERVICES:
        db = f"tsunagu_{name}"
        assert re.search(rf"^CREATE ROLE {db} LOGIN;$", sql, re.M), db
        assert re.search(rf"^CREATE DATABASE {db} OWNER {db}\b", sql, re.M), db
        assert "CREATE EXTENSION IF NOT EXISTS pg_trgm;" in after_connect[db], db


def test_dockerfile_does_not_run_as_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")  # join continued lines
    lines = [line.strip() for line in text.splitlines()]
    instructions = [(k.upper(), rest) for k, rest in
                    (line.split(None, 1) for line in lines if line and not line.startswith("#"))]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    last = {keyword: i for i, (keyword, _) in enumerate(instructions)}
    assert "USER" in last, "no USER line"
    assert last["USER"] > last["FROM"], "USER must apply to the final stage"
    user = instructions[last["USER"]][1]
    assert user.split(":")[0] not in {"root", "0"}, user
    copied = {rest.split()[0] for keyword, rest in instructions if keyword == "COPY"}
    assert {"requirements.txt", "contracts/", "kit/", "services/", "infra/"} <= copied
    for keyword, rest in instructions:
        if keyword in {"ARG", "ENV"}:
            assert not re.search(r"(?i)password|secret|token", rest), rest
