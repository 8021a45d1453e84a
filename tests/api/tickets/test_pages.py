"""The ticket pages (TKT-4 … TKT-9) as a signed-in person uses them: the workbench with its counts,
registration with every message beside its field, the action area offering exactly the allowed
actions, conflicts, and a ticket handled from accept to complete through the forms."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from kefu.core import clock
from kefu.tickets import presets
from kefu.tickets.models import FormTemplate, TemplateStatus, Ticket
from kefu.workflow.runtime.models import FlowTask
from tests.support import browser_login

HX = {"HX-Request": "true"}


def _login(desk, who) -> str:
    desk.client.cookies.clear()
    return browser_login(desk.client, who.user.username)


def _actions(html: str) -> set[str]:
    return set(re.findall(r'data-action="(\w+)"', html))


def _version(html: str) -> str:
    found = re.search(r'id="ticket-detail" data-ticket="\d+" data-version="(\d+)"', html)
    assert found, html[:1000]
    return found.group(1)


def _count(html: str, box: str) -> int:
    found = re.search(rf'id="count-{box}"[^>]*>(\d+)<', html)
    assert found, f"no badge for {box}"
    return int(found.group(1))


def test_workbench_lists_the_boxes_with_their_counts(desk, session):
    # Auto dispatch shares the tickets out: the least loaded handler, ties to the lowest id.
    first = desk.register(subject="第一张")
    assert desk.register(subject="给第二位处理人")["handler_id"] == desk.h2.user.id
    second = desk.register(subject="第二张")
    # The later one's step is overdue: it comes first in the todo box and is highlighted.
    task = session.scalars(
        select(FlowTask).where(FlowTask.instance_id == second["flow_instance_id"], FlowTask.status == "open")
    ).one()
    task.due_at = clock.now() - timedelta(hours=1)
    session.flush()

    _login(desk, desk.h1)
    page = desk.client.get("/tickets")
    assert page.status_code == 200 and "个人工作台" in page.text
    assert _count(page.text, "todo") == 2 and _count(page.text, "overdue") == 1
    assert 'hx-trigger="kefu:notification from:body, ticketChanged from:body, every 60s"' in page.text
    rows = re.findall(r'class="kefu-ticket-row( table-danger)?" data-ticket="(\d+)"', page.text)
    assert rows == [(" table-danger", str(second["id"])), ("", str(first["id"]))]
    assert first["serial"] in page.text and "张三" in page.text and "处理" in page.text
    # A handler has no dispatch, registration or tracking boxes.
    tabs = re.findall(r'<a class="nav-link[^"]*" href="/tickets\?box=(\w+)"', page.text)
    assert tabs == ["todo", "pool", "done", "all"]

    counts = desk.client.get("/tickets/counts", headers=HX)
    assert 'id="count-todo"' in counts.text and 'hx-swap-oob="true"' in counts.text
    assert _count(counts.text, "todo") == 2 and "<html" not in counts.text
    done = desk.client.get("/tickets/list?box=done", headers=HX)
    assert done.status_code == 200 and 'id="ticket-list-empty"' in done.text

    _login(desk, desk.leader)
    mine = desk.client.get("/tickets?box=created")
    assert re.findall(r'<a class="nav-link[^"]*" href="/tickets\?box=(\w+)"', mine.text) == [
        *("todo", "pool", "dispatch", "done", "created", "tracked", "all")
    ]
    assert 'id="ticket-list-empty"' in mine.text  # the leader registered nothing


def test_registration_shows_every_message_beside_its_field_and_keeps_the_input(desk, session, factory):
    elements = [
        {"code": "visit_day", "label": "上门日期", "type": "date"},
        {"code": "visit_at", "label": "预约时间", "type": "datetime"},
        {"code": "mail", "label": "回复邮箱", "type": "email"},
        {"code": "id_card", "label": "身份证号", "type": "id_number"},
        {"code": "count", "label": "故障次数", "type": "integer", "min_value": 1},
        {"code": "tags", "label": "标签", "type": "multichoice", "options": [["a", "甲"], ["b", "乙"]]},
        {"code": "agree", "label": "客户同意", "type": "bool", "required": True},
        {"code": "notes", "label": "备注", "type": "textarea"},
        {"code": "photo", "label": "现场照片", "type": "attachment"},
    ]
    form = FormTemplate(code="full", name="全要素", status=TemplateStatus.ACTIVE, elements=elements)
    session.add(form)
    session.flush()
    admin = factory.actor(factory.user(admin=True))
    full = presets.standard_type(
        session,
        actor=admin,
        code="FX",
        name="全要素工单",
        department_id=desk.back.id,
        form_template_id=form.id,
    )
    csrf = _login(desk, desk.agent)
    blank = desk.client.get(f"/tickets/new?type_id={full.id}")
    assert blank.status_code == 200
    for kind in ('type="date"', 'type="datetime-local"', 'type="email"', 'type="file"', 'type="checkbox"'):
        assert kind in blank.text
    assert '<option value="phone" selected>' in blank.text  # the first channel is offered

    before = session.scalar(select(func.count(Ticket.id)))
    data = {
        "csrf_token": csrf,
        "type_id": str(full.id),
        "channel": "phone",
        "priority": "normal",
        "subject": "",
        "customer_name": "李四",
        "customer_phone": "12",
        "fields-visit_day": "2026-02-30",
        "fields-visit_at": "明天上午",
        "fields-mail": "li@",
        "fields-id_card": "110101199003071234",
        "fields-count": "1.5",
        "fields-tags": ["a", "z"],
        "fields-notes": "楼道里信号弱",
    }
    bad = desk.client.post("/tickets/new", data=data)
    assert bad.status_code == 422
    for field, message in {
        "subject": "必填",
        "customer_phone": "请输入有效的电话号码",
        "fields.visit_day": "请按 YYYY-MM-DD 格式填写日期",
        "fields.visit_at": "请按 YYYY-MM-DD HH:MM 格式填写日期和时间",
        "fields.mail": "请输入有效的电子邮箱地址",
        "fields.id_card": "请输入有效的居民身份证号码",
        "fields.count": "请输入整数",
        "fields.tags": "请从给出的选项中选择",
        "fields.agree": "必填",
    }.items():
        found = re.search(rf'data-error-for="{re.escape(field)}">([^<]*)<', bad.text)
        assert found, f"no message for {field}"
        assert message in found.group(1), (field, found.group(1))
    for typed in ('value="李四"', 'value="12"', 'value="2026-02-30"', 'value="明天上午"', 'value="li@"'):
        assert typed in bad.text
    assert 'value="1.5"' in bad.text and ">楼道里信号弱</textarea>" in bad.text
    assert re.search(r'name="fields-tags" value="a" checked', bad.text)
    assert session.scalar(select(func.count(Ticket.id))) == before  # nothing half-written

    good = {
        **data,
        "subject": "信号弱",
        "customer_phone": "13800138000",
        "fields-visit_day": "2026-03-02",
        "fields-visit_at": "2026-03-02T09:30",
        "fields-mail": "li@Example.COM",
        "fields-id_card": "11010519491231002X",
        "fields-count": "2",
        "fields-tags": ["b"],
        "fields-agree": "true",
    }
    files = [
        ("fields-photo", ("现场.png", b"\x89PNG\r\n", "image/png")),
        ("files", ("说明.txt", b"hi", "text/plain")),
    ]
    ok = desk.client.post("/tickets/new", data=good, files=files, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    ticket_id = int(ok.headers["location"].rsplit("/", 1)[1])
    ticket = session.get(Ticket, ticket_id)
    assert ticket.fields["mail"] == "li@example.com" and ticket.fields["tags"] == ["b"]
    assert ticket.fields["visit_at"] == "2026-03-02T09:30:00" and len(ticket.fields["photo"]) == 1
    page = desk.client.get(ok.headers["location"])
    assert (
        "全要素工单" in page.text
        and "乙" in page.text
        and "现场.png" in page.text
        and "说明.txt" in page.text
    )
    assert f"/api/v1/tickets/attachments/{ticket.fields['photo'][0]}" in page.text


def test_a_case_template_prefills_the_form(desk):
    csrf = _login(desk, desk.agent)
    type_id, case_id = desk.ticket_type.id, desk.case_template.id
    page = desk.client.get(f"/tickets/new?type_id={type_id}&case_template_id={case_id}")
    assert 'value="宽带无法上网"' in page.text and "已指导重启光猫无效" in page.text
    assert '<option value="urgent" selected>' in page.text and '<option value="east" selected>' in page.text
    # htmx reload when the agent picks the case template: typed customer data stays, the case fills in.
    params = {
        "type_id": type_id,
        "case_template_id": case_id,
        "changed": "case",
        "channel": "email",
        "subject": "",
        "customer_name": "王五",
        "fields-contact_phone": "13900139000",
    }
    reloaded = desk.client.get("/tickets/new", params=params, headers={**HX, "HX-Target": "register-form"})
    assert reloaded.status_code == 200 and "<html" not in reloaded.text
    assert reloaded.text.lstrip().startswith("{#") is False and 'id="register-form"' in reloaded.text
    assert 'value="王五"' in reloaded.text and '<option value="email" selected>' in reloaded.text
    assert 'value="宽带无法上网"' in reloaded.text and 'value="13900139000"' in reloaded.text
    # Registered from the case template: its nature and fields are on the ticket.
    data = {
        "csrf_token": csrf,
        "type_id": str(type_id),
        "case_template_id": str(case_id),
        "channel": "phone",
        "priority": "urgent",
        "nature": "fault",
        "subject": "宽带无法上网",
        "fields-contact_phone": "13900139000",
        "fields-area": "east",
    }
    ok = desk.client.post("/tickets/new", data=data, follow_redirects=False)
    assert ok.status_code == 303
    shown = desk.client.get(ok.headers["location"]).text
    assert "东区" in shown and "故障" in shown and "13900139000" in shown


def test_the_action_area_offers_exactly_the_allowed_actions(desk):
    t = desk.register()
    _login(desk, desk.h1)
    handler = desk.client.get(f"/tickets/{t['id']}")
    assert _actions(handler.text) == {"accept", "complete", "reply", "transfer", "hand_back"}
    assert f'name="version" value="{t["version"]}"' in handler.text
    assert 'id="ticket-log"' in handler.text and "data-ticket-flow" in handler.text
    assert "完成" in handler.text  # the state of the handle step, from the flow

    _login(desk, desk.agent)
    agent = desk.client.get(f"/tickets/{t['id']}")
    assert _actions(agent.text) == {"urge", "track"}

    _login(desk, desk.leader)  # a dispatcher with the registering department in scope
    leader = desk.client.get(f"/tickets/{t['id']}")
    assert {"dispatch", "transfer", "suspend", "cancel", "urge", "track"} == _actions(leader.text)

    _login(desk, desk.o1)
    assert desk.client.get(f"/tickets/{t['id']}").status_code == 404


def test_a_stale_version_is_a_conflict_and_bad_input_stays_beside_its_field(desk):
    t = desk.register()
    csrf = _login(desk, desk.h1)
    url = f"/tickets/{t['id']}"
    accepted = desk.client.post(
        f"{url}/accept", data={"csrf_token": csrf, "version": t["version"]}, follow_redirects=False
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == url
    stale = desk.client.post(
        f"{url}/reply", data={"csrf_token": csrf, "version": t["version"], "comment": "x"}
    )
    assert stale.status_code == 409
    assert re.search(r'data-error-for="_">工单已被他人修改（当前：[^，]+，处理）', stale.text)
    assert "<html" in stale.text  # the whole page without htmx …
    in_panel = desk.client.post(
        f"{url}/reply", data={"csrf_token": csrf, "version": t["version"], "comment": "x"}, headers=HX
    )
    assert in_panel.status_code == 409 and "<html" not in in_panel.text  # … the fragment with it
    current = _version(in_panel.text)
    empty = desk.client.post(f"{url}/reply", data={"csrf_token": csrf, "version": current, "comment": " "})
    assert empty.status_code == 422
    form = re.search(r'<form[^>]*data-form="reply-\d+".*?</form>', empty.text, re.S)
    assert form and 'data-error-for="comment">此项必填' in form.group(0)
    assert "x-data=\"{ open: 'reply-" in empty.text  # the failed form is the one open


def test_accept_then_complete_through_the_pages(desk, session):
    t = desk.register()
    csrf = _login(desk, desk.h1)
    url = f"/tickets/{t['id']}"
    page = desk.client.get(url, headers=HX)
    assert "<html" not in page.text and _actions(page.text) >= {"accept", "complete"}
    accepted = desk.client.post(
        f"{url}/accept", data={"csrf_token": csrf, "version": _version(page.text)}, headers=HX
    )
    assert accepted.status_code == 200 and accepted.headers["HX-Trigger"] == "ticketChanged"
    assert "accept" not in _actions(accepted.text) and "完成：签收" in accepted.text.replace(
        "已完成：", "完成："
    )
    task_id = re.search(r'data-form="complete-(\d+)"', accepted.text).group(1)
    done = desk.client.post(
        f"{url}/complete",
        data={
            "csrf_token": csrf,
            "version": _version(accepted.text),
            "task_id": task_id,
            "state": "complete",
            "comment": "已更换光猫",
        },
        files=[("files", ("处理记录.txt", "换了光猫".encode(), "text/plain"))],
        headers=HX,
    )
    assert done.status_code == 200, done.text
    assert 'id="ticket-stage">审核<' in done.text and _actions(done.text) == set()
    assert "已更换光猫" in done.text and "处理记录.txt" in done.text
    todo = desk.client.get("/tickets/list?box=todo", headers=HX)
    assert 'id="ticket-list-empty"' in todo.text
    assert f'data-ticket="{t["id"]}"' in desk.client.get("/tickets/list?box=done", headers=HX).text

    # The review step (the team leader) without htmx: the form posts and the page reloads.
    csrf = _login(desk, desk.leader)
    review = desk.client.get(url)
    assert "通过" in review.text and "不通过" in review.text
    passed = desk.client.post(
        f"{url}/complete",
        data={"csrf_token": csrf, "version": _version(review.text), "state": "pass"},
        follow_redirects=False,
    )
    assert passed.status_code == 303 and session.get(Ticket, t["id"]).stage == "关闭"


def test_transfer_urge_and_tracking_through_the_pages(desk):
    t = desk.register()
    csrf = _login(desk, desk.agent)
    url = f"/tickets/{t['id']}"
    urged = desk.client.post(f"{url}/urge", data={"csrf_token": csrf, "comment": "客户很急"}, headers=HX)
    assert urged.status_code == 200 and 'id="ticket-urges">已催办 1 次' in urged.text
    tracked = desk.client.post(f"{url}/track", data={"csrf_token": csrf}, headers=HX)
    assert _actions(tracked.text) == {"urge", "follow_up"}
    missing = desk.client.post(
        f"{url}/follow-up", data={"csrf_token": csrf, "result": "continue"}, headers=HX
    )
    assert missing.status_code == 422 and 'data-error-for="note"' in missing.text
    noted = desk.client.post(
        f"{url}/follow-up", data={"csrf_token": csrf, "note": "已回电客户", "result": "resolved"}, headers=HX
    )
    assert "已回电客户" in noted.text and "track" in _actions(noted.text)

    # The handler transfers it to another department: it leaves their hands and their sight.
    csrf = _login(desk, desk.h1)
    page = desk.client.get(url)
    nobody = desk.client.post(
        f"{url}/transfer",
        data={"csrf_token": csrf, "version": _version(page.text), "to": "department", "comment": "需上门"},
    )
    assert nobody.status_code == 422 and 'data-error-for="user_id"' in nobody.text
    moved = desk.client.post(
        f"{url}/transfer",
        data={
            "csrf_token": csrf,
            "version": _version(page.text),
            "to": "department",
            "department_id": str(desk.other.id),
            "comment": "需上门",
        },
        headers=HX,
    )
    assert moved.status_code == 200 and moved.headers["HX-Trigger"] == "ticketChanged"
    assert 'data-gone="1"' in moved.text
    assert desk.get(t["id"], desk.o1)["handler_id"] == desk.o1.user.id
