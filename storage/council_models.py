"""The tables of the residents' council and the residents' voice (docs/council.md).

Households (from the org file) and council roles; council items with the record of each step of
四议两公开; household votes and every ballot cast (append-only, so a tally can be recounted and audited);
suggestions to the 楼长信箱; monthly needs rounds and the needs they collected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime


class Household(Base):
    """One household: a room of a unit. Households left out of a later org import are retired, not deleted."""

    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    """``unit:room``, e.g. ``lxc-5:601``; ballots name households by this id."""
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    room: Mapped[str] = mapped_column(String(32))
    owner: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class HouseholdMember(Base):
    __tablename__ = "household_members"

    household_id: Mapped[str] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True)


class CouncilRole(Base):
    """A person's role on the council (``party_meeting``, ``representatives``), from the org file."""

    __tablename__ = "council_roles"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class CouncilItem(Base):
    """A matter before the 党群议事会: always a ticket (a suggestion taken to the council opens one)."""

    __tablename__ = "council_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    community_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(24))
    """The last step recorded (None: taken to the council, not proposed yet)."""
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(String(128))
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id"))


class CouncilStep(Base):
    """One step of 四议两公开 recorded for an item: who, when, and the minutes or text."""

    __tablename__ = "council_steps"
    __table_args__ = (UniqueConstraint("item_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("council_items.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(128))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text, default="")


class Vote(Base):
    """A household vote on a council item, with the rule it was started under and, once closed, its tally."""

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("council_items.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(128))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The vote rule as it stood when the vote started (a later settings change does not move it)."""
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the org listed the unit's households when the vote started (else households are rooms named)."""
    eligible: Mapped[int | None] = mapped_column(Integer)
    """Households entitled to vote when it started; None when the org lists none."""
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The tally announced at the deadline."""


class Ballot(Base):
    """One vote cast; a later ballot of the same household replaces it in the tally (both are kept)."""

    __tablename__ = "ballots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))
    household_id: Mapped[str] = mapped_column(String(200))
    choice: Mapped[str] = mapped_column(String(8))
    platform: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[str] = mapped_column(String(128), default="")


Index("ix_ballots_vote_household", Ballot.vote_id, Ballot.household_id)


class Suggestion(Base):
    """A letter to the 楼长信箱: not a ticket; answered by the building's leader."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community_id: Mapped[str | None] = mapped_column(String(64), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    platform: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(String(16), default="其他")
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[str] = mapped_column(String(128), default="")
    leaders: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The people it was delivered to."""
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(128))


class NeedsRound(Base):
    """One month's collection of needs in one community: asked in every group, replies taken until it closes."""

    __tablename__ = "needs_rounds"
    __table_args__ = (UniqueConstraint("community_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community_id: Mapped[str] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)


Index("ix_needs_rounds_closes_at", NeedsRound.closes_at)


class Need(Base):
    """A resident's reply to a needs round: one entry of the 需求清单 (with the ticket it also opened, if any)."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("needs_rounds.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    message_id: Mapped[str] = mapped_column(String(128), default="")
