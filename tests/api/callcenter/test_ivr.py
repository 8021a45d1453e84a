"""IVR (CC-4): menus configured over the API, a caller walked through them by the PBX's step API —
wrong keys, retries, self-service queries against a real HTTP business system, back, the queue —
with what they entered reaching the screen pop; failures of the business system, voice messages,
replays, validation and permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kefu.callcenter.models import Call, IvrMenu, IvrSession
from kefu.customers.adapters import registry
from kefu.customers.adapters.models import BusinessSystem
from kefu.customers.contacts.models import ContactRecord
from kefu.customers.models import Account
from tests.api.callcenter.conftest import API, CALLER
from tests.api.customers.fake_business_system import running

ACCOUNT = "88001234"
CONFIG = ["callcenter.config.view", "callcenter.config.edit"]


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    return {".".join(str(p) for p in d["loc"][1:]): d["msg"] for d in body["detail"]}


@pytest.fixture
def ivr(cc):
    """A config editor, the customer's account, and two menus: `main` (95105) and `self`."""
    editor = cc.factory.token_login(cc.factory.user(CONFIG))
    cc.session.add(Account(customer_id=cc.customer_id, account_no=ACCOUNT, name="王芳"))
    cc.session.flush()
    r = cc.client.post(
        API + "/prompts",
        data={
            "code": "welcome.main",
            "name": "主菜单",
            "category": "welcome",
            "text": "欢迎致电。自助查询请按1。",
        },
        headers=editor.headers,
    )
    assert r.status_code == 201, r.text
    self_menu = {
        "code": "self",
        "name": "自助服务",
        "options": [
            {"digit": "1", "label": "话费查询", "action": "query", "params": {"kind": "fee"}},
            {
                "digit": "2",
                "label": "报装进度",
                "action": "query",
                "params": {"kind": "installation", "queue": "hotline"},
            },
            {"digit": "3", "label": "工单进度", "action": "query", "params": {"kind": "ticket"}},
            {"digit": "*", "label": "返回上级菜单", "action": "back"},
            {"digit": "0", "label": "人工服务", "action": "queue", "params": {"queue": "hotline"}},
        ],
    }
    main = {
        "code": "main",
        "name": "主菜单",
        "prompt_code": "welcome.main",
        "entry_numbers": ["95105"],
        "max_retries": 2,
        "options": [
            {"digit": "1", "label": "自助服务", "action": "menu", "params": {"menu": "self"}},
            {"digit": "0", "label": "人工服务", "action": "queue", "params": {"queue": "hotline"}},
            {"digit": "9", "label": "留言", "action": "record", "params": {"max_seconds": 30}},
            {"digit": "#", "label": "再见", "action": "hangup"},
        ],
    }
    cc.call("POST", "/ivr/menus", editor, self_menu, expect=201)
    cc.call("POST", "/ivr/menus", editor, main, expect=201)
    registry.reset_breakers()
    yield editor
    registry.reset_breakers()


def system(cc, kind: str, url: str) -> None:
    cc.session.add(
        BusinessSystem(
            kind=kind,
            implementation="http",
            base_url=url,
            path="/customers/{account_no}/" + kind,
            retries=0,
            timeout_seconds=2.0,
        )
    )
    cc.session.flush()


class Caller:
    """The PBX's side of one call: posts each step with the `seq` of the last answer."""

    def __init__(self, cc, call_id: str, *, to: str = "95105") -> None:
        self.cc, self.call_id, self.to, self.seq = cc, call_id, to, 0
        self.last: dict[str, Any] = {}

    def body(self, digits: str | None, **extra: Any) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "from": CALLER,
            "to": self.to,
            "digits": digits,
            "seq": self.seq,
            **extra,
        }

    def press(self, digits: str | None, *, expect: int = 200, **extra: Any) -> dict[str, Any]:
        answer = self.cc.call("POST", "/ivr/step", self.cc.pbx, self.body(digits, **extra), expect=expect)
        if expect == 200:
            assert answer["seq"] == self.seq + 1
            self.seq, self.last = answer["seq"], answer
        return answer

    def texts(self) -> list[str]:
        return [p["text"] for p in self.last["prompts"]]


