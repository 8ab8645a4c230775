"""Fuzzing the served OpenAPI schema: no 5xx, and every response matches the schema.

Each operation of the schema the server serves at /openapi.json gets its own bounded
Hypothesis run (positive and negative examples) against a live server on 127.0.0.1;
schemathesis' checks validate every response: status documented, content type, body schema,
no server error, auth enforced. Not "negative data rejected": over the wire every query value
is a string, so a generated non-string channel filter arrives as a valid one, and the test's
own bearer header replaces the generated Authorization header.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import negative_data_rejection

from slack_batcher import ManualClock
from slack_batcher.http import create_app
from slack_batcher.testing import FakeSlack
from tests.test_http_harness import AUTH, LiveServer, make_service, server_settings


def _openapi() -> dict[str, Any]:
    """The schema the app serves (built once to parametrize; checked against the served one)."""
    with FakeSlack() as slack:
        service = make_service(slack, ManualClock())
        try:
            schema: dict[str, Any] = create_app(service, settings=server_settings()).openapi()
        finally:
            service.batcher.close()
    return schema


OPENAPI = _openapi()
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with LiveServer() as server:
        yield server


def test_the_served_schema_is_the_one_fuzzed(live: LiveServer) -> None:
    served = httpx.get(f"{live.url}/openapi.json").json()
    assert served == OPENAPI
    assert {"/v1/messages", "/metrics", "/healthz", "/readyz"} <= set(served["paths"])


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_conforms_to_its_schema_for_any_input(live: LiveServer, label: str) -> None:
    operation = OPERATIONS[label]
    strategy = st.one_of(
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=live.url, headers=AUTH, excluded_checks=[negative_data_rejection]
        )

    run()
