"""Similar-ticket suggestions on planted duplicates: `python -m bench.similar_tickets [--customers 200]
[--tickets 600] [--duplicates 150] [--seed 7]`.

Generates a month of tickets: customers (phone, terminal number) report issues from nine topics in
three business categories, each topic worded a few ways (subject and description paraphrases). Then
plants duplicates: the same customer reports the same topic again a few days later in other words —
registered with the same phone, or from another phone with only the terminal number or the customer
link in common. Hard negatives come by themselves: the same customer with another topic of the same
category, and other customers with the same topic.

Truth: two tickets are duplicates when they are the same customer's and the same topic. For each
ticket, the candidates are what `kefu.tickets.similar.candidates` would fetch (the window's tickets
sharing customer, phone, terminal or category; here filtered in memory), ranked by
`kefu.tickets.similar.rank`. Reported at a sweep of cut-offs: precision (suggestions that are
duplicates) and recall (duplicate pairs suggested from either side), over all tickets.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kefu.tickets import similar
from kefu.tickets.models import Ticket

CATEGORIES = (1, 2, 3)
# topic → (category, subjects, descriptions)
TOPICS: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    "no_internet": (
        1,
        ("宽带无法上网", "家里宽带断网了", "宽带连不上网", "网络断了上不了网"),
        (
            "光猫红灯闪烁，重启后仍然无法上网",
            "早上开始宽带就上不了网，光猫LOS灯亮红色",
            "路由器显示无互联网连接，光猫指示灯异常",
            "断网已经半天，重启光猫无效",
        ),
    ),
    "slow": (
        1,
        ("宽带网速很慢", "网速太慢", "晚上网速特别慢", "宽带速度不达标"),
        (
            "测速只有10兆，办的是300兆套餐",
            "晚上看视频一直卡顿，测速很低",
            "下载速度远低于签约带宽",
            "网速慢，打游戏延迟很高",
        ),
    ),
    "relocate": (
        1,
        ("申请宽带移机", "宽带搬家移机", "搬家需要移宽带", "宽带迁移到新地址"),
        (
            "下周搬到新小区，需要把宽带移过去",
            "新地址在朝阳区，申请移机",
            "搬家了，想把宽带迁到新家",
            "客户要求办理宽带移机业务",
        ),
    ),
    "black_screen": (
        2,
        ("机顶盒黑屏", "电视黑屏没有图像", "机顶盒开机黑屏", "电视机顶盒无画面"),
        (
            "开机后电视一直黑屏，机顶盒指示灯正常",
            "机顶盒重启后还是黑屏，没有信号提示",
            "电视有声音没图像，机顶盒显示正常",
            "机顶盒开机后停在黑屏界面",
        ),
    ),
    "no_signal": (
        2,
        ("部分频道无信号", "电视频道没信号", "央视频道收不到", "几个频道显示无信号"),
        (
            "央视几个频道显示无信号，其他频道正常",
            "地方台收不到，提示信号中断",
            "部分频道马赛克后无信号",
            "体育频道一直提示无信号",
        ),
    ),
    "card": (
        2,
        ("智能卡未授权", "提示智能卡未授权", "电视提示卡未授权", "智能卡授权过期"),
        (
            "缴费后电视提示智能卡未授权",
            "换了机顶盒后提示卡未授权",
            "付费频道提示授权过期，已续费",
            "智能卡插入后提示未授权",
        ),
    ),
    "overcharge": (
        3,
        ("话费被多扣", "扣费异常", "本月话费多扣了", "话费扣错了"),
        (
            "本月账单比平时多了五十元，没有使用增值业务",
            "查询发现被扣了不明费用",
            "套餐外多扣了流量费，客户没有超出流量",
            "账单有一笔不认识的扣费",
        ),
    ),
    "invoice": (
        3,
        ("申请开具发票", "需要开发票", "开具增值税发票", "补开上月发票"),
        (
            "客户需要开具上个月的话费发票",
            "公司报销需要增值税专用发票",
            "申请补开三月份发票",
            "发票抬头需要写公司名称",
        ),
    ),
    "plan": (
        3,
        ("变更套餐", "更换资费套餐", "想换便宜的套餐", "套餐降档"),
        (
            "客户想把套餐改成128元档",
            "下个月起更换为流量套餐",
            "现在套餐太贵，想换便宜的",
            "申请套餐降档，降到58元",
        ),
    ),
}
NOW = datetime(2026, 5, 31, 12, tzinfo=UTC)


@dataclass
class Planted:
    ticket: Ticket
    customer: int
    topic: str


@dataclass
class Customer:
    id: int
    phone: str
    terminal: str


def generate(*, customers: int, tickets: int, duplicates: int, seed: int) -> list[Planted]:
    """Tickets of one month (not stored): `tickets` reports plus `duplicates` planted repeats."""
    rng = random.Random(seed)
    people = [Customer(i + 1, f"139{i:08d}", f"STB{i:06d}") for i in range(customers)]
    topics = list(TOPICS)
    found: list[Planted] = []

    def make(who: Customer, topic: str, at: datetime, *, phone: str, linked: bool) -> Planted:
        category, subjects, descriptions = TOPICS[topic]
        ticket = Ticket(
            id=len(found) + 1,
            serial=f"TS-{len(found) + 1:06d}",
            subject=rng.choice(subjects),
            description=rng.choice(descriptions),
            customer_id=who.id if linked else None,
            customer_phone=phone,
            terminal_no=who.terminal if category == 2 or rng.random() < 0.5 else "",
            category_id=category,
            created_at=at,
        )
        return Planted(ticket, who.id, topic)

    for _ in range(tickets):
        who = rng.choice(people)
        at = NOW - timedelta(days=rng.uniform(0, 28))
        found.append(make(who, rng.choice(topics), at, phone=who.phone, linked=rng.random() < 0.7))
    originals = rng.sample(found, k=min(duplicates, len(found)))
    for original in originals:
        who = people[original.customer - 1]
        at = min(NOW, original.ticket.created_at + timedelta(days=rng.uniform(0.1, 5)))
        other_phone = rng.random() < 0.25  # called from another phone: terminal or customer link only
        phone = f"137{rng.randrange(10**8):08d}" if other_phone else who.phone
        dup = make(who, original.topic, at, phone=phone, linked=True)
        if (
            other_phone
            and not original.ticket.customer_id
            and not (dup.ticket.terminal_no and dup.ticket.terminal_no == original.ticket.terminal_no)
        ):
            dup.ticket.terminal_no = who.terminal  # else nothing concrete would tie them
            original.ticket.terminal_no = who.terminal
        found.append(dup)
    return found


def _shares(a: Ticket, b: Ticket) -> bool:
    return bool(
        (a.customer_id is not None and a.customer_id == b.customer_id)
        or (a.customer_phone and a.customer_phone == b.customer_phone)
        or (a.terminal_no and a.terminal_no == b.terminal_no)
        or (a.category_id is not None and a.category_id == b.category_id)
    )


def measure(planted: list[Planted], cutoffs: list[float]) -> dict[float, tuple[float, float, int]]:
    """cut-off → (precision, recall, suggestions made)."""
    by_id = {p.ticket.id: p for p in planted}
    truth = {
        frozenset((a.ticket.id, b.ticket.id))
        for a in planted
        for b in planted
        if a.ticket.id < b.ticket.id and a.customer == b.customer and a.topic == b.topic
    }
    scored: list[tuple[float, frozenset[int]]] = []
    for p in planted:
        draft = similar.Draft.of(p.ticket)
        pool = [o.ticket for o in planted if o.ticket.id != p.ticket.id and _shares(p.ticket, o.ticket)]
        for s in similar.rank(draft, pool, limit=10, cutoff=0.0):
            scored.append((s.score, frozenset((p.ticket.id, s.ticket.id))))
    result = {}
    for cutoff in cutoffs:
        made = [pair for score, pair in scored if score >= cutoff]
        right = sum(1 for pair in made if pair in truth)
        found = {pair for pair in made if pair in truth}
        precision = right / len(made) if made else 1.0
        recall = len(found) / len(truth) if truth else 1.0
        result[cutoff] = (precision, recall, len(made))
    assert by_id  # (kept for callers that look tickets up)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--duplicates", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    planted = generate(
        customers=args.customers, tickets=args.tickets, duplicates=args.duplicates, seed=args.seed
    )
    cutoffs = [round(0.3 + 0.05 * i, 2) for i in range(11)]
    print(f"{len(planted)} tickets, {args.customers} customers, {args.duplicates} planted duplicates")
    print("cut-off  precision  recall  suggestions")
    for cutoff, (precision, recall, made) in measure(planted, cutoffs).items():
        mark = "  <- similar.CUTOFF" if abs(cutoff - similar.CUTOFF) < 1e-9 else ""
        print(f"{cutoff:7.2f}  {precision:9.3f}  {recall:6.3f}  {made:11d}{mark}")


if __name__ == "__main__":
    main()