def test_a_caller_walks_the_menus_and_the_agent_sees_what_they_entered(cc, ivr):
    with running() as billing:
        system(cc, "billing", billing.url)
        caller = Caller(cc, "ivr-1")
        start = caller.press(None)
        assert start["action"] == "play_collect" and start["max_digits"] == 1 and start["timeout"] == 5
        assert start["prompts"] == [
            {"code": "welcome.main", "text": "欢迎致电。自助查询请按1。", "url": None}
        ]
        # The PBX did not get the answer and asks again: the same answer, nothing moves.
        again = cc.call("POST", "/ivr/step", cc.pbx, {"call_id": "ivr-1", "from": CALLER, "to": "95105"})
        assert again == start
        wrong = caller.press("7")
        assert wrong["action"] == "play_collect"
        assert caller.texts() == ["对不起，您的输入有误。", "欢迎致电。自助查询请按1。"]
        caller.press("1")
        assert "话费查询请按1。" in caller.texts()[0] and "返回上级菜单请按星号键。" in caller.texts()[0]
        # The PBX reports the call meanwhile: what was collected so far joins it.
        cc.event("new_call", "ivr-1", 0, direction="in", **{"from": CALLER, "to": "95105"})
        call_pk = cc.session.scalar(select(Call.id).where(Call.call_id == "ivr-1"))
        ask = caller.press("1")
        assert ask["action"] == "play_collect" and ask["max_digits"] == 20 and ask["terminator"] == "#"
        assert caller.texts() == ["请输入您的账号，以井号键结束。"]
        result = caller.press(ACCOUNT + "#")
        assert billing.requests[0][0] == f"/customers/{ACCOUNT}/billing"
        assert caller.texts()[0].startswith("您的账户余额为 12.50 元，欠费 88.00 元。")
        assert "2026-12-20" in caller.texts()[0]
        # A replay of the query step answers the same and does not ask the business system again.
        replay = cc.call("POST", "/ivr/step", cc.pbx, {**caller.body(ACCOUNT + "#"), "seq": caller.seq - 1})
        assert replay == result and len(billing.requests) == 1
        cc.session.expire_all()
        live = cc.session.get(Call, call_pk).ivr
        assert live["account"] == ACCOUNT and live["balance"] == "12.50" and live["verified"] is True
        back = caller.press("*")
        assert back["prompts"][0]["code"] == "welcome.main"
        queued = caller.press("0")
        assert queued["action"] == "queue" and queued["queue"] == "hotline"
        assert caller.texts() == ["正在为您转接人工服务，请稍候。"]
        cc.call("POST", "/ivr/step", cc.pbx, caller.body("1"), expect=409)  # the session has ended
        cc.event("queued", "ivr-1", 40, queue="hotline")
    pop = cc.call("GET", f"/calls/{call_pk}/pop", cc.north_lead)
    assert pop["call_id"] == "ivr-1"
    ivr_data = pop["ivr"]
    assert ivr_data["menu_path"] == "1-1-*-0"
    assert ivr_data["account"] == ACCOUNT and ivr_data["verified"] is True
    assert (
        ivr_data["arrears"] == "88.00" and ivr_data["queue"] == "hotline" and ivr_data["language"] == "zh_CN"
    )
    session_row = cc.session.scalar(select(IvrSession).where(IvrSession.call_id == "ivr-1"))
    assert session_row.outcome == "queue" and session_row.ended_at is not None
    assert session_row.path == ["main:1", "self:1", "self:query", "self:*", "main:0"]


def test_a_call_reported_after_its_ivr_gets_the_collected_data(cc, ivr):
    with running() as billing:
        system(cc, "billing", billing.url)
        caller = Caller(cc, "ivr-late")
        for digits in (None, "1", "1", ACCOUNT):
            caller.press(digits)
    done = cc.event("new_call", "ivr-late", 0, direction="in", **{"from": CALLER, "to": "95105"})
    assert done["call"]["ivr"]["account"] == ACCOUNT and done["call"]["ivr"]["menu_path"] == "1-1"


