"""/healthz on the public port says only whether linli is well; the details (ids, endpoints, paths) are
on the admin listener, which is off unless configured and binds to 127.0.0.1 by default."""

from __future__ import annotations

import aiohttp

from bot.adapters.simulated import SimulatedAdapter
from config.settings import AdminSettings, HttpSettings, Settings
from tests.harness import running


async def _get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def test_public_healthz_shows_no_details(settings: Settings) -> None:
    settings = settings.model_copy(update={"http": HttpSettings(port=0), "admin": AdminSettings(port=0)})
    async with running(settings, [SimulatedAdapter()], http=True) as it:
        status, public = await _get(f"{it.base}/healthz")
        assert status == 200
        assert public == {"ok": True}
        assert it.service.admin_port is not None
        status, details = await _get(f"http://127.0.0.1:{it.service.admin_port}/healthz")
        assert status == 200
        assert "sim" in details["adapters"]  # type: ignore[operator]
        assert "rules" in details


async def test_the_admin_listener_is_off_unless_configured(settings: Settings) -> None:
    settings = settings.model_copy(update={"http": HttpSettings(port=0)})
    async with running(settings, [SimulatedAdapter()], http=True) as it:
        assert it.service.admin_port is None
        assert (await _get(f"{it.base}/healthz"))[1] == {"ok": True}
