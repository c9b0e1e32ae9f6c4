"""Crash drill (docs/operations.md, "Drills"): the product's processes on a private
mariadbd and redis-server, under a load of payments, bindings and withdrawals, while
they are killed and their servers fail.

Processes: gunicorn (3 workers), the scheduler (`python -m backend.jobs`), the paid-order
follow-up worker (`--only orders.follow_up_paid_orders`, PAID_FOLLOWUP=worker), the OA
inbox worker (`--only oa.bind_followers`, OA_INBOX=worker), the mini-program binding
worker (`--only members.bind_requests`, MP_BIND_INBOX=worker) and the bot (`python -m
bot`, in-memory puppet). WeChat is the sandbox, in this process: it signs the payment
notifications and follow events, and pays the withdrawals' transfers.

Phases, with the load running throughout:
1. kill -9 a gunicorn worker, the scheduler, the follow-up worker, the OA worker, the
   binding worker and the bot; restart the five (gunicorn's master replaces its worker);
2. kill -9 mariadbd and start it again: requests meanwhile must answer 503
   database_unavailable at once, never 500, and succeed again once it is back;
3. kill -9 redis-server: payments, bindings and withdrawals go on, log-ins answer 429;
   then start it again.
Every action is retried as its sender would (WeChat resends a notification or push that
was not answered 2xx; the app resends a withdrawal with the same client token). Then,
once the workers have drained: every paid order is paid once with its rewards once,
every follower and every mini-program binder is bound once under the promoter, every
withdrawal exists once and is
paid, wallets equal what was credited less what was withdrawn, and `flask ledger check`
is clean.

    .venv/bin/python ops/drills/crash.py [--seconds 12]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import (  # noqa: E402
    PYTHON,
    ROOT,
    Cleanup,
    DrillFailed,
    MariaDB,
    Redis,
    free_port,
    port_open,
    say,
    wait_for,
)

sys.path.insert(0, str(ROOT))
SECRET = "drill-secret-" + "x" * 32
CREDIT_FEN = 100_000
WITHDRAW_FEN = 1_000  # below 50 yuan: paid at once by merchant transfer


class Stats:
    """HTTP answers per phase: status -> count, plus the codes of 5xx answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.phase = "setup"
        self.by_phase: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.slowest_5xx = 0.0

    def note(self, resp: requests.Response | None, seconds: float, error: str | None = None) -> None:
        with self.lock:
            c = self.by_phase[self.phase]
            if resp is None:
                c[f"no answer ({error})"[:60]] += 1
                return
            key = str(resp.status_code)
            if resp.status_code >= 400:
                try:
                    key += " " + str(resp.json().get("code"))
                except ValueError:
                    key += " (not json)"
                self.slowest_5xx = max(self.slowest_5xx, seconds)
            c[key] += 1


