"""Schema fuzzing: schemathesis generates requests from /api/v1/openapi.json, as the portal
serves it, and sends them in-process, with a full admin's token, to the real WSGI application.

Every answer must be a documented status with a body matching its schema, and never a 5xx.
Examples are bounded and derandomized, so CI sends the same requests on every run. The cases
are drawn through Hypothesis directly (APIOperation.as_strategy) rather than schemathesis'
pytest plugin, whose parametrize does not run under pytest 9.2.
"""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from portal.openapi import PATHS
from tests.factories import TokenFactory
from tokens.models import Token
from web import ratelimit
from web.models import RateLimitCount

EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 30}
OPERATIONS = [
    pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
    for path, item in PATHS.items()
    for method in item
    if method != "parameters"
]


def takes_input(method, path):
    operation = PATHS[path][method.lower()]
    return bool(PATHS[path].get("parameters") or operation.get("parameters")) or (
        "requestBody" in operation
    )


CASES = [
    pytest.param(*operation.values, mode, id=f"{operation.id} {mode.value}")
    for operation in OPERATIONS
    for mode in EXAMPLES
    # An operation that takes no input has nothing to make invalid.
    if mode == GenerationMode.POSITIVE or takes_input(*operation.values)
]


@pytest.fixture
def keep_test_transaction():
    """Requests share the test's database transaction, as Django's test client arranges:
    Django would otherwise close the connection, and lose the test data, after each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def other_ids(full_admin, operator, reader, other_tenant_admin):
    """Ids of tokens the fuzzer's token sees (its tenant's) and does not (another tenant's)."""
    owners = (full_admin, operator, reader, other_tenant_admin)
    return [
        str(token.pk) for owner in owners for token in TokenFactory.create_batch(2, owner=owner)
    ]


@pytest.fixture
def admin_secret(issue, full_admin, other_ids):
    _, secret = issue(full_admin, name="fuzzer")
    return secret


@pytest.fixture
def api_schema(keep_test_transaction):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
    # Unknown query parameters are ignored, as by most APIs; the Authorization header is the
    # test's own (a valid token), not one for schemathesis to make up or leave out.
    schema.config.generation.update(allow_extra_parameters=False, with_security_parameters=False)
    return schema


def within_one_rule_the_schema_cannot_state(case):
    """since <= until: the audit filters refuse a backwards range with 400 (tested in
    test_bad_input.py), which JSON Schema cannot express."""
    query = case.query or {}
    return not (query.get("since") and query.get("until") and query["since"] > query["until"])


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_every_generated_request_gets_a_documented_answer(
    api_schema, admin_secret, other_ids, method, path, mode
):
    operation = api_schema[path][method]
    authorization = {"Authorization": f"Token {admin_secret}"}
    cases = operation.as_strategy(generation_mode=mode)
    if mode == GenerationMode.POSITIVE:
        cases = cases.filter(within_one_rule_the_schema_cannot_state)
        if "{id}" in path:
            # Random UUIDs name no token: mix in real ones, so 200 and 204 are fuzzed too.
            cases = st.one_of(
                cases,
                st.sampled_from(other_ids).flatmap(
                    lambda token_id: operation.as_strategy(path_parameters={"id": token_id})
                ),
            )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case):
        # Fresh rate-limit counters for each example, as conftest gives each test: the checks
        # also send unauthenticated calls, and limits have tests of their own.
        cache.clear()
        ratelimit.forget()
        RateLimitCount.objects.all().delete()
        # A PATCH narrows a token's networks for good, and the API never widens them again
        # (a 400 no schema can state): each example starts from tokens usable anywhere.
        Token.objects.exclude(networks="").update(networks="")
        case.call_and_validate(headers=authorization)

    answers_as_documented()
