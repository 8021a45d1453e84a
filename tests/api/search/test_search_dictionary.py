"""The search dictionary: API, permissions, audit, its effect on segmentation and search, the page."""

from __future__ import annotations

import re

from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.core import search
from kefu.core.search.models import SearchWord
from tests.support import browser_login

URL = "/api/v1/search/dictionary"
ALL = [
    "search.dictionary.view",
    "search.dictionary.create",
    "search.dictionary.edit",
    "search.dictionary.delete",
]


def _admin(factory, perms=None):
    return factory.token_login(factory.user(perms if perms is not None else ALL))


def test_add_list_edit_delete_with_audit(client, factory, session):
    h = _admin(factory).headers
    r = client.post(URL, json={"word": "  ＦＢＢ终端 ", "pos": "NZ", "note": "海事宽带"}, headers=h)
    assert r.status_code == 201, r.text
    word = r.json()
    assert (word["word"], word["pos"], word["weight"], word["enabled"]) == ("FBB终端", "nz", None, True)

    listed = client.get(URL, params={"q": "FBB"}, headers=h).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == word["id"]
    assert client.get(URL, headers=h).json()["total"] > 50  # the seeded words are there too

    r = client.patch(f"{URL}/{word['id']}", json={"weight": 5000, "enabled": False}, headers=h)
    assert r.status_code == 200 and (r.json()["weight"], r.json()["enabled"]) == (5000, False)
    r = client.patch(f"{URL}/{word['id']}", json={"weight": None}, headers=h)
    assert r.json()["weight"] is None
    assert client.get(f"{URL}/{word['id']}", headers=h).json()["enabled"] is False

    assert client.delete(f"{URL}/{word['id']}", headers=h).status_code == 204
    assert client.get(f"{URL}/{word['id']}", headers=h).status_code == 404
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.function == "search.dictionary").order_by(AuditLog.id)
    ).all()
    assert actions == ["search_word.create", "search_word.update", "search_word.update", "search_word.delete"]


def test_bad_input_is_a_422_naming_the_field(client, factory, session):
    h = _admin(factory).headers
    cases = [
        ({"word": ""}, "word"),
        ({"word": "机"}, "word"),
        ({"word": "机顶 盒"}, "word"),
        ({"word": "——"}, "word"),
        ({"word": "机" * 41}, "word"),
        ({"word": "机顶盒"}, "word"),  # seeded already
        ({"word": "新词汇", "weight": 0}, "weight"),
        ({"word": "新词汇", "weight": "many"}, "weight"),
        ({"word": "新词汇", "pos": "名词"}, "pos"),
        ({"word": "新词汇", "note": "x" * 201}, "note"),
    ]
    for body, field in cases:
        r = client.post(URL, json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    assert session.scalar(select(SearchWord).where(SearchWord.word == "新词汇")) is None
    seeded = session.scalar(select(SearchWord).where(SearchWord.word == "光猫"))
    r = client.patch(f"{URL}/{seeded.id}", json={"word": "机顶盒"}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "word"


def test_permissions(client, factory, session):
    viewer = _admin(factory, ["search.dictionary.view"]).headers
    nobody = _admin(factory, []).headers
    assert client.get(URL, headers=nobody).status_code == 403
    assert client.get(f"{URL}/segment", params={"text": "宽带"}, headers=nobody).status_code == 403
    assert client.get(URL, headers=viewer).status_code == 200
    assert client.post(URL, json={"word": "新词汇"}, headers=viewer).status_code == 403
    seeded = session.scalar(select(SearchWord).where(SearchWord.word == "光猫"))
    assert client.patch(f"{URL}/{seeded.id}", json={"enabled": False}, headers=viewer).status_code == 403
    assert client.delete(f"{URL}/{seeded.id}", headers=viewer).status_code == 403
    assert client.post(f"{URL}/reindex", headers=viewer).status_code == 403


def test_preview_shows_document_and_query_terms(client, factory):
    h = _admin(factory).headers
    r = client.get(f"{URL}/segment", params={"text": "电视机顶盒E302错误！ＩＰＴＶ"}, headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["query_terms"] == ["电视", "机顶盒", "e302", "错误", "iptv"]
    assert {"机顶", "机顶盒"} <= set(body["document_terms"])
    assert body["normalized"].endswith("iptv")


def test_a_new_word_changes_segmentation_and_search_after_reindex(client, factory, session):
    """Before 漏损 is a word, a search for it looks for 漏 and 损 anywhere; after, only the unit."""
    h = _admin(factory).headers
    meant = 9001
    other = 9002
    search.index(session, "test_kb", meant, title="管网漏损率偏高怎么排查", body="")
    search.index(session, "test_kb", other, title="管子漏，盖子损", body="")
    session.commit()

    def found(q):
        return sorted(h.ref_id for h in search.query(session, "test_kb", q).hits)

    assert found("漏损") == [meant, other]
    assert found("漏") == [meant, other]
    r = client.post(URL, json={"word": "漏损", "note": "供水管网漏损"}, headers=h)
    assert r.status_code == 201, r.text
    # The re-segmentation job ran on commit (jobs run immediately in tests).
    assert client.get(f"{URL}/segment", params={"text": "漏损"}, headers=h).json()["query_terms"] == ["漏损"]
    assert found("漏损") == [meant]
    assert found("漏") == [other]  # 管网漏损 no longer holds a lone 漏

    r = client.patch(f"{URL}/{r.json()['id']}", json={"enabled": False}, headers=h)
    assert r.status_code == 200
    assert found("漏损") == [meant, other]


def test_reindex_now_is_queued_and_audited(client, factory, session):
    h = _admin(factory).headers
    search.index(session, "test_kb", 77, title="宽带续费", body="")
    session.commit()
    r = client.post(f"{URL}/reindex", headers=h)
    assert r.status_code == 202 and r.json() == {"queued": True}
    assert session.scalar(select(AuditLog).where(AuditLog.action == "search.reindex")) is not None
    assert [x.ref_id for x in search.query(session, "test_kb", "宽带续费").hits] == [77]


def test_page_lists_previews_adds_and_rejects(client, factory, session):
    user = factory.user(ALL)
    csrf = browser_login(client, user.username)
    page = client.get("/admin/search/dictionary", params={"text": "光猫闪红灯"})
    assert page.status_code == 200
    assert "/admin/search/dictionary" in page.text and 'id="segment-result"' in page.text
    assert re.search(r'data-terms="query">\s*<span[^>]*>光猫</span>', page.text)

    bad = client.post("/admin/search/dictionary", data={"word": "机", "csrf_token": csrf})
    assert bad.status_code == 422 and 'data-error-for="word"' in bad.text
    ok = client.post(
        "/admin/search/dictionary", data={"word": "千兆宽带", "csrf_token": csrf}, follow_redirects=False
    )
    assert ok.status_code == 303
    word = session.scalar(select(SearchWord).where(SearchWord.word == "千兆宽带"))
    assert word is not None and word.created_by_id == user.id
    toggled = client.post(
        f"/admin/search/dictionary/{word.id}/toggle", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert toggled.status_code == 303
    session.refresh(word)
    assert word.enabled is False


def test_page_needs_the_permission_and_is_in_the_menu(client, factory):
    plain = factory.user([])
    browser_login(client, plain.username)
    assert client.get("/admin/search/dictionary").status_code == 403
    assert "/admin/search/dictionary" not in client.get("/").text
