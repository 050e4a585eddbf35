"""The real service (`bot.app.Service`, wired as `linli run` wires it) in front of the Node peer.

The people, the room and the org are those of config/example-org.yaml: 时代城3栋业主群 (``20001@chatroom``)
is bound to 时代城3栋, whose 楼长 is 李杏珊.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.app import Service, default_adapters
from config.settings import Settings
from tests.harness import running
from tests.wechaty.conftest import fast_settings
from tests.wechaty.peer import Event, Peer

ROOM = "20001@chatroom"  # bound to 时代城3栋 (sdc-3) in config/example-org.yaml
RESIDENT = "c-wang"  # 王阿姨: not in the org, like most residents
LEADER = "wxid_li21"  # 李杏珊, 党员楼长 of 时代城3栋
OTHER_LEADER = "wxid_liang22"  # 梁伟明, 楼长 of 时代城1栋: not responsible for 3栋's tickets
BRANCH = "wxid_tan11"  # 谭丽娟, 时代城小区党支部书记
COMMITTEE = ("wxid_chen01", "wxid_huang02")  # 社区党委
NAMES = {
    RESIDENT: "王阿姨",
    LEADER: "李杏珊",
    OTHER_LEADER: "梁伟明",
    BRANCH: "谭丽娟",
    COMMITTEE[0]: "陈志华",
    COMMITTEE[1]: "黄敏",
}

# Independent of the hour the tests run at: no quiet hours holding the leaders' notices, and the
# real-clock deadline sweep kept out of the way (tests drive the sweep with a fixed clock).
SCHEDULE: dict[str, Any] = {"quiet_hours": {"enabled": False, "start": "22:00", "end": "08:00"}, "sweep_seconds": 3600}


@contextlib.asynccontextmanager
async def running_service(
    peer: Peer, tmp_path: Path, *, schedule: dict[str, Any] | None = None, **wechaty: Any
) -> AsyncIterator[Service]:
    """The example org's people and room on the peer, and the service connected to it."""
    for contact_id, name in NAMES.items():
        await peer.contact(contact_id, name)
    await peer.room(ROOM, "时代城3栋业主群", [RESIDENT, LEADER, OTHER_LEADER])
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}",
        wechaty=fast_settings(peer.endpoint, **wechaty),
        schedule=SCHEDULE | (schedule or {}),
    )
    async with running(settings, default_adapters(settings)) as it:
        yield it.service


def to(peer: Peer, conversation: str, since: int = 0) -> list[Event]:
    """What the bot sent to one conversation (a room, or a contact for DMs), from event ``since`` on."""
    return [e for e in peer.events[since:] if e["event"] == "sent" and e["conversation"] == conversation]


async def next_to(peer: Peer, conversation: str, since: int, within: float = 15.0) -> Event:
    """Wait for the bot's first message to ``conversation`` after event ``since``."""
    return await peer.wait_for(
        lambda e: e["event"] == "sent" and e["conversation"] == conversation, within=within, since=since
    )
