"""One person's data: everything linli holds about them (export), and its erasure that keeps the tickets.

A person is named by an org id (every platform identity the org gives them) or by ``platform:user_id``
(a resident the org does not list). Erasure replaces their identity with a pseudonym and removes what
they wrote; tickets stay (their history, state and figures), with the summary they wrote removed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.keys import pairs_in
from storage.models import (
    AuditEntry,
    Identity,
    Message,
    OutboxItem,
    Person,
    Rating,
    Ticket,
    TicketEvent,
    TicketReporter,
)

ERASED_TEXT = "（已应本人要求删除）"


def pseudonym(subject: str) -> str:
    return "erased:" + hashlib.sha256(subject.encode("utf-8")).hexdigest()[:16]


class PrivacyRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def identities(self, subject: str) -> tuple[Person | None, list[tuple[str, str]]]:
        """The org person (if ``subject`` is an org id) and the (platform, user id) pairs that are them."""
        person = await self.session.get(Person, subject)
        if person is not None:
            return person, [(i.platform, i.user_id) for i in person.identities]
        platform, sep, user_id = subject.partition(":")
        if not sep or not user_id:
            return None, []
        identity = await self.session.get(Identity, (platform, user_id))
        owner = await self.session.get(Person, identity.person_id) if identity is not None else None
        return owner, [(platform, user_id)]

    async def export(self, subject: str) -> dict[str, Any] | None:
        person, ids = await self.identities(subject)
        if not ids and person is None:
            return None
        mine = pairs_in(Message.platform, Message.sender_id, ids)
        messages = (await self.session.scalars(select(Message).where(mine).order_by(Message.id))).all()
        reporter = pairs_in(TicketReporter.platform, TicketReporter.sender_id, ids)
        reports = (await self.session.scalars(select(TicketReporter).where(reporter))).all()
        rated = pairs_in(Rating.platform, Rating.sender_id, ids)
        ratings = (await self.session.scalars(select(Rating).where(rated))).all()
        to_them = pairs_in(OutboxItem.platform, OutboxItem.recipient, ids)
        dms = (await self.session.scalars(select(OutboxItem).where(to_them).order_by(OutboxItem.id))).all()
        tickets = {r.ticket_id: await self.session.get(Ticket, r.ticket_id) for r in reports}
        return {
            "subject": subject,
            "person": None
            if person is None
            else {
                "id": person.id,
                "name": person.name,
                "role": person.role,
                "unit": person.unit_id,
                "phone": person.phone,
                "household": person.household,
            },
            "identities": [{"platform": p, "user_id": u} for p, u in ids],
            "messages": [
                {
                    "platform": m.platform,
                    "chat_id": m.chat_id,
                    "message_id": m.message_id,
                    "sender_name": m.sender_name,
                    "text": m.text,
                    "sent_at": m.sent_at.isoformat(),
                    "ticket": m.ticket_id,
                }
                for m in messages
            ],
            "reports": [
                {
                    "ticket": r.ticket_id,
                    "reported_at": r.reported_at.isoformat(),
                    "summary": t.summary if (t := tickets.get(r.ticket_id)) else None,
                    "state": t.state if t else None,
                }
                for r in reports
            ],
            "ratings": [{"ticket": r.ticket_id, "score": r.score, "at": r.at.isoformat()} for r in ratings],
            "direct_messages": [
                {"text": d.text, "created_at": d.created_at.isoformat(), "status": d.status} for d in dms
            ],
        }

    async def erase(self, subject: str) -> dict[str, int] | None:
        """Remove the person's text and identity; keep the tickets. Counts of what changed, or None."""
        person, ids = await self.identities(subject)
        if not ids and person is None:
            return None
        counts: dict[str, int] = {}
        s = self.session
        for platform, user_id in ids:
            alias = pseudonym(f"{platform}:{user_id}")
            said = (
                await s.scalars(
                    select(Message.message_id).where(Message.platform == platform, Message.sender_id == user_id)
                )
            ).all()
            first_reports = (
                await s.scalars(
                    select(TicketReporter.ticket_id).where(
                        TicketReporter.platform == platform, TicketReporter.sender_id == user_id
                    )
                )
            ).all()
            for ticket_id in first_reports:
                earliest = await s.scalar(
                    select(TicketReporter.sender_id)
                    .where(TicketReporter.ticket_id == ticket_id)
                    .order_by(TicketReporter.reported_at)
                    .limit(1)
                )
                if earliest == user_id:
                    await s.execute(update(Ticket).where(Ticket.id == ticket_id).values(summary=ERASED_TEXT))
                    counts["summaries"] = counts.get("summaries", 0) + 1
            results = [
                await s.execute(
                    update(Message)
                    .where(Message.platform == platform, Message.sender_id == user_id)
                    .values(text="", sender_name="", sender_id=alias)
                ),
                await s.execute(
                    update(TicketReporter)
                    .where(TicketReporter.platform == platform, TicketReporter.sender_id == user_id)
                    .values(sender_name="", sender_id=alias, person_id=None)
                ),
                await s.execute(
                    update(Rating)
                    .where(Rating.platform == platform, Rating.sender_id == user_id)
                    .values(sender_id=alias)
                ),
                await s.execute(
                    update(TicketEvent).where(TicketEvent.actor == f"{platform}:{user_id}").values(actor=alias)
                ),
                await s.execute(
                    update(OutboxItem)
                    .where(
                        OutboxItem.platform == platform,
                        or_(
                            OutboxItem.recipient == user_id,
                            OutboxItem.in_reply_to.in_(said) if said else OutboxItem.id < 0,
                        ),
                    )
                    .values(text="", recipient=None)
                ),
            ]
            for name, result in zip(("messages", "reports", "ratings", "events", "outbox"), results, strict=True):
                counts[name] = counts.get(name, 0) + int(getattr(result, "rowcount", 0) or 0)
        if person is not None:
            person.name, person.phone, person.household, person.active = ERASED_TEXT, None, None, False
            await s.execute(
                update(TicketEvent).where(TicketEvent.actor == person.id).values(actor=pseudonym(person.id))
            )
            await s.execute(delete(Identity).where(Identity.person_id == person.id))
            counts["person"] = 1
        await s.flush()
        return counts

    async def audit(self, *, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        self.session.add(AuditEntry(at=at, actor=actor, action=action, subject=subject, detail=detail))
        await self.session.flush()
