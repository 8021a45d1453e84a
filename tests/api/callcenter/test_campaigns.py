"""Outbound campaigns (CC-8): definitions checked whole, the lifecycle, numbers from JSON, customers and
uploaded lists (all or nothing), the dialler's window and pacing under a frozen clock, retries by
result, do-not-disturb and blacklist skips at dial time, two rounds at once, the survey by DTMF through
the step API feeding satisfaction (results and the ticket's callback), progress, export, and scope."""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.callcenter import campaign_dialer, control
from kefu.callcenter.models import Call, Campaign, CampaignTarget
from kefu.core import clock
from kefu.messaging.models import BlacklistEntry, BlacklistLevel, DndEntry, DndMode
from kefu.org.calendar import service as calendar_service
from kefu.org.calendar.models import HolidayOverride
from kefu.org.models import DataScope
from kefu.tickets.models import BusinessCategory
from tests.api.callcenter.conftest import CALLER, CallCenter
from tests.support import Login

API = "/api/v1/callcenter/campaigns"
FRIDAY_0900 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Friday
MANAGER = [
    "callcenter.campaign.view",
    "callcenter.campaign.manage",
    "customers.customer.view",
    "tickets.ticket.view",
]
NUMBERS = [f"1390013900{i}" for i in range(10)]
SURVEY = [
    {
        "key": "overall",
        "text": "对本次服务是否满意？满意请按1，一般请按2，不满意请按3",
        "answers": {"1": "satisfied", "2": "neutral", "3": "dissatisfied"},
    },
    {"key": "solved", "text": "问题是否已解决？已解决请按1，未解决请按2", "answers": {"1": "yes", "2": "no"}},
]


