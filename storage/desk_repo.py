"""Desk logins, browser sessions and API tokens. Secrets arrive here already hashed; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiToken, DeskSession, DeskUser, Person


@dataclass(frozen=True)
class Login:
    """A user whose session or token checked out, with the person that gives them their scope."""

    user: DeskUser
    person: Person


class DeskRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- users ------------------------------------------------------------------------------------

    async def user(self, name: str) -> DeskUser | None:
        return await self.session.scalar(select(DeskUser).where(DeskUser.name == name))

    async def users(self) -> Sequence[DeskUser]:
        return (await self.session.scalars(select(DeskUser).order_by(DeskUser.name))).all()

    async def add_user(self, name: str, person_id: str, password_hash: str, now: datetime) -> DeskUser:
        user = DeskUser(name=name, person_id=person_id, password_hash=password_hash, active=True, created_at=now)
        self.session.add(user)
        await self.session.flush()
        return user

    async def login(self, user: DeskUser) -> Login | None:
        """The user with their person, if both are active."""
        if not user.active:
            return None
        person = await self.session.get(Person, user.person_id)
        if person is None or not person.active:
            return None
        return Login(user, person)

    # --- browser sessions -------------------------------------------------------------------------

    async def open_session(
        self, user: DeskUser, token_hash: str, csrf: str, now: datetime, lifetime: timedelta
    ) -> DeskSession:
        row = DeskSession(
            token_hash=token_hash,
            user_id=user.id,
            csrf=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def find_session(self, token_hash: str, now: datetime, idle: timedelta) -> tuple[DeskSession, Login] | None:
        """The live session for this hash: not past its lifetime, not idle too long, its user still active."""
        row = await self.session.get(DeskSession, token_hash)
        if row is None or row.expires_at <= now or row.last_seen_at + idle <= now:
            return None
        user = await self.session.get(DeskUser, row.user_id)
        login = await self.login(user) if user is not None else None
        if login is None:
            return None
        return row, login

    async def touch_session(self, row: DeskSession, now: datetime) -> None:
        row.last_seen_at = now
        await self.session.flush()

    async def close_session(self, token_hash: str) -> None:
        await self.session.execute(delete(DeskSession).where(DeskSession.token_hash == token_hash))

    async def close_sessions_of(self, user: DeskUser) -> None:
        await self.session.execute(delete(DeskSession).where(DeskSession.user_id == user.id))

    async def purge_sessions(self, now: datetime) -> int:
        result = await self.session.execute(delete(DeskSession).where(DeskSession.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)

    # --- API tokens -------------------------------------------------------------------------------

    async def add_token(self, user: DeskUser, token_hash: str, label: str, now: datetime) -> ApiToken:
        token = ApiToken(user_id=user.id, token_hash=token_hash, label=label, created_at=now, revoked=False)
        self.session.add(token)
        await self.session.flush()
        return token

    async def find_token(self, token_hash: str) -> tuple[ApiToken, Login] | None:
        token = await self.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
        if token is None or token.revoked:
            return None
        user = await self.session.get(DeskUser, token.user_id)
        login = await self.login(user) if user is not None else None
        return (token, login) if login is not None else None

    async def tokens_of(self, user: DeskUser) -> Sequence[ApiToken]:
        rows = await self.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
        return rows.all()

    async def revoke_tokens(self, user: DeskUser) -> int:
        result = await self.session.execute(
            update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False)).values(revoked=True)
        )
        return int(getattr(result, "rowcount", 0) or 0)
