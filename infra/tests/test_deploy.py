"""The deployment files (infra/deploy) agree with the catalog, the topics, the kit and each other.

Nothing here starts a container: the files are parsed, and the topic-creation scripts of the
compose file and the Kubernetes job are run against a fake Kafka admin client. One test runs
postgres-init.sql and the migrations on a throwaway PostgreSQL cluster (skipped without one).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from infra.local.catalog import ROOT, SERVICES
from infra.local.postgres import PostgresNode, pg_bin
from infra.local.topics import TOPICS_FILE
from kit.migrate import migrate
from kit.settings import ServiceSettings

DEPLOY = ROOT / "infra" / "deploy"
K8S = DEPLOY / "k8s"
TOPICS = json.loads((ROOT / "infra" / "kafka" / "topics.json").read_text())["topics"]
INIT_SQL = DEPLOY / "postgres-init.sql"
JWT_SETTINGS = ("TSUNAGU_JWKS_URL", "TSUNAGU_JWT_ISSUER", "TSUNAGU_JWT_AUDIENCE")


def owner_role(name: str) -> str:
    return f"tsunagu_{name}"


def app_role(name: str) -> str:
    return f"tsunagu_{name}_app"


def password_vars(name: str) -> dict[str, str]:
    """The environment variables holding each role's secret (compose and postgres-init.sql)."""
    return {owner_role(name): f"{name.upper()}_DB_OWNER_PASSWORD",
            app_role(name): f"{name.upper()}_DB_APP_PASSWORD"}


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
    # The runtime URL is the app role's, the migration URL the owner's; each with its own secret.
    urls = {"DATABASE_URL": app_role(name), "MIGRATION_DATABASE_URL": owner_role(name)}
    for setting, role in urls.items():
        url = env[f"{name.upper()}_{setting}"]
        var = password_vars(name)[role]
        assert re.fullmatch(rf"postgresql://{role}:\$\{{{var}:\?[^}}]*\}}@postgres:5432/tsunagu_{name}",
                            url), url
    assert env["TSUNAGU_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert set(JWT_SETTINGS) <= env.keys()
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
    sql_vars = set(re.findall(r"^\\getenv \w+ (\w+)$", INIT_SQL.read_text(), re.M))
    expected = {var for name in SERVICES for var in password_vars(name).values()}
    assert sql_vars == expected
    assert expected <= postgres["environment"].keys()


def test_compose_mounts_the_directory_an_operator_edits() -> None:
    from services.referral.domain import DirectoryFile
    referral = compose()["services"]["referral"]
    target = referral["environment"]["REFERRAL_DIRECTORY_FILE"]
    (mount,) = [v for v in referral["volumes"] if v.split(":")[1] == target]
    source = (DEPLOY / mount.split(":")[0]).resolve()
    assert source == ROOT / "services" / "referral" / "directory.json"
    DirectoryFile.model_validate_json(source.read_bytes())  # the seed parses as referral reads it


def test_compose_requires_the_identity_provider() -> None:
    """No dev IdP default: compose refuses to start until the operator names the city's provider."""
    for name in SERVICES:
        env = compose()["services"][name]["environment"]
        for key in JWT_SETTINGS:
            assert re.fullmatch(rf"\$\{{{key}:\?[^}}]+\}}", env[key]), f"{name}: {key}={env[key]}"


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
    assert env[f"{name.upper()}_MIGRATION_DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": f"tsunagu-{name}-db", "key": "migration_url"}}
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


def test_k8s_config_map_names_an_identity_provider_not_the_dev_one() -> None:
    data = k8s_object("ConfigMap", "tsunagu-config")["data"]
    defaults = ServiceSettings.model_fields
    assert data["TSUNAGU_JWT_AUDIENCE"] == "tsunagu"
    for key, field in (("TSUNAGU_JWKS_URL", "jwks_url"), ("TSUNAGU_JWT_ISSUER", "jwt_issuer")):
        value = data[key]
        assert value != defaults[field].default, f"{key} is the kit's dev default"
        assert value.startswith("https://"), f"{key}={value}"
        assert not re.search(r"127\.0\.0\.1|localhost|dev-idp", value), f"{key}={value}"


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
    assert len(created) == len(TOPICS)
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
        for m in re.finditer(r"://[^\s/:@]+:([^\s@]+)@", re.sub(r"\$\{[^}]*\}", "${}", text)):
            assert placeholder(m.group(1)), f"{path.name}: {m.group(0)}"
        if path.suffix == ".sql":
            for line in text.splitlines():
                if not line.lstrip().startswith("--"):
                    assert not re.search(r"(?i)\bpassword\b(?!\s+:'\w+')", line), f"{path.name}: {line}"


