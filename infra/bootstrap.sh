#!/usr/bin/env bash
# Install what a fresh machine of this project's kind lacks. Idempotent: each step checks first.
#  - PostgreSQL (server + contrib for pg_trgm) from Debian's packages
#  - the Python virtual environment from requirements.txt (the one pinned list)
#  - Apache Kafka's jars from Maven Central into .cache/kafka/<version>/lib
#  - Zipkin's server (the trace viewer) from Maven Central into .cache/zipkin/<version>
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' infra/kafka/pom.xml)
KAFKA_LIB=.cache/kafka/$KAFKA_VERSION/lib
ZIPKIN_VERSION=$(sed -n 's:.*<zipkin.version>\(.*\)</zipkin.version>.*:\1:p' infra/zipkin/pom.xml)
ZIPKIN_LIB=.cache/zipkin/$ZIPKIN_VERSION

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
   || ! ls /usr/share/postgresql/*/extension/pg_trgm.control >/dev/null 2>&1; then
  echo "bootstrap: installing PostgreSQL from Debian's packages"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
fi

if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  echo "bootstrap: installing a JDK and Maven from Debian's packages"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
fi

if [ ! -f "$KAFKA_LIB/.complete" ]; then
  echo "bootstrap: fetching Apache Kafka $KAFKA_VERSION jars from Maven Central"
  rm -rf "$KAFKA_LIB"; mkdir -p "$KAFKA_LIB"
  mvn -q -B -f infra/kafka/pom.xml dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$ROOT/$KAFKA_LIB"
  touch "$KAFKA_LIB/.complete"
fi

if [ ! -f "$ZIPKIN_LIB/.complete" ]; then
  echo "bootstrap: fetching Zipkin's server $ZIPKIN_VERSION from Maven Central"
  rm -rf "$ZIPKIN_LIB"; mkdir -p "$ZIPKIN_LIB"
  mvn -q -B -f infra/zipkin/pom.xml dependency:copy-dependencies -DoutputDirectory="$ROOT/$ZIPKIN_LIB"
  touch "$ZIPKIN_LIB/.complete"
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
if ! cmp -s requirements.txt .venv/.requirements.txt; then
  echo "bootstrap: installing Python packages from requirements.txt"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  cp requirements.txt .venv/.requirements.txt
fi
