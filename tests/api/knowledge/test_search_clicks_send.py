"""Search (KB-5): only published, unexpired knowledge in the reader's scope, with fielded filters and
the seed's result columns; click counting without a write per view (KB-6); sending (KB-7)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kefu.knowledge import clicks, jobs
from kefu.knowledge.models import Article
from kefu.messaging import dnd
from kefu.messaging.models import Channel, DndMode, Gateway, Implementation, Message


def test_search_returns_only_published_knowledge_in_scope(kb):
    public = kb.published(seed_title="机顶盒黑屏的处理方法")
    internal = kb.create(
        category_id=kb.broadband.id,
        title="宽带内部排障口径",
        summary="光猫亮红灯时的内部口径",
        body_html="<p>光猫红灯：内部排障口径。</p>",
        keywords="光猫 红灯",
        business_category_id=None,
        business_attrs=[],
        audience="internal",
    )
    internal = kb.act(kb.act(internal, "submit", kb.author), "approve", kb.reviewer)
    kb.create(title="草稿不应被检索", body_html="<p>光猫 草稿</p>")  # a draft
    everything = kb.search()
    assert everything["total"] == 2
    row = next(i for i in everything["items"] if i["id"] == public["id"])
    # The result columns of the seed.
    assert row["version"] == 1 and row["summary"] and row["title"] == "机顶盒黑屏的处理方法"
    assert row["business_attrs"] == ["故障处理"] and row["business_type"] == "故障申告"
    assert row["directory"] == "有线电视 / 机顶盒故障" and row["keywords"] == "机顶盒 黑屏 无信号"
    assert row["hot"] is False and row["created_at"] and row["click_count"] == 0
    # The public scope (what customers may see) leaves internal knowledge out.
    assert [i["id"] for i in kb.search(scope="public")["items"]] == [public["id"]]
    # Fielded filters: a category includes its sub-categories; business type; keywords; dates.
    assert [i["id"] for i in kb.search(category_id=kb.cable.id)["items"]] == [public["id"]]
    assert [i["id"] for i in kb.search(business_category_id=kb.fault.id)["items"]] == [public["id"]]
    assert [i["id"] for i in kb.search(keywords="黑屏")["items"]] == [public["id"]]
    assert kb.search(created_from="2000-01-01", created_to="2000-01-02")["total"] == 0
    r = kb.client.get(
        "/api/v1/knowledge/search?created_from=2026-02-02&created_to=2026-01-01", headers=kb.agent.headers
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "created_to"
    # Keyword mode: every word in title, keywords or summary, highlighted.
    found = kb.search(q="黑屏", mode="keyword")
    assert [i["id"] for i in found["items"]] == [public["id"]] and "<mark>黑屏</mark>" in found["items"][0][
        "title_html"
    ]
    # Full text reaches the body.
    assert [i["id"] for i in kb.search(q="光猫")["items"]] == [internal["id"]]


def test_reading_counts_clicks_without_a_write_and_the_job_adds_them(kb, session):
    a = kb.published()
    buffer = clicks.LocalClicks()
    clicks.use(buffer)
    for _ in range(3):
        page = kb.call("GET", f"/published/{a['id']}", kb.agent)
    assert page["body_html"].startswith("<p>") and page["attribute_labels"] == ["故障处理"]
    session.expire_all()
    assert session.get(Article, a["id"]).click_count == 0
    assert buffer.take() == {a["id"]: 3}
    buffer.add(a["id"], 3)
    session.commit()
    assert jobs.flush_clicks() == 3
    assert jobs.flush_clicks() == 0
    session.expire_all()
    assert session.get(Article, a["id"]).click_count == 3
    # Click counting does not make anyone's open form stale.
    assert session.get(Article, a["id"]).lock_version == a["lock_version"]


def test_redis_click_buffer_takes_atomically():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    buffer = clicks.RedisClicks("redis://127.0.0.1:6379/15", key="kefu:test:clicks")
    assert buffer.take() == {}
    buffer.add(7)
    buffer.add(7)
    buffer.add(9, 5)
    assert buffer.take() == {7: 2, 9: 5}
    assert buffer.take() == {}
    buffer.give_back({7: 1})
    assert buffer.take() == {7: 1}


def test_sending_goes_through_the_outbox_with_the_do_not_disturb_check(kb, session):
    a = kb.published()
    article = session.get(Article, a["id"])
    send = f"/published/{a['id']}/send"
    # No gateway for the channel: refused clearly, nothing recorded.
    r = kb.call("POST", send, kb.agent, {"channel": "sms", "to": "13800138000"}, expect=422)
    assert r["detail"][0]["loc"] == ["body", "channel"]
    assert session.scalar(select(Message.id)) is None
    session.add(Gateway(channel=Channel.SMS, implementation=Implementation.LOG))
    session.flush()
    bad = kb.call("POST", send, kb.agent, {"channel": "sms", "to": "not a phone"}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "to"]
    r = kb.call("POST", send, kb.agent, {"channel": "sms", "to": "13800138000"}, expect=201)
    assert r["status"] == "queued" and r["note"] and r["source"] == "knowledge"
    # The job delivered it after the request committed (jobs run at once in tests).
    row = session.get(Message, r["id"])
    session.refresh(row)
    assert row.status.value == "sent" and row.gateway == "log" and "机顶盒黑屏" in row.body
    assert row.reference == f"{article.number} v1"
    # Do-not-disturb for the article's business type refuses; a warning must be confirmed.
    owner = kb.factory.actor(kb.agent.user)
    entry = dnd.add(
        session,
        owner,
        number="13800138000",
        business_category_id=article.business_category_id,
        reason="投诉过短信",
    )
    r = kb.call("POST", send, kb.agent, {"channel": "sms", "to": "13800138000"}, expect=422)
    assert r["detail"][0]["loc"] == ["body", "to"] and "投诉过短信" in r["detail"][0]["msg"]
    entry.mode = DndMode.WARN
    session.flush()
    r = kb.call("POST", send, kb.agent, {"channel": "sms", "to": "13800138000"}, expect=422)
    assert r["detail"][0]["loc"] == ["body", "confirm_dnd"]
    r = kb.call(
        "POST", send, kb.agent, {"channel": "sms", "to": "13800138000", "confirm_dnd": True}, expect=201
    )
    assert session.get(Message, r["id"]).dnd_note == "投诉过短信"


def test_internal_knowledge_is_not_sent_to_customers(kb):
    a = kb.create(category_id=kb.broadband.id, title="内部口径", audience="internal")
    a = kb.act(kb.act(a, "submit", kb.author), "approve", kb.reviewer)
    r = kb.call(
        "POST",
        f"/published/{a['id']}/send",
        kb.agent,
        {"channel": "email", "to": "kehu@example.com"},
        expect=422,
    )
    assert r["detail"][0]["loc"] == ["body", "article_id"]
