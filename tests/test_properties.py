"""Generated requests, valid and invalid, against every operation of every service's OpenAPI
document (schemathesis), with a valid staff token: the server never fails (no 5xx) and every
documented answer matches its schema (a 422 included: problem+json naming the fields)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance

from infra.local.catalog import SERVICES, STREAM_SERVICES
from infra.local.stack import Stack
from tests.helpers import bearer

EXAMPLES = 6  # per operation and mode: the suite stays lean; a run draws new ones
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.mark.parametrize("service", SERVICES)
def test_generated_requests_never_fail_the_server(stack: Stack, service: str) -> None:
    if service in STREAM_SERVICES:  # the suite starts a stream processor where it is used
        stack.start_service(service)
    base = stack.url(service)
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    headers = bearer(stack.token("w-kaigo"))
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            def holds(case: Case[Any]) -> None:
                case.call_and_validate(base_url=base, headers=headers, checks=CHECKS, timeout=30)

            try:
                holds()
            except Unsatisfiable:  # nothing to get wrong: the operation takes no input
                assert mode is GenerationMode.NEGATIVE, operation.label
