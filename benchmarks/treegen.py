"""Generate a tenant with N members in a realistic promoter forest, fast.

Shape: members arrive one by one; 3% start a new tree; half of the rest are brought
by a recent joiner (fresh promoters share most: long chains), the other half by
preferential attachment (a promoter with a big team attracts more), which gives the
skewed fan-out real brands see: a few promoters with huge teams, most with none. Depth is capped at 30. The stored shapes (path, ancestor columns,
counters) are computed here in one pass and bulk-inserted, then checked by the
benchmark against the service functions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from tqdm import tqdm

from backend.members.invite import ALPHABET, LENGTH

MAX_DEPTH = 30


@dataclass
class Forest:
    parent: list[int]  # index of the parent, -1 for a root
    depth: list[int]


def grow_forest(n: int, *, seed: int = 42, root_share: float = 0.03,
                recent_share: float = 0.5) -> Forest:
    """Parent indexes for n members (each parent index < child index)."""
    rng = random.Random(seed)
    parent = [-1] * n
    depth = [0] * n
    # Each member appears once, plus once per child: picking uniformly from this list
    # is picking a parent with probability proportional to (children + 1).
    urn: list[int] = []
    for i in tqdm(range(n), desc="growing tree", unit="member", mininterval=1):
        if i > 0 and rng.random() >= root_share:
            if rng.random() < recent_share:
                # A recent joiner sharing onwards: this is what makes long chains.
                p = rng.randrange(max(0, i - 50), i)
            else:
                p = urn[rng.randrange(len(urn))]
            while depth[p] >= MAX_DEPTH:
                p = parent[p]
            parent[i] = p
            depth[i] = depth[p] + 1
            urn.append(p)
        urn.append(i)
    return Forest(parent, depth)


def insert_forest(engine, *, tenant_id: int, forest: Forest, first_id: int,
                  batch: int = 5000) -> list[int]:
    """Bulk-insert the forest as members of tenant_id; returns the member ids."""
    n = len(forest.parent)
    ids = [first_id + i for i in range(n)]
    total = [0] * n
    l1 = [0] * n
    l2 = [0] * n
    l3 = [0] * n
    par = forest.parent
    for i in range(n - 1, -1, -1):
        p = par[i]
        if p >= 0:
            total[p] += total[i] + 1
            l1[p] += 1
            g = par[p]
            if g >= 0:
                l2[g] += 1
                gg = par[g]
                if gg >= 0:
                    l3[gg] += 1
    paths = [""] * n
    for i in range(n):
        p = par[i]
        paths[i] = (paths[p] if p >= 0 else "/") + f"{ids[i]}/"
    rng = random.Random(7)
    codes: set[str] = set()
    while len(codes) < n:
        codes.add("".join(rng.choice(ALPHABET) for _ in range(LENGTH)))
    code_list = list(codes)
    now = datetime.now(UTC).replace(tzinfo=None)
    cols = ("id, tenant_id, openid, nickname, avatar_url, invite_code, profile_version,"
            " parent_id, grandparent_id, great_grandparent_id, path, depth, team_total, team_l1,"
            " team_l2, team_l3, had_team, bound_at, member_level, promoter_status, promoter_tier,"
            " created_at, updated_at")
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    # Driver-level executemany: PyMySQL folds it into multi-row INSERTs.
    sql = f"INSERT INTO members ({cols}) VALUES ({', '.join([mark] * 23)})"

    def anc(i: int, k: int) -> int | None:
        for _ in range(k):
            i = par[i]
            if i < 0:
                return None
        return ids[i]

    with tqdm(total=n, desc="inserting members", unit="row", mininterval=1) as bar:
        for start in range(0, n, batch):
            rows = []
            for i in range(start, min(n, start + batch)):
                rows.append((
                    ids[i], tenant_id, f"bench-{tenant_id}-{i}", f"会员{i}", "", code_list[i], 1,
                    anc(i, 1), anc(i, 2), anc(i, 3), paths[i], forest.depth[i], total[i], l1[i],
                    l2[i], l3[i], total[i] > 0, now if par[i] >= 0 else None, 0, "active", "normal", now, now))
            with engine.begin() as conn:
                conn.exec_driver_sql(sql, rows)
            bar.update(len(rows))
    return ids