@dataclass
class Campaigns:
    cc: CallCenter
    north: Login  # manages the north department's campaigns
    south: Login
    viewer: Login  # sees every campaign, manages none
    pbx: Login

    def call(
        self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200, **params: Any
    ) -> Any:
        r = self.cc.client.request(method, API + path, json=body, headers=who.headers, params=params or None)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return (
            r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else r
        )

    def create(self, who: Login | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": "十一月回访", "kind": "notice", "script": "您好{{ name }}", **fields}
        return self.call("POST", "", who or self.north, body, expect=201)

    def targets(self, campaign_id: int) -> list[CampaignTarget]:
        self.cc.session.expire_all()
        return list(
            self.cc.session.scalars(
                select(CampaignTarget)
                .where(CampaignTarget.campaign_id == campaign_id)
                .order_by(CampaignTarget.id)
            )
        )

    def status(self, campaign_id: int) -> str:
        self.cc.session.expire_all()
        return self.cc.session.get(Campaign, campaign_id).status

    def hangup(self, call_id: str, cause: str = "normalClearing") -> None:
        self.cc.call("POST", "/cti/events", self.pbx, {"event": "hangup", "call_id": call_id, "cause": cause})


@pytest.fixture
def pbx() -> Any:
    simulated = control.adapter()
    assert isinstance(simulated, control.SimulatedPbx)
    simulated.reset()
    yield simulated
    simulated.reset()


@pytest.fixture
def camp(cc: CallCenter, pbx: control.SimulatedPbx) -> Campaigns:
    f = cc.factory
    return Campaigns(
        cc=cc,
        north=f.token_login(f.user(MANAGER, department=cc.north, scope=DataScope.DEPARTMENT)),
        south=f.token_login(f.user(MANAGER, department=cc.south, scope=DataScope.DEPARTMENT)),
        viewer=f.token_login(f.user(["callcenter.campaign.view"])),
        pbx=cc.pbx,
    )


def test_a_definition_is_checked_whole_and_nothing_is_written(camp):
    before = camp.cc.session.scalar(select(func.count()).select_from(Campaign))
    r = camp.cc.client.post(
        API,
        json={
            "name": " ",
            "kind": "survey",
            "mode": "agent",
            "window_start": "20:00",
            "window_end": "09:00",
            "weekdays": [0, 8],
            "max_attempts": 0,
            "retry_minutes": {"busy": 0, "hold": 5},
            "questions": [{"key": "Q 1", "text": "?", "answers": {"x": "satisfied"}}],
            "script": "{{ amount ",
        },
        headers=camp.north.headers,
    )
    assert r.status_code == 422
    fields = {".".join(str(p) for p in d["loc"][1:]) for d in r.json()["detail"]}
    assert {
        "name",
        "queue_id",
        "window_end",
        "weekdays",
        "max_attempts",
        "retry_minutes.busy",
        "retry_minutes.hold",
        "questions.0.key",
        "questions.0.answers",
        "script",
    } <= fields
    r = camp.cc.client.post(
        API,
        json={"name": "x", "kind": "survey", "targets": [{"number": "13900139000"}, {"number": "12"}]},
        headers=camp.north.headers,
    )
    assert r.status_code == 422 and {d["loc"][-1] for d in r.json()["detail"]} == {"questions"}
    r = camp.cc.client.post(
        API,
        json={"name": "x", "kind": "notice", "targets": [{"number": "13900139000"}, {"number": "12"}]},
        headers=camp.north.headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "targets.1.number"
    assert camp.cc.session.scalar(select(func.count()).select_from(Campaign)) == before


def test_lifecycle_edits_only_in_draft_or_paused_and_every_step_is_audited(camp):
    with clock.freeze(FRIDAY_0900 - timedelta(hours=3)):  # 06:00: outside the window, nothing is dialled
        c = camp.create()
        assert c["status"] == "draft" and c["department_id"] == camp.cc.north.id
        camp.call("POST", f"/{c['id']}/start", camp.north, expect=409)  # no numbers yet
        camp.call(
            "POST", f"/{c['id']}/targets", camp.north, {"targets": [{"number": n} for n in NUMBERS[:3]]}
        )
        assert camp.call("PATCH", f"/{c['id']}", camp.north, {"calls_per_minute": 2})["calls_per_minute"] == 2
        assert camp.call("POST", f"/{c['id']}/start", camp.north)["status"] == "running"
        camp.call("PATCH", f"/{c['id']}", camp.north, {"name": "改名"}, expect=409)
        camp.call("POST", f"/{c['id']}/resume", camp.north, expect=409)
        camp.call("POST", f"/{c['id']}/pause", camp.north)
        assert camp.call("PATCH", f"/{c['id']}", camp.north, {"name": "改名"})["name"] == "改名"
        camp.call("POST", f"/{c['id']}/resume", camp.north)
        done = camp.call("POST", f"/{c['id']}/cancel", camp.north)
    assert done["status"] == "cancelled" and done["progress"]["by_status"]["cancelled"] == 3
    camp.call("POST", f"/{c['id']}/targets", camp.north, {"targets": [{"number": NUMBERS[5]}]}, expect=409)
    actions = camp.cc.session.scalars(
        select(AuditLog.action).where(
            AuditLog.target_type == "cc_campaign", AuditLog.target_id == str(c["id"])
        )
    ).all()
    assert sorted(set(actions)) == sorted(
        {"campaign.create", "campaign.targets.add", "campaign.update", "campaign.start", "campaign.pause"}
        | {"campaign.resume", "campaign.cancel"}
    )


def test_window_weekdays_working_days_and_pacing(camp, pbx):
    pbx.default_outcome = "talking"  # every call stays up until the test hangs it up
    fields = {"window_start": "09:00", "window_end": "12:00", "calls_per_minute": 2, "max_concurrent": 3}
    with clock.freeze(FRIDAY_0900 - timedelta(minutes=1)):
        c = camp.create(weekdays=[1, 2, 3, 4, 5], working_days_only=True, **fields)
        camp.call(
            "POST", f"/{c['id']}/targets", camp.north, {"targets": [{"number": n} for n in NUMBERS[:6]]}
        )
        camp.call("POST", f"/{c['id']}/start", camp.north)  # 08:59: the run right after start calls nobody
        assert campaign_dialer.dial() == 0
    with clock.freeze(FRIDAY_0900):
        assert campaign_dialer.dial() == 2  # calls per minute
        assert campaign_dialer.dial() == 0  # the same minute: the pace is used up
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=1)):
        assert campaign_dialer.dial() == 1  # three calls in progress at most
        calling = [t for t in camp.targets(c["id"]) if t.status == "calling"]
        assert len(calling) == 3 and all(t.attempts == 1 for t in calling)
        calls = camp.cc.session.scalars(select(Call).where(Call.campaign_id == c["id"])).all()
        assert {call.call_id for call in calls} == {f"cmp-{c['id']}-{t.id}-1" for t in calling}
        assert all(call.direction == "out" and call.state == "talking" for call in calls)
        camp.hangup(calls[0].call_id)
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=2)):
        assert campaign_dialer.dial() == 1
    with clock.freeze(FRIDAY_0900 + timedelta(hours=3)):  # 12:00: the window has closed
        camp.hangup(f"cmp-{c['id']}-{calling[1].id}-1")
        assert campaign_dialer.dial() == 0
    with clock.freeze(FRIDAY_0900 + timedelta(days=1)):  # Saturday
        assert campaign_dialer.dial() == 0
    camp.cc.session.add(HolidayOverride(day=date(2026, 11, 23), workday=False, name="调休"))
    camp.cc.session.flush()
    calendar_service.invalidate()
    with clock.freeze(FRIDAY_0900 + timedelta(days=3)):  # Monday, but not a working day this year
        assert campaign_dialer.dial() == 0
    with clock.freeze(FRIDAY_0900 + timedelta(days=4)):
        # The two calls whose hangup never came were released (answered: done) after two hours.
        assert campaign_dialer.dial() == 2
    progress = camp.call("GET", f"/{c['id']}/progress", camp.viewer)
    assert progress["by_status"] == {
        "pending": 0,
        "calling": 2,
        "done": 4,
        "failed": 0,
        "skipped": 0,
        "cancelled": 0,
    }


