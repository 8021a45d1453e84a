"""An article's way through the knowledge base in a real browser (KB-2 … KB-5): an editor writes it in
the rich-text editor (a missing title comes back beside its field, the text is kept) and submits it;
the reviewer finds it in the review queue, rejects it with a reason; the editor corrects and resubmits;
the reviewer approves, it is published automatically and an agent finds it by full text."""

from __future__ import annotations

import re

import httpx

from tests.browser.conftest import ARTIFACTS, sign_in

PASSWORD = "Kefu@2026-browser"


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _setup(base: str) -> dict:
    """As the administrator: a knowledge department with an editor, a reviewer, an agent, and a
    category the department maintains."""
    with httpx.Client(base_url=base) as api:
        login = _ok(api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"}))
        api.headers["X-CSRF-Token"] = login["csrf_token"]
        dept = _ok(api.post("/api/v1/org/departments", json={"code": "BT-KB", "name": "知识维护组"}))
        group = _ok(
            api.post(
                "/api/v1/org/groups",
                json={"code": "bt_kb", "name": "知识库", "functions": ["knowledge.article", "knowledge.qa"]},
            )
        )
        roles = {}
        for code, name, permissions in (
            ("bt_kb_editor", "知识编辑", ["knowledge.article.view", "knowledge.article.edit"]),
            ("bt_kb_reviewer", "知识审核", ["knowledge.article.view", "knowledge.article.review"]),
            ("bt_kb_agent", "座席", ["knowledge.article.view", "knowledge.qa.ask"]),
        ):
            roles[code] = _ok(
                api.post(
                    "/api/v1/org/roles",
                    json={
                        "group_id": group["id"],
                        "code": code,
                        "name": name,
                        "permissions": permissions,
                        "data_scope": "all",
                    },
                )
            )
        for username, name, role in (
            ("bt_kbe", "林编辑", "bt_kb_editor"),
            ("bt_kbr", "高审核", "bt_kb_reviewer"),
            ("bt_kba", "马座席", "bt_kb_agent"),
        ):
            _ok(
                api.post(
                    "/api/v1/org/users",
                    json={
                        "username": username,
                        "name": name,
                        "department_id": dept["id"],
                        "role_ids": [roles[role]["id"]],
                        "password": PASSWORD + "-first",
                    },
                )
            )
        category = _ok(
            api.post(
                "/api/v1/knowledge/categories",
                json={"name": "浏览器测试目录", "editor_department_ids": [dept["id"]]},
            )
        )
    for username in ("bt_kbe", "bt_kbr", "bt_kba"):  # first sign-in: the temporary password is replaced
        with httpx.Client(base_url=base) as api:
            login = _ok(
                api.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD + "-first"})
            )
            changed = api.post(
                "/api/v1/me/password",
                json={"current_password": PASSWORD + "-first", "new_password": PASSWORD},
                headers={"X-CSRF-Token": login["csrf_token"]},
            )
            assert changed.status_code == 204, changed.text
    return {"category": category}


def test_write_review_reject_correct_approve_and_find(browser, page, live_url):
    setup = _setup(live_url)
    ARTIFACTS.mkdir(exist_ok=True)

    # The editor writes the article in the editor; without a title the form comes back, text kept.
    sign_in(page, live_url, "bt_kbe", PASSWORD)
    page.goto(live_url + "/knowledge/manage/new")
    page.select_option("#f-category_id", str(setup["category"]["id"]))
    editor = page.locator("#body-editor")
    editor.click()
    page.keyboard.type("遥控器失灵时先更换电池。")
    page.click("button[title='加粗']")
    page.keyboard.type("重要")
    page.fill("#f-keywords", "遥控器 电池")
    page.click("#save-draft")
    page.wait_for_selector("[data-error-for='title']")
    assert "遥控器失灵时先更换电池" in page.locator("#body-editor").inner_text()
    assert page.input_value("#f-keywords") == "遥控器 电池"
    page.screenshot(path=str(ARTIFACTS / "knowledge-editor.png"), full_page=True)
    page.fill("#f-title", "遥控器失灵的处理")
    page.click("#save-submit")
    page.wait_for_url(re.compile(r".*/knowledge/manage/\d+$"))
    article_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#open-version [data-version-status='pending']").count() == 1
    page.screenshot(path=str(ARTIFACTS / "knowledge-submitted.png"), full_page=True)

    # The reviewer rejects it from the queue with a reason.
    reviewer = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
    try:
        sign_in(reviewer, live_url, "bt_kbr", PASSWORD)
        reviewer.goto(live_url + "/knowledge/review")
        reviewer.click(f"#review-table tr[data-article='{article_id}'] a")
        reviewer.wait_for_selector("#review-form")
        # The bold text survived the editor and the server's sanitising.
        assert re.search(r"<(b|strong)>重要</\1>", reviewer.locator("#open-version .kb-body").inner_html())
        reviewer.fill("#f-review-comment", "请补充更换电池后仍无效的处理")
        reviewer.click("#reject-button")
        reviewer.wait_for_selector("[data-log='rejected']")

        # The editor corrects it (the rejected version becomes a draft again) and resubmits.
        page.goto(live_url + f"/knowledge/manage/{article_id}")
        assert "请补充更换电池后仍无效的处理" in page.locator("#review-comment").inner_text()
        page.click("a[data-action='edit']")
        page.locator("#body-editor").click()
        page.keyboard.press("End")
        page.keyboard.type("仍无效的，到营业厅免费更换遥控器。")
        page.click("#save-submit")
        page.wait_for_url(re.compile(rf".*/knowledge/manage/{article_id}$"))
        page.goto(live_url + f"/knowledge/manage?selected={article_id}")
        page.screenshot(path=str(ARTIFACTS / "knowledge-manage.png"), full_page=True)

        # The reviewer approves: the category publishes automatically.
        reviewer.goto(live_url + f"/knowledge/manage/{article_id}")
        reviewer.click("#approve-button")
        reviewer.wait_for_selector("#article-detail[data-status='published']")
        reviewer.screenshot(path=str(ARTIFACTS / "knowledge-published.png"), full_page=True)
    finally:
        reviewer.context.close()

    # An agent finds it by full text in the body, opens it, and the snippet was highlighted.
    agent = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
    try:
        sign_in(agent, live_url, "bt_kba", PASSWORD)
        agent.goto(live_url + "/knowledge")
        agent.fill("#f-q", "营业厅")
        agent.click("#search-button")
        row = agent.locator(f"#result-table tr[data-article='{article_id}']")
        row.wait_for()
        assert "遥控器失灵的处理" in row.inner_text()
        agent.screenshot(path=str(ARTIFACTS / "knowledge-search.png"), full_page=True)
        row.locator("a.kb-title").click()
        agent.wait_for_selector("#article-body")
        assert "免费更换遥控器" in agent.locator("#article-body").inner_text()
        agent.screenshot(path=str(ARTIFACTS / "knowledge-article.png"), full_page=True)
    finally:
        agent.context.close()
