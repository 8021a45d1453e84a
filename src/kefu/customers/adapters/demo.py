"""The demo business system: realistic, deterministic answers made from the customer's code, so a
demonstration or a training session shows bills, arrears, payments, meter readings and installation
work orders that stay the same from one page load to the next (and move on with the calendar)."""

from __future__ import annotations

import random
import zlib
from datetime import date, timedelta
from decimal import Decimal

from kefu.core import clock
from kefu.customers.adapters import base
from kefu.customers.adapters.base import CustomerRef

CHANNELS = ("微信支付", "支付宝", "银行代扣", "营业厅现金", "网上营业厅")
PRODUCTS = {
    "mobile": ("畅享套餐 128 元", Decimal("128.00")),
    "fixed_line": ("固话月租 25 元", Decimal("25.00")),
    "broadband": ("千兆宽带 199 元", Decimal("199.00")),
    "satellite": ("海事卫星 FleetBroadband 套餐", Decimal("880.00")),
    "cable_tv": ("数字电视基本包 + 高清包", Decimal("38.00")),
    "water": ("居民生活用水", Decimal("0")),
    "securities": ("普通证券账户", Decimal("0")),
}
STAGES = ("受理", "现场勘察", "方案设计", "缴纳工程款", "施工", "验收开通")


def _rng(ref: CustomerRef, salt: str) -> random.Random:
    return random.Random(zlib.crc32(f"{ref.code}:{salt}".encode()))


def _today() -> date:
    return clock.to_local(clock.now()).date()


def _month_start(day: date, back: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - back, 12)
    return date(year, month + 1, 1)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


class DemoSource:
    """Implements every kind's interface."""

    def profile(self, ref: CustomerRef) -> base.ExternalProfile:
        rng = _rng(ref, "profile")
        joined = _today() - timedelta(days=rng.randint(200, 5000))
        return base.ExternalProfile(
            fields=[
                ("客户编号", ref.code),
                ("信用等级", rng.choice(("AAA", "AA", "A", "B"))),
                ("入网时间", joined.isoformat()),
                ("积分", str(rng.randint(0, 30000))),
                ("实名认证", "已认证" if rng.random() < 0.9 else "未认证"),
            ]
        )

    def services(self, ref: CustomerRef) -> list[base.ServiceInfo]:
        today = _today()
        found = []
        for number, kind in zip(ref.service_numbers, ref.subscriber_kinds, strict=False):
            rng = _rng(ref, f"service:{number}")
            product, fee = PRODUCTS.get(kind, ("基础业务", Decimal("20.00")))
            valid_from = today - timedelta(days=rng.randint(30, 1500))
            valid_to = today + timedelta(days=rng.randint(-20, 400))
            status = "正常" if valid_to >= today else "已到期"
            found.append(base.ServiceInfo(number, product, status, valid_from, valid_to, fee or None))
        return found

    def billing(self, ref: CustomerRef) -> base.BillingSummary:
        rng = _rng(ref, "billing")
        today = _today()
        in_arrears = rng.random() < 0.3
        bills, payments = [], []
        for back in range(6, 0, -1):
            start = _month_start(today, back)
            amount = _money(rng.uniform(28, 260))
            due = _month_start(today, back - 1) + timedelta(days=19)
            unpaid = in_arrears and back <= 2
            paid = Decimal(0) if unpaid else amount
            bills.append(base.Bill(f"{start:%Y-%m}", amount, paid, due))
            if not unpaid:
                paid_on = min(due - timedelta(days=rng.randint(0, 15)), today)
                payments.append(base.Payment(paid_on, amount, rng.choice(CHANNELS)))
        arrears = sum((b.outstanding for b in bills), Decimal(0))
        next_due = _month_start(today, -1) + timedelta(days=19)
        return base.BillingSummary(
            balance=Decimal(0) if in_arrears else _money(rng.uniform(0, 150)),
            arrears=arrears,
            bills=list(reversed(bills)),
            payments=list(reversed(payments)),
            next_due_date=next_due,
            next_due_amount=_money(rng.uniform(28, 260)) + arrears,
        )

    def readings(self, ref: CustomerRef) -> list[base.MeterReading]:
        if "water" not in ref.subscriber_kinds:
            return []
        rng = _rng(ref, "meter")
        today = _today()
        meter_no = f"SB{zlib.crc32(ref.code.encode()) % 10**8:08d}"
        value = Decimal(rng.randint(300, 3000))
        found = []
        for back in range(6, 0, -1):
            used = Decimal(rng.randint(6, 28))
            value += used
            read_on = _month_start(today, back - 1) + timedelta(days=rng.randint(2, 8))
            note = "估抄" if rng.random() < 0.1 else ""
            found.append(base.MeterReading(meter_no, min(read_on, today), value, used, note))
        return list(reversed(found))

    def installations(self, ref: CustomerRef) -> list[base.InstallationOrder]:
        rng = _rng(ref, "installation")
        if rng.random() > 0.35:
            return []
        today = _today()
        applied = today - timedelta(days=rng.randint(3, 60))
        reached = rng.randint(1, len(STAGES))
        stages, day = [], applied
        for i, name in enumerate(STAGES):
            done = None
            if i < reached:
                done = min(day, today)
                day = day + timedelta(days=rng.randint(1, 6))
            stages.append(base.InstallationStage(name, done))
        kind = rng.choice(("新装", "增容", "移表", "迁移"))
        return [
            base.InstallationOrder(
                order_no=f"BZ{applied:%Y%m%d}{rng.randint(1, 999):03d}",
                applied_on=applied,
                kind=kind,
                address=rng.choice(
                    ("幸福路 18 号 3 单元", "建设大街 106 号", "滨江花园 7 栋 1201", "工业园区 B3 厂房")
                ),
                stage=STAGES[reached - 1] if reached < len(STAGES) else "已完工",
                stages=stages,
                fees_paid=_money(rng.uniform(300, 3200)) if reached > 3 else None,
            )
        ]
