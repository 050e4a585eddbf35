"""Resident text reaches other programs inert: CSV cells are not formulas, WeCom markdown shows no links or
mentions it did not make, and phone and ID-card numbers are masked where they leave linli."""

from __future__ import annotations

import csv
import io
import logging

import pytest

from bot.adapters.wecom.webhook import markdown_payloads, with_mentions
from bot.cli.tickets import spreadsheet_safe
from bot.texts.names import mask_personal, summarise


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x","点我")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1+1"])
def test_a_cell_that_a_spreadsheet_would_run_is_quoted(cell: str) -> None:
    safe = spreadsheet_safe(cell)
    assert safe.startswith("'")
    assert safe[1:] == cell


def test_ordinary_cells_are_left_alone() -> None:
    assert spreadsheet_safe("6楼走廊灯坏了") == "6楼走廊灯坏了"
    assert spreadsheet_safe(12) == "12"
    out = io.StringIO()
    csv.writer(out).writerow([spreadsheet_safe(v) for v in ["=1+1", "ok"]])
    assert out.getvalue().startswith("'=1+1,ok")


@pytest.mark.parametrize(
    ("resident", "forbidden"),
    [
        ("[点这里领补贴](http://evil.example)", "]("),
        ("<@zhangsan> 快来", "<@zhangsan>"),
        ('<font color="warning">紧急通知：停水</font>', "<font"),
        ("@all 大家看", "<@all>"),
    ],
)
def test_resident_text_in_wecom_markdown_is_inert(resident: str, forbidden: str) -> None:
    for payload in markdown_payloads(f"@居民A 已记录 #3「{resident}」", ("居民A",)):
        content = payload["markdown"]["content"]
        assert forbidden not in content
    head, body = with_mentions(f"@居民A 已记录「{resident}」", ("居民A",))
    assert head == "<@居民A> "  # the mention linli makes is still a real one
    assert forbidden not in body


@pytest.mark.parametrize(
    ("text", "shown", "hidden"),
    [
        ("我电话13812345678，楼下漏水", "138****5678", "13812345678"),
        ("身份证 11010519491231002X 丢了", "110***********002X", "0519491231"),
        ("身份证110105194912310021", "110***********0021", "0519491231"),
        ("座机 0757-83331234", "0757-****1234", "8333"),
    ],
)
def test_phone_and_id_card_numbers_are_masked(text: str, shown: str, hidden: str) -> None:
    masked = mask_personal(text)
    assert shown in masked
    assert hidden not in masked


def test_a_ticket_summary_never_carries_a_phone_number() -> None:
    assert "13812345678" not in summarise("3栋电梯坏了，联系我13812345678")


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    from bot.cli.common import MaskingFilter

    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("linli.test.masking")
    logger.addHandler(handler)
    try:
        logger.warning("refused %s", "进度 #3 我电话13812345678")
    finally:
        logger.removeHandler(handler)
    written = handler.stream.getvalue()  # type: ignore[attr-defined]
    assert "13812345678" not in written
    assert "138****5678" in written
