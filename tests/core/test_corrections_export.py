"""``linli nlp corrections`` writes the grid's corrections as a labelled corpus, and ``linli nlp train`` takes it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.adapters.simulated import SimulatedAdapter
from bot.cli import main
from config.settings import Settings
from nlp.decision import Domain, Kind
from nlp.evaluation import read_corpus
from tests.conftest import SHANGHAI
from tests.core.grid_chat import GridChat
from tests.harness import running

DATA = Path(__file__).resolve().parent.parent / "data"

LIGHT = "6楼走廊灯坏了，晚上黑麻麻好危险，麻烦楼长看看 13800001234"
LEAK = "楼顶水箱漏水，整栋楼的水都是黄的"
CRYING = "对门家里一直有摔东西和哭的声音，已经半个钟了"
FALL = "隔壁阿婆好似跌倒咗，叫佢都冇应"
DANCE = "今晚广场舞几点开始？"


@pytest.fixture
async def grid(settings: Settings) -> AsyncIterator[GridChat]:
    adapter = SimulatedAdapter()
    async with running(settings, [adapter], start=False) as it:
        chat = GridChat(it.service, adapter, start=datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI))
        chat.decide(LIGHT, kind=Kind.TRIVIAL, domain=Domain.DAILY_LIFE)
        chat.decide(LEAK, kind=Kind.MAJOR, domain=Domain.DAILY_LIFE)
        chat.decide(CRYING, kind=Kind.TRIVIAL, check=True, domain=Domain.DISPUTE)
        chat.decide(FALL, kind=Kind.MAJOR, check=True, domain=Domain.OTHER)
        chat.decide(DANCE, kind=Kind.TRIVIAL, domain=Domain.CULTURE)
        yield chat


async def cli(*args: str, env: dict[str, str]) -> Result:
    """The command line, in a thread of its own: it runs its own event loop."""
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)


async def export(settings: Settings, out: Path, *since: str) -> tuple[int, str]:
    result = await cli(
        "nlp", "corrections", *since, "--out", str(out), env={"LINLI_DATABASE_URL": settings.database_url}
    )
    return result.exit_code, result.stderr


async def test_corrections_export_as_a_corpus_train_reads(grid: GridChat, settings: Settings, tmp_path: Path) -> None:
    await grid.post("r-chen", LIGHT)  # 1
    await grid.post("lixingshan", "改为大事 #1")
    await grid.post("lixingshan", "改领域 #1 安全管理")
    await grid.post("r-lin", LEAK)  # 2
    await grid.post("lixingshan", "不是问题 #2")
    await grid.post("r-wu", CRYING)  # 3: a check answered is a verification, not a correction
    await grid.post("lixingshan", "确认紧急 #3")
    await grid.post("r-ho", FALL, chat="sim-sdc-1")  # 4: a check whose kind the grid corrected keeps its check
    await grid.post("liang", "不紧急 #4")
    await grid.post("liang", "改为小事 #4")
    await grid.post("r-ma", DANCE)  # 5
    await grid.post("lixingshan", "紧急 #5")
    out = tmp_path / "corrections.jsonl"
    code, stderr = await export(settings, out)
    assert code == 0, stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"id": "ticket-1", "text": "6楼走廊灯坏了，晚上黑麻麻好危险，麻烦楼长看看 138****1234", "kind": "major",
         "urgent": False, "domain": "安全管理"},
        {"id": "ticket-2", "text": LEAK, "kind": "noise", "urgent": False, "domain": "日常生活"},
        {"id": "ticket-4", "text": FALL, "kind": "trivial", "urgent": False, "domain": "其他", "check": True},
        {"id": "ticket-5", "text": DANCE, "kind": "major", "urgent": True, "domain": "文化体育"},
    ]  # fmt: skip
    assert [e.id for e in read_corpus(out)] == ["ticket-1", "ticket-2", "ticket-4", "ticket-5"]

    model = tmp_path / "model.tsv"
    env = {"LINLI_NLP__CACHE_DIR": str(tmp_path / "cache")}
    trained = await cli("nlp", "train", str(DATA / "test.jsonl"), str(out), "--out", str(model), env=env)
    assert trained.exit_code == 0, trained.stderr
    header = [line.split("\t") for line in model.read_text(encoding="utf-8").splitlines() if line.startswith("corpus")]
    assert [(Path(h[1]).name, h[3]) for h in header] == [("test.jsonl", "325"), ("corrections.jsonl", "4")]


async def test_since_keeps_only_tickets_corrected_from_that_day(
    grid: GridChat, settings: Settings, tmp_path: Path
) -> None:
    await grid.post("r-chen", LIGHT)
    await grid.post("lixingshan", "改为大事 #1")
    await grid.post("r-lin", LEAK, after=24 * 60)
    await grid.post("lixingshan", "改为小事 #2")
    await grid.post("lixingshan", "改领域 #1 安全管理")  # a later correction brings #1 in with all of its own
    out = tmp_path / "since.jsonl"
    assert (await export(settings, out, "--since", "2026-11-17"))[0] == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(x["id"], x["kind"], x["domain"]) for x in lines] == [
        ("ticket-1", "major", "安全管理"),
        ("ticket-2", "trivial", "日常生活"),
    ]
    assert (await export(settings, out, "--since", "2026-11-18"))[0] == 0
    assert out.read_text(encoding="utf-8") == ""


async def test_a_bad_date_is_refused(grid: GridChat, settings: Settings, tmp_path: Path) -> None:
    code, stderr = await export(settings, tmp_path / "x.jsonl", "--since", "last week")
    assert code == 2
    assert "--since 'last week' is not a date" in stderr
    assert not (tmp_path / "x.jsonl").exists()