def test_a_failing_business_system_is_said_and_an_agent_offered(cc, ivr):
    with running() as installation:
        installation.reset("fail")
        system(cc, "installation", installation.url)
        caller = Caller(cc, "ivr-2")
        for digits in (None, "1", "2"):
            caller.press(digits)
        failed = caller.press(ACCOUNT)
        assert failed["action"] == "play_collect" and failed["max_digits"] == 1
        assert caller.texts() == ["对不起，查询服务暂时无法使用。转人工服务请按0，返回菜单请按其他键。"]
        to_agent = caller.press("0")
        assert to_agent["action"] == "queue" and to_agent["queue"] == "hotline"
        row = cc.session.scalar(select(IvrSession).where(IvrSession.call_id == "ivr-2"))
        assert row.data["query_error"] == "unavailable"
        # Another caller hears the failure (a timeout here) and goes back to the menu instead.
        installation.reset("slow", delay=3.0)
        other = Caller(cc, "ivr-3")
        for digits in (None, "1", "2"):
            other.press(digits)
        other.press(ACCOUNT)
        assert other.texts()[0].startswith("对不起，查询服务暂时无法使用")
        menu = other.press("5")
        assert menu["action"] == "play_collect" and "话费查询请按1。" in other.texts()[0]


def test_an_unknown_account_is_asked_again_then_the_fallback(cc, ivr):
    caller = Caller(cc, "ivr-4")
    for digits in (None, "1", "1"):
        caller.press(digits)
    assert caller.press("12")["action"] == "play_collect"
    assert caller.texts() == ["没有查到您输入的号码。", "请输入您的账号，以井号键结束。"]
    caller.press(None)  # no key in time: the invalid prompt and the question again
    assert caller.texts()[1] == "请输入您的账号，以井号键结束。"
    caller.press("999")
    # `self` keeps the default of 3 retries; the fourth miss: the default fallback, the first queue.
    fallback = caller.press("9")
    assert fallback["action"] == "queue" and fallback["queue"] == "hotline"
    assert caller.texts() == ["对不起，您的输入有误。", "正在为您转接人工服务，请稍候。"]


def test_no_key_in_main_uses_the_retries_then_the_fallback(cc, ivr):
    caller = Caller(cc, "ivr-5")
    caller.press(None)
    assert caller.press(None)["action"] == "play_collect"
    assert caller.press("8")["action"] == "play_collect"
    assert caller.press(None)["action"] == "queue"  # max_retries 2: the third miss gives up


def test_ticket_progress_by_the_digits_of_its_serial(cc, ivr):
    from kefu.tickets.models import Ticket, TicketStatus, TicketType
    from kefu.workflow import flows

    admin = cc.factory.user(admin=True)
    xml = (Path(__file__).parent.parent / "flows" / "approval.bpmn").read_text()
    template = flows.create_template(
        cc.session, actor=cc.factory.actor(admin), code="ivr_t", name="t", bpmn_xml=xml
    )
    kind = TicketType(code="ivr_t", name="测试", prefix="TS", flow_template_id=template.id)
    cc.session.add(kind)
    cc.session.flush()
    cc.session.add(
        Ticket(
            serial="TS-20261122-000123",
            type_id=kind.id,
            channel="phone",
            subject="宽带",
            stage="后台处理",
            status=TicketStatus.OPEN,
        )
    )
    cc.session.flush()
    caller = Caller(cc, "ivr-6")
    for digits in (None, "1", "3"):
        caller.press(digits)
    assert caller.texts() == ["请输入工单编号中的数字，以井号键结束。"]
    caller.press("20261122000123#")
    assert caller.texts()[0] == "您的工单 TS-20261122-000123 当前状态：处理中。当前环节：后台处理。"
    row = cc.session.scalar(select(IvrSession).where(IvrSession.call_id == "ivr-6"))
    assert row.data["ticket_serial"] == "TS-20261122-000123"


def test_a_voice_message_becomes_a_contact_record(cc, ivr):
    caller = Caller(cc, "ivr-7")
    caller.press(None)
    cc.event("new_call", "ivr-7", 0, direction="in", **{"from": CALLER, "to": "95105"})
    record = caller.press("9")
    assert record["action"] == "record" and record["max_seconds"] == 30 and record["beep"] is True
    assert caller.texts() == ["请在提示音后留言，结束请按井号键。"]
    url = "https://pbx.example.test/voicemail/ivr-7.wav"
    bye = caller.press(None, recording_url=url)
    assert bye["action"] == "hangup" and caller.texts() == ["您的留言已经收到，我们会尽快与您联系，再见。"]
    contact = cc.session.scalar(select(ContactRecord).where(ContactRecord.call_id == "ivr-7"))
    assert contact is not None and url in contact.summary and contact.customer_id == cc.customer_id
    # The hangup completes the same record (one contact per call); the message stays on the call.
    ended = cc.event("hangup", "ivr-7", 50, cause="normalClearing")["call"]
    assert ended["contact_id"] == contact.id and ended["outcome"] == "ivr"
    assert ended["ivr"]["voicemail_url"] == url
    cc.session.expire_all()
    assert cc.session.get(ContactRecord, contact.id).duration_seconds == 50
    assert (
        cc.session.scalar(
            select(func.count()).select_from(ContactRecord).where(ContactRecord.call_id == "ivr-7")
        )
        == 1
    )


