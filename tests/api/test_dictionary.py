"""The data dictionary (ORG-7): API, pages, system types, audit, the read cache and the default seed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, update

from kefu.audit.models import AuditLog
from kefu.core import events
from kefu.org.config import dictionary
from kefu.org.config.dictionary import seed_defaults
from kefu.org.config.dictionary_seed import DEFAULTS
from kefu.org.config.models import DictItem, DictType
from tests.support import browser_login

API = "/api/v1/dictionary"
ALL = ["admin.dictionary.view", "admin.dictionary.create", "admin.dictionary.edit", "admin.dictionary.delete"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test's rows are rolled back: never let a cached view outlive them."""
    dictionary.invalidate()
    yield
    dictionary.invalidate()


@pytest.fixture
def admin(factory):
    return factory.token_login(factory.user(ALL))


@pytest.fixture
def seeded(session):
    seed_defaults(session)
    session.commit()  # releases the test's savepoint: the rows are visible as committed, then rolled back


@contextmanager
def selects(engine) -> Iterator[list[str]]:
    """The SELECT statements run on `engine` inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def audit_actions(session, *, target_type: str | None = None) -> list[str]:
    stmt = select(AuditLog.action).where(AuditLog.function == "admin.dictionary").order_by(AuditLog.id)
    if target_type is not None:
        stmt = stmt.where(AuditLog.target_type == target_type)
    return list(session.scalars(stmt))


def error_field(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"][-1]


def test_type_and_item_crud(client, admin, session):
    h = admin.headers
    r = client.post(API, json={"code": "business_type", "name": "业务类型", "description": "测试"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["is_system"] is False and r.json()["items"] == []
    assert "business_type" in [t["code"] for t in client.get(API, headers=h).json()]

    ids = []
    for code, label in [("broadband", "宽带"), ("tv", "电视"), ("mobile", "手机")]:
        r = client.post(f"{API}/business_type/items", json={"code": code, "label": label}, headers=h)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    detail = client.get(f"{API}/business_type", headers=h).json()
    assert [i["code"] for i in detail["items"]] == ["broadband", "tv", "mobile"]
    assert [i["sort"] for i in detail["items"]] == [0, 1, 2]

    r = client.patch(
        f"{API}/business_type/items/{ids[1]}", json={"label": "有线电视", "label_en": "Cable TV"}, headers=h
    )
    assert r.status_code == 200 and r.json()["label"] == "有线电视" and r.json()["label_en"] == "Cable TV"

    r = client.put(f"{API}/business_type/items/order", json={"item_ids": [ids[2], ids[0], ids[1]]}, headers=h)
    assert r.status_code == 200, r.text
    assert [i["code"] for i in r.json()] == ["mobile", "broadband", "tv"]

    r = client.patch(f"{API}/business_type", json={"code": "service_type", "name": "服务类型"}, headers=h)
    assert r.status_code == 200 and r.json()["code"] == "service_type"
    assert client.get(f"{API}/business_type", headers=h).status_code == 404

    assert client.delete(f"{API}/service_type/items/{ids[0]}", headers=h).status_code == 204
    assert [i["code"] for i in client.get(f"{API}/service_type/items", headers=h).json()] == ["mobile", "tv"]
    assert client.delete(f"{API}/service_type", headers=h).status_code == 204
    assert client.get(f"{API}/service_type", headers=h).status_code == 404
    assert session.scalar(select(func.count()).select_from(DictItem).where(DictItem.id.in_(ids))) == 0

    assert audit_actions(session) == [
        "dictionary.type.create",
        *["dictionary.item.create"] * 3,
        "dictionary.item.update",
        "dictionary.item.reorder",
        "dictionary.type.update",
        "dictionary.item.delete",
        "dictionary.type.delete",
    ]
    rows = {
        a.action: a for a in session.scalars(select(AuditLog).where(AuditLog.function == "admin.dictionary"))
    }
    assert rows["dictionary.item.update"].before == {"label": "电视", "label_en": ""}
    assert rows["dictionary.item.update"].after == {"label": "有线电视", "label_en": "Cable TV"}
    assert rows["dictionary.type.update"].before == {"code": "business_type", "name": "业务类型"}
    assert rows["dictionary.item.reorder"].after == {"order": ["mobile", "broadband", "tv"]}
    assert rows["dictionary.type.delete"].before["items"] == ["mobile", "tv"]
    assert rows["dictionary.type.create"].actor_id == admin.user.id


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {"code": "channel", "name": "重复"}, "code"),
        ("", {"code": "Bad-Code", "name": "x"}, "code"),
        ("", {"code": "1abc", "name": "x"}, "code"),
        ("", {"code": "x" * 61, "name": "x"}, "code"),
        ("", {"code": "fine", "name": "   "}, "name"),
        ("", {"code": "fine"}, "name"),
        ("/channel/items", {"code": "phone", "label": "又一个电话"}, "code"),
        ("/channel/items", {"code": "bad code", "label": "x"}, "code"),
        ("/channel/items", {"code": "new", "label": "  "}, "label"),
        ("/channel/items", {"code": "new", "label": "x", "sort": 10**9}, "sort"),
        ("/channel/items", {"code": "new", "label": "x", "label_en": "e" * 101}, "label_en"),
        ("/channel/items/order", {"item_ids": [1, 2]}, "item_ids"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(client, admin, session, seeded, path, body, field):
    counts = (
        session.scalar(select(func.count()).select_from(DictType)),
        session.scalar(select(func.count()).select_from(DictItem)),
    )
    method = client.put if path.endswith("/order") else client.post
    assert error_field(method(API + path, json=body, headers=admin.headers)) == field
    assert audit_actions(session) == ["dictionary.seed"]
    assert counts == (
        session.scalar(select(func.count()).select_from(DictType)),
        session.scalar(select(func.count()).select_from(DictItem)),
    )


def test_item_updates_are_checked_too(client, admin, session, seeded):
    items = client.get(f"{API}/channel/items", headers=admin.headers).json()
    url = f"{API}/channel/items/{items[0]['id']}"
    assert error_field(client.patch(url, json={"code": items[1]["code"]}, headers=admin.headers)) == "code"
    assert error_field(client.patch(url, json={"label": ""}, headers=admin.headers)) == "label"
    assert client.patch(url, json={"code": items[0]["code"]}, headers=admin.headers).status_code == 200
    other = client.post(API, json={"code": "other", "name": "其他"}, headers=admin.headers).json()
    assert (
        client.patch(
            f"{API}/other/items/{items[0]['id']}", json={"label": "x"}, headers=admin.headers
        ).status_code
        == 404
    )
    assert other["code"] == "other"


def test_permissions(client, factory, seeded):
    viewer = factory.token_login(factory.user(["admin.dictionary.view"]))
    nobody = factory.token_login(factory.user(["admin.parameters.view"]))
    h = viewer.headers
    assert client.get(API, headers=h).status_code == 200
    assert client.get(f"{API}/channel", headers=h).status_code == 200
    item_id = client.get(f"{API}/channel", headers=h).json()["items"][0]["id"]
    refused = [
        client.post(API, json={"code": "x", "name": "x"}, headers=h),
        client.patch(f"{API}/channel", json={"name": "x"}, headers=h),
        client.delete(f"{API}/urgency", headers=h),
        client.post(f"{API}/channel/items", json={"code": "x", "label": "x"}, headers=h),
        client.patch(f"{API}/channel/items/{item_id}", json={"enabled": False}, headers=h),
        client.put(f"{API}/channel/items/order", json={"item_ids": [item_id]}, headers=h),
        client.delete(f"{API}/channel/items/{item_id}", headers=h),
        client.get(API, headers=nobody.headers),
        client.get(f"{API}/channel", headers=nobody.headers),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    # Every signed-in user may read items for forms; nobody else.
    r = client.get(f"{API}/channel/items", headers=nobody.headers)
    assert r.status_code == 200 and len(r.json()) == 8
    assert client.get(f"{API}/channel/items").status_code == 401
    assert client.get(f"{API}/no_such/items", headers=nobody.headers).status_code == 404


def test_system_types_keep_their_code_and_cannot_be_deleted(client, admin, session, seeded):
    h = admin.headers
    r = client.delete(f"{API}/channel", headers=h)
    assert r.status_code == 409, r.text
    assert error_field(client.patch(f"{API}/channel", json={"code": "channels"}, headers=h)) == "code"
    r = client.patch(f"{API}/channel", json={"code": "channel", "name": "来源渠道"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "来源渠道" and r.json()["is_system"]
    assert (
        client.post(f"{API}/channel/items", json={"code": "app", "label": "手机应用"}, headers=h).status_code
        == 201
    )
    assert session.scalar(select(DictType).where(DictType.code == "channel")) is not None


def test_items_for_forms_follow_changes_at_once(client, admin, session, seeded):
    h = admin.headers
    channel = dictionary.items(session, "channel")
    assert [v.label for v in channel][:3] == ["电话", "信函", "来访"]
    assert dictionary.label(session, "channel", "wechat", "en") == "WeChat"
    assert dictionary.label(session, "channel", "wechat", "zh_CN") == "微信"
    assert dictionary.label(session, "channel", "gone", "zh_CN") == "gone"
    assert dictionary.label(session, "no_such", "x", "zh_CN") == "x"

    fax = next(v for v in channel if v.code == "fax")
    r = client.patch(f"{API}/channel/items/{fax.id}", json={"enabled": False, "label": "传真机"}, headers=h)
    assert r.status_code == 200
    assert "fax" not in [v.code for v in dictionary.items(session, "channel")]
    assert dictionary.label(session, "channel", "fax", "zh_CN") == "传真机"  # old records keep a label
    assert [v.code for v in dictionary.items(session, "channel", include_disabled=True)].count("fax") == 1
    api_items = client.get(f"{API}/channel/items", headers=h).json()
    assert "fax" not in [i["code"] for i in api_items]
    assert len(client.get(f"{API}/channel/items?include_disabled=true", headers=h).json()) == 8


def test_reads_are_cached_and_invalidated_by_events(session, seeded, engine):
    assert [v.code for v in dictionary.items(session, "urgency")] == ["normal", "urgent", "critical"]
    # Another process changes the table behind this process's back: the cache still answers...
    session.execute(update(DictItem).where(DictItem.code == "critical").values(label="特别紧急"))
    with selects(engine) as statements:
        assert dictionary.items(session, "urgency")[2].label == "特急"
    assert statements == []

    # ...until that process's `dictionary.changed` event arrives.
    async def deliver() -> None:
        follower = asyncio.create_task(dictionary.follow_changes())
        while events.hub.subscriber_count() == 0:
            await asyncio.sleep(0.01)
        events.publish(events.Event(type=dictionary.DICTIONARY_CHANGED, data={"type": "urgency"}))
        for _ in range(200):
            if dictionary.items(session, "urgency")[2].label == "特别紧急":
                break
            await asyncio.sleep(0.01)
        follower.cancel()

    asyncio.run(deliver())
    assert dictionary.items(session, "urgency")[2].label == "特别紧急"


def test_a_transaction_older_than_a_change_does_not_fill_the_cache(session, seeded, engine):
    dictionary.items(session, "channel")  # the session's transaction begins here
    dictionary.invalidate("urgency")  # a change committed elsewhere meanwhile
    with selects(engine) as statements:
        dictionary.items(session, "urgency")
        dictionary.items(session, "urgency")
    assert len(statements) == 2  # this snapshot may predate the change: read, but not cached
    session.commit()
    with selects(engine) as statements:
        dictionary.items(session, "urgency")
        dictionary.items(session, "urgency")
    assert len(statements) == 1


def test_type_list_query_count_does_not_grow(client, admin, engine, seeded):
    with selects(engine) as before:
        assert client.get(API, headers=admin.headers).status_code == 200
    client.post(API, json={"code": "extra", "name": "额外"}, headers=admin.headers)
    with selects(engine) as after:
        assert len(client.get(API, headers=admin.headers).json()) == len(DEFAULTS) + 1
    assert len(after) == len(before)


def test_uncommitted_changes_are_seen_by_their_session_only(session, seeded, factory):
    actor = factory.actor(factory.user(ALL))
    urgency = dictionary.get_type(session, "urgency")
    dictionary.add_item(session, actor=actor, dict_type=urgency, code="low", label="不急")
    assert [v.code for v in dictionary.items(session, "urgency")][-1] == "low"
    session.rollback()
    assert [v.code for v in dictionary.items(session, "urgency")] == ["normal", "urgent", "critical"]


def test_seed_is_idempotent(session):
    created = seed_defaults(session)
    assert created == [t.code for t in DEFAULTS]
    assert set(created) >= {
        "channel",
        "urgency",
        "case_nature",
        "satisfaction",
        "close_reason",
        "customer_tier",
        "not_reached_reason",
    }
    types = session.scalars(select(DictType).where(DictType.code.in_(created))).all()
    assert all(t.is_system for t in types)
    item_count = session.scalar(select(func.count()).select_from(DictItem))
    audit_count = session.scalar(select(func.count()).select_from(AuditLog))
    assert seed_defaults(session) == []
    assert session.scalar(select(func.count()).select_from(DictItem)) == item_count
    assert session.scalar(select(func.count()).select_from(AuditLog)) == audit_count
    channel = dictionary.items(session, "channel")
    assert [(v.label, v.label_en) for v in channel][:2] == [("电话", "Phone"), ("信函", "Letter")]
    assert len(channel) == 8
    assert [v.label for v in dictionary.items(session, "satisfaction")] == [
        "非常满意",
        "满意",
        "一般",
        "不满意",
        "非常不满意",
    ]


# --- pages -------------------------------------------------------------------------------------------


@pytest.fixture
def page_admin(client, factory, seeded):
    user = factory.user(ALL)
    return browser_login(client, user.username)


def test_dictionary_page_renders_in_chinese(client, page_admin):
    r = client.get("/admin/dictionary")
    assert r.status_code == 200, r.text[:1000]
    assert '<html lang="zh-CN">' in r.text and "数据字典" in r.text
    r = client.get("/admin/dictionary/urgency")
    assert r.status_code == 200
    assert "特急" in r.text and 'id="dict-panel"' in r.text and "英文名称" in r.text and "停用" in r.text


def test_bad_page_post_reshows_the_form_with_the_message(client, page_admin, session):
    csrf = page_admin
    r = client.post(
        "/admin/dictionary/urgency/items", data={"csrf_token": csrf, "item_code": "low", "label": ""}
    )
    assert r.status_code == 422
    assert 'data-error-for="label"' in r.text and "此项必填" in r.text
    assert 'value="low"' in r.text and "<html" in r.text
    htmx = client.post(
        "/admin/dictionary/urgency/items",
        data={"item_code": "Low Level", "label": "不急"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert htmx.status_code == 422
    assert htmx.text.lstrip().startswith('<div id="dict-panel"') or 'id="dict-panel"' in htmx.text[:300]
    assert 'data-error-for="item_code"' in htmx.text and "<html" not in htmx.text
    r = client.post("/admin/dictionary", data={"csrf_token": csrf, "code": "Bad", "name": "坏"})
    assert r.status_code == 422 and 'data-error-for="code"' in r.text
    assert (
        session.scalar(
            select(func.count()).select_from(DictItem).where(DictItem.code.in_(["low", "Low Level"]))
        )
        == 0
    )
    assert session.scalar(select(DictType).where(DictType.code == "Bad")) is None


def test_item_editing_through_the_page(client, page_admin, session):
    csrf = page_admin
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    r = client.post("/admin/dictionary/urgency/items", data={"item_code": "low", "label": "不急"}, headers=hx)
    assert r.status_code == 200 and 'data-item="low"' in r.text
    assert 'id="dict-count-urgency" hx-swap-oob="true">4<' in r.text  # the count on the left follows
    ids = {v.code: v.id for v in dictionary.items(session, "urgency")}
    r = client.post(
        f"/admin/dictionary/urgency/items/{ids['low']}/move", data={"direction": "up"}, headers=hx
    )
    assert r.status_code == 200
    assert [v.code for v in dictionary.items(session, "urgency")] == ["normal", "urgent", "low", "critical"]
    r = client.post(
        f"/admin/dictionary/urgency/items/{ids['low']}/enabled", data={"enabled": "false"}, headers=hx
    )
    assert r.status_code == 200
    assert "low" not in [v.code for v in dictionary.items(session, "urgency")]
    r = client.get(f"/admin/dictionary/urgency?edit={ids['urgent']}", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="edit-item-form"' in r.text
    r = client.post(
        f"/admin/dictionary/urgency/items/{ids['urgent']}",
        data={"item_code": "urgent", "label": "", "label_en": "Urgent", "sort": "1"},
        headers=hx,
    )
    assert r.status_code == 422 and 'id="edit-item-form"' in r.text and "此项必填" in r.text
    r = client.post(
        f"/admin/dictionary/urgency/items/{ids['urgent']}",
        data={"item_code": "urgent", "label": "加急", "label_en": "Urgent", "sort": "1"},
        headers=hx,
    )
    assert r.status_code == 200 and "加急" in r.text
    r = client.post(f"/admin/dictionary/urgency/items/{ids['low']}/delete", headers=hx)
    assert r.status_code == 200 and 'data-item="low"' not in r.text
    r = client.post("/admin/dictionary/urgency/delete", data={"csrf_token": csrf})
    assert r.status_code == 409
    assert audit_actions(session, target_type="dict_item")[-4:] == [
        "dictionary.item.create",
        "dictionary.item.update",
        "dictionary.item.update",
        "dictionary.item.delete",
    ]


def test_dictionary_pages_need_permission(client, factory, seeded):
    user = factory.user(["admin.dictionary.view"])
    csrf = browser_login(client, user.username)
    assert client.get("/admin/dictionary").status_code == 200
    r = client.post(
        "/admin/dictionary/urgency/items", data={"csrf_token": csrf, "item_code": "x", "label": "x"}
    )
    assert r.status_code == 403
    other = factory.user(["admin.parameters.view"])
    client.cookies.clear()
    browser_login(client, other.username)
    assert client.get("/admin/dictionary").status_code == 403
