"""Quiet hours for what the pipeline sends: non-urgent notices to leaders wait until the morning."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.message import IncomingMessage
from config.settings import Settings
from storage.models import OutboxItem


def notice_release(item: OutboxItem, msg: IncomingMessage, urgent: bool, now: datetime, settings: Settings) -> datetime:
    """When ``item`` may go: at once, unless it is a non-urgent direct message to someone other than the
    person who just wrote (a new-task notice to a leader) during the quiet hours; then when they end.

    Replies in the group and replies to the writer are acknowledgements and are never held.
    """
    if urgent or item.kind != "dm" or item.recipient == msg.sender_id:
        return now
    return settings.schedule.quiet_hours.release_at(now, ZoneInfo(settings.timezone))
