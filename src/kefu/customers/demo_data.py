"""Demo customers for `kefu demo`: about fifty customers across the seed industries — mobile and
broadband subscribers, a maritime-satellite fleet, cable-TV households, water-utility accounts,
securities investors — with valid identity numbers and check digits, normalised phones, subscribers
with their industry attributes, accounts, a few group hierarchies, some contact history, and the
business systems switched to the demo implementation. Deterministic and idempotent."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.permissions import Actor, all_permissions
from kefu.customers import identity, presets, service, subscribers
from kefu.customers.adapters import registry
from kefu.customers.adapters.base import SourceKind
from kefu.customers.contacts import service as contacts
from kefu.customers.models import Customer
from kefu.org.config.dictionary import seed_defaults
from kefu.org.models import DataScope, User

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"  # the most common
    "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈单解乐查"  # and some read differently as surnames
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强晓东海燕红梅春雷文博子涵雨欣浩然思远佳怡"
)
AREAS = ("110105", "110108", "310104", "440305", "510107", "330106", "420106", "370202", "320102")
MOBILE_PREFIXES = ("138", "139", "136", "186", "159", "177", "180", "189", "135", "150")
CARD_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

ENTERPRISES = (
    # name, industry kind, tier, parent index (within this tuple) or None
    ("中远海运集团有限公司", "satellite", "vip", None),
    ("中远海运散货运输有限公司", "satellite", "gold", 0),
    ("远洋一号货轮", "satellite", "gold", 1),
    ("舟山海洋渔业公司", "satellite", "silver", None),
    ("交通运输部东海航海保障中心", "satellite", "vip", None),
    ("杭州西湖区自来水有限公司", "water", "gold", None),
    ("华润万家超市（南山店）", "water", "silver", None),
    ("星河传媒有限公司", "cable_tv", "regular", None),
    ("深圳市前海科技有限公司", "broadband", "gold", None),
    ("鹏程证券投资管理有限公司", "securities", "vip", None),
)
INDIVIDUAL_KINDS = (
    "mobile",
    "mobile",
    "mobile",
    "broadband",
    "cable_tv",
    "water",
    "water",
    "securities",
    "fixed_line",
)
SUMMARIES = (
    ("phone", "inbound", "咨询套餐资费，已解释"),
    ("phone", "inbound", "反映宽带晚间网速慢，已登记报障"),
    ("sms", "outbound", "发送缴费提醒短信"),
    ("phone", "outbound", "回访：对上次报修处理满意"),
    ("visit", "inbound", "营业厅办理过户手续咨询"),
    ("web", "inbound", "网上营业厅留言查询账单"),
    ("self_service", "inbound", "自助语音查询余额"),
    ("email", "inbound", "来信要求开具发票"),
)


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _resident_id(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 52 * 365))
    first17 = f"{rng.choice(AREAS)}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + identity.resident_id_check(first17)


def _uscc(rng: random.Random) -> str:
    org = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    org += identity.organization_code_check(org)
    body = "91" + rng.choice(AREAS) + org
    return body + identity.uscc_check(body)


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99999999):08d}"


def _landline(rng: random.Random) -> str:
    area, first = rng.choice((("010", "6"), ("021", "5"), ("0755", "8"), ("0571", "8"), ("028", "8")))
    return f"{area}-{first}{rng.randint(0, 9999999):07d}"


def _attributes(kind: str, rng: random.Random) -> tuple[str, dict[str, Any], str]:
    """(service number, attributes, product) of a demo subscriber of `kind`."""
    if kind == "mobile":
        number = _mobile(rng)
        iccid = "898600" + "".join(rng.choice("0123456789") for _ in range(13))
        return (
            number,
            {"imsi": "46000" + f"{rng.randint(0, 10**10 - 1):010d}", "iccid": iccid + _luhn_digit(iccid)},
            "畅享套餐 128 元",
        )
    if kind == "fixed_line":
        return _landline(rng), {"line_type": "铜缆", "fax_enabled": rng.random() < 0.3}, "固话月租 25 元"
    if kind == "broadband":
        return (
            f"KD{rng.randint(10**8, 10**9 - 1)}",
            {"bandwidth_mbps": rng.choice((300, 500, 1000)), "access_type": "FTTH 光纤"},
            "千兆宽带",
        )
    if kind == "satellite":
        iccid = "898600" + "".join(rng.choice("0123456789") for _ in range(13))
        attrs = {
            "imsi": "90111" + f"{rng.randint(0, 10**10 - 1):010d}",
            "iccid": iccid + _luhn_digit(iccid),
            "fax_number": f"+870 77{rng.randint(1000000, 9999999)}",
            "inmarsat_code": f"FB{rng.randint(100000, 999999)}",
            "terminal_model": rng.choice(("Sailor 500", "Sailor 250", "JUE-250")),
        }
        return f"87077{rng.randint(1000000, 9999999)}", attrs, "海事卫星 FleetBroadband"
    if kind == "cable_tv":
        return (
            f"{rng.randint(10**9, 10**10 - 1)}",
            {
                "smart_card_no": f"80020035{rng.randint(0, 99999999):08d}",
                "stb_serial": f"STB{rng.randint(10**7, 10**8 - 1)}",
                "package": "基本包 + 高清包",
            },
            "数字电视",
        )
    if kind == "water":
        return (
            f"{rng.randint(10**7, 10**8 - 1)}",
            {
                "meter_no": f"SB{rng.randint(10**7, 10**8 - 1)}",
                "meter_caliber_mm": rng.choice((15, 20, 25, 50)),
                "water_use": rng.choice(("居民生活", "非居民", "特种行业")),
                "installed_on": (date(2015, 1, 1) + timedelta(days=rng.randint(0, 3000))).isoformat(),
            },
            "居民生活用水",
        )
    return (
        f"{rng.randint(10**9, 10**10 - 1)}",
        {
            "sh_account": f"A{rng.randint(10**8, 10**9 - 1)}",
            "sz_account": f"0{rng.randint(10**8, 10**9 - 1)}",
            "branch": "深圳深南大道证券营业部",
            "risk_level": rng.choice(("C3 平衡型", "C4 成长型", "C2 稳健型")),
        },
        "普通证券账户",
    )


def _actor(admin: User) -> Actor:
    return Actor(user=admin, scopes={p: DataScope.ALL for p in all_permissions()}, department_path="")


def seed_demo_customers(session: Session, *, admin: User, agents: list[User] | None = None) -> int:
    """Create the demo customers that are missing; returns how many were created."""
    seed_defaults(session)
    presets.seed_default_kinds(session)
    actor = _actor(admin)
    for source_kind in SourceKind:
        if registry.systems(session)[source_kind].id is None:
            registry.configure(session, actor=actor, kind=source_kind, data={"implementation": "demo"})
    rng = random.Random(2026)
    existing = set(session.scalars(select(Customer.code)))
    created = 0
    parents: dict[int, Customer] = {}
    today = clock.now()
    shared_home = _landline(rng)
    for i, (name, kind, tier, parent) in enumerate(ENTERPRISES):
        code = f"KH2026E{i + 1:03d}"
        uscc = _uscc(rng)
        if code in existing:
            continue
        data = {
            "code": code,
            "kind": "enterprise",
            "name": name,
            "tier": tier,
            "id_type": "uscc",
            "id_number": uscc,
            "contact_person": rng.choice(SURNAMES) + rng.choice(("经理", "主任", "船长", "总监")),
            "parent_id": parents[parent].id if parent is not None and parent in parents else None,
            "phones": [{"number": _landline(rng), "kind": "work"}, {"number": _mobile(rng)}],
            "emails": [{"address": f"service{i + 1}@example.com.cn"}],
            "addresses": [
                {
                    "kind": "office",
                    "region": "上海市 浦东新区",
                    "detail": f"世纪大道 {rng.randint(1, 2000)} 号",
                }
            ],
        }
        customer = service.create(session, actor=actor, data=data)
        parents[i] = customer
        created += 1
        _subscribe(session, actor, customer, kind, rng, count=2 if kind == "satellite" else 1)
    for i in range(40):
        code = f"KH2026P{i + 1:03d}"
        surname = SURNAMES[i % len(SURNAMES)] if i < len(SURNAMES) else rng.choice(SURNAMES)
        name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if i == 3:
            name = "欧阳" + rng.choice(GIVEN)
        id_number = _resident_id(rng)
        if code in existing:
            continue
        kind = INDIVIDUAL_KINDS[i % len(INDIVIDUAL_KINDS)]
        phones = [{"number": _mobile(rng), "kind": "mobile"}]
        if i in (5, 6):  # a household sharing its home phone: the screen pop offers a choice
            phones.append({"number": shared_home, "kind": "home"})
        data = {
            "code": code,
            "kind": "individual",
            "name": name,
            "tier": rng.choice(("regular", "regular", "regular", "silver", "gold", "vip")),
            "id_type": "resident_id",
            "id_number": id_number,
            "phones": phones,
            "addresses": [
                {
                    "kind": "home",
                    "region": rng.choice(
                        ("北京市 朝阳区", "上海市 徐汇区", "广东省 深圳市 南山区", "浙江省 杭州市 西湖区")
                    ),
                    "detail": f"幸福里 {rng.randint(1, 30)} 栋 {rng.randint(101, 2505)} 室",
                }
            ],
        }
        customer = service.create(session, actor=actor, data=data)
        created += 1
        _subscribe(session, actor, customer, kind, rng, count=1)
        for _n in range(rng.randint(0, 3)):
            channel, direction, summary = rng.choice(SUMMARIES)
            agent = rng.choice(agents) if agents else None
            started = today - timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 600))
            contacts.record_contact(
                session,
                actor,
                customer_id=customer.id,
                channel=channel,
                direction=direction,
                started_at=started,
                ended_at=started + timedelta(seconds=rng.randint(40, 900)),
                summary=summary,
                remote_address=phones[0]["number"] if channel in ("phone", "sms") else "",
                agent_id=agent.id if agent else admin.id,
            )
    session.flush()
    return created


def _subscribe(
    session: Session, actor: Actor, customer: Customer, kind: str, rng: random.Random, *, count: int
) -> None:
    account = subscribers.add_account(
        session,
        actor=actor,
        customer=customer,
        data={"account_no": f"ZH{customer.code}", "pay_method": rng.choice(("bank_debit", "online", "cash"))},
    )
    for _ in range(count):
        number, attributes, product = _attributes(kind, rng)
        opened = date(2018, 1, 1) + timedelta(days=rng.randint(0, 2500))
        subscribers.add_subscriber(
            session,
            actor=actor,
            customer=customer,
            data={
                "kind": kind,
                "service_number": number,
                "account_id": account.id,
                "product": product,
                "opened_on": opened.isoformat(),
                "expires_on": (opened + timedelta(days=rng.choice((365, 730, 3650)))).isoformat(),
                "attributes": {
                    k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in attributes.items()
                },
            },
        )