def test_steps_out_of_turn_are_refused(cc, ivr):
    caller = Caller(cc, "ivr-8")
    caller.press(None)
    caller.press("1")
    stale = cc.call("POST", "/ivr/step", cc.pbx, {**caller.body("0"), "seq": 0}, expect=409)
    assert stale["detail"]
    different = cc.call("POST", "/ivr/step", cc.pbx, {**caller.body("0"), "seq": caller.seq - 1}, expect=409)
    assert different["detail"]
    assert cc.session.scalar(select(IvrSession.step).where(IvrSession.call_id == "ivr-8")) == "menu"
    bad = cc.call("POST", "/ivr/step", cc.pbx, {"call_id": "x", "digits": "1a"}, expect=422)
    assert "digits" in errors_of(bad)


def test_an_unknown_dialled_number_goes_to_the_first_queue(cc, ivr):
    answer = Caller(cc, "ivr-9", to="12345").press(None)
    assert answer["action"] == "queue" and answer["queue"] == "hotline"


def test_menus_are_validated_as_a_whole(cc, ivr):
    before = cc.session.scalar(select(func.count()).select_from(IvrMenu))
    body = {
        "code": "bad menu",
        "name": "",
        "prompt_code": "nope",
        "entry_numbers": ["95105"],
        "timeout_seconds": 0,
        "fallback": {"action": "record"},
        "options": [
            {"digit": "1", "action": "queue", "params": {"queue": "nowhere"}},
            {"digit": "1", "action": "menu", "params": {"menu": "ghost"}},
            {"digit": "A", "action": "query", "params": {"kind": "weather"}},
            {"digit": "4", "action": "knowledge", "params": {"article_id": 999999}},
            {"digit": "5", "action": "record", "params": {"max_seconds": 9999}},
            {"digit": "6", "action": "fly"},
        ],
    }
    errors = errors_of(cc.call("POST", "/ivr/menus", ivr, body, expect=422))
    assert set(errors) == {
        "code",
        "name",
        "prompt_code",
        "entry_numbers",
        "timeout_seconds",
        "fallback.action",
        "options.0.params.queue",
        "options.1.digit",
        "options.1.params.menu",
        "options.2.digit",
        "options.2.params.kind",
        "options.3.params.article_id",
        "options.4.params.max_seconds",
        "options.5.action",
    }
    assert "nowhere" in errors["options.0.params.queue"] and "主菜单" in errors["entry_numbers"]
    assert cc.session.scalar(select(func.count()).select_from(IvrMenu)) == before


def test_menu_update_delete_and_references(cc, ivr):
    menus = {m["code"]: m for m in cc.call("GET", "/ivr/menus", ivr)}
    self_menu = menus["self"]
    refused = cc.call("DELETE", f"/ivr/menus/{self_menu['id']}", ivr, expect=409)
    assert "主菜单" in refused["detail"]
    main = menus["main"]
    changed = {**main, "options": [o for o in main["options"] if o["digit"] != "1"], "timeout_seconds": 8}
    saved = cc.call("PUT", f"/ivr/menus/{main['id']}", ivr, changed)
    assert saved["timeout_seconds"] == 8 and [o["digit"] for o in saved["options"]] == ["0", "9", "#"]
    cc.call("DELETE", f"/ivr/menus/{self_menu['id']}", ivr, expect=204)
    assert cc.call("GET", f"/ivr/menus/{self_menu['id']}", ivr, expect=404)
    from kefu.audit.models import AuditLog

    actions = set(
        cc.session.scalars(select(AuditLog.action).where(AuditLog.action.like("callcenter.ivr_menu.%")))
    )
    assert actions == {
        "callcenter.ivr_menu.create",
        "callcenter.ivr_menu.update",
        "callcenter.ivr_menu.delete",
    }