class Load:
    """Threads that pay orders, bind followers and mini-program members, and withdraw
    until stopped."""

    def __init__(self, api: str, sandbox: Any, stats: Stats, *, sku: int, buyers: list[str],
                 withdrawers: list[str], invite_code: str, oa_appid: str) -> None:
        self.api, self.sb, self.stats = api, sandbox, stats
        self.sku, self.buyers, self.withdrawers = sku, buyers, withdrawers
        self.invite_code, self.oa_appid = invite_code, oa_appid
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.paid: set[str] = set()          # order numbers the sandbox paid
        self.followers: set[str] = set()     # OA users who followed (events sent)
        self.mp_binders: set[int] = set()    # members whose POST /mp/me/bind was queued or bound
        self.withdrawals: dict[str, tuple[str, int]] = {}  # client token -> (member token, fen)
        self.unacked_withdrawals: set[str] = set()
        self.n = 0
        self.threads: list[threading.Thread] = []

    def _next(self) -> int:
        with self.lock:
            self.n += 1
            return self.n

    def http(self, method: str, path: str, *, token: str | None = None, json: Any = None) -> requests.Response | None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        t = time.monotonic()
        try:
            r = requests.request(method, self.api + path, headers=headers, json=json, timeout=20)
        except requests.RequestException as exc:
            self.stats.note(None, time.monotonic() - t, type(exc).__name__)
            return None
        self.stats.note(r, time.monotonic() - t)
        return r

    def until_ok(self, fn: Any, *, tries: int = 60) -> Any:
        """Retry an action as its sender would, with a short pause, until it succeeds."""
        for _ in range(tries):
            r = fn()
            status = getattr(r, "status_code", 0) if r is not None else 0
            if 200 <= status < 300:
                return r
            if 400 <= status < 500 and status != 429:
                return None  # refused for good: a client does not resend that
            time.sleep(0.5)
        return None

    def pay_one(self) -> None:
        buyer = random.choice(self.buyers)
        order = self.http("POST", "/api/v1/mp/shop/orders", token=buyer, json={
            "items": [{"sku_id": self.sku, "quantity": 1}],
            "receiver": {"name": "演练", "phone": "13900139000", "address": "杭州市西湖区龙井路 2 号"}})
        if order is None or order.status_code != 201:
            return  # the buyer would try again; nothing was paid
        body = order.json()
        prepay = self.http("POST", f"/api/v1/mp/shop/orders/{body['id']}/prepay", token=buyer)
        if prepay is None or prepay.status_code != 200:
            return
        n = self.sb.pay_order(body["order_no"])
        with self.lock:
            self.paid.add(body["order_no"])
        # WeChat Pay resends until it gets a 2xx (the sandbox's auto-delivery sends too)
        self.until_ok(lambda: self._deliver(n))

    def _deliver(self, n: Any) -> Any:
        t = time.monotonic()
        (d,) = self.sb.deliver(n)
        status = d.result.status_code
        fake = SimpleNamespace(status_code=status or 0, json=lambda: _json(d.result.body))
        self.stats.note(fake if status else None, time.monotonic() - t, d.result.error)  # type: ignore[arg-type]
        return fake

    def bind_one(self) -> None:
        user = f"drill-fan-{self._next()}"
        with self.lock:
            self.followers.add(user)

        def push() -> Any:
            t = time.monotonic()
            res = self.sb.oa_event(self.oa_appid, user, "subscribe", event_key=f"qrscene_i={self.invite_code}")
            fake = SimpleNamespace(status_code=res.result.status_code or 0, json=lambda: _json(res.result.body))
            self.stats.note(fake if res.result.status_code else None, time.monotonic() - t, res.result.error)  # type: ignore[arg-type]
            return fake

        self.until_ok(push)

    def mp_bind_one(self) -> None:
        """A new member opens the mini-program through the promoter's share: logs in, then
        binds by the scene (MP_BIND_INBOX=worker: queued, bound by the worker)."""
        code = f"drill-mp-{self._next()}"
        login = self.until_ok(lambda: self.http("POST", "/api/v1/mp/login", json={"tenant": "demo", "code": code}))
        if login is None:
            return
        token, member_id = login.json()["token"], login.json()["member"]["id"]
        bound = self.until_ok(lambda: self.http("POST", "/api/v1/mp/me/bind", token=token,
                                                json={"source": "share", "scene": f"i={self.invite_code}"}))
        if bound is not None:
            with self.lock:
                self.mp_binders.add(member_id)

    def withdraw_one(self) -> None:
        member = random.choice(self.withdrawers)
        token = f"drill-w-{self._next()}"
        with self.lock:
            self.withdrawals[token] = (member, WITHDRAW_FEN)
        r = self.until_ok(lambda: self.http("POST", "/api/v1/mp/wallet/withdrawals", token=member,
                                            json={"amount_fen": WITHDRAW_FEN, "client_token": token}))
        if r is None:
            with self.lock:
                self.unacked_withdrawals.add(token)

    def worker(self, kind: str) -> None:
        action = {"pay": self.pay_one, "bind": self.bind_one, "mp_bind": self.mp_bind_one,
                  "withdraw": self.withdraw_one}[kind]
        while not self.stop.is_set():
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - a drill thread must not die silently
                say(f"   load {kind}: {type(exc).__name__}: {exc}")
                time.sleep(0.5)
            # follows and withdrawals at a pace the loaded machine's workers keep up with
            # (the OA inbox worker binds in batches; the drill waits for it to drain)
            time.sleep({"pay": 0.0, "bind": 0.25, "mp_bind": 0.25, "withdraw": 0.3}[kind])

    def start(self) -> None:
        for kind in ("pay", "pay", "pay", "bind", "mp_bind", "withdraw"):
            t = threading.Thread(target=self.worker, args=(kind,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=180)


def _json(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return {}


def _last_error(log_path: Path) -> str:
    """The last logged error of the workers with its whole traceback: the drill's folder,
    and the log with it, is removed at the end."""
    lines = log_path.read_text(errors="replace").splitlines()
    starts = ([i for i, line in enumerate(lines) if "unhandled error" in line]
              or [i for i, line in enumerate(lines) if "ERROR" in line or line.startswith("Traceback")])
    if not starts:
        return "(no error logged)"
    first = starts[-1]
    return "\n".join(line[:400] for line in lines[first:first + 60])


def gunicorn_workers(master: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                out.append(int(entry))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="load before, between and after the failures")
    args = ap.parse_args(argv)
    started = time.monotonic()
    with Cleanup("siyu-drill-crash.") as c:
        try:
            return drill(c, args.seconds, started)
        except DrillFailed as exc:
            say(f"CRASH DRILL FAILED: {exc}")
            for log in ("gunicorn.out", "scheduler.out", "followup.out", "oa.out", "bot.out"):
                print(f"---- {log} (last lines)\n{c.tail(log, 15)}")
            return 1


def drill(c: Cleanup, seconds: float, started: float) -> int:
    db = MariaDB(c, "db")
    redis = Redis(c)
    say(f"1. private mariadbd on port {db.port}, redis-server on port {redis.port}, in {c.dir}")
    db.install()
    db.start()
    db.sql("CREATE DATABASE siyu CHARACTER SET utf8mb4")
    redis.start()
    api_port, bot_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"

    from backend.wechat.sandbox import start_sandbox

    sandbox = start_sandbox(port=0, auto_deliver=False, auto_settle=True)
    env = {**os.environ, "DATABASE_URL": db.url("siyu"), "REDIS_URL": redis.url(0), "SECRET_KEY": SECRET,
           "WECHAT_MODE": "sandbox", "WECHAT_SANDBOX_URL": sandbox.url, "PUBLIC_BASE_URL": api,
           "PAID_FOLLOWUP": "worker", "OA_INBOX": "worker", "MP_BIND_INBOX": "worker", "LOG_FORMAT": "json",
           # every request here comes from one address: lift the per-address and per-member limits
           "RATE_LIMITS": "mp_login_ip=1000000/minute;withdraw_member=1000000/hour",
           "PYTHONPATH": str(ROOT)}
    for k in ("TEST_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(k, None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WECHAT_MODE",
                                           "WECHAT_SANDBOX_URL", "PUBLIC_BASE_URL", "PAID_FOLLOWUP",
                                           "OA_INBOX", "MP_BIND_INBOX", "RATE_LIMITS")})

    say("2. migrations, the demo tenant, a product with stock for the load, credited withdrawers")
    t = time.monotonic()
    seeded = seed(env, sandbox, api)
    say(f"   seeded in {time.monotonic() - t:.0f} s")
    sandbox.auto_deliver = True  # as WeChat Pay: notifications and transfer results go out at once

    procs: dict[str, tuple[list[str], dict[str, str], str]] = {
        "gunicorn": ([str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "3", "-k", "gthread", "--threads", "4",
                      "-b", f"127.0.0.1:{api_port}", "--preload", "--timeout", "60", "--graceful-timeout", "5",
                      "--log-level", "warning", "miniprogram_api:create_web_app()"], env, "gunicorn.out"),
        "scheduler": ([PYTHON, "-m", "backend.jobs"], env, "scheduler.out"),
        "followup": ([PYTHON, "-m", "backend.jobs", "--only", "orders.follow_up_paid_orders"], env, "followup.out"),
        "oa": ([PYTHON, "-m", "backend.jobs", "--only", "oa.bind_followers"], env, "oa.out"),
        "mpbind": ([PYTHON, "-m", "backend.jobs", "--only", "members.bind_requests"], env, "mpbind.out"),
        "bot": ([PYTHON, "-m", "bot"], {**env, "BOT_TENANT": "demo", "BOT_MEMORY_PUPPET": "1",
                                        "BOT_WECOM_HOST": "127.0.0.1", "BOT_WECOM_PORT": str(bot_port)}, "bot.out"),
    }
    running: dict[str, subprocess.Popen[Any]] = {}

    def launch(name: str) -> None:
        args, e, log = procs[name]
        running[name] = c.start(args, log=log, env=e, cwd=ROOT)

    for name in procs:
        launch(name)
    wait_for("gunicorn answering /livez", lambda: requests.get(api + "/livez", timeout=2).ok, timeout=180)
    wait_for("the bot's WeCom callback port", lambda: port_open(bot_port), timeout=180)
    say(f"3. running: gunicorn (master {running['gunicorn'].pid}, workers "
        f"{gunicorn_workers(running['gunicorn'].pid)}), scheduler, follow-up worker, OA worker, binding worker, bot")

    stats = Stats()
    load = Load(api, sandbox, stats, sku=seeded["sku"], buyers=seeded["buyers"], withdrawers=seeded["withdrawers"],
                invite_code=seeded["invite_code"], oa_appid=seeded["oa_appid"])
    stats.phase = "1 steady"
    load.start()
    time.sleep(seconds)

    stats.phase = "2 kill -9 processes"
    workers = gunicorn_workers(running["gunicorn"].pid)
    victim = workers[0]
    say(f"4. kill -9: gunicorn worker {victim}, scheduler, follow-up worker, OA worker, binding worker, bot")
    os.kill(victim, signal.SIGKILL)
    for name in ("scheduler", "followup", "oa", "mpbind", "bot"):
        os.killpg(running[name].pid, signal.SIGKILL)
        running[name].wait(timeout=30)
    time.sleep(2)
    for name in ("scheduler", "followup", "oa", "mpbind", "bot"):
        launch(name)
    wait_for("gunicorn's replacement worker", lambda: len(gunicorn_workers(running["gunicorn"].pid)) == 3
             and victim not in gunicorn_workers(running["gunicorn"].pid), timeout=120)
    wait_for("the restarted bot", lambda: port_open(bot_port), timeout=180)
    say("   restarted; gunicorn replaced its worker")
    time.sleep(seconds)

    say("5. kill -9 mariadbd mid-load, 6 s down, start it again (crash recovery)")
    stats.phase = "3 database down"
    db.kill9()
    down_checks = []
    for _ in range(6):
        t = time.monotonic()
        r = requests.post(api + "/api/v1/mp/login", json={"tenant": "demo", "code": "demo-alice"}, timeout=30)
        down_checks.append((r.status_code, _json(r.text).get("code"), round(time.monotonic() - t, 2)))
        time.sleep(1)
    db.start(timeout=240)
    stats.phase = "4 database back"
    t = time.monotonic()
    wait_for("a log-in succeeding after the database is back",
             lambda: requests.post(api + "/api/v1/mp/login", json={"tenant": "demo", "code": "demo-alice"},
                                   timeout=10).status_code == 200, timeout=120)
    recovered = time.monotonic() - t
    say(f"   while down, a log-in answered {sorted(set(down_checks))}; "
        f"recovered {recovered:.1f} s after the server accepted connections")
    time.sleep(seconds)

    say("6. kill -9 redis-server: payments, bindings and withdrawals go on, log-ins refused")
    stats.phase = "5 redis down"
    paid_before, fans_before = len(load.paid), len(load.followers)
    redis.kill9()
    time.sleep(seconds)
    login_while_redis_down = requests.post(api + "/api/v1/mp/login", json={"tenant": "demo", "code": "demo-alice"},
                                           timeout=30)
    paid_during, fans_during = len(load.paid) - paid_before, len(load.followers) - fans_before
    redis.start()
    stats.phase = "6 redis back"
    time.sleep(seconds / 2)

    say("7. load stopped; waiting for the workers to drain")
    stats.phase = "7 drain"
    load.finish()
    drained = drain(db, sandbox, api, load)
    say(f"   drained in {drained:.0f} s")
    return verify(c, db, env, load, stats, seeded, started, down_checks=down_checks, recovered=recovered,
                  login_while_redis_down=login_while_redis_down, during=(paid_during, fans_during))


