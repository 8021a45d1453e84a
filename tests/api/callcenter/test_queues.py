"""Administration of queues, skills and agents' skill levels (CC-2): CRUD over the API and the pages,
validation naming the field (overflow cycles by acd's check), permissions, audit, and deletion
refused for a queue that calls refer to."""

from __future__ import annotations

from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.callcenter.models import AgentSkill, Call, CallQueue, QueueMember, QueueSkill, Skill
from kefu.core import clock
from kefu.org.config.dictionary import seed_defaults
from tests.support import browser_login

API = "/api/v1/callcenter"
VIEW = ["callcenter.config.view"]
EDIT = ["callcenter.config.view", "callcenter.config.edit"]


def logins(factory, session):
    seed_defaults(session)
    return (
        factory.token_login(factory.user(EDIT)),
        factory.token_login(factory.user(VIEW)),
        factory.token_login(factory.user(["callcenter.agent.use"])),
    )


def fields(r) -> set[str]:
    return {d["loc"][-1] for d in r.json()["detail"]}


def queue_body(**changes):
    return {"code": "hotline", "name": "服务热线", "strategy": "longest_idle", **changes}


def test_skills_crud_with_permissions_and_audit(client, factory, session):
    editor, viewer, agent = logins(factory, session)
    r = client.post(f"{API}/skills", json={"code": "billing", "name": "账务"}, headers=editor.headers)
    assert r.status_code == 201, r.text
    skill_id = r.json()["id"]
    assert (
        client.post(f"{API}/skills", json={"code": "x", "name": "x"}, headers=viewer.headers).status_code
        == 403
    )
    assert client.get(f"{API}/skills", headers=agent.headers).status_code == 403
    assert [s["code"] for s in client.get(f"{API}/skills", headers=viewer.headers).json()] == ["billing"]
    dup = client.post(f"{API}/skills", json={"code": "billing", "name": "again"}, headers=editor.headers)
    assert dup.status_code == 422 and fields(dup) == {"code"}
    bad = client.post(f"{API}/skills", json={"code": "1x", "name": ""}, headers=editor.headers)
    assert bad.status_code == 422 and fields(bad) == {"code", "name"}
    r = client.put(
        f"{API}/skills/{skill_id}",
        json={"code": "billing", "name": "账务查询", "enabled": False},
        headers=editor.headers,
    )
    assert r.status_code == 200 and r.json()["name"] == "账务查询" and r.json()["enabled"] is False
    actions = session.scalars(select(AuditLog.action).where(AuditLog.action.like("callcenter.skill.%"))).all()
    assert actions == ["callcenter.skill.create", "callcenter.skill.update"]
    assert client.delete(f"{API}/skills/{skill_id}", headers=editor.headers).status_code == 204
    assert session.get(Skill, skill_id) is None


def test_agent_skill_levels(client, factory, session):
    editor, viewer, _agent = logins(factory, session)
    user = factory.user(["callcenter.agent.use"])
    skill = client.post(
        f"{API}/skills", json={"code": "cable", "name": "有线电视"}, headers=editor.headers
    ).json()
    url = f"{API}/agent-skills/{user.id}"
    r = client.put(url, json={"levels": {skill["id"]: 7}}, headers=editor.headers)
    assert r.status_code == 200 and r.json()["levels"] == {str(skill["id"]): 7}
    assert client.get(url, headers=viewer.headers).json()["levels"] == {str(skill["id"]): 7}
    assert client.put(url, json={"levels": {}}, headers=viewer.headers).status_code == 403
    bad = client.put(url, json={"levels": {skill["id"]: 11, 999999: 3}}, headers=editor.headers)
    assert bad.status_code == 422 and fields(bad) == {f"levels.{skill['id']}", "levels.999999"}
    assert session.get(AgentSkill, (user.id, skill["id"])).level == 7  # nothing half-written
    assert client.put(url, json={"levels": {}}, headers=editor.headers).json()["levels"] == {}
    assert session.get(AgentSkill, (user.id, skill["id"])) is None
    audited = session.scalars(
        select(AuditLog).where(AuditLog.action == "callcenter.agent_skills.update")
    ).all()
    assert [a.target_id for a in audited] == [str(user.id), str(user.id)]


