"""An article end to end over HTTP (KB-2 … KB-5): draft → review reject → edit → approve → automatic
publish → edit (a new version under review while v1 stays searchable) → approve → archive, with the
author's messages, the history and the audit trail; then the lifecycle's refusals."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.knowledge.models import Article, ArticleVersion
from kefu.notices.models import Notification


def _inbox(session, login) -> list[str]:
    rows = session.scalars(
        select(Notification).where(Notification.user_id == login.user.id).order_by(Notification.id)
    )
    return [n.title for n in rows]


def _hits(kb, text: str, **params) -> list[int]:
    return [item["id"] for item in kb.search(q=text, **params)["items"]]


def test_article_walks_its_lifecycle(kb, session):
    a = kb.create()
    assert a["status"] == "draft" and a["published_no"] is None and a["number"].startswith("KB")
    assert a["open_version"]["number"] == 1 and a["open_version"]["status"] == "draft"
    assert a["open_version"]["business_attrs"] == ["troubleshooting"]
    assert set(a["actions"]) >= {"edit", "submit", "discard"}
    # Nothing is searchable before it is published.
    assert _hits(kb, "黑屏") == []

    a = kb.act(a, "submit", kb.author, {"comment": "请审核"})
    assert a["open_version"]["status"] == "pending" and "approve" not in a["actions"]
    assert [q["article_id"] for q in kb.call("GET", "/review-queue", kb.reviewer)] == [a["id"]]
    # A rejection needs its reason.
    refused = kb.act(a, "reject", kb.reviewer, {"comment": ""}, expect=422)
    assert refused["detail"][0]["loc"] == ["body", "comment"]
    a = kb.act(a, "reject", kb.reviewer, {"comment": "请补充智能卡的处理步骤"})
    assert (
        a["open_version"]["status"] == "rejected"
        and a["open_version"]["review_comment"] == "请补充智能卡的处理步骤"
    )
    assert any("returned" in t or "退回" in t for t in _inbox(session, kb.author))

    # The author edits the returned version (it becomes a draft again) and resubmits.
    a = kb.save(
        a, kb.author, body_html="<p>机顶盒黑屏：检查信号线，重新插拔智能卡。</p><script>alert(1)</script>"
    )
    assert a["open_version"]["status"] == "draft" and "<script" not in a["open_version"]["body_html"]
    a = kb.act(a, "submit", kb.author)
    a = kb.act(a, "approve", kb.reviewer, {"comment": "同意"})
    # Automatic publishing on approval: v1 is live and searchable.
    assert a["status"] == "published" and a["published_no"] == 1 and a["open_version"] is None
    assert a["live_version"]["status"] == "published"
    assert _hits(kb, "智能卡") == [a["id"]]
    assert any("published" in t or "发布" in t for t in _inbox(session, kb.author))

    # Maintenance: editing the published article starts v2; v1 stays live and searchable.
    a = kb.save(
        a, kb.author, body_html="<p>机顶盒黑屏：先看遥控器电池，再检查信号线。</p>", title="机顶盒黑屏怎么办"
    )
    assert a["status"] == "published" and a["published_no"] == 1
    assert a["open_version"]["number"] == 2 and a["open_version"]["status"] == "draft"
    assert a["title"] == "机顶盒黑屏的处理方法"  # the article shows the live version until v2 is published
    missing_note = kb.act(a, "submit", kb.author, expect=422)
    assert missing_note["detail"][0]["loc"] == ["body", "change_note"]
    a = kb.save(a, kb.author, change_note="增加遥控器电池的检查")
    a = kb.act(a, "submit", kb.author)
    assert _hits(kb, "智能卡") == [a["id"]] and _hits(kb, "遥控器") == []
    diff = kb.call("GET", f"/articles/{a['id']}/diff?old=1&new=2", kb.reviewer)
    assert {f["field"] for f in diff["fields"]} >= {"title", "change_note"}
    assert any("<ins>" in line["new_html"] for line in diff["lines"])
    a = kb.act(a, "approve", kb.reviewer)
    assert a["published_no"] == 2 and a["title"] == "机顶盒黑屏怎么办"
    statuses = {v["number"]: v["status"] for v in a["versions"]}
    assert statuses == {1: "superseded", 2: "published"}
    assert _hits(kb, "遥控器") == [a["id"]] and _hits(kb, "智能卡") == []

    # Archive: out of search for good, read-only.
    a = kb.act(a, "archive", kb.publisher, {"comment": "业务下线"})
    assert a["status"] == "archived" and a["actions"] == []
    assert _hits(kb, "遥控器") == []
    kb.call("GET", f"/published/{a['id']}", kb.agent, expect=404)
    kb.save(a, kb.author, title="再改", expect=409)

    log = [row["action"] for row in a["log"]]
    assert log == [
        *("created", "submitted", "rejected", "edited", "submitted", "approved", "published"),
        *("new_version", "edited", "submitted", "approved", "published", "archived"),
    ]
    audit = session.scalars(
        select(AuditLog.action).where(
            AuditLog.target_id == str(a["id"]), AuditLog.target_type == "knowledge_article"
        )
    )
    assert {
        *("knowledge.article.create", "knowledge.article.submit", "knowledge.article.reject"),
        *("knowledge.article.approve", "knowledge.article.publish", "knowledge.article.archive"),
    } <= set(audit)


def test_a_stale_lock_version_is_a_409_with_the_current_state(kb):
    a = kb.create()
    fresh = kb.act(a, "submit", kb.author)
    stale = kb.save(a, kb.author, title="旧页面上的修改", expect=409)
    assert stale["code"] == "conflict" and stale["detail"]
    assert kb.get(a["id"], kb.author)["open_version"]["title"] == fresh["open_version"]["title"]


def test_illegal_moves_are_409_naming_the_state(kb):
    a = kb.create()
    kb.act(a, "approve", kb.reviewer, expect=409)
    kb.act(a, "publish", kb.publisher, expect=409)
    kb.act(a, "archive", kb.publisher, expect=409)  # never published: discard instead
    a = kb.act(a, "submit", kb.author)
    kb.act(a, "submit", kb.author, expect=409)
    kb.save(a, kb.author, title="审核中", expect=409)  # withdraw first
    a = kb.act(a, "withdraw", kb.author)
    assert a["open_version"]["status"] == "draft"


def test_reviewers_do_not_approve_their_own_versions(kb, factory):
    both = factory.token_login(
        factory.user(["knowledge.article.edit", "knowledge.article.review"], department=kb.network)
    )
    a = kb.act(kb.create(both), "submit", both)
    kb.act(a, "approve", both, expect=403)
    assert "approve" not in kb.get(a["id"], both)["actions"]
    kb.act(a, "approve", kb.reviewer)


def test_manual_publishing_now_or_at_a_time_by_the_timer_job(kb, session):
    from datetime import timedelta

    from kefu.core import clock
    from kefu.knowledge import jobs

    a = kb.create(
        category_id=kb.tariffs.id, title="宽带资费调整说明", body_html="<p>新资费自下月起执行。</p>"
    )
    a = kb.act(kb.act(a, "submit", kb.author), "approve", kb.reviewer)
    assert a["status"] == "draft" and a["open_version"]["status"] == "approved"
    assert [q["article_id"] for q in kb.call("GET", "/review-queue?box=publish", kb.publisher)] == [a["id"]]
    past = (clock.now() - timedelta(hours=1)).isoformat()
    refused = kb.act(a, "publish", kb.publisher, {"publish_at": past}, expect=422)
    assert refused["detail"][0]["loc"] == ["body", "publish_at"]
    at = clock.now() + timedelta(hours=2)
    a = kb.act(a, "publish", kb.publisher, {"publish_at": at.isoformat()})
    assert a["open_version"]["scheduled"] is True and a["status"] == "draft"
    session.commit()  # the job works in units of work of its own

    assert jobs.run_timers() == (0, 0)  # not yet
    with clock.freeze(at + timedelta(seconds=1)):
        assert jobs.run_timers() == (1, 0)
        assert jobs.run_timers() == (0, 0)  # idempotent
    a = kb.get(a["id"], kb.publisher)
    assert a["status"] == "published" and a["published_no"] == 1
    assert "System" in str(a["log"]) or a["log"][-1]["user_id"] is None
    assert _hits(kb, "资费") == [a["id"]]


def test_expiry_takes_knowledge_out_of_search(kb, session):
    from datetime import timedelta

    from kefu.core import clock
    from kefu.knowledge import jobs

    until = clock.now() + timedelta(days=3)
    a = kb.create(expires_at=until.isoformat())
    a = kb.act(kb.act(a, "submit", kb.author), "approve", kb.reviewer)
    assert a["status"] == "published" and _hits(kb, "黑屏") == [a["id"]]
    session.commit()
    with clock.freeze(until + timedelta(minutes=1)):
        # Past its time it is no longer found, even before the job has run.
        assert _hits(kb, "黑屏") == []
        kb.call("GET", f"/published/{a['id']}", kb.agent, expect=404)
        assert jobs.run_timers() == (0, 1)
        assert jobs.run_timers() == (0, 0)
    a = kb.get(a["id"], kb.author)
    assert a["status"] == "expired" and a["log"][-1]["action"] == "expired"
    # A new version with a later expiry publishes it again.
    later = clock.now() + timedelta(days=30)
    a = kb.save(a, kb.author, expires_at=later.isoformat(), change_note="延长有效期")
    a = kb.act(kb.act(a, "submit", kb.author), "approve", kb.reviewer)
    assert a["status"] == "published" and _hits(kb, "黑屏") == [a["id"]]


def test_revoke_pulls_knowledge_and_a_correction_brings_it_back(kb):
    a = kb.published()
    kb.act(a, "revoke", kb.publisher, {"comment": ""}, expect=422)
    a = kb.act(a, "revoke", kb.publisher, {"comment": "步骤有误"})
    assert a["status"] == "revoked" and _hits(kb, "黑屏") == []
    a = kb.save(a, kb.author, body_html="<p>机顶盒黑屏：正确的步骤。</p>", change_note="更正步骤")
    a = kb.act(kb.act(a, "submit", kb.author), "approve", kb.reviewer)
    assert a["status"] == "published" and a["published_no"] == 2


def test_bad_input_names_every_field_and_writes_nothing(kb, session):
    counts = lambda: (  # noqa: E731
        session.scalar(select(func.count()).select_from(Article)),
        session.scalar(select(func.count()).select_from(ArticleVersion)),
    )
    before = counts()
    r = kb.create(
        expect=422,
        title="  ",
        body_html="<script>alert(1)</script>",
        business_attrs=["no_such"],
        business_category_id=999999,
        keywords=" ".join(f"k{i}" for i in range(30)),
        expires_at="2001-01-01T00:00:00+08:00",
    )
    fields = [e["loc"][-1] for e in r["detail"]]
    assert fields == [
        "title",
        "body_html",
        "keywords",
        "business_category_id",
        "business_attrs",
        "expires_at",
    ]
    r = kb.create(expect=422, category_id=999999)
    assert [e["loc"][-1] for e in r["detail"]] == ["category_id"]
    r = kb.create(expect=422, audience="everyone")
    assert [e["loc"][-1] for e in r["detail"]] == ["audience"]
    assert counts() == before
    # A bad save of an existing article changes nothing either.
    a = kb.create()
    before = counts()
    kb.save(a, kb.author, title="", expect=422)
    assert counts() == before
    assert kb.get(a["id"], kb.author)["open_version"]["title"] == "机顶盒黑屏的处理方法"


def test_discarding_a_draft(kb, session):
    a = kb.create()
    r = kb.client.delete(
        f"/api/v1/knowledge/articles/{a['id']}/draft?lock_version={a['lock_version']}",
        headers=kb.author.headers,
    )
    assert r.status_code == 204
    kb.get(a["id"], kb.author, expect=404)
    live = kb.published()
    live = kb.save(live, kb.author, title="改了又不要")
    r = kb.client.delete(f"/api/v1/knowledge/articles/{live['id']}/draft", headers=kb.author.headers)
    assert r.status_code == 204
    again = kb.get(live["id"], kb.author)
    assert (
        again["open_version"] is None
        and again["published_no"] == 1
        and [v["number"] for v in again["versions"]] == [1]
    )


def test_hot_flag_and_moving(kb):
    a = kb.published()
    kb.act(a, "hot", kb.author, {"hot": True}, expect=403)
    a = kb.act(a, "hot", kb.publisher, {"hot": True})
    assert a["hot"] is True
    assert kb.search(hot=True)["items"][0]["hot"] is True
    assert kb.search(hot=False)["total"] == 0
    a = kb.act(a, "move", kb.author, {"category_id": kb.broadband.id})
    assert a["category_id"] == kb.broadband.id
    # The billing author may write in "broadband" but not move it back into the network's category.
    kb.act(a, "move", kb.outsider, {"category_id": kb.stb.id}, expect=403)
