"""docs/scale-out.md: Siyu on a Redis Cluster (REDIS_URL=redis+cluster://host:port).

A real three-primary cluster is started from the machine's redis-server in a temp
folder. Every use of Redis in the product then runs through the cluster client:
  - the job lock (SET NX PX, compare-and-delete under WATCH);
  - the job metrics (a one-key pipeline, SCAN across the primaries);
  - the pushed-nonce guard;
  - the rate limiter (`limits`' cluster storage);
  - the token-state cache behind every authenticated request.
Keys land on different nodes, and no operation is refused for crossing slots.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.extensions import redis_holder
from backend.jobs import Job, run_locked
from backend.observability.metrics import read_job_runs, record_job_run
from backend.ratelimit import RateLimited, build_limiter
from backend.wechat.push_guard import PushReplayed, claim_nonce

pytestmark = pytest.mark.redis


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _below_ephemeral() -> int:
    """The lowest port the kernel hands out to outgoing connections (32768 by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_ports(n: int) -> list[int]:
    """Ports whose cluster-bus port (port + 10000) is free too, both below the ephemeral
    range: a port in it can be taken by any outgoing connection (another test's) between
    this check and the server's bind, and the cluster then never forms."""
    rng = random.Random()
    top = max(_below_ephemeral() - 10000, 12000)
    ports: list[int] = []
    while len(ports) < n:
        p = rng.randrange(10000, top)
        if p not in ports and _free(p) and _free(p + 10000):
            ports.append(p)
    return ports


def _start_cluster(server: str, cli: str, folder: Path) -> list[int]:
    """Three primaries formed into a cluster; their ports. Raises with the nodes' own
    account when the cluster does not form."""
    ports = _free_ports(3)
    for p in ports:
        (folder / str(p)).mkdir()
        subprocess.run([server, "--port", str(p), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                        "--cluster-config-file", str(folder / str(p) / "nodes.conf"), "--dir", str(folder / str(p)),
                        "--save", "", "--appendonly", "no", "--daemonize", "yes",
                        "--logfile", str(folder / str(p) / "log")], check=True)
    try:
        for p in ports:
            for _ in range(100):
                if subprocess.run([cli, "-p", str(p), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"redis-server on {p} never answered: {(folder / str(p) / 'log').read_text()[-800:]}")
        made = subprocess.run([cli, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                               "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True, timeout=60)
        if made.returncode:
            raise RuntimeError(f"redis-cli --cluster create: {made.stdout[-800:]} {made.stderr[-800:]}")
        for _ in range(100):
            info = subprocess.run([cli, "-p", str(ports[0]), "cluster", "info"], capture_output=True, text=True).stdout
            if "cluster_state:ok" in info:
                return ports
            time.sleep(0.1)
        raise RuntimeError("the test cluster did not come up (cluster_state never ok)")
    except BaseException:
        _stop(cli, ports)
        raise


def _stop(cli: str, ports: list[int]) -> None:
    for p in ports:
        subprocess.run([cli, "-p", str(p), "shutdown", "nosave"], capture_output=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Three primaries on spare ports; the URL of one of them. A start that fails (a
    port taken in between) is tried again on other ports, twice at most."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not (server and cli):
        pytest.fail("redis-server and redis-cli are needed for the Redis Cluster test")
    for attempt in range(3):
        try:
            ports = _start_cluster(server, cli, tmp_path_factory.mktemp("redis-cluster"))
            break
        except RuntimeError:
            if attempt == 2:
                raise
    try:
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        _stop(cli, ports)


@pytest.fixture()
def on_cluster(app: Any, cluster: str) -> Iterator[Any]:
    """The app's Redis is the cluster for one test, then the usual server again."""
    saved = (redis_holder.client, redis_holder.is_real, redis_holder.url)
    redis_holder.init_app(cluster)
    try:
        yield redis_holder.client
    finally:
        redis_holder.client.close()
        redis_holder.client, redis_holder.is_real, redis_holder.url = saved


def test_the_cluster_client_is_used_and_keys_spread_over_the_primaries(on_cluster):
    from redis.cluster import RedisCluster

    assert isinstance(on_cluster, RedisCluster)
    keys = [f"siyu:probe:{i}" for i in range(30)]
    for k in keys:
        on_cluster.set(k, "1")
    nodes = {on_cluster.get_node_from_key(k).name for k in keys}
    assert len(nodes) == 3


def test_the_job_lock_takes_and_frees_one_key_on_a_cluster(on_cluster):
    calls: list[Any] = []

    def job(*, now: Any) -> int:
        calls.append(now)
        return 1

    assert run_locked(Job("test.cluster", job, 60), redis=on_cluster, now_fn=lambda: "t1") == 1
    assert on_cluster.get("siyu:job:test.cluster") is None  # freed by compare-and-delete
    on_cluster.set("siyu:job:test.cluster", "another-scheduler", px=60_000)
    assert run_locked(Job("test.cluster", job, 60), redis=on_cluster, now_fn=lambda: "t2") is None
    assert calls == ["t1"] and on_cluster.get("siyu:job:test.cluster") == b"another-scheduler"


def test_job_metrics_are_written_and_scanned_across_the_primaries(on_cluster):
    for name in ("a.one", "b.two", "c.three", "d.four"):
        record_job_run(on_cluster, name=name, interval_seconds=5, started=time.time(), seconds=0.1,
                       done=2, failed=False)
    runs = read_job_runs(on_cluster)
    assert {"a.one", "b.two", "c.three", "d.four"} <= set(runs) and runs["b.two"]["runs"] == 1


def test_a_replayed_push_is_refused_on_a_cluster(on_cluster):
    now = time.time()
    query = {"timestamp": str(int(now)), "nonce": "n-cluster-1"}
    assert claim_nonce(channel="oa", account="wx1", query=query, now=now)
    with pytest.raises(PushReplayed):
        claim_nonce(channel="oa", account="wx1", query=query, now=now)


def test_rate_limits_count_on_a_cluster(on_cluster):
    limiter = build_limiter(on_cluster, {"staff_login_user": "3/minute"})
    for _ in range(3):
        limiter.hit("staff_login_user", "tenant-x", "alice")
    with pytest.raises(RateLimited):
        limiter.hit("staff_login_user", "tenant-x", "alice")
    limiter.hit("staff_login_user", "tenant-x", "bob")  # another key, its own count


def test_requests_check_and_revoke_tokens_through_the_cluster(on_cluster, client, factory):
    t = factory.tenant()
    op = factory.staff(t, "operator")
    auth = factory.staff_headers(op)
    assert client.get("/api/v1/admin/members", headers=auth).status_code == 200
    assert any(k.startswith(b"siyu:") for k in on_cluster.keys("*"))  # the token state was cached there
    assert client.post("/api/v1/admin/logout", headers=auth).status_code == 200
    assert client.get("/api/v1/admin/members", headers=auth).json["code"] == "token_revoked"
