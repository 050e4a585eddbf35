"""Small pieces every handler uses: answering the sender, telling a ticket's group, finding a ticket, naming people."""

from __future__ import annotations

from bot.context import Context
from bot.message import DirectMessage, IncomingMessage, OutgoingMessage, Say
from bot.texts import chat as texts
from bot.texts.names import mention
from storage.models import Person, Ticket


def answer(msg: IncomingMessage, text: str) -> OutgoingMessage:
    """Reply where the sender wrote: @-mention in the group, or a direct message."""
    if msg.is_direct:
        return DirectMessage(platform=msg.platform, to=msg.sender_id, text=text)
    return Say(
        platform=msg.platform, chat_id=msg.chat_id, text=mention(msg.sender_name) + text, mentions=(msg.sender_id,)
    )


def tell_group(ticket: Ticket, text: str, *, mention_reporters: bool = False) -> Say:
    """Say something about a ticket in the group it was reported in."""
    mentions: tuple[str, ...] = ()
    prefix = ""
    if mention_reporters:
        same_platform = [r for r in ticket.reporters if r.platform == ticket.platform]
        mentions = tuple(r.sender_id for r in same_platform)
        prefix = "".join(mention(r.sender_name) for r in same_platform)
    return Say(
        platform=ticket.platform, chat_id=ticket.chat_id, text=prefix + text, mentions=mentions, ticket=ticket.id
    )


def in_ticket_group(msg: IncomingMessage, ticket: Ticket) -> bool:
    return not msg.is_direct and (msg.platform, msg.chat_id) == (ticket.platform, ticket.chat_id)


async def find_ticket(ctx: Context, number: int) -> Ticket | None:
    """The ticket if it exists in the sender's community (their group's, or their own as a person), locked
    until the message's transaction ends so that a command and a concurrent change take turns."""
    ticket = await ctx.tickets.get(number, for_update=True)
    if ticket is None:
        return None
    community = None
    if ctx.group is not None and ctx.group.unit_id is not None:
        unit = await ctx.org.unit(ctx.group.unit_id)
        community = unit.community_id if unit else None
    if community is None and ctx.sender is not None:
        unit = await ctx.org.unit(ctx.sender.unit_id)
        community = unit.community_id if unit else None
    if community is not None and community != ticket.community_id:
        return None
    return ticket


def display_name(person: Person | None, fallback: str = texts.COMMUNITY) -> str:
    return person.name if person is not None else fallback
