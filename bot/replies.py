"""The bot's wording (Chinese; the bot owns wording, the backend owns rules)."""

from __future__ import annotations

from backend.notifications.messages import CHINA as _CHINA
from backend.notifications.scrm_port import CustomerCard

HELP = ("我可以帮您：\n"
        "· 发送「邀请码」查看您的邀请码\n"
        "· 发送「海报」获取您的专属邀请海报\n"
        "· 发送「今日」查看今天的团队和佣金\n"
        "· 发送「退订」/「订阅」关闭或开启每日通知\n"
        "· 发送「领券」查看可领的优惠券，「领券 编号」领取\n"
        "员工可发送「客户 手机号/昵称」查看客户标签和备注。\n"
        "首次使用请在小程序「我的」页面获取绑定码，发送「绑定 123456」。")


def welcome(name: str, brand: str, custom: str | None) -> str:
    if custom:
        return custom.replace("{name}", name).replace("{brand}", brand)
    return f"你好{name}，我是{brand}的小助手，很高兴认识你！发送「帮助」看看我能做什么。"


def room_welcome(names: list[str], topic: str, custom: str | None) -> str:
    who = "、".join(names)
    if custom:
        return custom.replace("{names}", who).replace("{topic}", topic)
    where = f"「{topic}」" if topic else "本群"
    return f"欢迎 {who} 加入{where}！发送「帮助」了解如何获取邀请码和专属海报。"


def invite_code(code: str) -> str:
    return f"您的邀请码：{code}\n好友在小程序「我的 - 填写邀请码」输入即可成为您的团队成员。"


def poster_caption() -> str:
    return "这是您的专属邀请海报，好友扫码即可绑定到您的团队。"


def linked(name: str, staff: bool) -> str:
    who = "员工账号" if staff else "会员账号"
    return f"绑定成功！已关联{who}「{name}」。发送「帮助」查看可用功能。"


def unlinked(done: bool) -> str:
    return "已解除绑定。" if done else "当前没有绑定的账号。"


def notify(on: bool) -> str:
    return "已开启每日团队与佣金通知。" if on else "已关闭每日团队与佣金通知，发送「订阅」可随时重新开启。"


def customer_card(card: CustomerCard | None, query: str) -> str:
    if card is None:
        return f"没有找到客户「{query}」（只能查看您负责的客户）。"
    lines = [f"客户：{card.name or '未命名'}" + (f"（{card.phone}）" if card.phone else "")]
    if card.owner:
        lines.append(f"负责人：{card.owner}")
    lines.append("标签：" + ("、".join(card.tags) if card.tags else "暂无"))
    if card.remarks:
        lines.append("最近备注：")
        lines += [f"· {at.astimezone(_CHINA).strftime('%m-%d %H:%M')} {text}" for at, text in card.remarks]
    else:
        lines.append("备注：暂无")
    return "\n".join(lines)


def coupon_list(rows: list[tuple[int, str, str]]) -> str:
    """(id, name, rule) of the coupons open for claiming."""
    if not rows:
        return "暂时没有可领取的优惠券，敬请期待。"
    lines = [f"{cid}. {name}（{rule}）" for cid, name, rule in rows]
    return "可领取的优惠券：\n" + "\n".join(lines) + "\n发送「领券 编号」即可领取。"


def coupon_claimed(name: str, until: str) -> str:
    return f"领取成功：{name}，有效期至 {until}，下单时自动为您选用最优惠的券。"
