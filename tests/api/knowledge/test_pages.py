"""The knowledge pages as signed-in people use them: search with the seed's columns, the management
layout (query area, article list, version list), the editor with messages beside its fields, the
review actions, categories and questions."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from kefu.knowledge.models import Article
from kefu.messaging.models import Channel, Gateway, Implementation
from tests.support import browser_login

HX = {"HX-Request": "true"}


def _login(kb, who) -> str:
    kb.client.cookies.clear()
    return browser_login(kb.client, who.user.username)


def test_search_page_shows_the_result_columns_and_highlights(kb, session):
    a = kb.published()
    _login(kb, kb.agent)
    page = kb.client.get("/knowledge?q=黑屏&mode=keyword")
    assert page.status_code == 200 and 'id="knowledge-search"' in page.text
    for column in (
        "版本",
        "标题",
        "业务简介",
        "业务属性",
        "业务类型",
        "知识目录",
        "关键字",
        "热点",
        "创建时间",
        "点击次数",
    ):
        assert column in page.text, column
    assert f'data-article="{a["id"]}"' in page.text and "<mark>黑屏</mark>" in page.text
    assert "有线电视 / 机顶盒故障" in page.text and "故障申告" in page.text
    fragment = kb.client.get(
        "/knowledge?q=不存在的词&mode=keyword", headers={**HX, "HX-Target": "knowledge-results"}
    )
    assert 'id="no-results"' in fragment.text and "<html" not in fragment.text
    article = kb.client.get(f"/knowledge/articles/{a['id']}")
    assert article.status_code == 200 and "信号线" in article.text and 'id="send-form"' in article.text
    csrf = _login(kb, kb.agent)
    refused = kb.client.post(
        f"/knowledge/articles/{a['id']}/send",
        data={"csrf_token": csrf, "channel": "sms", "to": "13800138000"},
    )
    assert refused.status_code == 422 and 'value="13800138000"' in refused.text  # no gateway: shown again
    session.add(Gateway(channel=Channel.SMS, implementation=Implementation.LOG))
    session.flush()
    sent = kb.client.post(
        f"/knowledge/articles/{a['id']}/send",
        data={"csrf_token": csrf, "channel": "sms", "to": "13800138000"},
    )
    assert sent.status_code == 200 and 'data-send-status="queued"' in sent.text
    # Menus: an agent sees search and questions, not management.
    nav = re.findall(r'data-nav="(/knowledge[^"]*)"', sent.text)
    assert nav == ["/knowledge", "/knowledge/questions"]
    assert kb.client.get("/knowledge/manage").status_code == 403


def test_editor_shows_messages_beside_fields_and_saves_nothing(kb, session):
    csrf = _login(kb, kb.author)
    form = kb.client.get("/knowledge/manage/new")
    assert form.status_code == 200 and 'id="body-editor"' in form.text
    # Only categories the author's department may maintain are offered.
    assert "机顶盒故障" in form.text
    before = session.scalar(select(func.count()).select_from(Article))
    r = kb.client.post(
        "/knowledge/manage/new",
        data={
            "csrf_token": csrf,
            "category_id": str(kb.stb.id),
            "title": "",
            "body_html": "<script>x</script>",
            "keywords": "机顶盒",
        },
    )
    assert r.status_code == 422
    assert 'data-error-for="title"' in r.text and 'data-error-for="body_html"' in r.text
    assert 'value="机顶盒"' in r.text and "<script>x" not in r.text
    assert session.scalar(select(func.count()).select_from(Article)) == before
    r = kb.client.post(
        "/knowledge/manage/new",
        data={
            "csrf_token": csrf,
            "category_id": str(kb.stb.id),
            "title": "智能卡未授权",
            "body_html": "<p>重新下发授权。</p>",
            "business_attrs": "troubleshooting",
            "audience": "public",
            "then": "submit",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = kb.client.get(r.headers["location"])
    assert 'data-version-status="pending"' in page.text and 'data-action="withdraw"' in page.text


def test_review_from_the_article_page_and_a_stale_form(kb):
    a = kb.act(kb.create(), "submit", kb.author)
    csrf = _login(kb, kb.reviewer)
    queue = kb.client.get("/knowledge/review")
    assert queue.status_code == 200 and f'data-article="{a["id"]}"' in queue.text
    page = kb.client.get(f"/knowledge/manage/{a['id']}")
    assert 'id="review-form"' in page.text
    version = re.search(r'data-lock-version="(\d+)"', page.text).group(1)
    rejected = kb.client.post(
        f"/knowledge/manage/{a['id']}/reject",
        data={"csrf_token": csrf, "lock_version": version, "comment": ""},
    )
    assert rejected.status_code == 422 and 'data-error-for="comment"' in rejected.text
    ok = kb.client.post(
        f"/knowledge/manage/{a['id']}/approve",
        data={"csrf_token": csrf, "lock_version": version},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    # The same form posted again from the old page: the article moved on; the page says so.
    stale = kb.client.post(
        f"/knowledge/manage/{a['id']}/reject",
        data={"csrf_token": csrf, "lock_version": version, "comment": "晚了"},
    )
    assert (
        stale.status_code == 409
        and 'id="action-error"' in stale.text
        and 'data-status="published"' in stale.text
    )


def test_management_layout_lists_articles_and_the_chosen_versions(kb):
    a = kb.published()
    kb.save(a, kb.author, title="新版本标题")
    _login(kb, kb.author)
    page = kb.client.get(f"/knowledge/manage?selected={a['id']}")
    assert page.status_code == 200
    assert (
        'id="manage-query"' in page.text
        and 'id="article-table"' in page.text
        and 'id="version-list"' in page.text
    )
    assert re.findall(r'<li class="list-group-item" data-version="(\d+)"', page.text) == ["2", "1"]
    versions = kb.client.get(f"/knowledge/manage/{a['id']}/versions", headers=HX)
    assert 'data-version="2"' in versions.text and "<html" not in versions.text
    diff = kb.client.get(f"/knowledge/manage/{a['id']}/diff?old=1&new=2")
    assert diff.status_code == 200 and "<ins>新版本标题</ins>" in diff.text


def test_categories_page_refuses_deleting_a_non_empty_category(kb):
    kb.create(category_id=kb.broadband.id)
    csrf = _login(kb, kb.admin)
    r = kb.client.post(f"/knowledge/categories/{kb.broadband.id}/delete", data={"csrf_token": csrf})
    assert r.status_code == 409 and "宽带" in r.text
    r = kb.client.post("/knowledge/categories", data={"csrf_token": csrf, "name": "", "publish_mode": "auto"})
    assert r.status_code == 422 and 'data-error-for="name"' in r.text
    r = kb.client.post(
        "/knowledge/categories",
        data={
            "csrf_token": csrf,
            "name": "水务",
            "publish_mode": "manual",
            "editor_department_ids": str(kb.network.id),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "水务" in kb.client.get("/knowledge/categories").text


def test_question_pages(kb):
    csrf = _login(kb, kb.agent)
    r = kb.client.post(
        "/knowledge/questions", data={"csrf_token": csrf, "title": "如何办理过户？"}, follow_redirects=False
    )
    assert r.status_code == 303
    page = kb.client.get(r.headers["location"])
    assert 'id="edit-question-form"' in page.text and 'id="answer-form"' not in page.text
    question_id = re.search(r'data-question="(\d+)"', page.text).group(1)
    csrf = _login(kb, kb.admin)
    page = kb.client.get(f"/knowledge/questions/{question_id}")
    version = re.search(r'data-lock-version="(\d+)"', page.text).group(1)
    r = kb.client.post(
        f"/knowledge/questions/{question_id}/answer",
        data={"csrf_token": csrf, "lock_version": version, "answer": "携带双方身份证到营业厅办理。"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = kb.client.get(f"/knowledge/questions/{question_id}")
    assert (
        "携带双方身份证" in page.text
        and 'id="faq-toggle"' in page.text
        and 'id="to-article-form"' in page.text
    )
