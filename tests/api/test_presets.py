"""Industry demo presets (NFR-4): each loads into an empty database through the configuration
services, is what its file says, loads twice without a change, walks its typical ticket to closed,
and a broken file is refused naming the file, the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kefu import demo
from kefu.audit.models import AuditLog
from kefu.core.permissions import build_actor
from kefu.customers import search as customer_search
from kefu.customers.models import Customer, Subscriber
from kefu.knowledge import search as knowledge_search
from kefu.knowledge.models import Article, ArticleStatus
from kefu.org.models import Department, User
from kefu.presets import files, loader, typical
from kefu.tickets.fault_models import FaultNoticeTicket
from kefu.tickets.models import FormTemplate, Ticket, TicketLog, TicketStatus, TicketType
from kefu.workflow import flows
from kefu.workflow.models import FlowTemplate

STEP_ACTIONS = ("accepted", "replied", "completed", "dispatched")  # log actions of the walked steps
NAMES = ["satellite", "cabletv", "water", "mobile", "securities"]
# A Chinese search term of each preset and the article it finds.
KEYWORD = {
    "satellite": ("登网", "FleetBroadband 终端无法登网的排查步骤"),
    "cabletv": ("马赛克", "高清频道马赛克、卡顿的原因"),
    "water": ("水表停走", "水表停走、走快的判断方法"),
    "mobile": ("携号转网", "携号转网的办理条件与流程"),
    "securities": ("委托未成交", "委托未成交或部分成交的常见原因"),
}
# A customer of each preset found by the full pinyin and by the initials of the name.
PINYIN = {
    "satellite": ("shanguoqing", "sgq", "单国庆"),  # 单 as a surname reads Shàn
    "cabletv": ("huangzhiming", "hzm", "黄志明"),
    "water": ("hujianping", "hjp", "胡建平"),
    "mobile": ("hejunjie", "hjj", "何俊杰"),
    "securities": ("dengwenjing", "dwj", "邓文静"),
}


@pytest.fixture
def org(session):
    """The demo organisation only (departments, roles, users): an otherwise empty database."""
    demo.seed(session, generic=False)
    session.flush()
    assert session.scalar(select(func.count()).select_from(TicketType)) == 0
    return session


def _audit_rows(session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditLog)) or 0)


def test_shipped_presets():
    assert files.names() == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_preset_loads_into_an_empty_database_as_its_file_says(org, name):
    session = org
    preset = files.read(name)
    result = loader.load(session, name, password=demo.DEMO_PASSWORD)
    assert result.created["types"] == len(preset.types)
    assert result.created["customers"] == len(preset.customers) >= 10
    assert result.created["articles"] == len(preset.knowledge.articles) >= 5

    # Departments hang under their parents with their supervisors.
    for spec in preset.departments:
        dept = session.scalars(select(Department).where(Department.code == spec.code)).one()
        parent = session.get(Department, dept.parent_id) if dept.parent_id else None
        assert (parent.code if parent else "") == spec.parent and dept.path.endswith(f"/{dept.id}/")
        supervisor = session.get(User, dept.supervisor_id) if dept.supervisor_id else None
        assert (supervisor.username if supervisor else "") == spec.supervisor

    # Flows are published and bound to their ticket types, with the SLA policy's limits.
    slas = {s.code: s for s in preset.sla}
    for spec in preset.types:
        ticket_type = session.scalars(select(TicketType).where(TicketType.code == spec.code)).one()
        template = session.scalars(select(FlowTemplate).where(FlowTemplate.code == spec.flow)).one()
        version = flows.published_version(session, template.id)
        assert ticket_type.flow_template_id == template.id and version is not None
        assert ticket_type.limit == (slas[spec.sla].ticket_limit if spec.sla else None)
        flow = next(f for f in preset.flows if f.code == spec.flow)
        for node in flow.nodes:
            wanted = node.limit or slas[flow.sla].nodes.get(node.id) if flow.sla else node.limit
            assert (version.nodes[node.id].get("limit") or "") == (wanted or "")
        if spec.form:
            form = session.get(FormTemplate, ticket_type.form_template_id)
            declared = next(f for f in preset.forms if f.code == spec.form)
            assert [e["code"] for e in form.elements] == [e["code"] for e in declared.elements]

    # Knowledge is published and found by a Chinese keyword of its file.
    agent = build_actor(session, session.scalars(select(User).where(User.username == "agent01")).one())
    for spec in preset.knowledge.articles:
        article = session.scalars(select(Article).where(Article.title == spec.title)).one()
        assert article.status is ArticleStatus.PUBLISHED and article.hot is spec.hot
    term, title = KEYWORD[name]
    page = knowledge_search.run(session, agent, knowledge_search.Query(text=term))
    assert title in [r.article.title for r in page.results], term

    # Customers have their subscribers and are found by pinyin and initials.
    full, initials, person = PINYIN[name]
    for query in (full, initials):
        assert person in [c.name for c in customer_search.search(session, agent, query, limit=50)], query
    customer = session.scalars(select(Customer).where(Customer.name == person)).one()
    assert session.scalar(
        select(func.count()).select_from(Subscriber).where(Subscriber.customer_id == customer.id)
    )

    # The sample tickets were registered and walked as far as the file says.
    ticket_type = session.scalars(select(TicketType).where(TicketType.code == preset.typical.type)).one()
    samples = list(
        session.scalars(select(Ticket).where(Ticket.type_id == ticket_type.id).order_by(Ticket.id))
    )
    assert len(samples) == len(preset.samples)
    for ticket, sample in zip(samples, preset.samples, strict=True):
        walked = session.scalar(
            select(func.count())
            .select_from(TicketLog)
            .where(TicketLog.ticket_id == ticket.id, TicketLog.action.in_(STEP_ACTIONS))
        )
        assert walked == sample.steps

    # Loading again changes nothing.
    before = _audit_rows(session)
    again = loader.load(session, name, password=demo.DEMO_PASSWORD)
    assert not again.changed and _audit_rows(session) == before


@pytest.mark.parametrize("name", NAMES)
def test_typical_ticket_walks_to_closed(org, name):
    session = org
    loader.load(session, name, password=demo.DEMO_PASSWORD)
    preset = files.read(name)
    ticket = typical.run(session, name)
    assert ticket.status is TicketStatus.CLOSED
    assert ticket.serial.startswith(next(t.prefix for t in preset.types if t.code == preset.typical.type))
    people = {
        row.user_id
        for row in session.scalars(select(TicketLog).where(TicketLog.ticket_id == ticket.id))
        if row.user_id is not None
    }
    wanted = {s.user for s in preset.typical.steps} | {preset.typical.registrar}
    users = session.scalars(select(User).where(User.username.in_(wanted)))
    assert {u.id for u in users} <= people


def test_cable_tv_fault_is_routed_by_the_area_rule_and_linked_to_its_notice(org):
    session = org
    loader.load(session, "cabletv", password=demo.DEMO_PASSWORD)
    ticket = typical.run(session, "cabletv", steps=0)
    assert ticket.area == "ctv_luohu"
    east = session.scalars(select(User).where(User.username == "ctv_tech01")).one()
    assert ticket.department_id == east.department_id and ticket.handler_id == east.id
    assert (
        session.scalar(
            select(func.count())
            .select_from(FaultNoticeTicket)
            .where(FaultNoticeTicket.ticket_id == ticket.id)
        )
        == 1
    )


def test_cable_tv_takes_business_acceptance_orders_at_its_business_desk(org):
    from kefu.tickets import acceptance_flows

    session = org
    result = loader.load(session, "cabletv", password=demo.DEMO_PASSWORD)
    assert result.created.get("acceptance") == 1
    desk = session.scalars(select(Department).where(Department.code == "CTV-BIZ")).one()
    codes = [code for code, _ in acceptance_flows.TYPE_CODES.values()]
    types = list(session.scalars(select(TicketType).where(TicketType.code.in_(codes))))
    assert len(types) == 2 and {t.default_department_id for t in types} == {desk.id}
    again = loader.load(session, "cabletv", password=demo.DEMO_PASSWORD)
    assert not again.changed


def test_every_preset_loads_with_the_generic_demo_into_one_database(session):
    accounts = demo.seed(session, presets=files.names())
    usernames = [a[0] for a in accounts]
    assert len(usernames) == len(set(usernames))
    assert {"sat_eng01", "ctv_tech01", "wt_qc01", "mob_l2_01", "sec_comp01"} <= set(usernames)
    assert session.scalar(select(func.count()).select_from(TicketType).where(TicketType.code == "TS")) == 1
    before = _audit_rows(session)
    demo.seed(session, presets=files.names())
    assert _audit_rows(session) == before


# --- broken files -----------------------------------------------------------------------------------


def _water(**replacements: str) -> str:
    text = (files.DATA / "water.toml").read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(files.PresetError) as caught:
        files.parse(text, file="water.toml", stem="water")
    assert str(caught.value).startswith("water.toml: ")
    return caught.value.problems


def test_a_typo_in_a_key_names_the_key():
    problems = _problems(_water(**{'ticket_limit = "P2D"': 'ticket_limt = "P2D"'}))
    assert ("sla[0].ticket_limt", "unknown key (a typo?)") in problems


def test_an_unknown_reference_names_the_key_and_the_code():
    problems = _problems(_water(**{'assign = ["department:WT-QC"]': 'assign = ["department:WT-QQ"]'}))
    assert ("flows[0].nodes[1].assign[0]", "unknown department 'WT-QQ'") in problems


def test_bad_syntax_and_a_wrong_name_are_refused():
    assert _problems(_water(**{"[[sla]]": "[[sla]"}))[0][0] == "(syntax)"
    assert ("preset.name", "must be the file's name 'water'") in _problems(
        _water(**{'name = "water"': 'name = "wasser"'})
    )


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            'type = "integer", min_value = 1, max_value = 5000',
            'type = "numeral"',
            "forms[0].elements[4].type",
        ),
        ('ticket_limit = "P2D"', 'ticket_limit = "two days"', "types[0].limit"),
        (
            'next = "review" }]\n\n  [[flows.nodes]]\n  id = "repair"',
            'next = "reveiw" }]\n\n  [[flows.nodes]]\n  id = "repair"',
            "flows[0].nodes[1].states[0].next",
        ),
    ],
)
def test_a_value_the_services_refuse_names_the_key_and_writes_nothing(org, old, new, key):
    session = org
    preset = files.parse(_water(**{old: new}), file="water.toml", stem="water")
    before = _audit_rows(session)
    with pytest.raises(files.PresetError) as caught, session.begin_nested():
        loader.Loader(session, preset, file="water.toml", password=demo.DEMO_PASSWORD).run()
    assert caught.value.problems[0][0] == key  # the first problem found; a flow may have more
    assert _audit_rows(session) == before


def test_cli_checks_a_file_and_lists_the_presets(tmp_path: Path):
    from kefu.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["preset", "list"])
    assert listed.exit_code == 0 and all(name in listed.output for name in NAMES)
    broken = tmp_path / "water.toml"
    broken.write_text(_water(**{'code = "WT-QC"': 'code = "WT-QC"\ncolour = "blue"'}), encoding="utf-8")
    checked = runner.invoke(app, ["preset", "check", str(broken)])
    assert checked.exit_code == 1
    assert "water.toml: departments[2].colour: unknown key (a typo?)" in checked.output
    assert runner.invoke(app, ["preset", "check", "water"]).exit_code == 0
