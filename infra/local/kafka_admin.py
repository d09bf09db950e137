"""The admin requests aiokafka's admin client lacks: SCRAM users and ACLs.

aiokafka 0.14 has no ACL or SCRAM methods (and its own ACL structs stop at v1, older than Kafka 4
accepts), so the requests are declared here in aiokafka's protocol classes, in flexible versions
Kafka 4.1 speaks: CreateAcls v2-v3, DescribeAcls v2, DeleteAcls v2, AlterUserScramCredentials
v0. Doing this in Python spares a JVM start (2-4 s) per principal.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

# Kafka's enum codes (org.apache.kafka.common.acl / resource).
ANY = 1
TOPIC, GROUP, TRANSACTIONAL_ID = 2, 3, 5
LITERAL, PREFIXED = 3, 4
READ, WRITE, CREATE = 3, 4, 5
ALLOW = 3
SCRAM_SHA_512 = 2
ITERATIONS = 4096  # Kafka's minimum for SCRAM-SHA-512


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW binding on a resource named exactly (or, PREFIXED, by its start), from any host."""

    principal: str  # e.g. User:intake
    resource_type: int  # TOPIC, GROUP or TRANSACTIONAL_ID
    resource: str
    operation: int  # READ, WRITE (each implies DESCRIBE) or CREATE
    pattern: int = LITERAL

    @property
    def row(self) -> Binding:
        return (self.resource_type, self.resource, self.pattern, self.principal, "*",
                self.operation, ALLOW)


# (resource type, resource name, pattern type, principal, host, operation, permission): one
# binding as the broker reports it, whatever its kind.
Binding = tuple[int, str, int, str, str, int, int]


class _CreateAclsResponseV2(Response):  # type: ignore[misc]
    API_KEY = 30
    API_VERSION = 2
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", CompactArray(("error_code", Int16), ("error_message", CompactString("utf-8")),
                                 ("tags", TaggedFields))),
        ("tags", TaggedFields))


class _CreateAclsResponseV3(_CreateAclsResponseV2):
    API_VERSION = 3


_CREATIONS = Schema(
    ("creations", CompactArray(
        ("resource_type", Int8), ("resource_name", CompactString("utf-8")),
        ("resource_pattern_type", Int8), ("principal", CompactString("utf-8")),
        ("host", CompactString("utf-8")), ("operation", Int8), ("permission_type", Int8),
        ("tags", TaggedFields))),
    ("tags", TaggedFields))


class _CreateAclsV2(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 30
    API_VERSION = 2
    RESPONSE_TYPE = _CreateAclsResponseV2
    SCHEMA = _CREATIONS


# v3 adds the USER resource type, not a field
class _CreateAclsV3(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 30
    API_VERSION = 3
    RESPONSE_TYPE = _CreateAclsResponseV3
    SCHEMA = _CREATIONS


class _CreateAcls(Request[_CreateAclsV2 | _CreateAclsV3]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, bindings: Iterable[Binding]) -> None:
        self._rows: list[tuple[Any, ...]] = [(*b, {}) for b in bindings]

    def build(self, request_struct_class: type[_CreateAclsV2 | _CreateAclsV3]
              ) -> _CreateAclsV2 | _CreateAclsV3:
        return request_struct_class(self._rows, {})


_STR = CompactString("utf-8")
_FILTER = (("resource_type_filter", Int8), ("resource_name_filter", _STR),
           ("pattern_type_filter", Int8), ("principal_filter", _STR), ("host_filter", _STR),
           ("operation", Int8), ("permission_type", Int8))


class _DescribeAclsResponseV2(Response):  # type: ignore[misc]
    API_KEY = 29
    API_VERSION = 2
    SCHEMA = Schema(
        ("throttle_time_ms", Int32), ("error_code", Int16), ("error_message", _STR),
        ("resources", CompactArray(
            ("resource_type", Int8), ("resource_name", _STR), ("pattern_type", Int8),
            ("acls", CompactArray(("principal", _STR), ("host", _STR), ("operation", Int8),
                                  ("permission_type", Int8), ("tags", TaggedFields))),
            ("tags", TaggedFields))),
        ("tags", TaggedFields))


class _DescribeAclsV2(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 29
    API_VERSION = 2
    RESPONSE_TYPE = _DescribeAclsResponseV2
    SCHEMA = Schema(*_FILTER, ("tags", TaggedFields))


class _DescribeAcls(Request[_DescribeAclsV2]):  # type: ignore[misc]
    API_KEY = 29

    def __init__(self, principal: str) -> None:
        self._principal = principal

    def build(self, request_struct_class: type[_DescribeAclsV2]) -> _DescribeAclsV2:
        return request_struct_class(ANY, None, ANY, self._principal, None, ANY, ANY, {})


class _DeleteAclsResponseV2(Response):  # type: ignore[misc]
    API_KEY = 31
    API_VERSION = 2
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("filter_results", CompactArray(
            ("error_code", Int16), ("error_message", _STR),
            ("matching_acls", CompactArray(
                ("error_code", Int16), ("error_message", _STR), ("resource_type", Int8),
                ("resource_name", _STR), ("pattern_type", Int8), ("principal", _STR),
                ("host", _STR), ("operation", Int8), ("permission_type", Int8),
                ("tags", TaggedFields))),
            ("tags", TaggedFields))),
        ("tags", TaggedFields))


class _DeleteAclsV2(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 31
    API_VERSION = 2
    RESPONSE_TYPE = _DeleteAclsResponseV2
    SCHEMA = Schema(("filters", CompactArray(*_FILTER, ("tags", TaggedFields))),
                    ("tags", TaggedFields))


class _DeleteAcls(Request[_DeleteAclsV2]):  # type: ignore[misc]
    API_KEY = 31

    def __init__(self, bindings: Iterable[Binding]) -> None:
        # Exact filters: each matches its own binding and nothing else.
        self._rows: list[tuple[Any, ...]] = [(*b, {}) for b in bindings]

    def build(self, request_struct_class: type[_DeleteAclsV2]) -> _DeleteAclsV2:
        return request_struct_class(self._rows, {})


class _AlterScramResponseV0(Response):  # type: ignore[misc]
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", CompactArray(("user", CompactString("utf-8")), ("error_code", Int16),
                                 ("error_message", CompactString("utf-8")), ("tags", TaggedFields))),
        ("tags", TaggedFields))