def init_statements() -> dict[str, list[str]]:
    """postgres-init.sql's statements, whitespace-normalised, by the database psql is connected to."""
    blocks: dict[str, list[str]] = {"postgres": []}
    current, pending = "postgres", ""
    for line in INIT_SQL.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("--"):
            continue
        if line.startswith("\\"):
            assert not pending, f"meta-command inside a statement: {line}"
            if line.startswith("\\connect "):
                current = line.split()[1]
                blocks.setdefault(current, [])
            else:
                blocks[current].append(line)
            continue
        pending = f"{pending} {line}".strip()
        if pending.endswith(";"):
            blocks[current].append(" ".join(pending[:-1].split()))
            pending = ""
    assert not pending, f"unterminated statement: {pending}"
    return blocks


def test_postgres_init_creates_both_roles_and_the_database_of_every_service() -> None:
    blocks = init_statements()
    top = blocks["postgres"]
    psql_vars = dict(s.split()[1:] for s in top if s.startswith("\\getenv "))
    for name in SERVICES:
        db, owner, app = f"tsunagu_{name}", owner_role(name), app_role(name)
        # Plain login roles: neither may create roles or databases, nor is superuser.
        assert f"CREATE ROLE {owner} LOGIN" in top, owner
        assert f"CREATE ROLE {app} LOGIN" in top, app
        for role, var in password_vars(name).items():
            (secret,) = [s for s in top if s.startswith(f"ALTER ROLE {role} PASSWORD ")]
            assert psql_vars[secret.rsplit(":", 1)[1].strip("'")] == var, secret
        assert any(s.startswith(f"CREATE DATABASE {db} OWNER {owner} ") for s in top), db
        assert blocks[db][0] == "CREATE EXTENSION IF NOT EXISTS pg_trgm", db


def test_postgres_init_grants_the_app_role_exactly_its_runtime_rights() -> None:
    blocks = init_statements()
    every = [s for block in blocks.values() for s in block]
    for name in SERVICES:
        db, owner, app = f"tsunagu_{name}", owner_role(name), app_role(name)
        default = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT"
        in_db = {  # schema rights and default privileges are per database: set while connected to it
            f"GRANT USAGE ON SCHEMA public TO {app}",
            f"{default} SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
            f"{default} USAGE, SELECT ON SEQUENCES TO {app}",
        }
        assert in_db <= set(blocks[db]), db
        # Nothing else names the app role: no TRUNCATE, no ALL, no membership of the owner role.
        mentions = {s for s in every if re.search(rf"\b{app}\b", s) and not s.startswith("\\")}
        assert mentions == in_db | {
            f"CREATE ROLE {app} LOGIN",
            f"ALTER ROLE {app} PASSWORD :'{name}_app_pw'",
            f"GRANT CONNECT ON DATABASE {db} TO {app}",
        }, app
        assert not [s for s in every if re.match(rf"GRANT {owner}\b", s)], "owner role granted to a role"