def test_queue_crud_members_skills_tiers(client, factory, session):
    editor, viewer, _agent = logins(factory, session)
    dept = factory.department("一线")
    member = factory.user(["callcenter.agent.use"])
    vip = client.post(f"{API}/skills", json={"code": "vip", "name": "VIP"}, headers=editor.headers).json()
    body = queue_body(
        department_id=dept.id,
        routing="kefu",
        strategy="skill_weighted",
        max_wait_seconds=300,
        tier_priority={"vip": 10, "gold": 5},
        member_ids=[member.id],
        skills=[{"skill_id": vip["id"], "min_level": 6}],
    )
    r = client.post(f"{API}/queues", json=body, headers=editor.headers)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["routing"] == "kefu" and made["tier_priority"] == {"vip": 10, "gold": 5}
    assert made["member_ids"] == [member.id] and made["skills"] == [{"skill_id": vip["id"], "min_level": 6}]
    assert client.post(f"{API}/queues", json=queue_body(code="q2"), headers=viewer.headers).status_code == 403
    listed = client.get(f"{API}/queues", headers=viewer.headers).json()
    assert [q["code"] for q in listed] == ["hotline"]
    changed = client.put(
        f"{API}/queues/{made['id']}",
        json=queue_body(routing="pbx", member_ids=[], skills=[], enabled=False),
        headers=editor.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (
        changed.json()["member_ids"] == []
        and changed.json()["skills"] == []
        and not changed.json()["enabled"]
    )
    assert session.scalars(select(QueueMember).where(QueueMember.queue_id == made["id"])).all() == []
    assert session.scalars(select(QueueSkill).where(QueueSkill.queue_id == made["id"])).all() == []
    update = session.scalars(select(AuditLog).where(AuditLog.action == "callcenter.queue.update")).one()
    assert update.before["routing"] == "kefu" and update.after["routing"] == "pbx"
    # A skill a queue requires cannot be deleted.
    client.put(
        f"{API}/queues/{made['id']}",
        json=queue_body(skills=[{"skill_id": vip["id"]}]),
        headers=editor.headers,
    )
    refused = client.delete(f"{API}/skills/{vip['id']}", headers=editor.headers)
    assert refused.status_code == 409


def test_queue_validation_names_the_field(client, factory, session):
    editor, _viewer, _agent = logins(factory, session)
    cases = [
        (queue_body(code=""), {"code"}),
        (queue_body(strategy="random"), {"strategy"}),
        (queue_body(routing="both"), {"routing"}),
        (queue_body(department_id=999999), {"department_id"}),
        (queue_body(wrap_up_seconds=-1), {"wrap_up_seconds"}),
        (queue_body(service_level_target=1.5), {"service_level_target"}),
        (queue_body(overflow_after_seconds=30), {"overflow_queue_id"}),
        (queue_body(overflow_queue_id=999999, overflow_after_seconds=30), {"overflow_queue_id"}),
        (queue_body(tier_priority={"platinum": 3}), {"tier_priority.platinum"}),
        (queue_body(member_ids=[999999]), {"member_ids"}),
        (queue_body(skills=[{"skill_id": 999999}]), {"skills.0"}),
    ]
    for body, expected in cases:
        r = client.post(f"{API}/queues", json=body, headers=editor.headers)
        assert r.status_code == 422 and fields(r) == expected, (body, r.text)
    assert session.scalars(select(CallQueue)).all() == []


def test_overflow_cycles_are_refused_by_acds_check(client, factory, session):
    editor, _viewer, _agent = logins(factory, session)

    def make(code, **changes):
        r = client.post(
            f"{API}/queues", json=queue_body(code=code, routing="kefu", **changes), headers=editor.headers
        )
        assert r.status_code == 201, r.text
        return r.json()

    a = make("a")
    b = make("b", overflow_after_seconds=30, overflow_queue_id=a["id"])
    c = make("c", overflow_after_seconds=30, overflow_queue_id=b["id"])
    r = client.put(
        f"{API}/queues/{a['id']}",
        json=queue_body(code="a", routing="kefu", overflow_after_seconds=10, overflow_queue_id=c["id"]),
        headers=editor.headers,
    )
    assert r.status_code == 422 and fields(r) == {"overflow_queue_id"}
    assert r.json()["detail"][0]["msg"].endswith(("a -> c -> b -> a", "b -> a -> c -> b", "c -> b -> a -> c"))
    itself = client.put(
        f"{API}/queues/{a['id']}",
        json=queue_body(code="a", routing="kefu", overflow_after_seconds=10, overflow_queue_id=a["id"]),
        headers=editor.headers,
    )
    assert itself.status_code == 422 and fields(itself) == {"overflow_queue_id"}
    # A kefu-routed queue overflows only into a kefu-routed one, and its target stays so.
    pbx = client.post(f"{API}/queues", json=queue_body(code="p"), headers=editor.headers).json()
    r = client.put(
        f"{API}/queues/{a['id']}",
        json=queue_body(code="a", routing="kefu", overflow_after_seconds=10, overflow_queue_id=pbx["id"]),
        headers=editor.headers,
    )
    assert r.status_code == 422 and fields(r) == {"overflow_queue_id"}
    r = client.put(
        f"{API}/queues/{a['id']}", json=queue_body(code="a", routing="pbx"), headers=editor.headers
    )
    assert r.status_code == 422 and fields(r) == {"routing"}


def test_a_queue_calls_refer_to_is_kept_disable_it_instead(client, factory, session):
    editor, _viewer, _agent = logins(factory, session)
    used = client.post(f"{API}/queues", json=queue_body(), headers=editor.headers).json()
    spare = client.post(f"{API}/queues", json=queue_body(code="spare"), headers=editor.headers).json()
    now = clock.now()
    session.add(Call(call_id="q-1", queue_id=used["id"], started_at=now, last_event_at=now))
    session.flush()
    r = client.delete(f"{API}/queues/{used['id']}", headers=editor.headers)
    assert r.status_code == 409
    assert client.delete(f"{API}/queues/{spare['id']}", headers=editor.headers).status_code == 204
    assert session.get(CallQueue, spare["id"]) is None and session.get(CallQueue, used["id"]) is not None
    deleted = session.scalars(select(AuditLog).where(AuditLog.action == "callcenter.queue.delete")).one()
    assert deleted.target_id == str(spare["id"])


def test_pages_list_edit_and_show_errors_beside_the_field(client, factory, session):
    seed_defaults(session)
    admin = factory.user(EDIT, username="ccadmin")
    reader = factory.user(VIEW, username="ccreader")
    skill = Skill(code="broadband", name="宽带")
    session.add(skill)
    session.flush()
    token = browser_login(client, admin.username)
    page = client.get("/callcenter/queues/new")
    assert (
        page.status_code == 200 and 'name="tier_vip"' in page.text and f'name="skill_{skill.id}"' in page.text
    )
    form = {
        "csrf_token": token,
        "code": "hotline",
        "name": "热线",
        "strategy": "round_robin",
        "routing": "kefu",
        "wrap_up_seconds": "30",
        "service_level_seconds": "20",
        "service_level_target": "0.8",
        "tier_vip": "10",
        f"skill_{skill.id}": "4",
        "member_ids": [str(admin.id)],
        "enabled": "1",
    }
    r = client.post("/callcenter/queues/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    queue = session.scalars(select(CallQueue)).one()
    assert queue.tier_priority == {"vip": 10} and queue.strategy == "round_robin"
    assert session.get(QueueSkill, (queue.id, skill.id)).min_level == 4
    shown = client.get(f"/callcenter/queues/{queue.id}")
    assert shown.status_code == 200 and 'id="queue-snapshot"' in shown.text
    bad = client.post(
        f"/callcenter/queues/{queue.id}", data={**form, f"skill_{skill.id}": "12", "tier_vip": "x"}
    )
    assert bad.status_code == 422
    assert f'data-error-for="skill_{skill.id}"' in bad.text and 'data-error-for="tier_vip"' in bad.text
    assert session.get(QueueSkill, (queue.id, skill.id)).min_level == 4
    assert client.get("/callcenter/skills").status_code == 200
    levels = client.get(f"/callcenter/skills/agents?user_id={admin.id}")
    assert levels.status_code == 200 and f'name="level_{skill.id}"' in levels.text
    saved = client.post(
        f"/callcenter/skills/agents/{admin.id}",
        data={"csrf_token": token, f"level_{skill.id}": "8"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert session.get(AgentSkill, (admin.id, skill.id)).level == 8
    menu = client.get("/callcenter/queues").text
    assert 'data-nav="/callcenter/queues"' in menu and 'data-nav="/callcenter/skills"' in menu
    client.cookies.clear()
    browser_login(client, reader.username)
    assert client.get(f"/callcenter/queues/{queue.id}").status_code == 200
    assert client.post("/callcenter/queues/new", data=form).status_code == 403
