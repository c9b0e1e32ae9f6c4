"""The first run: `python -m miniprogram_api` (what `./dev run` execs) on an empty folder
migrates, seeds and serves; Ctrl-C (SIGINT to the process group) or SIGTERM stops the API,
the scheduler, the bot and the sandbox with nothing left running. `.ci/first-run` does the
same from a clean copy of the checkout through `./dev run` itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from backend.config import ROOT
from backend.migrate import ensure_sqlite_folder, upgrade
from tests.ports import free_ports

# Every product these tests start has its own SQLite file whatever the pass, so the
# MariaDB pass of ./dev test would only repeat them (about 45 s of a worker).
pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="runs in the SQLite pass: the product it starts has its own SQLite file")


def test_migrations_create_the_sqlite_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/not/yet/there/siyu.sqlite"
    upgrade(url)
    assert (tmp_path / "not/yet/there/siyu.sqlite").stat().st_size > 0


def test_relative_sqlite_paths_are_made_relative_to_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ensure_sqlite_folder("sqlite:///instance/x.sqlite")
    ensure_sqlite_folder("sqlite://")  # in-memory: nothing to make
    ensure_sqlite_folder("mysql+pymysql://root@127.0.0.1/siyu")
    assert (tmp_path / "instance").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instance"]


def _get(url: str, body: dict[str, object] | None = None) -> tuple[int, dict[str, object]]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def _group_alive(pgid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(pgid)], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("stop", ["sigint-to-group", "sigterm-to-leader"])
def test_run_starts_on_an_empty_folder_and_stops_everything(tmp_path: Path, stop: str) -> None:
    api, sandbox, bot = free_ports(3)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/instance/siyu.sqlite",
               PUBLIC_BASE_URL=f"http://127.0.0.1:{api}",
               WECHAT_SANDBOX_URL=f"http://127.0.0.1:{sandbox}", BOT_WECOM_PORT=str(bot))
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "miniprogram_api"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            try:
                status, health = _get(f"http://127.0.0.1:{api}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
                time.sleep(0.5)
        assert status == 200 and health["status"] == "ok"
        status, login = _get(f"http://127.0.0.1:{api}/api/v1/mp/login",
                             {"tenant": "demo", "code": "demo-alice"})
        assert status == 200 and login["token"]
        assert len(_group_alive(proc.pid)) == 3  # the API, the scheduler, the bot

        if stop == "sigint-to-group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _group_alive(proc.pid) == []
        assert b"==> stopped" in (tmp_path / "run.log").read_bytes()
        for port in (api, sandbox, bot):
            with socket.socket() as s:
                assert s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
