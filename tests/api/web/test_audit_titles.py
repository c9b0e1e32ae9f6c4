"""The 操作日志 page names every audited action and object in Chinese: each `action=` and
`target_type=` that backend/ gives record_audit (or record_security_event) has its title in
web/src/admin/pages/Audit.vue, so a new audited action cannot show up as its code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
AUDIT_VUE = ROOT / "web" / "src" / "admin" / "pages" / "Audit.vue"
# Actions built at run time (f-strings), spelled out: an authorization's status change,
# a promoter application's outcome, WeChat Pay's mismatches, log-in lockouts by account kind.
COMPUTED = {
    'f"agents.{action}"': {"agents.suspend", "agents.reinstate", "agents.revoke"},
    '"agents.application_" + app.status': {"agents.application_approved", "agents.application_rejected"},
    'f"promoter_application.{application.status}"': {"promoter_application.approved",
                                                      "promoter_application.rejected"},
    'f"finance.{what}_mismatch"': {"finance.recharge_mismatch"},
    'f"{kind}.login_locked"': {"staff.login_locked", "supplier.login_locked"},
}
COMPUTED_TARGETS = {"target_type": set(), "what": {"recharge"}, 'f"{kind}_login"': {"staff_login", "supplier_login"}}


def _calls() -> list[str]:
    """The argument text of every audit call in backend/."""
    out = []
    for path in (ROOT / "backend").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"record_(?:audit|security_event)\(", text):
            if text[max(0, m.start() - 4):m.start()] == "def ":
                continue
            out.append(text[m.end():m.end() + 600])
    return out


def _titles(name: str) -> set[str]:
    text = AUDIT_VUE.read_text(encoding="utf-8")
    block = re.search(rf"const {name} = \{{(.*?)\n\}}", text, re.S)
    assert block, name
    return {a or b for a, b in re.findall(r"(?:'([a-z_.]+)'|\b([a-z_]+)): '", block.group(1))}


def test_every_audited_action_has_a_chinese_title():
    actions, unknown = set(), []
    for call in _calls():
        m = re.search(r"""action=("[a-z_.]+" \+ [a-z_.]+|"[a-z_.]+"|f"[^"]+")""", call)
        assert m, call[:200]
        if m.group(1) in COMPUTED:
            actions |= COMPUTED[m.group(1)]
        elif m.group(1).startswith('"') and "+" not in m.group(1):
            actions.add(m.group(1).strip('"'))
        else:
            unknown.append(m.group(1))
    assert not unknown, f"spell these computed actions out in COMPUTED: {unknown}"
    assert len(actions) > 80
    missing = actions - _titles("ACTIONS")
    assert not missing, f"web/src/admin/pages/Audit.vue has no Chinese title for {sorted(missing)}"


def test_every_audited_object_kind_has_a_chinese_title():
    kinds = set()
    for call in _calls():
        m = re.search(r"""target_type=("[a-z_]+"|f"[^"]+"|[a-z_]+)""", call)
        assert m, call[:200]
        kinds |= {m.group(1).strip('"')} if m.group(1)[0] == '"' else COMPUTED_TARGETS[m.group(1)]
    missing = kinds - _titles("TARGETS")
    assert not missing, f"web/src/admin/pages/Audit.vue has no Chinese title for {sorted(missing)}"
