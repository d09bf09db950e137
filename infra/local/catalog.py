"""The services and their fixed local ports (documented in the README)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
RUN = ROOT / ".run"

KAFKA_VERSION = "4.1.1"
KAFKA_LIB = CACHE / "kafka" / KAFKA_VERSION / "lib"
ZIPKIN_VERSION = "3.5.1"  # infra/zipkin/pom.xml
ZIPKIN_JAR = CACHE / "zipkin" / ZIPKIN_VERSION / f"zipkin-server-{ZIPKIN_VERSION}-exec.jar"

SERVICES: dict[str, int] = {
    "intake": 8001,
    "referral": 8002,
    "meetings": 8003,
    "plans": 8004,
    "outreach": 8005,
    "notifications": 8006,
    "statistics": 8007,
}
# Stream processors (faust): no inbox, so no views of consents, meetings or the directory, and
# no person id anywhere; the test stack starts them only for the tests that use them.
STREAM_SERVICES = frozenset({"statistics"})

KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
ZIPKIN_PORT = 9411  # the trace viewer: http://localhost:9411/zipkin/
IDP_PORT = 8009  # the development identity provider (JWKS)
POSTGRES_PORT = 55432  # not 5432: a Debian cluster may already listen there
MUNICIPALITY_CODE = "132187"  # 福生市 (全国地方公共団体コード)