def test_retries_by_result_until_failed_and_answered_is_done(camp, pbx):
    pbx.will(NUMBERS[0], "busy", "no_answer", "failed")
    pbx.will(NUMBERS[1], "no_answer", "answered")
    retry = {"busy": 5, "no_answer": 10, "failed": 20}
    with clock.freeze(FRIDAY_0900):
        c = camp.create(max_attempts=3, retry_minutes=retry, targets=[{"number": n} for n in NUMBERS[:2]])
        camp.call("POST", f"/{c['id']}/start", camp.north)  # the first round runs at once
    first, second = camp.targets(c["id"])
    assert (first.status, first.result, first.attempts) == ("pending", "busy", 1)
    assert first.next_attempt_at == FRIDAY_0900 + timedelta(minutes=5)
    assert (second.status, second.result) == ("pending", "no_answer")
    assert second.next_attempt_at == FRIDAY_0900 + timedelta(minutes=10)
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=5)):
        assert campaign_dialer.dial() == 1  # only the busy one is due
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=10)):
        assert campaign_dialer.dial() == 1
    first, second = camp.targets(c["id"])
    assert (first.result, first.attempts) == ("no_answer", 2)
    assert (second.status, second.result, second.attempts) == ("done", "answered", 2)
    call = camp.cc.session.get(Call, second.call_pk)
    assert call.campaign_id == c["id"] and call.outcome == "answered"
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=15)):
        assert campaign_dialer.dial() == 1
    first, _ = camp.targets(c["id"])
    assert (first.status, first.result, first.attempts, first.next_attempt_at) == (
        "failed",
        "failed",
        3,
        None,
    )
    assert camp.status(c["id"]) == "finished"
    progress = camp.call("GET", f"/{c['id']}/progress", camp.north)
    assert progress["attempts"] == 5 and progress["reached"] == 1 and progress["reached_rate"] == 50.0
    assert progress["percent"] == 100 and progress["by_result"] == {"failed": 1, "answered": 1}


def test_a_call_that_never_reports_back_is_released_as_a_failed_attempt(camp, pbx):
    pbx.will(NUMBERS[0], "silent", "answered")
    with clock.freeze(FRIDAY_0900):
        c = camp.create(max_attempts=2, retry_minutes={"failed": 15}, targets=[{"number": NUMBERS[0]}])
        camp.call("POST", f"/{c['id']}/start", camp.north)
    assert camp.targets(c["id"])[0].status == "calling"
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=9)):
        assert campaign_dialer.dial() == 0
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=10)):
        assert campaign_dialer.dial() == 0  # released now, due again in 15 minutes
    target = camp.targets(c["id"])[0]
    assert (target.status, target.result, target.attempts) == ("pending", "timeout", 1)
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=25)):
        assert campaign_dialer.dial() == 1
    assert camp.targets(c["id"])[0].status == "done"
    # A late report of the first attempt changes nothing.
    camp.hangup(f"cmp-{c['id']}-{target.id}-1", "busy")
    assert camp.targets(c["id"])[0].result == "answered"