def seed(env: dict[str, str], sandbox: Any, api: str) -> dict[str, Any]:
    """Migrate, seed the demo tenant, register it with the sandbox, and prepare the load's
    actors over HTTP-free service calls (this process is not the server)."""
    from backend.config import load_settings
    from backend.db import unit_of_work, utcnow
    from backend.demo import seed_demo
    from backend.migrate import upgrade
    from miniprogram_api import create_web_app

    settings = load_settings(env)
    upgrade(settings.database_url)
    app = create_web_app(settings)
    client = app.test_client()
    with app.app_context():
        from backend.catalog import service as catalog
        from backend.finance import service as finance
        from backend.flows import catalog as catalog_flow
        from backend.wechat.service import credentials

        tenant = seed_demo(public_base_url=api)
        creds = credentials(tenant_id=tenant.id)
        sandbox.register_tenant(creds, oa_push_url=f"{api}/oa/demo", wecom_callback_url=f"{api}/wecom/demo")
        with unit_of_work():
            p = catalog_flow.create_product(
                tenant_id=tenant.id, name="演练龙井", on_shelf=True, allowed_levels=None, actor="drill",
                skus=[catalog.SkuSpec(name="演练装", price_fen=10_000, cost_fen=4_000, stock=100_000)])
            sku = catalog.skus_of(tenant_id=tenant.id, product_ids=[p.id])[p.id][0].id
            # small withdrawals paid at once, as many a day as the load makes
            finance.update_rules(tenant_id=tenant.id, actor="drill", changes={
                "withdraw_daily_count": None, "withdraw_daily_limit_fen": None,
                "auto_approve_below_fen": WITHDRAW_FEN + 1})

        def login(code: str) -> tuple[str, dict[str, Any]]:
            r = client.post("/api/v1/mp/login", json={"tenant": "demo", "code": code})
            if r.status_code != 200:
                raise DrillFailed(f"seed login {code}: {r.status_code} {r.get_data(as_text=True)}")
            return r.json["token"], r.json["member"]

        alice_token, _ = login("demo-alice")
        invite = client.get("/api/v1/mp/me", headers={"authorization": f"Bearer {alice_token}"}).json["invite_code"]
        buyers = []
        for i in range(6):
            token, _ = login(f"drill-buyer-{i}")
            client.post("/api/v1/mp/me/bind", headers={"authorization": f"Bearer {token}"},
                        json={"source": "share", "scene": f"i={invite}"})
            buyers.append(token)
        withdrawers, credited = [], {}
        for i in range(3):
            token, member = login(f"drill-payee-{i}")
            with unit_of_work():
                finance.credit_bonuses(tenant_id=tenant.id, now=utcnow(), payouts=[SimpleNamespace(
                    id=9_000_000 + i, beneficiary_id=member["id"], amount_fen=CREDIT_FEN, order_line_id=None)])
            withdrawers.append(token)
            credited[token] = member["id"]
        return {"tenant_id": tenant.id, "sku": sku, "buyers": buyers, "withdrawers": withdrawers,
                "credited": credited, "invite_code": invite, "oa_appid": creds.official_account.appid}


