"""The OpenAPI file and the implementation agree: schemathesis generates requests from the spec and
checks every response (status, content type, schema) against it, on a live server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from bot.web.api import SPEC_FILE
from config.settings import Settings
from tests.desk.live import LiveServer


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("api-schema")
    server = LiveServer(Settings(database_url=f"sqlite+aiosqlite:///{tmp / 'linli.db'}"), tmp).start()
    yield server
    server.stop()


SPEC = schemathesis.openapi.from_dict(json.loads(SPEC_FILE.read_text(encoding="utf-8")))
OPERATIONS = {op.label: op for op in (result.ok() for result in SPEC.get_all_operations())}


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_answers_as_its_spec_says(label: str, live_api: LiveServer) -> None:
    token = live_api.world.tokens["chen"]
    headers = {"Authorization": f"Bearer {token}"}

    @hypothesis.given(case=OPERATIONS[label].as_strategy())
    @hypothesis.settings(
        max_examples=30, deadline=None, suppress_health_check=list(hypothesis.HealthCheck), derandomize=True
    )
    def check(case: Case) -> None:
        # Every check but "schema-valid data is accepted": a well-formed unit id that is not on the caller's
        # grid is refused with a documented 400, as the desk refuses it; a schema cannot say which ids exist.
        case.call_and_validate(
            base_url=f"{live_api.url}/api/v1", headers=headers, excluded_checks=[positive_data_acceptance]
        )

    check()


def test_the_run_covers_every_path_of_the_spec() -> None:
    assert {op.path for op in OPERATIONS.values()} == set(json.loads(SPEC_FILE.read_text(encoding="utf-8"))["paths"])