def test_do_not_disturb_and_blacklist_are_checked_at_dial_time(camp, pbx):
    s = camp.cc.session
    category = BusinessCategory(code="arrears", name="欠费催缴", path="")
    other = BusinessCategory(code="promotion", name="业务推广", path="")
    s.add_all([category, other])
    s.flush()
    with clock.freeze(FRIDAY_0900 - timedelta(hours=2)):
        c = camp.create(
            kind="payment_reminder",
            business_category_id=category.id,
            targets=[{"number": n} for n in NUMBERS[:5]],
        )
        camp.call("POST", f"/{c['id']}/start", camp.north)
    # Listed after the import: only the check at dial time can see them.
    s.add_all(
        [
            DndEntry(
                number_key="+86" + NUMBERS[0],
                number=NUMBERS[0],
                business_category_id=category.id,
                mode=DndMode.REFUSE,
                reason="客户要求不接收催缴电话",
            ),
            DndEntry(number_key="+86" + NUMBERS[1], number=NUMBERS[1], mode=DndMode.WARN, reason="夜班工作"),
            DndEntry(
                number_key="+86" + NUMBERS[2],
                number=NUMBERS[2],
                business_category_id=other.id,
                mode=DndMode.REFUSE,
                reason="其他业务",
            ),
            BlacklistEntry(
                number_key="+86" + NUMBERS[3],
                number=NUMBERS[3],
                level=BlacklistLevel.BLOCK,
                reason="骚扰电话",
            ),
        ]
    )
    s.flush()
    with clock.freeze(FRIDAY_0900):
        assert campaign_dialer.dial() == 2  # the other business's entry does not apply
    found = {t.number_key[3:]: t for t in camp.targets(c["id"])}
    assert (found[NUMBERS[0]].status, found[NUMBERS[0]].result) == ("skipped", "dnd")
    assert "客户要求不接收催缴电话" in found[NUMBERS[0]].skip_reason and found[NUMBERS[0]].attempts == 0
    assert found[NUMBERS[1]].status == "skipped" and found[NUMBERS[1]].skip_reason == "warn: 夜班工作"
    assert (found[NUMBERS[3]].result, found[NUMBERS[3]].skip_reason) == ("blacklist", "block: 骚扰电话")
    assert found[NUMBERS[2]].status == found[NUMBERS[4]].status == "done"
    assert s.scalar(select(func.count()).select_from(Call).where(Call.campaign_id == c["id"])) == 2
    assert camp.status(c["id"]) == "finished"
    skipped = camp.call("GET", f"/{c['id']}/targets", camp.north, status="skipped")
    assert skipped["total"] == 3


def test_two_rounds_claiming_at_once_never_call_a_target_twice(camp, pbx):
    pbx.default_outcome = "talking"
    with clock.freeze(FRIDAY_0900 - timedelta(hours=2)):
        c = camp.create(calls_per_minute=100, max_concurrent=100, targets=[{"number": n} for n in NUMBERS])
        camp.call("POST", f"/{c['id']}/start", camp.north)
    s = camp.cc.session
    # Both rounds see the same due targets; each claims them; every target is won exactly once.
    seen_by_a = campaign_dialer.due_ids(s, c["id"], FRIDAY_0900, 100)
    seen_by_b = campaign_dialer.due_ids(s, c["id"], FRIDAY_0900, 100)
    assert seen_by_a == seen_by_b and len(seen_by_a) == 10
    won_a = [t for t in seen_by_a[::2] if campaign_dialer.claim(s, t, FRIDAY_0900)]
    won_b = [t for t in seen_by_b if campaign_dialer.claim(s, t, FRIDAY_0900)]
    won_a += [t for t in seen_by_a if campaign_dialer.claim(s, t, FRIDAY_0900)]
    assert sorted(won_a + won_b) == sorted(seen_by_a) and not set(won_a) & set(won_b)
    assert all(t.attempts == 1 and t.status == "calling" for t in camp.targets(c["id"]))


def _ticket(camp: Campaigns) -> int:
    from kefu.org.config.dictionary import seed_defaults
    from kefu.tickets import presets, service

    s = camp.cc.session
    seed_defaults(s)
    f = camp.cc.factory
    admin = f.actor(f.user(admin=True))
    ticket_type = presets.standard_type(s, actor=admin, department_id=camp.cc.north.id)
    ticket = service.register(s, actor=admin, ticket_type=ticket_type, channel="phone", subject="宽带回访")
    s.flush()
    return ticket.id


