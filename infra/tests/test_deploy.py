"""The deployment files (infra/deploy) agree with the catalog, the topics, the kit and each other.

Nothing here starts a container: the files are parsed, and the kafka-setup jobs of the compose
file and of Kubernetes are run with their environment, up to the broker. One test runs
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

from infra.local import acls as acls_module
from infra.local import tls
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
    assert {p.stem for p in paths} >= {"namespace", "configmap", "kafka-setup-job", *SERVICES}
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
    assert env["TSUNAGU_KAFKA_CA_FILE"] == "/run/secrets/kafka-ca" and svc["secrets"] == ["kafka-ca"]
    var = f"{name.upper()}_KAFKA_PASSWORD"  # the principal named after the service
    assert re.fullmatch(rf"\$\{{{var}:\?[^}}]+\}}", env[var]), env[var]
    var = f"{name.upper()}_DATA_KEY"  # seals data at rest (kit/sealing.py): no start without it
    assert re.fullmatch(rf"\$\{{{var}:\?[^}}]+\}}", env[var]), env[var]
    assert set(JWT_SETTINGS) <= env.keys()
    assert "TSUNAGU_MUNICIPALITY_CODE" in env
    assert env["OTEL_SERVICE_NAME"] == f"tsunagu-{name}"
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(svc["healthcheck"]["test"])
    assert svc["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
        "kafka-setup": {"condition": "service_completed_successfully"},
    }


def test_compose_infrastructure() -> None:
    services = compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    assert kafka["command"] == ["bash", "/opt/tsunagu/kafka-start.sh"]
    assert "./kafka-start.sh:/opt/tsunagu/kafka-start.sh:ro" in kafka["volumes"]
    assert set(kafka["secrets"]) == {"kafka-broker", "kafka-ca"}
    assert compose()["secrets"] == {"kafka-ca": {"file": "./tls/ca.pem"},
                                    "kafka-broker": {"file": "./tls/broker.pem"}}
    assert "--command-config" in kafka["healthcheck"]["test"][1]  # the healthcheck signs in too
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


def test_compose_kafka_is_secured_as_the_local_one() -> None:
    script = (DEPLOY / "kafka-start.sh").read_text()
    props = dict(line.split("=", 1) for line in script.splitlines()
                 if re.match(r"^[a-z.-]+=", line) and not line.startswith(("props=", "jaas=")))
    local = dict(line.split("=", 1) for line in (ROOT / "infra" / "kafka" / "server.properties.in")
                 .read_text().splitlines() if line and not line.startswith("#"))
    same = ("controller.listener.names", "inter.broker.listener.name", "ssl.keystore.type",
            "ssl.truststore.type", "ssl.enabled.protocols",
            "listener.name.controller.ssl.client.auth", "sasl.enabled.mechanisms",
            "sasl.mechanism.inter.broker.protocol", "authorizer.class.name",
            "allow.everyone.if.no.acl.found", "auto.create.topics.enable")
    assert {k: props[k] for k in same} == {k: local[k] for k in same}
    # Locally a RAW plaintext listener exists only on the benchmarks' broker (infra/local/kafka.py).
    assert local["listener.security.protocol.map"] == "CLIENT:SASL_SSL,CONTROLLER:SSL{raw_protocol}"
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_SSL,CONTROLLER:SSL"
    assert props["super.users"] == "User:admin;User:CN=tsunagu-broker"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert '--add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"' in script


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
    assert env[f"{name.upper()}_KAFKA_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": f"tsunagu-{name}-kafka", "key": "password"}}
    assert env[f"{name.upper()}_DATA_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": f"tsunagu-{name}-data", "key": "key"}}
    assert_kafka_ca_mounted(pod, container)
    service = k8s_object("Service", name)
    assert [p["port"] for p in service["spec"]["ports"]] == [port]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def assert_kafka_ca_mounted(pod: dict[str, Any], container: dict[str, Any]) -> None:
    ca_file = Path(k8s_object("ConfigMap", "tsunagu-config")["data"]["TSUNAGU_KAFKA_CA_FILE"])
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "kafka-ca"]
    assert mount["mountPath"] == str(ca_file.parent) and mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == "kafka-ca"]
    assert volume["secret"]["items"] == [{"key": "ca.crt", "path": ca_file.name}]


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
    assert data["TSUNAGU_KAFKA_BOOTSTRAP"].endswith(":9093")  # the cluster's TLS listener
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


# -- kafka-setup: run each job's command with its environment, up to the broker -----------------

def run_setup(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Run `python -m infra.local.acls` as the job would; return what it would apply."""
    ca_file, _ = tls.ensure(tmp_path)  # the job's CA path does not exist here: a real PEM stands in
    for key, value in env.items():
        monkeypatch.setenv(key, str(ca_file) if key == "TSUNAGU_KAFKA_CA_FILE" else value)
    applied: dict[str, Any] = {}

    async def setup(client: dict[str, Any], passwords: dict[str, str], acls: list[Any],
                    replication: int) -> list[str]:
        applied.update(client=client, passwords=passwords, acls=acls, replication=replication)
        return []

    monkeypatch.setattr(acls_module, "setup", setup)
    acls_module.main()
    return applied


