"""A throwaway PostgreSQL server for tests of the production store, started from the Debian binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

HOW_TO_INSTALL = "install PostgreSQL (Debian: apt-get install -y postgresql); `make test` does this itself"


def _bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(f"PostgreSQL binaries not found: {HOW_TO_INSTALL}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    as_user: list[str]

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = _bindir()
        root = Path(tempfile.mkdtemp(prefix="linli-pg-"))
        datadir = root / "data"
        as_user: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root; Debian's package creates the postgres user.
            as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
            root.chmod(0o755)
        subprocess.run(
            [
                *as_user,
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "linli",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
        server = cls(bindir, datadir, _free_port(), as_user)
        server.resume()
        return server

    def resume(self) -> None:
        """Start (or start again, on the same port and data) and wait until it accepts connections."""
        root = self.datadir.parent
        options = f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-l", str(root / "log"), "-w", "-t", "60", "-o", options, "start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")

    def pause(self) -> None:
        """Stop the server as if the database went away; ``resume`` brings it back with its data."""
        self._pg_ctl("-m", "fast", "-w", "stop")

    def begin_smart_stop(self) -> None:
        """Ask the server to stop once its clients have left, and return at once: until then it refuses new
        connections ("the database system is shutting down"), as it does for a moment in every stop."""
        self._pg_ctl("-m", "smart", "stop", "-W")

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args],
            check=True,
            capture_output=True,
        )

    def fresh_database_url(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "linli", name],
            check=True,
            capture_output=True,
        )
        return f"postgresql+asyncpg://linli@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)