def test_postgres_init_revokes_only_from_public() -> None:
    """The migrations take rights from the app role (audit rows); this file takes none from it."""
    blocks = init_statements()
    for name in SERVICES:
        db = f"tsunagu_{name}"
        assert f"REVOKE ALL ON DATABASE {db} FROM PUBLIC" in blocks["postgres"], db
        assert "REVOKE CREATE ON SCHEMA public FROM PUBLIC" in blocks[db], db
    allowed = {f"REVOKE ALL ON DATABASE tsunagu_{name} FROM PUBLIC" for name in SERVICES}
    allowed.add("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    revokes = [s for block in blocks.values() for s in block if re.match(r"(?i)REVOKE\b", s)]
    assert set(revokes) == allowed
    # A default-privilege revoke would take table rights away before any table exists.
    assert not [s for block in blocks.values() for s in block
                if re.match(r"(?i)ALTER DEFAULT PRIVILEGES\b.*\bREVOKE\b", s)]


# -- postgres-init.sql and the migrations on a real PostgreSQL cluster ------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def psql(node: PostgresNode, *args: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The superuser's psql as the postgres image runs an init script: ON_ERROR_STOP, no psqlrc."""
    return subprocess.run(
        [pg_bin("psql"), "--no-psqlrc", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
         "-p", str(node.port), "-U", "postgres", "-d", "postgres", *args],
        env={**os.environ, "PGPASSWORD": node.password, **(env or {})}, capture_output=True, text=True)


@pytest.fixture(scope="module")
def initialised() -> Iterator[tuple[PostgresNode, dict[str, str]]]:
    try:
        pg_bin("initdb")
        pg_bin("psql")
    except RuntimeError as exc:
        pytest.skip(str(exc))
    home = Path(tempfile.mkdtemp(prefix="tsunagu-deploy-test-"))
    home.chmod(0o755)  # PostgreSQL runs as its own user
    node = PostgresNode(home=home, port=free_port())
    try:
        node.start()
        passwords = {var: secrets.token_hex(12) for name in SERVICES for var in password_vars(name).values()}
        # A missing secret stops initialisation at that role (here the first one).
        missing = psql(node, "-f", str(INIT_SQL),
                       env={k: v for k, v in passwords.items() if k != "INTAKE_DB_OWNER_PASSWORD"})
        assert missing.returncode != 0, missing.stdout
        dbs = psql(node, "-tAc", "SELECT count(*) FROM pg_database WHERE datname LIKE 'tsunagu%'")
        assert dbs.stdout.strip() == "0", dbs.stdout + dbs.stderr
        assert psql(node, "-c", "DROP ROLE tsunagu_intake, tsunagu_intake_app").returncode == 0
        result = psql(node, "-f", str(INIT_SQL), env=passwords)
        assert result.returncode == 0, result.stderr
        yield node, passwords
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)


def dsn(node: PostgresNode, passwords: dict[str, str], name: str, role: str, db: str = "") -> str:
    return (f"postgresql://{role}:{passwords[password_vars(name)[role]]}@127.0.0.1:{node.port}/"
            f"{db or 'tsunagu_' + name}")


@pytest.mark.parametrize("name", SERVICES)
async def test_postgres_init_then_migrations_split_the_roles(
        name: str, initialised: tuple[PostgresNode, dict[str, str]]) -> None:
    node, passwords = initialised
    owner, app = owner_role(name), app_role(name)
    migrations = ROOT / "services" / name / "migrations"
    applied = await migrate(dsn(node, passwords, name, owner), app, name, migrations)
    assert "kit/0002_audit.sql" in applied
    conn = await asyncpg.connect(dsn(node, passwords, name, app))
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1", owner)]
        assert "audit_events" in tables and "schema_migrations" in tables
        for table in tables:
            rights = {p: await conn.fetchval("SELECT has_table_privilege($1, $2)", table, p)
                      for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")}
            append_only = table == "audit_events"
            assert rights == {"SELECT": True, "INSERT": True, "UPDATE": not append_only,
                              "DELETE": not append_only, "TRUNCATE": False}, (table, rights)
        for seq in [r["sequencename"] for r in await conn.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]:
            assert await conn.fetchval("SELECT has_sequence_privilege($1, 'USAGE')", seq), seq
        # Refused by privileges, before the audit trigger is reached.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE audit_events SET reason = reason")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE app_may_not_create (i int)")
    finally:
        await conn.close()
    other = next(s for s in SERVICES if s != name)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # no CONNECT on another service's database
        await asyncpg.connect(dsn(node, passwords, name, app, db=f"tsunagu_{other}"))


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
    assert {"requirements.txt", "contracts/", "kit/", "services/"} <= copied
    # Of infra/, what the topics job imports and reads, and nothing else: not the dev IdP.
    infra = {c for c in copied if c.startswith("infra")}
    assert infra == {"infra/__init__.py", "infra/local/", "infra/kafka/topics.json"}, infra
    assert str(TOPICS_FILE.relative_to(ROOT)) in infra
    assert not copied & {".", "./", "infra/", "infra/idp/"}, copied
    for keyword, rest in instructions:
        if keyword in {"ARG", "ENV"}:
            assert not re.search(r"(?i)password|secret|token", rest), rest
