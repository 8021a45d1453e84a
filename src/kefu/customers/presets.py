"""Subscriber kinds every industry preset starts from (telecom, satellite, cable TV, water,
securities). Idempotent: kinds and attributes that exist are left as the administrators changed them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.customers.models import AttributeDefinition, AttributeType, NumberFormat, SubscriberKind


@dataclass(frozen=True)
class Attr:
    code: str
    label: str
    type: AttributeType = AttributeType.TEXT
    pattern: str = ""
    check: str = ""
    required: bool = False
    searchable: bool = False
    help_text: str = ""


@dataclass(frozen=True)
class Kind:
    code: str
    name: str
    number_label: str
    number_format: NumberFormat
    number_pattern: str
    attributes: tuple[Attr, ...]


IMSI = Attr("imsi", "IMSI", pattern=r"\d{15}", searchable=True, help_text="15 位国际移动用户识别码")
ICCID = Attr(
    "iccid", "ICCID", pattern=r"89\d{17,18}", check="luhn", searchable=True, help_text="SIM 卡 19–20 位卡号"
)

KINDS: tuple[Kind, ...] = (
    Kind(
        "mobile",
        "移动电话",
        "手机号码",
        NumberFormat.PHONE,
        "",
        (IMSI, ICCID, Attr("imei", "IMEI", pattern=r"\d{15}", check="luhn")),
    ),
    Kind(
        "fixed_line",
        "固定电话",
        "电话号码",
        NumberFormat.PHONE,
        "",
        (Attr("line_type", "线路类型"), Attr("fax_enabled", "开通传真", AttributeType.BOOL)),
    ),
    Kind(
        "broadband",
        "宽带",
        "宽带账号",
        NumberFormat.TEXT,
        r"[0-9A-Z]{6,30}",
        (Attr("bandwidth_mbps", "带宽（Mbps）", AttributeType.INTEGER), Attr("access_type", "接入方式")),
    ),
    Kind(
        "satellite",
        "海事卫星终端",
        "终端号码",
        NumberFormat.DIGITS,
        r"\d{9,15}",
        (
            IMSI,
            ICCID,
            Attr("fax_number", "传真号码", AttributeType.PHONE, searchable=True),
            Attr("inmarsat_code", "Inmarsat 编码", pattern=r"[0-9A-Z]{4,20}", searchable=True),
            Attr("terminal_model", "终端型号"),
        ),
    ),
    Kind(
        "cable_tv",
        "有线电视",
        "用户证号",
        NumberFormat.DIGITS,
        r"\d{6,20}",
        (
            Attr("smart_card_no", "智能卡号", pattern=r"\d{8,20}", required=True, searchable=True),
            Attr("stb_serial", "机顶盒序列号", pattern=r"[0-9A-Z]{6,30}", searchable=True),
            Attr("package", "收视套餐"),
        ),
    ),
    Kind(
        "water",
        "供水用户",
        "用户号",
        NumberFormat.DIGITS,
        r"\d{6,20}",
        (
            Attr("meter_no", "水表号", pattern=r"[0-9A-Z]{6,20}", required=True, searchable=True),
            Attr("meter_caliber_mm", "水表口径（mm）", AttributeType.INTEGER),
            Attr("water_use", "用水性质"),
            Attr("installed_on", "装表日期", AttributeType.DATE),
        ),
    ),
    Kind(
        "securities",
        "证券资金账户",
        "资金账号",
        NumberFormat.DIGITS,
        r"\d{6,20}",
        (
            Attr("sh_account", "上海证券账户", pattern=r"[A-Z]\d{9}", searchable=True),
            Attr("sz_account", "深圳证券账户", pattern=r"0\d{9}", searchable=True),
            Attr("branch", "开户营业部"),
            Attr("risk_level", "风险承受能力"),
        ),
    ),
)


def seed_default_kinds(session: Session) -> list[SubscriberKind]:
    """Create the preset kinds and attributes that are missing; returns every preset kind."""
    existing = {k.code: k for k in session.scalars(select(SubscriberKind))}
    out = []
    for sort, preset in enumerate(KINDS):
        kind = existing.get(preset.code)
        if kind is None:
            kind = SubscriberKind(
                code=preset.code,
                name=preset.name,
                number_label=preset.number_label,
                number_format=preset.number_format,
                number_pattern=preset.number_pattern,
                sort=sort * 10,
            )
            session.add(kind)
        have = {a.code for a in kind.attributes}
        for position, attr in enumerate(preset.attributes):
            if attr.code in have:
                continue
            kind.attributes.append(
                AttributeDefinition(
                    code=attr.code,
                    label=attr.label,
                    type=attr.type,
                    pattern=attr.pattern,
                    check=attr.check,
                    required=attr.required,
                    searchable=attr.searchable,
                    help_text=attr.help_text,
                    sort=position * 10,
                )
            )
        out.append(kind)
    session.flush()
    return out
