"""infra/kafka/acls.json says what each service does on the broker: it must agree with the code.

Reads: the topics of the handlers the service registers (kit/views.py + its handlers.py).
Writes: the stream of the events contracts.registry gives it, access.events, its dead letters.
"""

from __future__ import annotations

from importlib import import_module

import pytest

from contracts.registry import SHARED_TOPIC, SPECS, spec_for, topics
from infra.local.acls import declared, service_acls, streams
from infra.local.catalog import SERVICES, STREAM_SERVICES
from infra.local.kafka_admin import GROUP, LITERAL, PREFIXED, READ, TOPIC, TRANSACTIONAL_ID, WRITE
from infra.local.topics import declared as declared_topics
from kit import views
from kit.kafka import views_group


def consumed(service: str) -> list[str]:
    handlers = {**views.HANDLERS, **import_module(f"services.{service}.handlers").HANDLERS}
    return sorted({spec_for(model).topic for model in handlers})


def produced(service: str) -> list[str]:
    return sorted({s.topic for s in SPECS if s.service == service} | {SHARED_TOPIC,
                                                                      f"{service}.dlt"})


def test_every_service_and_no_one_else_has_acls() -> None:
    assert declared().keys() == SERVICES.keys()


@pytest.mark.parametrize("service", sorted(SERVICES.keys() - STREAM_SERVICES))
def test_a_service_reads_what_it_consumes_and_writes_what_it_produces(service: str) -> None:
    grants = declared()[service]
    assert sorted(grants["read"]) == consumed(service)
    assert sorted(grants["write"]) == produced(service)


def test_every_topic_granted_is_declared() -> None:
    topics = {t["name"] for t in declared_topics()}
    for grants in declared().values():
        assert set(grants["read"]) | set(grants["write"]) <= topics


def test_each_service_gets_its_own_group_and_nothing_else() -> None:
    acls = service_acls()
    for service in SERVICES.keys() - STREAM_SERVICES:
        mine = [a for a in acls if a.principal == f"User:{service}"]
        assert {(a.resource_type, a.resource, a.operation) for a in mine if a.resource_type == GROUP} \
            == {(GROUP, service, READ), (GROUP, views_group(service), READ)}
        assert {a.resource_type for a in mine} == {TOPIC, GROUP}
        writes = {a.resource for a in mine if a.operation == WRITE}
        assert writes == set(produced(service))
        assert not [w for w in writes if w.split(".")[0] not in {service, "access"}], writes


@pytest.mark.parametrize("service", sorted(STREAM_SERVICES))
def test_a_stream_processor_reads_every_stream_writes_none_and_owns_only_its_prefix(service: str) -> None:
    assert sorted(declared()[service]["read"]) == topics()  # every *.events the contracts name
    assert declared()[service]["write"] == []
    prefix = streams()[service]
    mine = [a for a in service_acls() if a.principal == f"User:{service}"]
    assert not [a for a in mine if a.pattern == LITERAL and a.operation != READ]
    owned = [a for a in mine if a.pattern == PREFIXED]
    assert {a.resource_type for a in owned} == {TOPIC, GROUP, TRANSACTIONAL_ID}
    assert all(a.resource.startswith(prefix) for a in owned)
    # ...and its prefix names no other service's topics, groups or transactions.
    assert not [s for s in SERVICES if s != service and s.startswith(prefix)]
