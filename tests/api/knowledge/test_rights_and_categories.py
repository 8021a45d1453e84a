"""The category tree (KB-1) and who may write where (KB-6): maintaining departments per category,
inherited down the tree; data scope over unpublished drafts; refusals as 403 or 404."""

from __future__ import annotations

from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.knowledge.models import KnowledgeCategory


def test_category_rights_follow_the_maintaining_departments(kb):
    # The network department maintains "有线电视" and, by inheritance, "机顶盒故障".
    kb.create(kb.author, category_id=kb.stb.id)
    refused = kb.create(kb.outsider, category_id=kb.stb.id, expect=403)
    assert "机顶盒故障" in refused["detail"]
    # A category without departments (at any level above) is open to every author.
    kb.create(kb.outsider, category_id=kb.broadband.id)
    # The category list says where I may write.
    tree = {c["name"]: c["may_maintain"] for c in kb.call("GET", "/categories", kb.outsider)}
    assert tree == {"有线电视": False, "机顶盒故障": False, "宽带": True, "资费政策": True}
    # A sub-category naming its own departments overrides its parent's.
    kb.call("PATCH", f"/categories/{kb.stb.id}", kb.admin, {"editor_department_ids": [kb.billing.id]})
    kb.create(kb.outsider, category_id=kb.stb.id)
    kb.create(kb.author, category_id=kb.stb.id, expect=403)
    # A knowledge administrator writes everywhere.
    kb.create(kb.admin, category_id=kb.cable.id)


def test_a_published_article_in_a_foreign_category_can_be_read_but_not_maintained(kb):
    a = kb.published()
    seen = kb.get(a["id"], kb.outsider)
    assert seen["status"] == "published" and "edit" not in seen["actions"]
    kb.save(a, kb.outsider, title="外部门的修改", expect=403)
    kb.act(a, "submit", kb.outsider, expect=403)


def test_unpublished_drafts_stay_within_the_data_scope(kb):
    mine = kb.create(kb.author)
    # Same department, scope "own": a colleague's draft does not exist for them.
    kb.get(mine["id"], kb.author2, expect=404)
    kb.save(mine, kb.author2, title="别人的草稿", expect=404)
    assert [i["id"] for i in kb.call("GET", "/articles", kb.author2)["items"]] == []
    assert [i["id"] for i in kb.call("GET", "/articles?mine=true", kb.author)["items"]] == [mine["id"]]
    # The reviewer (scope all) sees it; an agent without a management right is refused.
    kb.get(mine["id"], kb.reviewer)
    kb.call("GET", f"/articles/{mine['id']}", kb.agent, expect=403)


def test_review_and_publish_need_the_article_in_scope(kb, factory):
    from kefu.org.models import DataScope

    local_reviewer = factory.token_login(
        factory.user(["knowledge.article.review"], scope=DataScope.DEPARTMENT, department=kb.billing)
    )
    a = kb.act(kb.create(), "submit", kb.author)
    assert kb.call("GET", "/review-queue", local_reviewer) == []
    kb.act(a, "approve", local_reviewer, expect=404)  # a never-published draft outside scope: hidden
    published = kb.published(seed_title="另一篇")
    published = kb.act(
        kb.save(published, kb.author, title="新标题", change_note="改标题"), "submit", kb.author
    )
    kb.act(published, "approve", local_reviewer, expect=403)  # visible, but outside the review scope


def test_category_tree_add_edit_move_delete(kb, session):
    top = kb.call("POST", "/categories", kb.admin, {"name": "水务", "publish_mode": "manual"}, expect=201)
    child = kb.call("POST", "/categories", kb.admin, {"name": "水表", "parent_id": top["id"]}, expect=201)
    assert child["path"] == f"{top['path']}{child['id']}/" and child["depth"] == 1
    # Moving a category under its own sub-category is refused, naming the field.
    r = kb.call("PATCH", f"/categories/{top['id']}", kb.admin, {"parent_id": child["id"]}, expect=422)
    assert r["detail"][0]["loc"] == ["body", "parent_id"]
    # Moving carries the subtree.
    kb.call("PATCH", f"/categories/{top['id']}", kb.admin, {"parent_id": kb.cable.id})
    session.expire_all()
    assert session.get(KnowledgeCategory, child["id"]).path == f"{kb.cable.path}{top['id']}/{child['id']}/"
    # Rename with a stale lock version: 409.
    kb.call("PATCH", f"/categories/{top['id']}", kb.admin, {"name": "x", "lock_version": 1}, expect=409)
    bad = kb.call("PATCH", f"/categories/{top['id']}", kb.admin, {"name": "", "sort": 10**9}, expect=422)
    assert sorted(e["loc"][-1] for e in bad["detail"]) == ["name", "sort"]
    # A non-empty category is refused with the reason; an empty one goes.
    r = kb.client.delete(f"/api/v1/knowledge/categories/{top['id']}", headers=kb.admin.headers)
    assert r.status_code == 409 and "水务" in r.json()["detail"]
    kb.create(kb.admin, category_id=child["id"])
    r = kb.client.delete(f"/api/v1/knowledge/categories/{child['id']}", headers=kb.admin.headers)
    assert r.status_code == 409 and "1" in r.json()["detail"]
    empty = kb.call("POST", "/categories", kb.admin, {"name": "空目录"}, expect=201)
    r = kb.client.delete(f"/api/v1/knowledge/categories/{empty['id']}", headers=kb.admin.headers)
    assert r.status_code == 204
    actions = set(session.scalars(select(AuditLog.action).where(AuditLog.function == "knowledge.categories")))
    assert actions >= {"knowledge.category.create", "knowledge.category.move", "knowledge.category.delete"}
    # Only category administrators change the tree.
    kb.call("POST", "/categories", kb.author, {"name": "x"}, expect=403)
