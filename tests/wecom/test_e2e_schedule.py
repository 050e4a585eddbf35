"""End to end on a clock: deadline reminders and escalations by app message, the weekly digest by webhook.

linli's real service runs on the WeCom fakes (see ``tests/wecom/service.py``). Tickets are opened at
fixed instants through real callbacks (and, for the digest's many buildings, through the pipeline on the
simulated platform, as a personal-WeChat adapter would feed it); the scheduler's jobs are then driven
at chosen instants with ``service.scheduler.tick`` / ``run`` instead of waiting for the clock.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from bot.adapters.simulated import SimulatedAdapter
from bot.adapters.wecom.adapter import AIBOT_PATH
from bot.message import IncomingMessage, Say
from bot.texts import schedule as texts
from config.schedule import DigestSettings, ScheduleSettings
from storage.models import OutboxItem, TicketState
from tests.wecom import driver as d
from tests.wecom.fake_api import FakeWeCom
from tests.wecom.service import GROUP, GROUP_HOOK, ORG, Running, run_service

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2024, 5, 7, 10, 0, tzinfo=SHANGHAI)
"""A Tuesday and a working day (the 五一 holiday ended on the 5th), in 2024-W19."""
DIGEST_AT = datetime(2024, 5, 13, 9, 0, tzinfo=SHANGHAI)
"""The Monday after: the digest job's default time, for 2024-W19."""
GROUP_NAME = "江景花园A座服务群"
LEADERS = {"p-zhou": ("ZhouJianGuo", "周建国"), "p-wu": ("WuLiPing", "吴丽萍")}
COMMITTEE_CHAT = "wrkCommitteeBeijiang"
COMMITTEE_HOOK = "hook-committee"
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Clock:
    """The time the pipeline stamps on what it stores; the test sets it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def schedule(tmp_path: Path, **digest: object) -> ScheduleSettings:
    # The real-time sweep would first fire an hour after start: the test's ticks are the only sweeps.
    return ScheduleSettings(
        sweep_seconds=3600, digest=DigestSettings.model_validate({"out_dir": tmp_path / "digests", **digest})
    )


async def outbox_rows(running: Running) -> int:
    async with running.service.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxItem)) or 0)


async def report_in_group(running: Running, text: str, msgid: str) -> int:
    """A resident @-mentions the bot in 江景花园A座服务群; returns the ticket it opened."""
    aibot = d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, "")
    payload = d.aibot_text(
        f"@邻里小助手\u2005{text}",
        msgid=msgid,
        chatid=GROUP,
        userid="resident1",
        response_url=running.fake.new_response_url(),
    )
    result = await running.callback(AIBOT_PATH, *aibot.aibot(payload))
    [ticket_id] = result.ticket_ids
    return ticket_id


async def test_reminder_then_escalation_reach_members_by_app_message(fake: FakeWeCom, tmp_path: Path) -> None:
    """Half-way through the 4-hour accept window the 楼长 is reminded one to one; half an hour past the
    deadline the 小区党支部书记 is told. Each goes out once: a sweep at the same instant sends nothing."""
    clock = Clock(OPENED)
    async with run_service(fake, tmp_path, clock=clock, schedule=schedule(tmp_path)) as running:
        ticket_id = await report_in_group(running, "A座5楼楼道灯坏了，好几天没人修", "msg-remind")
        ticket = await running.ticket(ticket_id)
        assert (ticket.kind, ticket.state) == ("trivial", TicketState.ASSIGNED)
        leader, leader_name = LEADERS[ticket.assignee_id or ""]
        [task] = fake.texts_to(leader)
        assert f"接单 #{ticket_id}" in task
        secretary_before = list(fake.texts_to("MaiGuoQiang"))

        # trivial: accept within 4 working hours; 7 May is a working day and the whole day counts.
        deadline = OPENED + timedelta(hours=4)
        reminder = texts.remind(ticket_id, "accept", ticket.summary, GROUP_NAME, deadline, overdue=False)
        half_way = OPENED + timedelta(hours=2, minutes=1)
        await running.service.scheduler.tick(half_way)
        await running.until(lambda: reminder in fake.texts_to(leader))
        assert fake.texts_to(leader) == [task, reminder]
        assert [m.touser for m in fake.delivered if m.content == reminder] == [leader]
        assert reminder.startswith(f"【提醒】#{ticket_id}")
        assert f"（{GROUP_NAME}）" in reminder

        # The same instant again (a second process, a restart): nothing is queued, nothing sent.
        rows = await outbox_rows(running)
        await running.service.scheduler.tick(half_way)
        await running.service.outbox.drain()
        assert await outbox_rows(running) == rows
        assert fake.texts_to(leader) == [task, reminder]

        # 30 minutes past the deadline nobody has accepted: the estate's branch secretary hears of it.
        late = deadline + timedelta(minutes=31)
        escalation = texts.escalated(
            ticket_id, ticket.summary, GROUP_NAME, leader_name, "accept", deadline, assignee_left=False
        )
        await running.service.scheduler.tick(late)
        await running.until(lambda: escalation in fake.texts_to("MaiGuoQiang"))
        assert fake.texts_to("MaiGuoQiang") == [*secretary_before, escalation]
        assert escalation.startswith(f"【逾期上报】#{ticket_id}")
        assert (await running.ticket(ticket_id)).state == TicketState.ESCALATED
        # The at-deadline reminder was overtaken by the escalation; one level at a time, not the committee.
        assert fake.texts_to(leader) == [task, reminder]
        assert not any(f"#{ticket_id}" in t for t in fake.texts_to("ChenZhiHua") + fake.texts_to("HuangMin"))

        rows = await outbox_rows(running)
        await running.service.scheduler.tick(late)
        await running.service.outbox.drain()
        assert await outbox_rows(running) == rows
        assert fake.texts_to("MaiGuoQiang") == [*secretary_before, escalation]
        assert fake.dropped == []  # within WeCom's per-member budget: nothing silently lost


def big_org(tmp_path: Path, buildings: int) -> Path:
    """The example org plus an estate of ``buildings`` buildings whose groups are on personal WeChat (sim)."""
    spec = yaml.safe_load(ORG.read_text(encoding="utf-8"))
    numbers = range(1, buildings + 1)
    spec["communities"][0]["units"].append(
        {
            "id": "xc",
            "kind": "estate",
            "name": "新城花园",
            "units": [
                {
                    "id": f"xc-{n:02d}",
                    "kind": "building",
                    "name": f"新城花园东区临江第{n}栋高层住宅楼",
                    "leaders": [f"p-xc{n:02d}"],
                }
                for n in numbers
            ],
        }
    )
    spec["people"] += [
        {
            "id": f"p-xc{n:02d}",
            "name": f"新城楼长{n}",
            "role": "building_leader",
            "unit": f"xc-{n:02d}",
            "platform_ids": {"sim": f"xc-leader-{n}"},
        }
        for n in numbers
    ]
    spec["groups"] += [
        {"platform": "sim", "chat_id": f"sim-xc-{n:02d}", "name": f"新城花园{n}栋街坊群", "unit": f"xc-{n:02d}"}
        for n in numbers
    ]
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def lines(texts: list[str]) -> list[str]:
    return [line for text in texts for line in text.splitlines() if line.strip()]


async def test_weekly_digest_by_group_webhook_split_without_loss(fake: FakeWeCom, tmp_path: Path) -> None:
    """A community of over 35 buildings: its full digest is over 4096 bytes. The building's WeCom group gets
    its summary; the committee's WeCom group gets the whole digest as several markdown messages split
    between sections, then both charts as images; the committee members get it by app message."""
    sim = SimulatedAdapter()
    clock = Clock(OPENED)
    org = big_org(tmp_path, 30)
    async with run_service(
        fake,
        tmp_path,
        clock=clock,
        org=org,
        schedule=schedule(tmp_path, committee_chats=[f"wecom:{COMMITTEE_CHAT}"]),
        webhooks={COMMITTEE_CHAT: COMMITTEE_HOOK},
        extra_adapters=[sim],
    ) as running:
        ticket_id = await report_in_group(running, "A座电梯按钮失灵，按了没反应", "msg-digest")
        for n in range(1, 31):
            msg = IncomingMessage(
                platform="sim",
                chat_id=f"sim-xc-{n:02d}",
                chat_name=f"新城花园{n}栋街坊群",
                sender_id=f"xc-resident-{n}",
                sender_name=f"街坊{n}",
                text=f"{n}栋{n % 9 + 2}楼楼道灯坏了好几天，晚上黑漆漆的，麻烦楼长找人修一下",
                message_id=f"xc-report-{n}",
                time=OPENED,
            )
            assert (await running.service.receive(msg, OPENED)).ticket_ids, msg.text
        await running.service.outbox.drain()
        group_posts = len(fake.webhook_posts[GROUP_HOOK])
        chen_before = len(fake.texts_to("ChenZhiHua"))

        await running.service.scheduler.run("send_weekly_digest", DIGEST_AT)
        posts = fake.webhook_posts[COMMITTEE_HOOK]
        await running.until(lambda: sum(p["msgtype"] == "image" for p in posts) == 2)
        sim_groups = {
            g["chat_id"] for g in yaml.safe_load(org.read_text(encoding="utf-8"))["groups"] if g["platform"] == "sim"
        }

        def summaries() -> dict[str, str]:
            return {m.chat_id: m.text for m in sim.sent if isinstance(m, Say) and m.text.startswith("【一周小结")}

        await running.until(lambda: summaries().keys() == sim_groups)

        out = tmp_path / "digests" / "beijiang" / "2024-W19"
        digest = (out / "digest.md").read_text(encoding="utf-8")
        assert len(digest.encode()) > 4096  # long enough that one webhook message cannot hold it
        assert f"#{ticket_id}" in digest

        # The committee's group: markdown first, each within 4096 bytes, cut only between sections,
        # every line of digest.md there in order (nothing cut off, no "see attachment"); then the charts.
        kinds = [p["msgtype"] for p in posts]
        markdown = [p["markdown"]["content"] for p in posts if p["msgtype"] == "markdown"]
        assert kinds == ["markdown"] * len(markdown) + ["image", "image"]
        assert len(markdown) >= 2
        assert all(len(m.encode()) <= 4096 for m in markdown)
        assert markdown[0].startswith("# 北江社区 周报 2024-W19")
        assert all(m.startswith("## ") for m in markdown[1:])
        assert lines(markdown) == lines([digest])
        assert not any("从略）" in m or "附件" in m for m in markdown)
        for post, name in zip(
            [p for p in posts if p["msgtype"] == "image"], ["by_domain.png", "daily.png"], strict=True
        ):
            raw = base64.b64decode(post["image"]["base64"], validate=True)
            assert raw == (out / name).read_bytes()
            assert raw.startswith(PNG)
            assert len(raw) <= 2 * 1024 * 1024
            assert post["image"]["md5"] == hashlib.md5(raw).hexdigest()

        # The building's own WeCom group: its short summary, by its webhook.
        [summary] = [p["markdown"]["content"] for p in fake.webhook_posts[GROUP_HOOK][group_posts:]]
        assert summary.startswith(f"【一周小结 2024-W19】{GROUP_NAME}：新反映 1 件")

        # The committee members, one to one: the whole digest in app texts of at most 2048 bytes.
        # (sent before the committee group's messages: one WeCom worker sends the outbox in order)
        parts = fake.texts_to("ChenZhiHua")[chen_before:]
        assert len(parts) >= 3
        assert all(len(p.encode()) <= 2048 for p in parts)
        assert lines(parts) == lines([digest])
        assert fake.texts_to("HuangMin")[-len(parts) :] == parts

        # The personal-WeChat groups, each its own summary, once (35: the example's 5 and the new estate's 30).
        assert len(sim_groups) == 35
        assert len([m for m in sim.sent if isinstance(m, Say) and m.text.startswith("【一周小结")]) == 35
        assert summaries()["sim-xc-07"].startswith("【一周小结 2024-W19】新城花园7栋街坊群：新反映 1 件")

        # The job ran once for the week: running it again queues nothing.
        rows = await outbox_rows(running)
        await running.service.scheduler.run("send_weekly_digest", DIGEST_AT + timedelta(minutes=1))
        assert await outbox_rows(running) == rows
