"""The weekly digest on a known data set: figures exactly as docs/metrics.md defines them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from sqlalchemy import select

from config.schedule import DOMAINS
from config.settings import Settings
from handlers import charts
from handlers.council import send_council_agenda
from handlers.digest import Week, committee_markdown, compute, group_text, send_weekly_digest
from storage.models import OutboxItem, Ticket
from tests.sched.conftest import Desk, at

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
W47 = Week.of(2026, 47, SHANGHAI)  # Monday 16 to Sunday 22 November 2026


async def seed(desk: Desk) -> dict[str, int]:
    """Seven tickets around week 47; the comments give what each contributes."""

    async def ticket(
        name: str, opened: str, *, state: str, accepted: str | None = None, resolved: str | None = None, **kw: object
    ) -> tuple[str, int]:
        tid = await desk.open(at(opened), **kw)  # type: ignore[arg-type]
        async with desk.store.sessions.begin() as s:
            row = await s.get(Ticket, tid)
            assert row is not None
            row.state = state
            row.accepted_at = at(accepted) if accepted else None
            row.resolved_at = at(resolved) if resolved else None
        return name, tid

    return dict(
        [
            # accepted in 60 min, resolved in 1440 min, on time
            await ticket(
                "A", "2026-11-16 09:00", state="closed", accepted="2026-11-16 10:00", resolved="2026-11-17 09:00"
            ),
            # accepted after its 4 h deadline (360 min): overdue; resolved in 5820 min
            await ticket(
                "B",
                "2026-11-17 09:00",
                state="resolved",
                accepted="2026-11-17 15:00",
                resolved="2026-11-21 10:00",
                unit="sdc-1",
                chat="sim-sdc-1",
                assignee="p-liang",
                domain="环境卫生",
            ),
            # major safety (calendar clock): accepted in 60 min, resolved only next week
            await ticket(
                "C",
                "2026-11-18 20:00",
                state="resolved",
                accepted="2026-11-18 21:00",
                resolved="2026-11-24 10:00",
                unit="jjhy-a",
                chat="sim-jjhy-a",
                assignee="p-zhou",
                kind="major",
                domain="安全管理",
            ),
            # Sunday night: its working-time deadline falls next week, so not overdue yet
            await ticket(
                "D",
                "2026-11-22 23:00",
                state="assigned",
                unit="sdc",
                chat="sim-sdc",
                assignee="p-tan",
                domain="政策宣传",
            ),
            # not accepted by the week's end although its deadline passed on Friday: overdue
            await ticket("E", "2026-11-20 10:00", state="accepted", accepted="2026-11-23 09:00"),
            # opened the week before: not new, but its resolution counts on Monday's bar
            await ticket(
                "F", "2026-11-13 09:00", state="closed", accepted="2026-11-13 09:30", resolved="2026-11-16 12:00"
            ),
            # resolved without a separate accept: counts as accepted when resolved (120 min)
            await ticket(
                "H",
                "2026-11-19 09:00",
                state="resolved",
                resolved="2026-11-19 11:00",
                unit="lxc-5",
                chat="sim-lxc-5",
                assignee="p-feng",
                domain="纠纷化解",
            ),
        ]
    )


async def test_figures_on_a_known_data_set(desk: Desk) -> None:
    await seed(desk)
    async with desk.store.sessions() as s:
        digest = await compute(s, desk.settings, "beijiang", W47)
    figures = digest.figures()
    voice = {key: figures.pop(key) for key in ("suggestions", "needs")}
    assert figures == {
        "new": 6,
        "accepted": 4,
        "resolved": 3,
        "acceptance_rate": 0.6667,
        "resolution_rate": 0.5,
        "median_accept_minutes": 90.0,
        "median_resolve_minutes": 1440.0,
        "overdue": 2,
        "by_domain": {"日常生活": 2, "安全管理": 1, "政策宣传": 1, "环境卫生": 1, "纠纷化解": 1},
        "satisfaction": None,
        "points": [],
        "corrections": {"tickets": 0, "confusions": []},
    }
    # No suggestions; the month's needs are November's seven reports up to the week's end (F opened the
    # week before counts too), none matching a co-building unit's keywords.
    assert voice == {
        "suggestions": {"received": 0, "answered": 0, "overdue": 0},
        "needs": {
            "month": "2026-11",
            "total": 7,
            "matched": 0,
            "by_domain": {"日常生活": 3, "环境卫生": 1, "安全管理": 1, "政策宣传": 1, "纠纷化解": 1},
        },
    }
    assert digest.opened_per_day == [1, 1, 1, 1, 1, 0, 1]
    assert digest.resolved_per_day == [1, 1, 0, 1, 0, 1, 0]
    building, estate = digest.units["sdc-3"], digest.units["sdc"]
    assert (building.new, building.accepted, building.resolved) == (2, 1, 1)
    assert (estate.new, estate.accepted, estate.resolved, estate.overdue) == (4, 2, 2, 2)
    assert group_text(digest, "sdc-3", "时代城3栋业主群") == (
        "【一周小结 2026-W47】时代城3栋业主群：新反映 2 件，已接单 1 件，已办结 1 件，受理率 50%，办结率 50%。"
        "有事请继续在群里反映。"
    )


async def test_an_empty_week_has_no_rates(desk: Desk) -> None:
    async with desk.store.sessions() as s:
        figures = (await compute(s, desk.settings, "beijiang", Week.of(2026, 1, SHANGHAI))).figures()
    assert (figures["new"], figures["acceptance_rate"], figures["median_accept_minutes"]) == (0, None, None)


async def test_texts_mask_phone_numbers(desk: Desk) -> None:
    for i in range(40):
        await desk.open(at("2026-11-16 09:00"), summary=f"{i}号 电话13812345678 楼道漏水")
    async with desk.store.sessions() as s:
        digest = await compute(s, desk.settings, "beijiang", W47)
    full = committee_markdown(digest)
    assert "13812345678" not in full
    assert "138****5678" in full


async def test_cli_prints_the_figures_and_writes_the_files(desk: Desk, db_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_DATABASE_URL"] = db_url
    await seed(desk)
    out = tmp_path / "out"
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "bot",
            "digest",
            "--community",
            "beijiang",
            "--week",
            "2026-W47",
            "--out",
            str(out),
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert (figures["new"], figures["accepted"], figures["resolved"], figures["overdue"]) == (6, 4, 3, 2)
    _check_files(out)


def _check_files(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == ["by_domain.png", "daily.png", "digest.md"]
    assert (out / "digest.md").read_text(encoding="utf-8").startswith("# 北江社区 周报 2026-W47")
    assert (out / "by_domain.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_labels_never_fall_back_to_boxes(tmp_path: Path) -> None:
    font = charts.cjk_font()
    days = ["11/16 周一", "11/17 周二", "11/22 周日"]
    labels = [*DOMAINS, *days, "北江社区 2026-W47 各服务领域工单数", "每日新反映与办结", "街坊冇水咗"]
    assert font.missing(labels) == set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" when it draws a box
        charts.bar_by_domain([(d, i) for i, d in enumerate(DOMAINS)], labels[-3], tmp_path / "a.png", font)
        charts.opened_vs_resolved(days, [3, 1, 0], [0, 2, 1], labels[-2], tmp_path / "b.png", font)
    assert (tmp_path / "a.png").stat().st_size > 10_000


def test_the_box_check_would_catch_a_latin_only_font(tmp_path: Path) -> None:
    latin = Path(findfont(FontProperties(family="DejaVu Sans")))
    assert charts.missing_glyphs(latin, ["社区"]) == {"社", "区"}
    with pytest.raises(charts.FontMissing):
        charts.bar_by_domain([("空间管理", 1)], "周报", tmp_path / "x.png", charts.CjkFont(latin, "DejaVu Sans"))
    fig = Figure()
    fig.text(0.5, 0.5, "社区", fontproperties=FontProperties(fname=str(latin)))
    with pytest.warns(UserWarning, match="missing from font"):
        FigureCanvasAgg(fig).draw()


def _exists(path: str | None) -> bool:
    return path is not None and Path(path).is_file()


async def test_the_weekly_job_sends_each_digest_once(desk: Desk, settings: Settings) -> None:
    await seed(desk)
    settings.schedule.digest.committee_chats = ["sim:sim-committee"]
    monday = at("2026-11-23 09:00")
    await desk.run(send_weekly_digest, monday)
    rows = await desk.outbox()
    await desk.run(send_weekly_digest, monday)
    assert len(await desk.outbox()) == len(rows)  # once per community and week
    says = {r.chat_id: r.text for r in rows if r.kind == "say"}
    assert "新反映 2 件" in says["sim-sdc-3"]
    assert says["sim-committee"].startswith("# 北江社区 周报 2026-W47")
    dms = sorted(r.recipient or "" for r in rows if r.kind == "dm")
    assert dms == ["ChenZhiHua", "HuangMin"]
    images = [r.image_path for r in rows if r.kind == "image"]
    assert [Path(p or "").name for p in images] == ["by_domain.png", "daily.png"]
    assert all(map(_exists, images))  # drawn after the commit, before they are queued
    assert all(r.not_before == monday and r.topic == "digest" for r in rows)


async def test_the_council_agenda_lists_major_tickets_awaiting_it(desk: Desk) -> None:
    major = await desk.open(at("2026-11-16 09:00"), kind="major", domain="空间管理", summary="加装电梯意见征集")
    await desk.open(at("2026-11-16 09:00"), summary="楼道灯坏了")
    notice = at("2026-11-24 19:30")  # the day before the meeting on the 25th
    await desk.run(send_council_agenda, notice)
    await desk.run(send_council_agenda, notice)
    async with desk.store.sessions() as s:
        rows = (await s.scalars(select(OutboxItem))).all()
    texts = [r.text for r in rows]
    # The council's members, once each: the committee and whoever the org gives a council role.
    assert sorted(r.recipient or "" for r in rows) == sorted(
        ["ChenZhiHua", "HuangMin", "TanLiJuan", "LuGuiFang", "wangayi", "r-deng"]
    )
    assert all(f"#{major}「加装电梯意见征集」" in t and "11月25日 19:30" in t for t in texts)
    assert not any("楼道灯" in t for t in texts)
