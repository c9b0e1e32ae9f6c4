"""Tag groups and tags of a tenant, tagging customers by hand and by rules.

Exclusive groups (客户等级: A/B/C) hold at most one tag per customer: adding one
replaces the other. Every change lands on the customer's timeline; tags of
customers who are WeCom external contacts are mirrored onto WeCom after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from backend.audit.service import record_audit
from backend.db import after_commit, rowcount
from backend.errors import DomainError
from backend.extensions import db
from backend.scrm import orders_port
from backend.scrm import rules as pure
from backend.scrm.access import acting_staff, customer_for, load_customer, record_event
from backend.scrm.errors import (
    InvalidTagField,
    InvalidTagRule,
    TagGroupNotFound,
    TagNameTaken,
    TagNotFound,
    TagRuleNotFound,
)
from backend.scrm.models import Customer, CustomerTag, StaffProfile, Tag, TagGroup, TagRule
from backend.wechat.service import credentials, gateway

log = logging.getLogger(__name__)

MAX_GROUPS = 100
MAX_TAGS_PER_GROUP = 100
AUTO_GROUP = "自动标签"  # where tag_customer_by_names creates tags it does not find


def _name(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 30 or any(ord(c) < 32 for c in value):
        raise InvalidTagField(details=[{"field": field, "message": "须为 1–30 个字"}])
    return value


# ------------------------------------------------------------------ groups and tags

def create_tag_group(*, tenant_id: int, name: str, actor: str, exclusive: bool = False,
                     tag_names: Sequence[str] = ()) -> TagGroup:
    """A new tag group, optionally with its first tags (audited)."""
    name = _name("name", name)
    names = [_name(f"tags[{i}]", n) for i, n in enumerate(tag_names)]
    if len(set(names)) != len(names):
        raise InvalidTagField(details=[{"field": "tags", "message": "标签重复"}])
    count = db.session.scalar(select(func.count()).select_from(TagGroup)
                              .where(TagGroup.tenant_id == tenant_id)) or 0
    if count >= MAX_GROUPS:
        raise InvalidTagField(f"标签组最多 {MAX_GROUPS} 个")
    if db.session.scalar(select(TagGroup.id).where(TagGroup.tenant_id == tenant_id,
                                                   TagGroup.name == name)) is not None:
        raise TagNameTaken("标签组名称已存在")
    group = TagGroup(tenant_id=tenant_id, name=name, exclusive=exclusive, position=count)
    db.session.add(group)
    _flush_unique("标签组名称已存在")
    for i, tag_name in enumerate(names):
        db.session.add(Tag(tenant_id=tenant_id, group_id=group.id, name=tag_name, position=i))
    _flush_unique("标签名称已存在")
    _mirror_new_tags(tenant_id, group, names)
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag_group.create",
                 target_type="scrm_tag_group", target_id=group.id, before=None,
                 after={"name": name, "exclusive": exclusive, "tags": names})
    return group


def _flush_unique(message: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:  # the same name created at the same moment
        raise TagNameTaken(message) from None


def get_tag_group(*, tenant_id: int, group_id: int) -> TagGroup:
    group = db.session.get(TagGroup, group_id)
    if group is None or group.tenant_id != tenant_id:
        raise TagGroupNotFound()
    return group


def update_tag_group(*, tenant_id: int, group_id: int, actor: str, name: str | None = None,
                     exclusive: bool | None = None) -> TagGroup:
    """Rename a group or change whether it is exclusive (audited)."""
    group = get_tag_group(tenant_id=tenant_id, group_id=group_id)
    before = {"name": group.name, "exclusive": group.exclusive}
    if name is not None:
        name = _name("name", name)
        if name != group.name and db.session.scalar(select(TagGroup.id).where(
                TagGroup.tenant_id == tenant_id, TagGroup.name == name)) is not None:
            raise TagNameTaken("标签组名称已存在")
        group.name = name
    if exclusive is not None:
        group.exclusive = exclusive
    _flush_unique("标签组名称已存在")
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag_group.update",
                 target_type="scrm_tag_group", target_id=group.id, before=before,
                 after={"name": group.name, "exclusive": group.exclusive})
    return group


def delete_tag_group(*, tenant_id: int, group_id: int, actor: str) -> int:
    """Delete a group with its tags, their rules and every customer's use of them (audited);
    returns how many customer tags went."""
    group = get_tag_group(tenant_id=tenant_id, group_id=group_id)
    tag_ids = list(db.session.scalars(select(Tag.id).where(Tag.tenant_id == tenant_id,
                                                           Tag.group_id == group.id)))
    removed = _delete_tags(tenant_id, tag_ids)
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag_group.delete",
                 target_type="scrm_tag_group", target_id=group.id,
                 before={"name": group.name, "tags": len(tag_ids)}, after={"customer_tags": removed})
    db.session.delete(group)
    db.session.flush()
    return removed


def _delete_tags(tenant_id: int, tag_ids: list[int]) -> int:
    if not tag_ids:
        return 0
    removed = rowcount(db.session.execute(delete(CustomerTag).where(
        CustomerTag.tenant_id == tenant_id, CustomerTag.tag_id.in_(tag_ids))))
    db.session.execute(delete(TagRule).where(TagRule.tenant_id == tenant_id,
                                             TagRule.tag_id.in_(tag_ids)))
    db.session.execute(delete(Tag).where(Tag.tenant_id == tenant_id, Tag.id.in_(tag_ids)))
    return int(removed or 0)


def create_tag(*, tenant_id: int, group_id: int, name: str, actor: str) -> Tag:
    """Add a tag to a group (audited)."""
    group = get_tag_group(tenant_id=tenant_id, group_id=group_id)
    name = _name("name", name)
    existing = list(db.session.scalars(select(Tag.name).where(Tag.tenant_id == tenant_id,
                                                              Tag.group_id == group.id)))
    if name in existing:
        raise TagNameTaken("标签名称已存在")
    if len(existing) >= MAX_TAGS_PER_GROUP:
        raise InvalidTagField(f"每组最多 {MAX_TAGS_PER_GROUP} 个标签")
    tag = Tag(tenant_id=tenant_id, group_id=group.id, name=name, position=len(existing))
    db.session.add(tag)
    _flush_unique("标签名称已存在")
    _mirror_new_tags(tenant_id, group, [name])
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag.create", target_type="scrm_tag",
                 target_id=tag.id, before=None, after={"group": group.name, "name": name})
    return tag


def get_tag(*, tenant_id: int, tag_id: int) -> Tag:
    tag = db.session.get(Tag, tag_id)
    if tag is None or tag.tenant_id != tenant_id:
        raise TagNotFound(details={"tag_ids": [tag_id]})
    return tag


def rename_tag(*, tenant_id: int, tag_id: int, name: str, actor: str) -> Tag:
    """Rename a tag (audited); customers keep it."""
    tag = get_tag(tenant_id=tenant_id, tag_id=tag_id)
    name = _name("name", name)
    before = tag.name
    if name != before and db.session.scalar(select(Tag.id).where(
            Tag.tenant_id == tenant_id, Tag.group_id == tag.group_id, Tag.name == name)) is not None:
        raise TagNameTaken("标签名称已存在")
    tag.name = name
    _flush_unique("标签名称已存在")
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag.update", target_type="scrm_tag",
                 target_id=tag.id, before={"name": before}, after={"name": name})
    return tag


def delete_tag(*, tenant_id: int, tag_id: int, actor: str) -> int:
    """Delete a tag, its rules and every customer's use of it (audited); returns how many uses."""
    tag = get_tag(tenant_id=tenant_id, tag_id=tag_id)
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag.delete", target_type="scrm_tag",
                 target_id=tag.id, before={"name": tag.name}, after=None)
    return _delete_tags(tenant_id, [tag.id])


