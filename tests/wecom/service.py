"""linli's real service on the WeCom fakes: store, pipeline, outbox, scheduler and HTTP server on 127.0.0.1.

Shared by the end-to-end tests: callbacks are encrypted by wechatpy and posted to the service's own
HTTP server; the outbox delivers through the WeCom adapter to ``FakeWeCom``. ``clock`` fixes the time
the pipeline stamps on what it stores, so that the deadline sweep and the digest can be driven at
chosen instants through ``service.scheduler`` instead of waiting.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.adapters.base import Adapter
from bot.adapters.wecom.adapter import WeComAdapter
from bot.pipeline import FeedResult
from config.schedule import ScheduleSettings
from config.settings import AdminSettings, HttpSettings, Settings
from storage.models import Ticket
from tests import harness
from tests.wecom.conftest import settings_for
from tests.wecom.fake_api import FakeWeCom
from tests.wecom.fake_ws import ManualTime

ORG = Path(__file__).resolve().parents[2] / "config" / "example-org.yaml"
GROUP = "wrkSFfCgAAjiangjingA"  # 江景花园A座服务群, leaders 周建国 (ZhouJianGuo) and 吴丽萍 (WuLiPing)
GROUP_HOOK = "hook-jjhy-a"
MEMBERS = frozenset({"ZhouJianGuo", "WuLiPing", "MaiGuoQiang", "ChenZhiHua", "HuangMin", "resident1"})
"""The example org's WeCom userids the fake knows: leaders of 江景花园A座, its branch secretary, the committee."""


AWAKE = ScheduleSettings.model_validate({"quiet_hours": {"enabled": False, "start": "22:00", "end": "08:00"}})
"""Tests on the real clock pass at any hour: no quiet hours holding the leaders' notices."""


@dataclass
class Running(harness.Running):
    adapter: WeComAdapter
    fake: FakeWeCom

    async def post(self, path: str, query: str, body: bytes) -> int:
        async with aiohttp.ClientSession() as http, http.post(f"{self.base}{path}?{query}", data=body) as r:
            return r.status

    async def callback(self, path: str, query: str, body: bytes) -> FeedResult:
        """Post one callback, wait until the pipeline has handled it and the outbox has sent its replies."""
        before = len(self.results)
        assert await self.post(path, query, body) == 200
        await self.until(lambda: len(self.results) > before)
        result = self.results[before]
        await self.delivered(result)
        return result

    async def ticket(self, ticket_id: int) -> Ticket:
        return await harness.ticket(self.service, ticket_id)

    @staticmethod
    def unix_now() -> int:
        return int(datetime.now(UTC).timestamp())


@contextlib.asynccontextmanager
async def run_service(
    fake: FakeWeCom,
    tmp_path: Path,
    *,
    clock: Callable[[], datetime] | None = None,
    org: Path = ORG,
    schedule: ScheduleSettings | None = None,
    webhooks: Mapping[str, str] | None = None,
    extra_adapters: Sequence[Adapter] = (),
    **wecom_overrides: Any,
) -> AsyncIterator[Running]:
    """linli's real service (store, pipeline, outbox, HTTP server) with the WeCom adapter on the fakes.

    ``webhooks`` (chatid → key) are added to 江景花园A座's and made known to the fake.
    """
    fake.members |= MEMBERS
    hooks = {GROUP: GROUP_HOOK, **(webhooks or {})}
    fake.webhook_keys |= set(hooks.values())
    wecom = settings_for(fake, **{"webhooks": {c: SecretStr(k) for c, k in hooks.items()}, **wecom_overrides})
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}",
        org_file=org,
        http=HttpSettings(host="127.0.0.1", port=0),
        admin=AdminSettings(port=0),
        wecom=wecom,
        schedule=schedule or AWAKE,
    )
    adapter_clock: dict[str, Any] = {"now": clock} if clock is not None else {}
    adapter = WeComAdapter(wecom, ws_sleep=ManualTime().sleep, **adapter_clock)
    async with harness.running(settings, [adapter, *extra_adapters], org=org, http=True, clock=clock) as it:
        yield Running(it.service, it.sent, adapter, fake)
