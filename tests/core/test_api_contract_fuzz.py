"""The API keeps its published contract (issue #14): schemathesis reads the live schema from /api/schema/ and sends
generated requests to every operation through Django's WSGI application, in process, for each persona and
anonymously, on the demo portfolio. No answer may be a server error, carry a status code its operation does not
declare, or have a body or content type outside what it declares.

Path parameters are generated, and half the time are identifiers the API itself lists (so reads and writes reach
real objects, in and out of the caller's scope). Bounded so `make test` stays well inside CI's limit: a fixed number
of examples per operation, a fixed seed (derandomize), no shrinking, and a time budget per caller past which each
remaining operation gets one example. Writes are real; the module's data is rolled back at its end. The requests
made per caller are printed at the end of the session."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.api_contract import CHECKS, PERSONAS, REQUESTS, load_schema, seed_demo_with_tokens, token_header

CALLERS = ("anonymous", *PERSONAS)
# Examples per operation; an anonymous caller meets the same 401 everywhere, so fewer tell as much.
EXAMPLES = {"anonymous": 3}
DEFAULT_EXAMPLES = 6
# Seconds per caller after which each remaining operation gets a single example (the whole suite must stay
# well under CI's 20 minutes; six callers × this is most of the fuzz's time).
BUDGET_SECONDS = 9
# Lines of each failure's report kept in the assertion message.
MESSAGE_LINES = 40
# A path parameter named otherwise than the field that lists it.
LISTED_AS = {"entry_id": "id"}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The demo portfolio and one API token per persona, seeded once for the module inside a transaction rolled
    back at its end; each test's own transaction nests in it."""
    with (
        django_db_blocker.unblock(),
        override_settings(
            VAR_DIR=tmp_path_factory.mktemp("demo"), KEEL_DEMO_MLFLOW=False, KEEL_LINEAGE_APPLY_INLINE=True
        ),
        transaction.atomic(),
    ):
        yield seed_demo_with_tokens()
        transaction.set_rollback(True)


def listed_values(schema, key: str) -> dict[str, list]:
    """For each templated path, the values of its parameter that its collection lists (as `key` sees it)."""
    client = Client(headers=token_header(key))
    values: dict[str, list] = {}
    for path in schema.raw_schema["paths"]:
        if "{" not in path:
            continue
        collection, rest = path.split("{", 1)
        name = rest.split("}", 1)[0]
        body = client.get(collection, {"page_size": 200}).json()
        rows = body.get("results", []) if isinstance(body, dict) else body
        field = LISTED_AS.get(name, name)
        values[path] = sorted({row[field] for row in rows if isinstance(row, dict) and field in row})
    return values


def strategy_for(operation, known: list):
    """Generated cases (valid and invalid input), and the same on objects that exist when some do."""
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    names = [p.name for p in operation.path_parameters]
    if known and len(names) == 1:
        for mode in modes:
            strategies.append(
                st.sampled_from(known).flatmap(
                    lambda value, mode=mode: operation.as_strategy(
                        generation_mode=mode, path_parameters={names[0]: value}
                    )
                )
            )
    return st.one_of(strategies)


@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_keeps_the_published_contract_for(caller, demo, db):
    schema = load_schema(demo["admin"])
    known = listed_values(schema, demo["admin"])
    headers = token_header(demo.get(caller))
    examples = EXAMPLES.get(caller, DEFAULT_EXAMPLES)
    deadline = time.monotonic() + BUDGET_SECONDS
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    called: Counter[str] = Counter()
    for operation in operations:

        @settings(
            max_examples=examples if time.monotonic() < deadline else min(examples, 2),
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy_for(operation, known.get(operation.path, [])))
        def run(case):
            REQUESTS[caller] += 1
            called[operation.label] += 1  # noqa: B023 - run() is called at once, in this iteration
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except (Exception, FailureGroup) as exc:  # every operation's failures are collected, then reported together
            # Schemathesis' report (the check, the answer, a curl line to reproduce), without the answer's full HTML.
            failures.append(f"{operation.label}: " + "\n".join(str(exc).splitlines()[:MESSAGE_LINES]))
    assert failures == [], "\n\n".join(failures)
    # Every operation was called, most of them several times (past the time budget, at most twice: how many
    # depends on the machine's speed, so only "every operation, at least once" is asserted).
    assert len(operations) > 80
    assert [op.label for op in operations if not called[op.label]] == []