def test_a_survey_by_dtmf_records_answers_and_feeds_satisfaction(camp, pbx):
    from kefu.tickets.models import CallbackTask, TicketLog

    ticket_id = _ticket(camp)
    pbx.default_outcome = "talking"
    with clock.freeze(FRIDAY_0900):
        c = camp.create(
            kind="survey",
            script="您好{{ name }}，这里是客服中心回访。",
            prompt_code="survey_intro",
            questions=SURVEY,
            targets=[
                {"number": NUMBERS[0], "name": "王芳", "ticket_id": ticket_id},
                {"number": NUMBERS[1], "name": "李雷"},
            ],
        )
        camp.call("POST", f"/{c['id']}/start", camp.north)
    first, second = camp.targets(c["id"])
    call_id = f"cmp-{c['id']}-{first.id}-1"
    step = camp.call("POST", "/step", camp.pbx, {"call_id": call_id})
    assert step["action"] == "collect" and step["question"] == "overall" and step["digits"] == ["1", "2", "3"]
    assert [p["prompt_code"] for p in step["play"]] == ["survey_intro", ""]
    assert step["play"][0]["text"] == "您好王芳，这里是客服中心回访。"
    again = camp.call("POST", "/step", camp.pbx, {"call_id": call_id, "digits": "9"})
    assert again["question"] == "overall" and len(again["play"]) == 2  # "not a choice", then the question
    nxt = camp.call("POST", "/step", camp.pbx, {"call_id": call_id, "digits": "1"})
    assert nxt["question"] == "solved"
    last = camp.call("POST", "/step", camp.pbx, {"call_id": call_id, "digits": "2"})
    assert last["action"] == "hangup" and last["question"] is None
    camp.call("POST", "/step", camp.pbx, {"call_id": "cmp-1-2-3"}, expect=404)
    camp.call("POST", "/step", camp.north, {"call_id": call_id}, expect=403)  # the PBX's token only
    with clock.freeze(FRIDAY_0900 + timedelta(minutes=2)):
        camp.hangup(call_id)
        camp.call("POST", "/step", camp.pbx, {"call_id": f"cmp-{c['id']}-{second.id}-1"})
        camp.call("POST", "/step", camp.pbx, {"call_id": f"cmp-{c['id']}-{second.id}-1", "digits": "3"})
        camp.hangup(f"cmp-{c['id']}-{second.id}-1")
    first, second = camp.targets(c["id"])
    assert first.status == "done" and first.answers == {
        "overall": "satisfied",
        "solved": "no",
        "_invalid": {"overall": 1},
    }
    assert second.answers == {"overall": "dissatisfied"}
    results = camp.call("GET", f"/{c['id']}/results", camp.viewer)
    overall, solved = results["questions"]
    assert overall["counts"] == {"satisfied": 1, "neutral": 0, "dissatisfied": 1} and overall["answered"] == 2
    assert overall["labels"]["satisfied"] == "满意"
    assert solved["counts"] == {"yes": 0, "no": 1}
    task = camp.cc.session.scalars(select(CallbackTask).where(CallbackTask.ticket_id == ticket_id)).one()
    assert (task.status.value, task.satisfaction, task.attempts) == ("done", "satisfied", 1)
    log = camp.cc.session.scalars(
        select(TicketLog).where(TicketLog.ticket_id == ticket_id, TicketLog.action == "callback")
    ).one()
    assert log.detail["satisfaction"] == "satisfied" and log.detail["campaign_id"] == c["id"]
    export = camp.call("GET", f"/{c['id']}/results.csv", camp.viewer)
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert rows[0][-2:] == ["overall", "solved"] and rows[1][-2:] == ["satisfied", "no"]
    assert rows[2][4:6] == ["done", "answered"]


