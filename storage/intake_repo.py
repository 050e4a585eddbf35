"""Where reports from outside the chats (Open311) are filed: one pseudo-group per unit of the grid."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatGroup, Unit


async def intake_group(session: AsyncSession, platform: str, unit: Unit, name: str) -> ChatGroup:
    """The group ``platform`` files reports of ``unit`` under, bound to it; created the first time.

    Not an org group (``bound_by_org`` is false), so importing the org file leaves it alone.
    """
    chat_id = f"unit:{unit.id}"
    group = await session.get(ChatGroup, (platform, chat_id))
    if group is None:
        group = ChatGroup(platform=platform, chat_id=chat_id, name=name, unit_id=unit.id, bound_by_org=False)
        session.add(group)
        await session.flush()
    return group
