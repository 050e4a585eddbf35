"""/metrics in the Prometheus text format (prometheus-client), read from the database at each scrape.

- ``linli_messages_total{platform,kind}``: inbound messages stored (counted from the database once, then
  only the rows added since the last scrape, so a scrape stays cheap however long the history);
- ``linli_tickets{state}``: tickets by state now;
- ``linli_deadline_notices_total{action}``: reminders and escalations the deadline sweep recorded;
- ``linli_outbox_backlog{platform}``, ``linli_outbox_failed_total{platform}``: what waits to be sent, and
  what was given up (``linli_outbox_unknown_total``: caught mid-send by a crash);
- ``linli_classifier_seconds``: a histogram of the classifier's time per message;
- ``linli_adapter_connected{platform}``: 1 when the platform's connection is up.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nlp.decision import Classifier, Decision
from storage.models import Message, OutboxItem, OutboxStatus, Ticket, TicketReminder, TicketState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
StatusFn = Callable[[], dict[str, object]]


class TimedClassifier:
    """The live classifier, timed into the histogram; otherwise the same object to the pipeline."""

    def __init__(self, inner: Classifier, histogram: Histogram) -> None:
        self.inner = inner
        self.histogram = histogram

    def classify(self, text: str) -> Decision:
        start = time.perf_counter()
        try:
            return self.inner.classify(text)
        finally:
            self.histogram.observe(time.perf_counter() - start)


class Metrics(Collector):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], status: StatusFn) -> None:
        self.sessions = sessions
        self.status = status
        self.registry = CollectorRegistry()
        self.classifier_seconds = Histogram(
            "linli_classifier_seconds",
            "Time the classifier takes for one message.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        self._messages: Counter[tuple[str, str]] = Counter()
        self._last_message_id = 0
        self._snapshot: dict[str, Any] = {}
        self.registry.register(self)

    def timed(self, classifier: Classifier) -> TimedClassifier:
        return TimedClassifier(classifier, self.classifier_seconds)

    async def refresh(self) -> None:
        async with self.sessions() as session:
            rows = await session.execute(
                select(Message.platform, Message.kind, func.count(), func.max(Message.id))
                .where(Message.id > self._last_message_id)
                .group_by(Message.platform, Message.kind)
            )
            for platform, kind, count, highest in rows.all():
                self._messages[(platform, kind or "unclassified")] += int(count)
                self._last_message_id = max(self._last_message_id, int(highest))
            states = dict((await session.execute(select(Ticket.state, func.count()).group_by(Ticket.state))).all())
            notices = dict(
                (
                    await session.execute(select(TicketReminder.action, func.count()).group_by(TicketReminder.action))
                ).all()
            )
            outbox = (
                await session.execute(
                    select(OutboxItem.status, OutboxItem.platform, func.count())
                    .where(
                        OutboxItem.status.in_(
                            [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED, OutboxStatus.UNKNOWN]
                        )
                    )
                    .group_by(OutboxItem.status, OutboxItem.platform)
                )
            ).all()
        self._snapshot = {"states": states, "notices": notices, "outbox": outbox, "status": self.status()}

    def collect(self) -> Iterator[Metric]:
        messages = CounterMetricFamily("linli_messages", "Inbound messages stored.", labels=["platform", "kind"])
        for (platform, kind), count in sorted(self._messages.items()):
            messages.add_metric([platform, kind], count)
        yield messages
        tickets = GaugeMetricFamily("linli_tickets", "Tickets by state.", labels=["state"])
        states = self._snapshot.get("states", {})
        for state in TicketState:
            tickets.add_metric([state.value], int(states.get(state.value, 0)))
        yield tickets
        notices = CounterMetricFamily(
            "linli_deadline_notices", "Reminders and escalations recorded by the deadline sweep.", labels=["action"]
        )
        for action, count in sorted(self._snapshot.get("notices", {}).items()):
            notices.add_metric([str(action)], int(count))
        yield notices
        backlog = GaugeMetricFamily("linli_outbox_backlog", "Outbox items waiting or being sent.", labels=["platform"])
        failed = CounterMetricFamily("linli_outbox_failed", "Outbox items given up after retries.", labels=["platform"])
        unknown = CounterMetricFamily(
            "linli_outbox_unknown", "Outbox items caught mid-send by a stop.", labels=["platform"]
        )
        waiting: Counter[str] = Counter()
        for status, platform, count in self._snapshot.get("outbox", []):
            if status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
                waiting[platform] += int(count)
            elif status == OutboxStatus.FAILED:
                failed.add_metric([platform], int(count))
            else:
                unknown.add_metric([platform], int(count))
        adapters = self._snapshot.get("status", {}).get("adapters", {})
        for platform in sorted(set(waiting) | set(adapters)):
            backlog.add_metric([platform], waiting.get(platform, 0))
        yield from (backlog, failed, unknown)
        connected = GaugeMetricFamily(
            "linli_adapter_connected", "1 when the platform is connected.", labels=["platform"]
        )
        for platform, health in sorted(adapters.items()):
            connected.add_metric([platform], 1.0 if isinstance(health, dict) and health.get("connected", True) else 0.0)
        yield connected


METRICS_KEY: web.AppKey[Metrics] = web.AppKey("linli_metrics", Metrics)


async def metrics_handler(request: web.Request) -> web.Response:
    metrics = request.app[METRICS_KEY]
    await metrics.refresh()
    return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE})