def list_tag_groups(*, tenant_id: int) -> list[dict[str, Any]]:
    """Every group with its tags, in their positions, and how many customers carry each tag."""
    groups = list(db.session.scalars(select(TagGroup).where(TagGroup.tenant_id == tenant_id)
                                     .order_by(TagGroup.position, TagGroup.id)))
    tags = list(db.session.scalars(select(Tag).where(Tag.tenant_id == tenant_id)
                                   .order_by(Tag.position, Tag.id)))
    counts = dict(db.session.execute(
        select(CustomerTag.tag_id, func.count()).where(CustomerTag.tenant_id == tenant_id)
        .group_by(CustomerTag.tag_id)).all())
    by_group: dict[int, list[dict[str, Any]]] = {g.id: [] for g in groups}
    for t in tags:
        by_group.setdefault(t.group_id, []).append(
            {"id": t.id, "name": t.name, "customers": int(counts.get(t.id, 0))})
    return [{"id": g.id, "name": g.name, "exclusive": g.exclusive, "tags": by_group[g.id]}
            for g in groups]


def _tags_by_id(tenant_id: int, tag_ids: Iterable[int]) -> dict[int, Tag]:
    ids = sorted(set(tag_ids))
    if not ids:
        return {}
    found = {t.id: t for t in db.session.scalars(select(Tag).where(Tag.tenant_id == tenant_id,
                                                                    Tag.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise TagNotFound(details={"tag_ids": missing})
    return found


def customer_tags(*, tenant_id: int, customer_ids: Sequence[int]) -> dict[int, list[Tag]]:
    """The tags of each customer, in group then tag order (one query)."""
    out: dict[int, list[Tag]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return out
    rows = db.session.execute(
        select(CustomerTag.customer_id, Tag).join(Tag, Tag.id == CustomerTag.tag_id)
        .join(TagGroup, TagGroup.id == Tag.group_id)
        .where(CustomerTag.tenant_id == tenant_id, CustomerTag.customer_id.in_(list(customer_ids)))
        .order_by(TagGroup.position, TagGroup.id, Tag.position, Tag.id))
    for customer_id, tag in rows:
        out[customer_id].append(tag)
    return out


def tag_view(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name, "group_id": tag.group_id}


# ------------------------------------------------------------------ tagging

def tag_customer(*, tenant_id: int, staff_id: int, customer_id: int, add: Sequence[int] = (),
                 remove: Sequence[int] = (), now: datetime) -> list[Tag]:
    """A staff member adds and removes tags on a customer they may see; returns the tags now."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    customer = customer_for(tenant_id=tenant_id, staff=staff, customer_id=customer_id, lock=True)
    apply_tags(customer=customer, add=add, remove=remove, source="manual", staff_id=staff.id,
               now=now)
    return customer_tags(tenant_id=tenant_id, customer_ids=[customer.id])[customer.id]


def tag_customer_by_names(*, tenant_id: int, customer_id: int, names: Sequence[str],
                          now: datetime, staff_id: int | None = None) -> list[Tag]:
    """Tag a customer by tag names (the bot's keyword rules speak names): a name found in
    any group is used, else it is created in the group "自动标签". Rule-sourced."""
    clean = []
    for i, n in enumerate(names):
        n = _name(f"names[{i}]", n)
        if n not in clean:
            clean.append(n)
    customer = load_customer(tenant_id=tenant_id, customer_id=customer_id, lock=True)
    found: dict[str, Tag] = {}
    for t in db.session.scalars(select(Tag).where(Tag.tenant_id == tenant_id, Tag.name.in_(clean))
                                .order_by(Tag.id)):
        found.setdefault(t.name, t)  # a name in several groups: the oldest tag
    missing = [n for n in clean if n not in found]
    if missing:
        group = db.session.scalar(select(TagGroup).where(TagGroup.tenant_id == tenant_id,
                                                         TagGroup.name == AUTO_GROUP))
        if group is None:
            group = create_tag_group(tenant_id=tenant_id, name=AUTO_GROUP, tag_names=missing,
                                     actor="system:scrm")
            for t in db.session.scalars(select(Tag).where(Tag.group_id == group.id)):
                found[t.name] = t
        else:
            for n in missing:
                found[n] = create_tag(tenant_id=tenant_id, group_id=group.id, name=n,
                                      actor="system:scrm")
    apply_tags(customer=customer, add=[found[n].id for n in clean], source="rule",
               staff_id=staff_id, now=now)
    return [found[n] for n in clean]


def apply_tags(*, customer: Customer, add: Sequence[int] = (), remove: Sequence[int] = (),
               source: str, staff_id: int | None, now: datetime,
               rule_ids: dict[int, int] | None = None) -> tuple[list[int], list[int]]:
    """Put tags on / take them off one customer (exclusive groups keep one); returns the
    tag ids actually added and removed. The timeline and WeCom follow."""
    tenant_id = customer.tenant_id
    add_ids, remove_ids = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    if set(add_ids) & set(remove_ids):
        raise InvalidTagField(details=[{"field": "add", "message": "同一标签不能同时添加和移除"}])
    tags = _tags_by_id(tenant_id, [*add_ids, *remove_ids])
    # a current (locking) read: the caller holds the customer's lock, and the tags must be the
    # last committed ones, not an older snapshot
    current = {ct.tag_id: ct for ct in db.session.scalars(select(CustomerTag).where(
        CustomerTag.tenant_id == tenant_id, CustomerTag.customer_id == customer.id)
        .with_for_update().execution_options(populate_existing=True))}
    exclusive_groups = set(db.session.scalars(select(TagGroup.id).where(
        TagGroup.tenant_id == tenant_id, TagGroup.exclusive.is_(True),
        TagGroup.id.in_(sorted({tags[i].group_id for i in add_ids}) or [0]))))
    to_remove = [i for i in remove_ids if i in current]
    if exclusive_groups:
        in_group = {t.id: t.group_id for t in db.session.scalars(select(Tag).where(
            Tag.tenant_id == tenant_id, Tag.id.in_(list(current) or [0])))}
        for group_id in exclusive_groups:
            keep = [i for i in add_ids if tags[i].group_id == group_id][-1:]
            add_ids = [i for i in add_ids if tags[i].group_id != group_id or i in keep]
            to_remove += [tid for tid, gid in in_group.items()
                          if gid == group_id and tid not in keep and tid not in to_remove]
    to_add = [i for i in add_ids if i not in current]
    if to_remove:
        db.session.execute(delete(CustomerTag).where(CustomerTag.customer_id == customer.id,
                                                     CustomerTag.tag_id.in_(to_remove)))
    for tag_id in to_add:
        db.session.add(CustomerTag(tenant_id=tenant_id, customer_id=customer.id, tag_id=tag_id,
                                   source=source, staff_id=staff_id, created_at=now,
                                   rule_id=(rule_ids or {}).get(tag_id)))
    names = _names(tenant_id, [*to_add, *to_remove])
    if to_add:
        record_event(customer=customer, kind="tag_add", staff_id=staff_id, now=now,
                     content="、".join(names[i] for i in to_add),
                     data={"tag_ids": to_add, "source": source})
    if to_remove:
        record_event(customer=customer, kind="tag_remove", staff_id=staff_id, now=now,
                     content="、".join(names[i] for i in to_remove),
                     data={"tag_ids": to_remove, "source": source})
    if to_add or to_remove:
        db.session.flush()
        _mirror_marks(customer, to_add, to_remove)
    return to_add, to_remove


def _names(tenant_id: int, tag_ids: list[int]) -> dict[int, str]:
    if not tag_ids:
        return {}
    return dict(db.session.execute(select(Tag.id, Tag.name).where(
        Tag.tenant_id == tenant_id, Tag.id.in_(tag_ids))).all())


# ------------------------------------------------------------------ rules

def create_tag_rule(*, tenant_id: int, tag_id: int, kind: str, params: Any, actor: str,
                    active: bool = True) -> TagRule:
    """A rule tagging customers automatically (validated; audited)."""
    tag = get_tag(tenant_id=tenant_id, tag_id=tag_id)
    clean = _validated(kind, params)
    rule = TagRule(tenant_id=tenant_id, tag_id=tag.id, kind=kind, params=clean, active=active)
    db.session.add(rule)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag_rule.create",
                 target_type="scrm_tag_rule", target_id=rule.id, before=None,
                 after={"tag_id": tag.id, "kind": kind, "params": clean, "active": active})
    return rule


def _validated(kind: str, params: Any) -> dict[str, Any]:
    try:
        return pure.validate_params(kind, params)
    except pure.RuleInvalid as exc:
        raise InvalidTagRule(details=exc.problems) from None


def get_tag_rule(*, tenant_id: int, rule_id: int) -> TagRule:
    rule = db.session.get(TagRule, rule_id)
    if rule is None or rule.tenant_id != tenant_id:
        raise TagRuleNotFound()
    return rule


def update_tag_rule(*, tenant_id: int, rule_id: int, actor: str, params: Any = None,
                    active: bool | None = None) -> TagRule:
    """Change a rule's params or switch it on/off (audited)."""
    rule = get_tag_rule(tenant_id=tenant_id, rule_id=rule_id)
    before = {"params": rule.params, "active": rule.active}
    if params is not None:
        rule.params = _validated(rule.kind, params)
    if active is not None:
        rule.active = active
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag_rule.update",
                 target_type="scrm_tag_rule", target_id=rule.id, before=before,
                 after={"params": rule.params, "active": rule.active})
    return rule


def delete_tag_rule(*, tenant_id: int, rule_id: int, actor: str) -> None:
    """Delete a rule (tags it gave stay; audited)."""
    rule = get_tag_rule(tenant_id=tenant_id, rule_id=rule_id)
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.tag_rule.delete",
                 target_type="scrm_tag_rule", target_id=rule.id,
                 before={"tag_id": rule.tag_id, "kind": rule.kind, "params": rule.params}, after=None)
    db.session.delete(rule)
    db.session.flush()


def list_tag_rules(*, tenant_id: int, kind: str | None = None) -> list[TagRule]:
    stmt = select(TagRule).where(TagRule.tenant_id == tenant_id)
    if kind is not None:
        stmt = stmt.where(TagRule.kind == kind)
    return list(db.session.scalars(stmt.order_by(TagRule.id)))


def rule_view(rule: TagRule) -> dict[str, Any]:
    return {"id": rule.id, "tag_id": rule.tag_id, "kind": rule.kind, "params": rule.params,
            "active": rule.active}


def _active_rules(tenant_id: int, kind: str) -> list[pure.Rule]:
    rows = db.session.scalars(select(TagRule).where(
        TagRule.tenant_id == tenant_id, TagRule.kind == kind, TagRule.active.is_(True))
        .order_by(TagRule.id))
    return [pure.build_rule(rule_id=r.id, tag_id=r.tag_id, kind=r.kind, params=r.params)
            for r in rows]


def _apply_rules(customer: Customer, matched: list[pure.Rule], now: datetime) -> list[int]:
    if not matched:
        return []
    rule_of: dict[int, int] = {}
    for r in matched:
        rule_of.setdefault(r.tag_id, r.id)
    added, _ = apply_tags(customer=customer, add=pure.tag_ids(matched), source="rule",
                          staff_id=None, now=now, rule_ids=rule_of)
    return added


def apply_channel_rules(*, customer: Customer, channel: str, now: datetime) -> list[int]:
    """Tag a customer who arrived through a code of `channel`; returns the tag ids added."""
    return _apply_rules(customer, pure.match_channel(
        _active_rules(customer.tenant_id, "channel"), channel), now)


def apply_keyword_rules(*, tenant_id: int, customer_id: int, text: str,
                        now: datetime) -> list[Tag]:
    """Tag a customer whose message contains a rule's keyword (the bot calls this for each
    message); returns the tags newly added."""
    matched = pure.match_keywords(_active_rules(tenant_id, "keyword"), text)
    if not matched:
        return []
    customer = load_customer(tenant_id=tenant_id, customer_id=customer_id, lock=True)
    added = _apply_rules(customer, matched, now)
    tags = _tags_by_id(tenant_id, added)
    return [tags[i] for i in added]


def apply_purchase_rules(*, tenant_id: int, member_ids: Sequence[int], now: datetime) -> int:
    """Tag the customers behind these members by their purchases (set-based facts);
    returns how many tags were added. Members who are not customers are skipped."""
    rules = _active_rules(tenant_id, "purchase")
    if not rules or not member_ids:
        return 0
    customers = list(db.session.scalars(select(Customer).where(
        Customer.tenant_id == tenant_id, Customer.member_id.in_(list(member_ids)))
        .order_by(Customer.id)))
    if not customers:
        return 0
    facts = orders_port.purchase_facts(tenant_id=tenant_id,
                                       member_ids=[c.member_id for c in customers if c.member_id])
    added = 0
    for customer in customers:
        fact = facts.get(customer.member_id or 0)
        if fact is not None:
            added += len(_apply_rules(customer, pure.match_purchase(rules, fact), now))
    return added


# ------------------------------------------------------------------ WeCom mirror

def _wecom(tenant_id: int) -> Any:

    creds = credentials(tenant_id=tenant_id).wecom
    return None if creds is None else gateway().wecom(creds)


def _mirror_new_tags(tenant_id: int, group: TagGroup, names: Sequence[str]) -> None:
    """Create the tags in WeCom too, so WeCom customers can carry them; a WeCom failure
    leaves the tag local only (logged), never blocks the back-office."""
    if not names:
        return
    try:
        api = _wecom(tenant_id)
        if api is None:
            return
        ids = api.add_corp_tags(group_name=group.name, names=list(names))
    except DomainError as exc:
        log.warning("WeCom tags for tenant %s not created: %s", tenant_id, exc.code)
        return
    for tag in db.session.scalars(select(Tag).where(Tag.tenant_id == tenant_id,
                                                    Tag.group_id == group.id,
                                                    Tag.name.in_(list(names)))):
        tag.wecom_tag_id = ids.get(tag.name) or tag.wecom_tag_id


def _mirror_marks(customer: Customer, added: list[int], removed: list[int]) -> None:
    if not customer.external_userid or customer.owner_staff_id is None:
        return
    user_id = db.session.scalar(select(StaffProfile.wecom_user_id).where(
        StaffProfile.staff_id == customer.owner_staff_id))
    if not user_id:
        return
    wecom_ids = dict(db.session.execute(select(Tag.id, Tag.wecom_tag_id).where(
        Tag.id.in_([*added, *removed]), Tag.wecom_tag_id.is_not(None))).all())
    add_w = [wecom_ids[i] for i in added if i in wecom_ids]
    remove_w = [wecom_ids[i] for i in removed if i in wecom_ids]
    if not (add_w or remove_w):
        return
    tenant_id, external_userid = customer.tenant_id, customer.external_userid

    def mark() -> None:
        try:
            api = _wecom(tenant_id)
            if api is not None:
                api.mark_tag(user_id=user_id, external_userid=external_userid,
                             add_tag_ids=add_w, remove_tag_ids=remove_w)
        except DomainError as exc:
            log.warning("WeCom tag mark for %s failed: %s", external_userid, exc.code)

    after_commit(mark)
