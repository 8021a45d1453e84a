"""Closed ticket → knowledge draft (TKT-12): the question, the resolution and a link back; the ticket's
log notes it; only closed tickets, only knowledge authors of the category, once per ticket."""

from __future__ import annotations

from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.knowledge.models import Article, ArticleStatus, ArticleVersion, KnowledgeCategoryEditor
from kefu.org.models import DataScope
from tests.api.knowledge.conftest import category

AUTHOR = ["knowledge.article.edit", "knowledge.article.view", "tickets.ticket.view"]


def _closed(desk) -> dict:
    t = desk.register(subject="机顶盒黑屏", description="开机后电视一直黑屏\n指示灯正常")
    who = desk.h1 if t["handler_id"] == desk.h1.user.id else desk.h2
    t = desk.act(t, "reply", who, {"comment": "指导客户重新插拔HDMI线"})
    t = desk.act(t, "complete", who, {"state": "complete", "comment": "更换HDMI线后恢复 <b>正常</b>"})
    t = desk.act(t, "complete", desk.leader, {"state": "pass"})
    return desk.act(t, "complete", desk.agent, {"state": "close", "comment": "客户确认"})


def test_a_closed_ticket_becomes_a_knowledge_draft(desk, session):
    kb_cat = category(session, "电视故障", editors=(desk.front,))
    author = desk.factory.token_login(
        desk.factory.user(AUTHOR, scope=DataScope.DEPARTMENT, department=desk.front)
    )
    open_one = desk.register(subject="宽带无法上网")
    desk.call("POST", f"/{open_one['id']}/knowledge-draft", author, {"category_id": kb_cat.id}, expect=409)
    t = _closed(desk)
    assert t["status"] == "closed"
    # Not a knowledge author: 403; a category one's department may not maintain: 403.
    desk.call("POST", f"/{t['id']}/knowledge-draft", desk.leader, {"category_id": kb_cat.id}, expect=403)
    closed_cat = category(session, "资费", editors=(desk.back,))
    desk.call("POST", f"/{t['id']}/knowledge-draft", author, {"category_id": closed_cat.id}, expect=403)
    r = desk.call("POST", f"/{t['id']}/knowledge-draft", author, {"category_id": 999999}, expect=422)
    assert [d["loc"][-1] for d in r["detail"]] == ["category_id"]

    made = desk.call("POST", f"/{t['id']}/knowledge-draft", author, {"category_id": kb_cat.id}, expect=201)
    article = session.get(Article, made["article_id"])
    assert article.status is ArticleStatus.DRAFT and article.category_id == kb_cat.id
    assert article.title == "机顶盒黑屏" and article.business_category_id == t["category_id"]
    version = session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article.id)).one()
    html, text = version.body_html, version.body_text
    # The question, every reply and completion comment in order, escaped; the link back.
    assert "开机后电视一直黑屏" in text and "指示灯正常" in text
    assert text.index("指导客户重新插拔HDMI线") < text.index("更换HDMI线后恢复 <b>正常</b>")
    assert "<b>" not in html
    assert f'<a href="/tickets/{t["id"]}"' in html and t["serial"] in text
    # The ticket's log notes it; the audit too; a second draft is refused.
    log = desk.get(t["id"], desk.leader)["log"]
    assert log[-1]["action"] == "knowledge_draft" and log[-1]["detail"] == {"article_id": article.id}
    assert session.scalar(select(AuditLog.id).where(AuditLog.action == "ticket.to_knowledge")) is not None
    desk.call("POST", f"/{t['id']}/knowledge-draft", author, {"category_id": kb_cat.id}, expect=409)
    # A ticket the author cannot see does not exist for them.
    stranger = desk.factory.token_login(
        desk.factory.user(AUTHOR[:2], scope=DataScope.OWN, department=desk.other)
    )
    session.add(KnowledgeCategoryEditor(category_id=kb_cat.id, department_id=desk.other.id))
    desk.call("POST", f"/{t['id']}/knowledge-draft", stranger, {"category_id": kb_cat.id}, expect=404)


def test_the_ticket_page_offers_merge_split_and_knowledge(desk, session, client):
    kb_cat = category(session, "电视故障", editors=(desk.front,))
    leader = desk.leader
    a = desk.register(subject="机顶盒黑屏", description="开机后电视一直黑屏", customer_phone="13911112222")
    b = desk.register(
        subject="机顶盒开机黑屏", description="机顶盒重启后还是黑屏", customer_phone="13911112222"
    )
    panel = client.get(f"/tickets/{a['id']}/merge-panel", headers={**leader.headers, "HX-Request": "true"})
    assert (
        panel.status_code == 200
        and f'data-similar="{b["id"]}"' in panel.text
        and 'id="merge-form"' in panel.text
    )
    page = client.get(f"/tickets/{a['id']}", headers=leader.headers)
    assert 'hx-get="/tickets/{}/merge-panel"'.format(a["id"]) in page.text
    # A bad serial: the panel again with the message (422), nothing merged.
    a = desk.get(a["id"], leader)
    bad = client.post(
        f"/tickets/{a['id']}/merge",
        data={"serials": "NO-SUCH", "version": a["version"]},
        headers={**leader.headers, "HX-Request": "true"},
    )
    assert bad.status_code == 422 and 'data-error-for="serials"' in bad.text
    done = client.post(
        f"/tickets/{a['id']}/merge",
        data={"ticket_ids": str(b["id"]), "version": a["version"], "comment": "同一故障"},
        headers={**leader.headers, "HX-Request": "true"},
    )
    assert done.status_code == 200 and done.headers["HX-Retarget"] == "#ticket-detail"
    panel = client.get(f"/tickets/{b['id']}/merge-panel", headers={**leader.headers, "HX-Request": "true"})
    assert 'id="merged-into"' in panel.text and 'data-action="split"' in panel.text
    b = desk.get(b["id"], leader)
    split = client.post(
        f"/tickets/{b['id']}/split",
        data={"version": b["version"]},
        headers=leader.headers,
        follow_redirects=False,
    )
    assert split.status_code == 303
    # Registration: the similar tickets of what is typed.
    typed = client.get(
        "/tickets/similar?subject=机顶盒黑屏了&customer_phone=13911112222", headers=desk.agent.headers
    )
    assert f'data-similar="{a["id"]}"' in typed.text
    # A closed ticket offers the knowledge form to an author.
    author = desk.factory.token_login(
        desk.factory.user(AUTHOR, scope=DataScope.DEPARTMENT, department=desk.front)
    )
    t = _closed(desk)
    panel = client.get(f"/tickets/{t['id']}/merge-panel", headers={**author.headers, "HX-Request": "true"})
    assert 'id="knowledge-form"' in panel.text and f'value="{kb_cat.id}"' in panel.text
    made = client.post(
        f"/tickets/{t['id']}/knowledge-draft",
        data={"category_id": str(kb_cat.id)},
        headers=author.headers,
        follow_redirects=False,
    )
    assert made.status_code == 303
    panel = client.get(f"/tickets/{t['id']}/merge-panel", headers={**author.headers, "HX-Request": "true"})
    assert 'id="knowledge-drafts"' in panel.text
