"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary folder, ``pg_ctl``
on a free port and a private socket folder, stopped and deleted at the end of the session.

As root the server runs as the ``postgres`` user (PostgreSQL refuses to run as root). Outside
CI the tests that need it skip when the binaries are missing; in CI (CI=true) they fail.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.server import free_port

SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin")


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest Debian/Ubuntu install."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for pattern in SEARCH:
        folders = sorted(
            Path("/").glob(pattern.lstrip("/")),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts],
            reverse=True,
        )
        for folder in folders:
            if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
                return folder
    return None


class PostgresServer:
    """One cluster in ``root``; ``url`` connects as the superuser ``postgres`` (trust auth)."""

    def __init__(self, bindir: Path, root: Path):
        self.bindir, self.root = bindir, root
        self.data, self.sockets, self.log = root / "data", root / "sockets", root / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.sockets.mkdir()
        # As root, the server's own user must own its folders.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            user = pwd.getpwnam("postgres")
            for path in (root, self.sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self._as, str(self.bindir / tool), *args],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr}\n{log}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
                   " -c fsync=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def start_server() -> tuple[PostgresServer, Path]:
    """A running server in a fresh temporary folder (the caller stops and removes it)."""
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="recommender-pg-"))
    server = PostgresServer(bindir, root)
    server.start()
    return server, root


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session."""
    server, root = start_server()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def empty_schema(server: PostgresServer) -> Iterator[str]:
    """A URL whose tables live in a fresh, empty schema, dropped afterwards. A schema costs
    milliseconds; a database about a second."""
    import psycopg

    schema = f"test_{next(_schemas)}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{server.url}?options=-csearch_path%3D{schema}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


_schemas = itertools.count()


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """An empty profile store on the session's server for one test."""
    with empty_schema(postgres_server) as url:
        yield url