def test_permissions(cc, ivr, client):
    cc.call("GET", "/ivr/menus", cc.alice, expect=403)
    cc.call("POST", "/ivr/menus", cc.alice, {"code": "x", "name": "x"}, expect=403)
    viewer = cc.factory.token_login(cc.factory.user(["callcenter.config.view"]))
    assert len(cc.call("GET", "/ivr/menus", viewer)) == 2
    cc.call("POST", "/ivr/menus", viewer, {"code": "x", "name": "x"}, expect=403)
    # The step is the PBX's: its integration token, not a configuration right nor no token at all.
    step = {"call_id": "ivr-p", "to": "95105"}
    cc.call("POST", "/ivr/step", ivr, step, expect=403)
    cc.call("POST", "/ivr/step", cc.alice, step, expect=403)
    assert client.post(API + "/ivr/step", json=step).status_code == 401
    assert cc.session.scalar(select(IvrSession.id).where(IvrSession.call_id == "ivr-p")) is None


def test_the_demo_menu_of_95105(cc, session, client):
    from kefu import demo

    demo.seed(session)
    session.flush()
    assert demo.seed(session)  # idempotent
    caller = Caller(cc, "demo-1")
    caller.press(None)
    assert caller.texts()[0].startswith("您好，欢迎致电客服热线。")
    played = caller.press("4")
    assert played["action"] == "play" and "无信号" in caller.texts()[-1]
    caller.press(None)  # after the answer, the menu again
    assert caller.texts()[0].startswith("您好，欢迎致电客服热线。")
    assert caller.press("0")["queue"] == "hotline"


def test_the_menu_pages(cc, ivr, client):
    from tests.support import PASSWORD, browser_login

    user = cc.factory.user(["callcenter.config.view", "callcenter.config.edit"])
    csrf = browser_login(client, user.username, PASSWORD)
    listing = client.get("/callcenter/ivr")
    assert listing.status_code == 200 and 'data-nav="/callcenter/ivr"' in listing.text
    assert "主菜单" in listing.text and "95105" in listing.text
    main_id = cc.session.scalar(select(IvrMenu.id).where(IvrMenu.code == "main"))
    editor = client.get(f"/callcenter/ivr/{main_id}")
    assert editor.status_code == 200 and 'name="options.0.digit"' in editor.text
    form = {
        "csrf_token": csrf,
        "code": "night",
        "name": "夜间菜单",
        "entry_numbers": "95106",
        "timeout_seconds": "6",
        "max_retries": "1",
        "enabled": "1",
        "options.0.digit": "1",
        "options.0.label": "人工服务",
        "options.0.action": "queue",
        "options.0.target": "nowhere",
        "options.2.digit": "9",
        "options.2.action": "record",
        "options.2.target": "45",
        "fallback.action": "hangup",
    }
    refused = client.post("/callcenter/ivr/new", data=form)
    assert refused.status_code == 422
    assert 'data-error-for="options.0.target"' in refused.text and "nowhere" in refused.text
    assert 'value="夜间菜单"' in refused.text  # shown again as entered
    assert cc.session.scalar(select(IvrMenu.id).where(IvrMenu.code == "night")) is None
    saved = client.post(
        "/callcenter/ivr/new", data={**form, "options.0.target": "hotline"}, follow_redirects=False
    )
    assert saved.status_code == 303
    menu = cc.call("GET", "/ivr/menus", ivr)
    night = next(m for m in menu if m["code"] == "night")
    assert night["entry_numbers"] == ["95106"] and night["fallback"] == {"action": "hangup", "params": {}}
    assert [(o["digit"], o["action"], o["params"]) for o in night["options"]] == [
        ("1", "queue", {"queue": "hotline"}),
        ("9", "record", {"max_seconds": 45}),
    ]
    self_id = cc.session.scalar(select(IvrMenu.id).where(IvrMenu.code == "self"))
    in_use = client.post(f"/callcenter/ivr/{self_id}/delete", data={"csrf_token": csrf})
    assert in_use.status_code == 409 and "主菜单" in in_use.text
    viewer = cc.factory.user(["callcenter.agent.use"])
    client.cookies.clear()
    browser_login(client, viewer.username, PASSWORD)
    assert client.get("/callcenter/ivr").status_code == 403
    assert client.get("/callcenter/prompts").status_code == 403