class _AlterScramV0(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterScramResponseV0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8),
                                   ("tags", TaggedFields))),
        ("upsertions", CompactArray(
            ("name", CompactString("utf-8")), ("mechanism", Int8), ("iterations", Int32),
            ("salt", CompactBytes), ("salted_password", CompactBytes), ("tags", TaggedFields))),
        ("tags", TaggedFields))


class _AlterScram(Request[_AlterScramV0]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, users: Mapping[str, str]) -> None:
        self._rows: list[tuple[Any, ...]] = []
        for name, password in users.items():
            # The broker stores keys derived from the salted password, never the password.
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
            self._rows.append((name, SCRAM_SHA_512, ITERATIONS, salt, salted, {}))

    def build(self, request_struct_class: type[_AlterScramV0]) -> _AlterScramV0:
        return request_struct_class([], self._rows, {})


async def _send(admin: AIOKafkaAdminClient, request: Request[Any]) -> Any:
    # One broker in development; in a cluster the broker forwards both requests to the controller.
    return await admin._send_request(request)  # aiokafka's only raw-request door


def _raise_errors(what: str, results: Iterable[Any]) -> None:
    errors = [f"{what}: {for_code(r['error_code']).__name__} {r['error_message'] or ''}".strip()
              for r in results if r["error_code"]]
    if errors:
        raise RuntimeError("; ".join(errors))


async def upsert_scram_users(admin: AIOKafkaAdminClient, users: Mapping[str, str]) -> None:
    """Create or reset the SCRAM-SHA-512 credential of each user (idempotent)."""
    if users:
        response = await _send(admin, _AlterScram(users))
        _raise_errors("SCRAM credentials", response.to_object()["results"])


async def acls_of(admin: AIOKafkaAdminClient, principal: str) -> set[Binding]:
    """Every binding the broker holds for `principal` (e.g. User:intake)."""
    response = (await _send(admin, _DescribeAcls(principal))).to_object()
    _raise_errors("describing ACLs", [response])
    return {(r["resource_type"], r["resource_name"], r["pattern_type"], a["principal"], a["host"],
             a["operation"], a["permission_type"])
            for r in response["resources"] for a in r["acls"]}


async def create_acls(admin: AIOKafkaAdminClient, bindings: Iterable[Binding]) -> None:
    """Create the bindings; the broker ignores one that already exists (idempotent)."""
    rows = sorted(set(bindings))
    if rows:
        response = await _send(admin, _CreateAcls(rows))
        _raise_errors("ACLs", response.to_object()["results"])


async def delete_acls(admin: AIOKafkaAdminClient, bindings: Iterable[Binding]) -> None:
    rows = sorted(set(bindings))
    if rows:
        response = await _send(admin, _DeleteAcls(rows))
        _raise_errors("deleting ACLs", response.to_object()["filter_results"])


async def started_admin(client: Mapping[str, Any], timeout: float = 60.0) -> AIOKafkaAdminClient:
    """An admin client, started once the broker answers (it may still be starting)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(**client, request_timeout_ms=15000)
        try:
            await admin.start()
            return admin
        except Exception:
            await admin.close()
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def wait_granted(client: Mapping[str, Any], topic: str, timeout: float = 15.0) -> None:
    """Wait until `client` authenticates and sees `topic`: users and ACLs reach the broker's
    caches through the metadata log a moment after the controller answered."""
    deadline = asyncio.get_running_loop().time() + timeout
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # refusals are expected for a moment
    try:
        while True:
            admin = AIOKafkaAdminClient(**client, request_timeout_ms=5000)
            try:
                await admin.start()
                if topic in await admin.list_topics():  # metadata lists authorised topics only
                    return
            except Exception:
                if asyncio.get_running_loop().time() > deadline:
                    raise
            finally:
                await admin.close()
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic} not granted within {timeout:.0f}s")
            await asyncio.sleep(0.2)
    finally:
        quiet.setLevel(level)
