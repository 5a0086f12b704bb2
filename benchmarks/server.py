"""The app on a free local port, for the browser tests and the browser benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]


class ServerError(RuntimeError):
    """Streamlit exited or did not answer its health check in time."""


def start_app(
    env: dict[str, str], log: IO[str] | int = subprocess.DEVNULL, timeout: float = 60
) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free port; returns (process, url) once it is healthy.

    Its output goes to ``log``. On failure the process is stopped and ServerError raised.
    """
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, timeout)
    except ServerError:
        stop(server)
        raise
    return server, url


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(
    url: str, process: subprocess.Popen, timeout: float, name: str = "streamlit"
) -> None:
    """Return once ``url``'s Streamlit health check answers 200; ServerError when ``process``
    exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"{name} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise ServerError(f"{url}/_stcore/health did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate the server, killing it if it does not exit within ``timeout`` seconds."""
    server.terminate()
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
