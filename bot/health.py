"""Whether the database is reachable, as the service last found it.

The pipeline waits for a database that has gone away (``database_retry_seconds``). Past that, the process
says so (``/healthz``, the log) and stops taking work: each new message gets one attempt and fails at once,
so that the platform keeps it instead of being told it was stored. A probe brings the process back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

log = logging.getLogger(__name__)


AWAY_SQLSTATES = ("08", "57P01", "57P02", "57P03")
"""PostgreSQL's codes for a server that is not there for now: connection exceptions (class 08), and a server
shutting down, crashed or refusing connections while it stops or starts (57P01 to 57P03)."""


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE the driver reported, wherever the wrapping put it."""
    seen: BaseException | None = exc
    for _ in range(5):  # SQLAlchemy's error, the adapted DB-API error, the driver's
        if seen is None:
            break
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def log_failure(logger: logging.Logger, exc: BaseException, what: str, then: str) -> None:
    """Log that ``what`` failed and what happens ``then``: one warning line when the database is away (it
    will be again, many times, during an outage), the traceback for anything else."""
    if database_unreachable(exc):
        logger.warning("%s: database unreachable (%s); %s", what, exc, then)
    else:
        logger.exception("%s failed; %s", what, then)


def database_unreachable(exc: BaseException) -> bool:
    """The database is down or the connection broke (not a bad statement): worth waiting and retrying."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = _sqlstate(exc)
    if code is not None and code.startswith(AWAY_SQLSTATES):
        return True
    return isinstance(exc, OSError)


class DatabaseHealth:
    def __init__(self) -> None:
        self.down_since: datetime | None = None
        self.error: str | None = None

    @property
    def ok(self) -> bool:
        return self.down_since is None

    def lost(self, exc: BaseException) -> None:
        """The database stayed unreachable for longer than the pipeline waits."""
        if self.down_since is None:
            self.down_since = datetime.now(UTC)
            log.error(
                "database unreachable for longer than the retry period (%s); taking no messages until it is back", exc
            )
        self.error = f"{type(exc).__name__}: {exc}"[:300]

    def back(self) -> None:
        if self.down_since is not None:
            log.warning("database reachable again after %s; taking messages", datetime.now(UTC) - self.down_since)
        self.down_since = None
        self.error = None

    def status(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "down_since": self.down_since.isoformat() if self.down_since else None,
            "error": self.error,
        }
