"""N Streamlit replicas of the app behind one nginx, on this machine.

Every replica is ``streamlit run app.py`` on its own local port with the same environment:
the same MovieLens folder, the same model cache (the models are trained once, before the
replicas start, so each replica only loads the saved folder, memory-mapped read-only) and the
same profile store (``RECOMMENDER_DATABASE_URL``; PostgreSQL for replicas on several hosts).
nginx listens in front with session affinity (see nginx.conf.template), runs from a temporary
prefix, and is stopped with the replicas.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.server import ROOT, ServerError, free_port, start_app, stop, wait_healthy

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
COOKIE = "replica"
AFFINITY = {"cookie": "hash $route consistent;", "ip": "ip_hash;"}


def find_nginx() -> Path | None:
    """nginx on PATH, else Debian's /usr/sbin/nginx (not on a normal user's PATH)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    return Path(found) if found else None


def nginx_config(ports: list[int], listen: int, prefix: Path, affinity: str = "cookie") -> str:
    """The nginx configuration for replicas on local ``ports``, listening on ``listen``."""
    if affinity not in AFFINITY:
        raise ValueError(f"affinity must be one of {', '.join(AFFINITY)}, not {affinity!r}")
    return TEMPLATE.read_text().format(
        prefix=prefix,
        cookie=COOKIE,
        affinity=AFFINITY[affinity],
        listen=f"127.0.0.1:{listen}",
        servers="\n".join(f"        server 127.0.0.1:{port};" for port in ports),
    )


def prepare_models(env: Mapping[str, str]) -> None:
    """Train the models every replica loads at start into the shared cache, once."""
    from recommender import DEFAULT_ALGORITHM
    from ui.resources import STARS_ALGORITHM

    for algorithm in dict.fromkeys((DEFAULT_ALGORITHM, STARS_ALGORITHM)):
        subprocess.run(
            [sys.executable, "-m", "recommender", "train", "--algorithm", algorithm],
            cwd=ROOT, env=dict(env), check=True, stdout=subprocess.DEVNULL,
        )


@dataclass(frozen=True)
class Deployment:
    """Where the front and each replica answer, and nginx's access log (route, upstream)."""

    front_url: str
    replica_urls: list[str]
    replica_pids: list[int]
    access_log: Path


@contextmanager
def deployment(
    replicas: int,
    env: Mapping[str, str],
    port: int = 0,
    affinity: str = "cookie",
    log_dir: Path | None = None,
    prepare: bool = True,
) -> Iterator[Deployment]:
    """Start ``replicas`` app servers and nginx on ``port`` (0: a free one); stop them all
    on exit. Replica output goes to ``log_dir/replica-N.log`` when given."""
    nginx = find_nginx()
    if nginx is None:
        raise ServerError("nginx not found (apt-get install nginx)")
    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, not {replicas}")
    if prepare:
        prepare_models(env)
    with ExitStack() as stack:
        prefix = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nginx-")))
        prefix.chmod(0o755)  # nginx's workers run as an unprivileged user when started as root
        urls, pids = [], []
        for number in range(replicas):
            log = (log_dir / f"replica-{number}.log").open("w") if log_dir else subprocess.DEVNULL
            if log_dir:
                stack.callback(log.close)
            server, url = start_app(dict(env), log=log)
            stack.callback(stop, server)
            urls.append(url)
            pids.append(server.pid)
        listen = port or free_port()
        ports = [int(url.rsplit(":", 1)[1]) for url in urls]
        (prefix / "nginx.conf").write_text(nginx_config(ports, listen, prefix, affinity))
        front = subprocess.Popen(
            [str(nginx), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
             "-e", str(prefix / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        stack.callback(stop, front)
        front_url = f"http://127.0.0.1:{listen}"
        try:
            wait_healthy(front_url, front, timeout=30, name="nginx")
        except ServerError as error:
            raise ServerError(f"{error}: {(prefix / 'error.log').read_text()[-2000:]}") from None
        yield Deployment(front_url, urls, pids, prefix / "access.log")


def environment(database_url: str | None) -> dict[str, str]:
    """This process's environment, with the shared profile store when one is given."""
    env = dict(os.environ)
    if database_url:
        env["RECOMMENDER_DATABASE_URL"] = database_url
    return env