def assert_applies_acls_json(applied: dict[str, Any], env: dict[str, str], replication: int) -> None:
    assert applied["replication"] == replication
    assert applied["client"]["bootstrap_servers"] == env["TSUNAGU_KAFKA_BOOTSTRAP"]
    assert applied["client"]["security_protocol"] == "SASL_SSL"
    assert applied["client"]["sasl_plain_username"] == env.get("ADMIN_KAFKA_USERNAME", "admin")
    assert applied["passwords"] == {name: env[f"{name.upper()}_KAFKA_PASSWORD"] for name in SERVICES}
    assert applied["acls"] == acls_module.service_acls()


def test_compose_setup_job_applies_topics_users_and_acls(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    job = compose()["services"]["kafka-setup"]
    assert job["command"] == ["python", "-m", "infra.local.acls"]
    assert job["secrets"] == ["kafka-ca"]
    env = {k: str(v) for k, v in job["environment"].items()}
    assert env["ADMIN_KAFKA_PASSWORD"] == compose()["services"]["kafka"]["environment"][
        "KAFKA_ADMIN_PASSWORD"]
    assert_applies_acls_json(run_setup(env, monkeypatch, tmp_path), env, replication=1)


def test_k8s_setup_job_applies_topics_users_and_acls(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    pod = k8s_object("Job", "tsunagu-kafka-setup")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "infra.local.acls"]
    assert container["envFrom"] == [{"configMapRef": {"name": "tsunagu-config"}}]
    assert_kafka_ca_mounted(pod, container)
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert secrets == {"ADMIN_KAFKA_PASSWORD": {"name": "tsunagu-kafka-admin", "key": "password"},
                       **{f"{n.upper()}_KAFKA_PASSWORD": {"name": f"tsunagu-{n}-kafka", "key": "password"}
                          for n in SERVICES}}
    env = {**k8s_object("ConfigMap", "tsunagu-config")["data"],
           **{e["name"]: e.get("value", f"<{e['name']}>") for e in container["env"]}}
    assert_applies_acls_json(run_setup(env, monkeypatch, tmp_path), env, replication=3)


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
            append_only = table in ("audit_events", "audit_links")
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
    # Of infra/, what the kafka-setup job imports and reads, and nothing else: not the dev IdP.
    infra = {c for c in copied if c.startswith("infra")}
    assert infra == {"infra/__init__.py", "infra/local/", "infra/kafka/topics.json"}, infra
    assert "COPY infra/kafka/topics.json infra/kafka/acls.json infra/kafka/" in text
    assert str(TOPICS_FILE.relative_to(ROOT)) in infra
    assert not copied & {".", "./", "infra/", "infra/idp/"}, copied
    for keyword, rest in instructions:
        if keyword in {"ARG", "ENV"}:
            assert not re.search(r"(?i)password|secret|token", rest), rest
