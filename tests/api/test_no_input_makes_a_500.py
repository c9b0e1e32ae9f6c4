"""Nothing a client sends produces a 500: every route in the live route table gets
junk bodies, junk query strings and absurd path ids, with valid tokens of each kind."""

import re

import pytest

from miniprogram_api.http import ROUTES

JUNK_BODIES = [
    b"{not json",
    b"[1, 2, 3]",
    b'"just a string"',
    b"null",
    b'{"a": {"b": {"c": [1, {"d": null}]}}}',
    ('{"name": "' + "长" * 5000 + '", "amount_fen": -1, "quantity": 1e309}').encode(),
    b'{"amount_fen": "100", "price_fen": 1.5, "id": true, "ids": "x", "code": []}',
    b"\xff\xfe\x00garbage",
]
JUNK_QUERIES = ["limit=-1", "limit=abc&after_id=-5", "level=9&after_id=99999999999999999999",
                "q=%00%ff", "page=1e9&cursor=[]"]
ABSURD_IDS = ["0", "99999999999999999999", "18446744073709551616"]


def _urls(rule: str) -> list[str]:
    if "<" not in rule:
        return [rule]
    out = []
    for value in ABSURD_IDS:
        out.append(re.sub(r"<int:[^>]+>", value, re.sub(r"<(?!int:)[^>]+>", "x" * 41, rule)))
    out.append(re.sub(r"<[^>]+>", "%E4%B8%AD%00", rule.replace("<int:", "<")))
    return out


@pytest.fixture()
def tokens(factory):
    t = factory.tenant()
    return {"member": factory.member_headers(factory.member(t)),
            "staff": factory.staff_headers(factory.staff(t, role="boss")),
            "platform": {"Authorization": "Bearer test-platform-token"}, None: {}}


def test_junk_never_produces_a_500(client, tokens):
    failures = []
    for r in ROUTES:
        headers = tokens.get(r.auth, {})
        for url in _urls(r.rule):
            attempts = [(b, "") for b in JUNK_BODIES] if r.method != "GET" else []
            attempts += [(None, q) for q in JUNK_QUERIES]
            for body, query in attempts:
                resp = client.open(url + ("?" + query if query else ""), method=r.method,
                                   headers={**headers, "Content-Type": "application/json"},
                                   data=body)
                if resp.status_code >= 500:
                    failures.append((r.method, url, query, (body or b"")[:30], resp.status_code,
                                     resp.get_data(as_text=True)[:120]))
    assert not failures, failures[:10]
