"""The users of `./dev bench load` (benchmarks/bench_load.py), for locust.

Two kinds of user, chosen by the LOAD_PHASE environment variable:
- `baseline`: GET /healthz (routing, the app, one `SELECT 1`, a Redis PING) — the
  same server's cheapest answer, under the same number of users;
- `mixed`: what a brand's audience does at once: promoters read their team (summary,
  level-1 and whole-team pages, upline), shoppers read the product list, new people
  log in through wx.login (the sandbox turns the code into an openid) and bind under
  a promoter by invite code.

The members, tokens and invite codes come from the JSON file LOAD_DATA names,
written by bench_load.py before locust starts.
"""

from __future__ import annotations

import json
import os
import random
import uuid

from locust import FastHttpUser, between, task

DATA = json.loads(open(os.environ["LOAD_DATA"], encoding="utf-8").read())
PHASE = os.environ.get("LOAD_PHASE", "mixed")


class Baseline(FastHttpUser):
    wait_time = between(0, 0)
    weight = 1 if PHASE == "baseline" else 0

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="baseline: /healthz")


class Audience(FastHttpUser):
    wait_time = between(0, 0)
    weight = 1 if PHASE == "mixed" else 0

    def _auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @task(3)
    def team_summary(self) -> None:
        self.client.get("/api/v1/mp/me/team/summary", headers=self._auth(random.choice(DATA["tokens"])),
                        name="team summary")

    @task(2)
    def team_level1(self) -> None:
        self.client.get("/api/v1/mp/me/team?level=1&limit=20",
                        headers=self._auth(random.choice(DATA["big_tokens"])), name="team page (level 1)")

    @task(1)
    def team_all(self) -> None:
        self.client.get("/api/v1/mp/me/team?level=all&limit=20",
                        headers=self._auth(random.choice(DATA["big_tokens"])), name="team page (whole team)")

    @task(1)
    def upline(self) -> None:
        self.client.get("/api/v1/mp/me/upline", headers=self._auth(random.choice(DATA["deep_tokens"])),
                        name="upline")

    @task(3)
    def products(self) -> None:
        self.client.get("/api/v1/mp/shop/products", headers=self._auth(random.choice(DATA["tokens"])),
                        name="product list")

    @task(1)
    def login_and_bind(self) -> None:
        code = f"load-{uuid.uuid4().hex[:16]}"
        with self.client.post("/api/v1/mp/login", json={"tenant": DATA["tenant"], "code": code},
                              name="login (wx.login code)", catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"login {answer.status_code}")
                return
            token = answer.json()["token"]
        self.client.post("/api/v1/mp/me/bind", headers=self._auth(token), name="bind (invite code)",
                         json={"source": "invite_code", "invite_code": random.choice(DATA["invite_codes"])})
