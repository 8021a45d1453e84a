"""Questions and answers (KB-8): staff ask, edit and delete their own questions and follow them;
answerers answer, edit answers, set and unset frequent questions, and turn one into an article."""

from __future__ import annotations

from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.notices.models import Notification

Q = "/questions"


def test_questions_from_asking_to_an_article(kb, session):
    asked = kb.call(
        "POST", Q, kb.agent, {"title": "智能卡提示未授权怎么处理？", "body": "客户换了新卡"}, expect=201
    )
    assert asked["status"] == "open" and asked["faq"] is False
    bad = kb.call("POST", Q, kb.agent, {"title": " ", "category_id": 999999}, expect=422)
    assert sorted(e["loc"][-1] for e in bad["detail"]) == ["category_id", "title"]
    # Only the asker changes the question, and only while it waits for an answer.
    asked = kb.call(
        "PATCH",
        f"{Q}/{asked['id']}",
        kb.agent,
        {"title": "智能卡提示未授权怎么办？", "body": "客户换了新卡", "lock_version": asked["lock_version"]},
    )
    kb.call("PATCH", f"{Q}/{asked['id']}", kb.author, {"title": "x"}, expect=404)  # not theirs, not an FAQ
    assert [q["id"] for q in kb.call("GET", f"{Q}?box=mine", kb.agent)["items"]] == [asked["id"]]
    assert [q["id"] for q in kb.call("GET", f"{Q}?box=open", kb.admin)["items"]] == [asked["id"]]

    answered = kb.call(
        "POST",
        f"{Q}/{asked['id']}/answer",
        kb.admin,
        {"answer": "在系统中重新下发授权指令，十分钟后重启机顶盒。", "lock_version": asked["lock_version"]},
    )
    assert answered["status"] == "answered"
    told = session.scalars(select(Notification.link).where(Notification.user_id == kb.agent.user.id)).all()
    assert f"/knowledge/questions/{asked['id']}" in told
    kb.call("PATCH", f"{Q}/{asked['id']}", kb.agent, {"title": "改问题"}, expect=409)
    answered = kb.call(
        "POST", f"{Q}/{asked['id']}/answer", kb.admin, {"answer": "重新下发授权指令后重启机顶盒。"}
    )
    kb.call("POST", f"{Q}/{asked['id']}/answer", kb.agent, {"answer": "自问自答"}, expect=403)

    # Frequent questions are seen by everyone who may ask.
    kb.call("GET", f"{Q}/{asked['id']}", kb.author, expect=404)
    faq = kb.call(
        "POST", f"{Q}/{asked['id']}/faq", kb.admin, {"faq": True, "lock_version": answered["lock_version"]}
    )
    assert faq["faq"] is True
    assert [q["id"] for q in kb.call("GET", f"{Q}?box=faq", kb.author)["items"]] == [asked["id"]]
    # The asker cannot delete a frequent question.
    r = kb.client.delete(f"/api/v1/knowledge{Q}/{asked['id']}", headers=kb.agent.headers)
    assert r.status_code == 409

    # An answered question becomes an article draft that links back.
    article = kb.call("POST", f"{Q}/{asked['id']}/article", kb.admin, {"category_id": kb.stb.id}, expect=201)
    assert article["status"] == "draft" and article["source_question_id"] == asked["id"]
    assert article["open_version"]["title"] == "智能卡提示未授权怎么办？"
    assert "重新下发授权指令" in article["open_version"]["body_text"]
    assert kb.call("GET", f"{Q}/{asked['id']}", kb.agent)["article_id"] == article["id"]
    again = kb.call("POST", f"{Q}/{asked['id']}/article", kb.admin, {"category_id": kb.stb.id}, expect=409)
    assert article["number"] in again["detail"]

    unfaq = kb.call("POST", f"{Q}/{asked['id']}/faq", kb.admin, {"faq": False})
    assert unfaq["faq"] is False
    actions = set(session.scalars(select(AuditLog.action).where(AuditLog.function == "knowledge.qa")))
    assert actions >= {
        *("knowledge.question.ask", "knowledge.question.edit", "knowledge.question.answer"),
        *("knowledge.question.edit_answer", "knowledge.question.faq", "knowledge.question.to_article"),
    }


def test_askers_delete_their_own_questions_only(kb):
    mine = kb.call("POST", Q, kb.agent, {"title": "宽带测速标准是什么？"}, expect=201)
    theirs = kb.call("POST", Q, kb.author, {"title": "光猫如何恢复出厂？"}, expect=201)
    r = kb.client.delete(f"/api/v1/knowledge{Q}/{theirs['id']}", headers=kb.agent.headers)
    assert r.status_code == 404
    r = kb.client.delete(f"/api/v1/knowledge{Q}/{mine['id']}", headers=kb.agent.headers)
    assert r.status_code == 204
    kb.call("GET", f"{Q}/{mine['id']}", kb.agent, expect=404)
    # Answerers may remove any question.
    r = kb.client.delete(f"/api/v1/knowledge{Q}/{theirs['id']}", headers=kb.admin.headers)
    assert r.status_code == 204
    # An unanswered question is not a frequent question.
    other = kb.call("POST", Q, kb.agent, {"title": "新问题"}, expect=201)
    kb.call("POST", f"{Q}/{other['id']}/faq", kb.admin, {"faq": True}, expect=409)