def test_a_notice_plays_its_script_with_the_targets_values_then_hangs_up(camp, pbx):
    pbx.default_outcome = "talking"
    with clock.freeze(FRIDAY_0900):
        c = camp.create(
            kind="payment_reminder",
            prompt_code="arrears",
            script="{{ name }}您好，您本月应缴{{ amount }}元，请于{{ due_date }}前缴纳。",
            targets=[{"number": NUMBERS[0], "name": "王芳", "variables": {"amount": "128.50"}}],
        )
        camp.call("POST", f"/{c['id']}/start", camp.north)
    target = camp.targets(c["id"])[0]
    step = camp.call("POST", "/step", camp.pbx, {"call_id": f"cmp-{c['id']}-{target.id}-1"})
    assert step["action"] == "hangup"
    assert step["play"] == [{"prompt_code": "arrears", "text": "王芳您好，您本月应缴128.50元，请于前缴纳。"}]


def test_numbers_from_customers_lists_and_other_systems(camp):
    c = camp.create()
    cid = c["id"]
    added = camp.call(
        "POST", f"/{cid}/targets/customers", camp.north, {"filter": {"customer_ids": [camp.cc.customer_id]}}
    )
    assert (added["added"], added["total"]) == (1, 1)
    target = camp.targets(cid)[0]
    assert (
        target.customer_id == camp.cc.customer_id
        and target.name == "王芳"
        and target.number_key == "+86" + CALLER
    )
    r = camp.cc.client.post(
        f"{API}/{cid}/targets/customers",
        json={"filter": {"customer_codes": ["NOPE"]}},
        headers=camp.north.headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "filter.customer_codes"
    # Another system sends its list twice, with a duplicate: merged, and the second time adds nothing.
    items = [
        {"number": NUMBERS[0], "name": "甲", "variables": {"amount": 10}},
        {"number": "+86 " + NUMBERS[0], "variables": {"due_date": "11-30"}},
        {"number": CALLER},
    ]
    first = camp.call("POST", f"/{cid}/targets", camp.north, {"targets": items})
    assert (first["added"], first["merged"], first["existing"], first["total"]) == (1, 1, 1, 2)
    assert camp.call("POST", f"/{cid}/targets", camp.north, {"targets": items})["added"] == 0
    merged = next(t for t in camp.targets(cid) if t.number_key == "+86" + NUMBERS[0])
    assert merged.name == "甲" and merged.variables == {"amount": "10", "due_date": "11-30"}
    # An uploaded list is all or nothing; the error names the line.
    bad = "number,name,amount\n13900139005,乙,12\nnot-a-number,丙,13\n13900139007,丁,14\n"
    r = camp.cc.client.post(
        f"{API}/{cid}/targets/upload",
        files={"file": ("list.csv", bad.encode(), "text/csv")},
        headers=camp.north.headers,
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "list.3.number" and "3" in r.json()["detail"][0]["msg"]
    assert len(camp.targets(cid)) == 2
    book = Workbook()
    sheet = book.active
    sheet.append(["number", "name", "amount"])
    sheet.append([13900139005, "乙", 12.5])
    sheet.append(["13900139006", "丙", 13])
    data = io.BytesIO()
    book.save(data)
    ok = camp.cc.client.post(
        f"{API}/{cid}/targets/upload",
        files={"file": ("list.xlsx", data.getvalue())},
        headers=camp.north.headers,
    )
    assert ok.status_code == 200 and ok.json()["added"] == 2, ok.text
    row = next(t for t in camp.targets(cid) if t.number_key == "+8613900139005")
    assert row.name == "乙" and row.variables == {"amount": "12.5"}


def test_scope_and_permissions(camp):
    north = camp.create()
    south = camp.create(camp.south, name="南区通知")
    assert {c["id"] for c in camp.call("GET", "", camp.north)["items"]} == {north["id"]}
    assert {c["id"] for c in camp.call("GET", "", camp.viewer)["items"]} >= {north["id"], south["id"]}
    camp.call("GET", f"/{south['id']}", camp.north, expect=404)
    camp.call("POST", f"/{south['id']}/start", camp.north, expect=404)
    camp.call("POST", f"/{north['id']}/targets", camp.viewer, {"targets": [{"number": CALLER}]}, expect=403)
    camp.call("GET", "", camp.pbx, expect=403)
    r = camp.cc.client.post(
        API,
        json={"name": "x", "kind": "notice", "department_id": camp.cc.south.id},
        headers=camp.north.headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "department_id"


def test_rounds_on_separate_connections_never_call_twice(request, monkeypatch, pbx):
    """Two dialler rounds at once, each with its own PostgreSQL connection."""
    if request.config.getoption("--db") != "postgres":
        pytest.skip("separate connections with row locks: PostgreSQL only")
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from kefu.db import db, make_engine
    from kefu.migrate import upgrade
    from kefu.org.config.dictionary import seed_defaults
    from tests.support import Factory

    url = request.getfixturevalue("fresh_pg_url")
    migrating = make_engine(url)
    upgrade(migrating)
    migrating.dispose()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=6)
    make = sessionmaker(engine, expire_on_commit=False)
    monkeypatch.setattr(db, "_factory", make)
    monkeypatch.setattr(db, "engine", engine)
    try:
        with make() as s:
            seed_defaults(s)
            user = Factory(s).user()
            campaign = Campaign(
                name="并发",
                status="running",
                calls_per_minute=1000,
                max_concurrent=1000,
                created_by_id=user.id,
                weekdays=[1, 2, 3, 4, 5, 6, 7],
                retry_minutes={},
                questions=[],
            )
            s.add(campaign)
            s.flush()
            for i in range(60):
                number = f"1390014{i:04d}"
                s.add(
                    CampaignTarget(
                        campaign_id=campaign.id,
                        number=number,
                        number_key="+86" + number,
                        variables={},
                        answers={},
                    )
                )
            s.commit()
        pbx.default_outcome = "talking"
        started: list[int] = []
        gate = threading.Barrier(2)

        def round_() -> None:
            gate.wait(timeout=30)
            started.append(campaign_dialer.dial())

        with clock.freeze(FRIDAY_0900):
            threads = [threading.Thread(target=round_) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
        assert sum(started) == 60
        with make() as s:
            attempts = s.scalars(select(CampaignTarget.attempts)).all()
            calls = s.scalar(select(func.count()).select_from(Call))
        assert attempts == [1] * 60 and calls == 60
    finally:
        engine.dispose()


def test_pages_create_show_errors_add_numbers_and_start(camp, pbx):
    from tests.support import PASSWORD, browser_login

    client = camp.cc.client
    csrf = browser_login(client, camp.north.user.username, PASSWORD)
    assert 'data-nav="/callcenter/campaigns"' in client.get("/").text
    assert client.get("/callcenter/campaigns/new").status_code == 200
    form = {
        "csrf_token": csrf,
        "name": "满意度回访",
        "kind": "survey",
        "mode": "ivr",
        "window_start": "09:00",
        "window_end": "08:00",
        "weekdays": ["1", "2", "3", "4", "5"],
        "calls_per_minute": "5",
        "max_concurrent": "2",
        "max_attempts": "2",
        "retry_minutes.busy": "5",
        "questions_text": "overall | 您对服务满意吗？ | | 1=satisfied, 2=dissatisfied",
    }
    bad = client.post("/callcenter/campaigns", data=form)
    assert bad.status_code == 422 and 'data-error-for="window_end"' in bad.text
    assert "满意度回访" in bad.text  # the form keeps what was typed
    form["window_end"] = "18:00"
    r = client.post("/callcenter/campaigns", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    path = r.headers["location"]
    campaign = camp.cc.session.get(Campaign, int(path.rsplit("/", 1)[1]))
    assert campaign.questions[0]["answers"] == {"1": "satisfied", "2": "dissatisfied"}
    assert campaign.retry_minutes == {"busy": 5}
    refused = client.post(f"{path}/start", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "campaign-errors" in refused.text
    bad_list = "number,name\n13900139001,甲\n123,乙\n"
    r = client.post(
        f"{path}/upload",
        data={"csrf_token": csrf},
        files={"list_file": ("l.csv", bad_list.encode(), "text/csv")},
    )
    assert r.status_code == 422 and "upload-errors" in r.text and not camp.targets(campaign.id)
    good = "number,name\n13900139001,甲\n13900139002,乙\n"
    r = client.post(
        f"{path}/upload",
        data={"csrf_token": csrf},
        files={"list_file": ("l.csv", good.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and len(camp.targets(campaign.id)) == 2
    with clock.freeze(FRIDAY_0900):
        assert (
            client.post(f"{path}/start", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
        )
    page = client.get(path)
    assert (
        page.status_code == 200
        and 'id="campaign-progress"' in page.text
        and 'data-question="overall"' in page.text
    )
    assert client.get(f"{path}/progress").status_code == 200
    assert "campaign-form" in client.get(f"{path}/edit").text
    listing = client.get("/callcenter/campaigns")
    assert f'data-campaign="{campaign.id}"' in listing.text
