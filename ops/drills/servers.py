"""Private servers for the drills: a mariadbd and a redis-server of their own, in a
temporary directory, on spare ports, so a drill may kill, stop and restore them
without touching the shared servers (3306, 6379, 6380) everyone's tests use.

Every process started here is registered with a Cleanup, which kills what is still
running and removes the temporary directory on exit, even when the drill fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class DrillFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(what: str, check: Callable[[], bool], *, timeout: float, every: float = 0.25) -> None:
    """Poll `check` until it is true; DrillFailed after `timeout` seconds (generous:
    the drills run on a loaded two-core machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(every)
    raise DrillFailed(f"{what}: not within {timeout:.0f} s")


class Cleanup:
    """Processes and a temporary directory, all gone at exit (normal, exception, signal)."""

    def __init__(self, prefix: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.procs: list[subprocess.Popen[Any]] = []
        self.keep = bool(os.environ.get("DRILL_KEEP"))

    def start(self, args: list[str], *, log: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[Any]:
        out = open(self.dir / log, "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: children too
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        self.kill_all()
        if self.keep:
            say(f"DRILL_KEEP set: left {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Cleanup:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tail(self, log: str, lines: int = 40) -> str:
        try:
            return "\n".join((self.dir / log).read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _as_root() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []


def ensure_package(binary: str, package: str) -> None:
    """Install a Debian package when its binary is missing (as root, like ./dev's
    browser_deps does for chromium)."""
    if shutil.which(binary):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise DrillFailed(f"{binary} is missing: install the Debian package {package}")
    say(f"installing {package} (apt-get, once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-qq", package], env=env, capture_output=True).returncode:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], env=env, check=True, capture_output=True)


class MariaDB:
    """A private mariadbd: its own data directory (mariadb-install-db), port and socket;
    root without a password over its socket and from 127.0.0.1 (only this machine can
    reach it, on a port of its own)."""

    def __init__(self, cleanup: Cleanup, name: str, *, binlog: bool = False) -> None:
        self.cleanup = cleanup
        self.name = name
        self.base = cleanup.dir / name
        self.datadir = self.base / "data"
        self.binlog_dir = self.base / "binlog"
        self.socket = str(self.base / "mysqld.sock")
        self.port = free_port()
        self.binlog = binlog
        self.proc: subprocess.Popen[Any] | None = None

    def url(self, database: str) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{database}?charset=utf8mb4"

    def install(self) -> None:
        self.datadir.mkdir(parents=True)
        self.binlog_dir.mkdir()
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", *_as_root(),
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True, timeout=300)

    def start(self, *, timeout: float = 120) -> None:
        args = ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
                f"--port={self.port}", "--bind-address=127.0.0.1", f"--pid-file={self.base}/mysqld.pid",
                "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
                "--innodb-log-file-size=48M", "--max-connections=300", "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci", "--innodb-flush-log-at-trx-commit=1",
                "--log-error=" + str(self.base / "error.log"), *_as_root()]
        if self.binlog:
            args += [f"--log-bin={self.binlog_dir}/binlog", "--server-id=1", "--binlog-format=ROW",
                     "--sync-binlog=1"]
        self.proc = self.cleanup.start(args, log=f"{self.name}.out")
        wait_for(f"private mariadbd {self.name} on port {self.port}", self.ping, timeout=timeout)
        self.sql("CREATE USER IF NOT EXISTS root@'127.0.0.1'; "
                 "GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION")

    def ping(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise DrillFailed(f"mariadbd {self.name} exited:\n{self.cleanup.tail(f'{self.name}/error.log')}")
        return self.sql("SELECT 1", timeout=5).strip() == "1"

    def sql(self, statement: str, *, database: str = "", timeout: float = 60) -> str:
        out = subprocess.run(["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B",
                              "-e", statement, *([database] if database else [])],
                             capture_output=True, text=True, timeout=timeout)
        if out.returncode:
            raise DrillFailed(f"mariadb -e {statement!r}: {out.stderr.strip()}")
        return out.stdout

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), waited for."""
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=120)


class Redis:
    """A private redis-server on a spare port, no persistence."""

    def __init__(self, cleanup: Cleanup) -> None:
        self.cleanup = cleanup
        self.port = free_port()
        self.proc: subprocess.Popen[Any] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = self.cleanup.start(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                                        "--save", "", "--appendonly", "no"], log="redis.out")
        wait_for(f"private redis-server on port {self.port}", lambda: port_open(self.port), timeout=60)

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
