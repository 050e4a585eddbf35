"""/metrics, read back with prometheus-client's own parser of the text format."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.web.metrics import Metrics
from nlp.decision import Decision, Domain, Kind
from storage.models import OutboxItem
from tests.desk.conftest import World

Client = TestClient[Any, Any]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_count_messages_tickets_and_the_outbox(client: Client, world: World) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    got = samples(await response.text())
    assert got[("linli_messages_total", (("kind", "trivial"), ("platform", "sim")))] == 4
    assert got[("linli_messages_total", (("kind", "major"), ("platform", "sim")))] == 2
    assert got[("linli_tickets", (("state", "assigned"),))] == 6
    assert got[("linli_tickets", (("state", "closed"),))] == 0
    async with world.store.sessions() as session:
        pending = await session.scalar(select(func.count()).select_from(OutboxItem))
    assert got[("linli_outbox_backlog", (("platform", "sim"),))] == pending
    # A second scrape counts only what arrived since: nothing new, the same figures.
    again = samples(await (await client.get("/metrics")).text())
    assert again[("linli_messages_total", (("kind", "trivial"), ("platform", "sim")))] == 4


async def test_the_classifier_histogram_and_adapter_state(world: World) -> None:
    status = {"ok": False, "adapters": {"wecom": {"connected": False}, "sim": {"connected": True}}}
    metrics = Metrics(world.store.sessions, lambda: status)

    class Fixed:
        def classify(self, text: str) -> Decision:
            return Decision(Kind.NOISE, False, Domain.OTHER, 1.0, ())

    timed = metrics.timed(Fixed())
    for _ in range(3):
        assert timed.classify("收到").kind is Kind.NOISE
    await metrics.refresh()
    got = samples(generate_latest(metrics.registry).decode())
    assert got[("linli_classifier_seconds_count", ())] == 3
    assert got[("linli_adapter_connected", (("platform", "wecom"),))] == 0
    assert got[("linli_adapter_connected", (("platform", "sim"),))] == 1