def q(db: MariaDB, sql: str) -> list[list[str]]:
    return [line.split("\t") for line in db.sql(sql, database="siyu").splitlines() if line]


def drain(db: MariaDB, sandbox: Any, api: str, load: Load) -> float:
    t = time.monotonic()

    last = [0.0]

    def empty() -> bool:
        sandbox.deliver_pending()  # WeChat's resends of anything not yet answered 2xx
        pending = q(db, "SELECT (SELECT COUNT(*) FROM orders WHERE followup_pending = 1), "
                        "(SELECT COUNT(*) FROM oa_inbox WHERE pending = 1), "
                        "(SELECT COUNT(*) FROM member_bind_inbox WHERE pending = 1), "
                        "(SELECT COUNT(*) FROM finance_withdrawals WHERE status IN ('pending', 'approved', 'paying'))")
        if time.monotonic() - last[0] > 10:
            last[0] = time.monotonic()
            say(f"   pending: follow-ups, OA inbox, binding inbox, open withdrawals = {pending}")
        return pending == [["0", "0", "0", "0"]]

    wait_for("the follow-up backlog, both binding inboxes and open withdrawals to drain", empty, timeout=300,
             every=2)
    return time.monotonic() - t


def verify(c: Cleanup, db: MariaDB, env: dict[str, str], load: Load, stats: Stats, seeded: dict[str, Any],
           started: float, *, down_checks: list[Any], recovered: float, login_while_redis_down: Any,
           during: tuple[int, int]) -> int:
    problems: list[str] = []
    tid = seeded["tenant_id"]
    paid = sorted(load.paid)
    in_list = ",".join(f"'{n}'" for n in paid) or "''"
    orders = q(db, f"SELECT o.order_no, o.status, o.followup_pending, "
                   f"(SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.id), "
                   f"(SELECT COUNT(*) FROM finance_reward_accruals a WHERE a.order_id = o.id) "
                   f"FROM orders o WHERE o.tenant_id = {tid} AND o.order_no IN ({in_list})")
    found = {row[0]: row for row in orders}
    not_paid = [n for n in paid if n not in found or found[n][1] != "paid" or found[n][2] == "1"]
    wrong_rewards = [n for n in paid if n in found and found[n][4] != found[n][3]]
    if not_paid:
        problems.append(f"{len(not_paid)} orders paid at WeChat are not paid and followed up: {not_paid[:5]}")
    if wrong_rewards:
        problems.append(f"{len(wrong_rewards)} paid orders without exactly one reward per line: {wrong_rewards[:5]}")
    promoter = q(db, f"SELECT id FROM members WHERE tenant_id = {tid} AND invite_code = '{seeded['invite_code']}'")[0][0]
    fans = q(db, f"SELECT m.id, m.parent_id, (SELECT COUNT(*) FROM member_bindings b WHERE b.member_id = m.id) "
                 f"FROM members m WHERE m.tenant_id = {tid} AND m.oa_openid IS NOT NULL AND m.id IN "
                 f"(SELECT member_id FROM member_bindings WHERE source = 'oa_qrcode')")
    badly_bound = [f for f in fans if f[1] != promoter or f[2] != "1"]
    if len(fans) != len(load.followers):
        problems.append(f"{len(load.followers)} followers sent, {len(fans)} bound")
    if badly_bound:
        problems.append(f"{len(badly_bound)} followers not bound exactly once under the promoter")
    mp_ids = ",".join(str(i) for i in sorted(load.mp_binders)) or "0"
    mp_rows = q(db, f"SELECT m.id, m.parent_id, (SELECT COUNT(*) FROM member_bindings b WHERE b.member_id = m.id), "
                    f"(SELECT COUNT(*) FROM member_bind_inbox i WHERE i.member_id = m.id AND i.outcome = 'bound') "
                    f"FROM members m WHERE m.tenant_id = {tid} AND m.id IN ({mp_ids})")
    mp_bad = [r for r in mp_rows if r[1] != promoter or r[2] != "1" or r[3] not in ("0", "1")]
    if len(mp_rows) != len(load.mp_binders) or mp_bad:
        problems.append(f"mini-program binders: {len(load.mp_binders)} queued, {len(mp_rows)} found, "
                        f"{len(mp_bad)} not bound exactly once under the promoter: {mp_bad[:3]}")
    wd = q(db, f"SELECT client_token, COUNT(*), MIN(status), SUM(amount_fen) FROM finance_withdrawals "
               f"WHERE tenant_id = {tid} AND client_token LIKE 'drill-w-%' GROUP BY client_token")
    acked = set(load.withdrawals) - load.unacked_withdrawals
    rows = {r[0]: r for r in wd}
    doubled = [t for t, r in rows.items() if r[1] != "1"]
    missing = [t for t in acked if t not in rows]
    unpaid = [t for t, r in rows.items() if r[2] != "paid"]
    if doubled or missing or unpaid:
        problems.append(f"withdrawals: {len(doubled)} doubled, {len(missing)} acknowledged but missing, "
                        f"{len(unpaid)} not paid")
    wallets_off = []
    for token, member_id in seeded["credited"].items():
        out = sum(int(r[3]) for t, r in rows.items() if load.withdrawals.get(t, ("",))[0] == token
                  and r[2] != "failed")
        avail = requests.get(load.api + "/api/v1/mp/wallet", headers={"authorization": f"Bearer {token}"},
                             timeout=20).json()["available_fen"]
        if avail != CREDIT_FEN - out:
            wallets_off.append((member_id, avail, CREDIT_FEN - out))
    if wallets_off:
        problems.append(f"wallets not equal to credited less withdrawn: {wallets_off}")
    check = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "miniprogram_api:create_web_app",
                            "ledger", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if check.returncode:
        problems.append(f"flask ledger check: {check.stdout[-500:]} {check.stderr[-500:]}")
    fivehundreds = {p: n for p, cnt in stats.by_phase.items() for k, n in cnt.items() if k.startswith("500")}
    if fivehundreds:
        # The workers' own account of it: the drill's folder is removed at the end.
        problems.append(f"500 answers: {fivehundreds}; gunicorn's last error:\n{_last_error(c.dir / 'gunicorn.out')}")
    down_codes = {code for status, code, _ in down_checks if status != 200}
    if not down_codes or down_codes != {"database_unavailable"}:
        problems.append(f"while the database was down a log-in answered {down_checks}")
    if max(s for _, _, s in down_checks) > 10:
        problems.append(f"a request took {max(s for _, _, s in down_checks)} s while the database was down")
    if login_while_redis_down.status_code != 429:
        problems.append(f"a log-in with Redis down answered {login_while_redis_down.status_code}")
    if during[0] == 0 or during[1] == 0:
        problems.append(f"with Redis down {during[0]} payments and {during[1]} follows went through")

    print()
    print("Crash drill (private mariadbd and redis-server; gunicorn x3, scheduler, follow-up worker, OA worker, "
          "binding worker, bot)")
    print(f"  orders paid at WeChat            {len(paid):>6}   paid and followed up once: {len(paid) - len(not_paid)}"
          f"   rewards once per line: {len(paid) - len(wrong_rewards)}")
    print(f"  followers sent (OA subscribe)    {len(load.followers):>6}   bound once under the promoter: "
          f"{len(fans) - len(badly_bound)}")
    print(f"  mini-program binders (inbox)     {len(load.mp_binders):>6}   bound once under the promoter: "
          f"{len(mp_rows) - len(mp_bad)}")
    print(f"  withdrawals acknowledged         {len(acked):>6}   rows: {len(rows)}, doubled {len(doubled)}, "
          f"missing {len(missing)}, not paid {len(unpaid)}")
    print(f"  wallets = credited - withdrawn   {len(seeded['credited']) - len(wallets_off)}/{len(seeded['credited'])}")
    print(f"  flask ledger check               {'clean' if not check.returncode else 'MISMATCH'}")
    print(f"  database down: a log-in answered {sorted({(s, k) for s, k, _ in down_checks})}, "
          f"slowest {max(s for _, _, s in down_checks):.2f} s; back {recovered:.1f} s after restart")
    print(f"  redis down: {during[0]} payments and {during[1]} follows taken, a log-in answered "
          f"{login_while_redis_down.status_code} {_json(login_while_redis_down.text).get('message', '')}")
    print("  HTTP answers per phase (the load's own requests, WeChat's resends included):")
    for phase, counter in sorted(stats.by_phase.items()):
        print(f"    {phase:<22} " + ", ".join(f"{k}: {n}" for k, n in sorted(counter.items())))
    print(f"  drill time                       {time.monotonic() - started:>6.0f} s")
    if problems:
        for p in problems:
            say("PROBLEM: " + p)
        say("CRASH DRILL FAILED")
        return 1
    say("CRASH DRILL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
