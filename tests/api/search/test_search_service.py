"""The search interface against the real database (SQLite FTS5 / PostgreSQL tsvector)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kefu.core import search
from kefu.core.search import engine
from kefu.core.search.models import SearchDocument
from kefu.org.models import Department

KIND = "test_kb"


@pytest.fixture
def docs(session):
    """A small knowledge base; ref_ids are department ids so that `within` filters a real table."""

    def add(title: str, body: str, keywords: str = "", code: str = "pub") -> int:
        dept = Department(code=f"{code}-{session.scalar(select(func.count(Department.id)))}", name=title[:20])
        session.add(dept)
        session.flush()
        search.index(session, KIND, dept.id, title=title, body=body, keywords=keywords)
        return dept.id

    return add


def ids(page: search.SearchPage) -> list[int]:
    return [h.ref_id for h in page.hits]


def test_index_query_update_remove(session, docs):
    a = docs("宽带无法上网的处理方法", "请客户重启光猫和路由器后再试。")
    b = docs("机顶盒黑屏", "检查信号线。")
    page = search.query(session, KIND, "宽带 无法上网")
    assert ids(page) == [a] and page.total == 1 and page.exact and page.mode == "all"

    search.index(session, KIND, a, title="水表不走字", body="安排抄表员上门复核读数")
    assert ids(search.query(session, KIND, "宽带")) == []
    assert ids(search.query(session, KIND, "水表")) == [a]
    assert session.scalar(select(func.count()).where(SearchDocument.kind == KIND)) == 2

    search.remove(session, KIND, a)
    search.remove(session, KIND, a)  # nothing there any more: no error
    assert ids(search.query(session, KIND, "水表")) == []
    assert ids(search.query(session, KIND, "机顶盒")) == [b]


def test_kinds_are_separate(session, docs):
    a = docs("宽带续费", "宽带续费方式")
    search.index(session, "other_kind", a, title="宽带续费", body="")
    assert ids(search.query(session, KIND, "宽带")) == [a]
    assert [h.ref_id for h in search.query(session, "other_kind", "宽带").hits] == [a]
    search.remove(session, "other_kind", a)
    assert ids(search.query(session, KIND, "宽带")) == [a]


def test_within_filters_by_the_domains_select(session, docs):
    shown = docs("宽带提速办理", "宽带提速需要更换光猫", code="pub")
    hidden = docs("宽带提速资费", "宽带提速每月加收费用", code="draft")
    allowed = select(Department.id).where(Department.code.like("pub-%"))
    assert sorted(ids(search.query(session, KIND, "宽带提速"))) == sorted([shown, hidden])
    page = search.query(session, KIND, "宽带提速", within=allowed)
    assert ids(page) == [shown] and page.total == 1
    nothing = select(Department.id).where(Department.code == "none")
    assert search.query(session, KIND, "宽带提速", within=nothing).total == 0


def test_and_first_then_or_ranked_by_terms_found(session, docs):
    both = docs("宽带欠费停机后复机", "缴清欠费后宽带自动复机")
    broadband = docs("宽带网速慢", "重启路由器")
    water = docs("水表漏水", "关闭总阀")
    assert ids(search.query(session, KIND, "宽带 复机")) == [both]
    page = search.query(session, KIND, "宽带 水表")  # no document has both
    assert page.mode == "any"
    assert set(ids(page)) == {both, broadband, water}
    assert search.query(session, KIND, "海事卫星 不存在的词").total == 0


def test_title_outranks_body(session, docs):
    in_body = docs("资费说明", "办理转托管需要携带身份证")
    in_title = docs("转托管办理流程", "请客户携带身份证到营业部")
    page = search.query(session, KIND, "转托管")
    assert ids(page) == [in_title, in_body]
    assert page.hits[0].score > page.hits[1].score


def test_highlight_is_escaped_html_with_marks(session, docs):
    docs("<script>机顶盒</script> E302 错误", "提示 E302 时 <b>重新插拔</b>智能卡并重启机顶盒。")
    hit = search.query(session, KIND, "机顶盒E302错误").hits[0]
    assert hit.title_html == (
        "&lt;script&gt;<mark>机顶盒</mark>&lt;/script&gt; <mark>E302</mark> <mark>错误</mark>"
    )
    assert "<mark>E302</mark>" in hit.snippet_html and "&lt;b&gt;重新插拔&lt;/b&gt;" in hit.snippet_html
    assert "<script>" not in hit.snippet_html


def test_full_width_and_mixed_input(session, docs):
    iptv = docs("IPTV黑屏的处理", "IPTV 机顶盒黑屏请重启")
    wide = docs("ＡＤＳＬ宽带２０２６年资费", "全角写法的文档")
    assert ids(search.query(session, KIND, "ＩＰＴＶ黑屏")) == [iptv]
    assert ids(search.query(session, KIND, "iptv 黑屏")) == [iptv]
    assert ids(search.query(session, KIND, "adsl 2026")) == [wide]
    assert search.query(session, KIND, "adsl").hits[0].title_html.startswith("<mark>ＡＤＳＬ</mark>")


def test_empty_or_punctuation_only_query(session, docs):
    docs("宽带", "宽带")
    assert search.query(session, KIND, "").total == 0
    assert search.query(session, KIND, "，。！？ ").hits == []


def test_paging_and_capped_total(session, docs, monkeypatch):
    monkeypatch.setattr(engine, "POOL", 5)
    monkeypatch.setattr(engine, "TITLE_POOL", 3)
    for i in range(12):  # a term in most documents carries no weight in bm25: keep it a minority
        docs(f"水表问题{i}", "抄表员上门")
    made = [docs(f"资费说明第{i}号", "流量套餐说明") for i in range(8)]
    old_title = docs("停机保号", "不含关键词的正文")  # newest; matches only by the title below
    search.index(session, KIND, made[0], title="流量套餐 流量套餐 标题", body="旧文章")
    first = search.query(session, KIND, "流量套餐", limit=3)
    assert not first.exact and first.total >= 5
    # The oldest document is outside the newest-five pool but found through the title index.
    assert made[0] in ids(first)
    second = search.query(session, KIND, "流量套餐", limit=3, offset=3)
    assert not set(ids(first)) & set(ids(second))
    assert old_title not in ids(first) + ids(second)
    small = search.query(session, KIND, "停机保号")
    assert small.exact and small.total == 1


def test_reindex_from_the_registered_loader(session, docs):
    a = docs("旧标题", "旧正文")
    b = docs("要删除的", "正文")
    rows = {a: ("海事卫星销户", "办理海事卫星销户需提供资料", "销户")}
    search.register_kind(KIND, lambda s: [(ref, *text) for ref, text in rows.items()])
    try:
        assert search.reindex(session, KIND) == 1
    finally:
        engine._LOADERS.pop(KIND, None)
    assert ids(search.query(session, KIND, "海事卫星 销户")) == [a]
    assert ids(search.query(session, KIND, "要删除")) == []
    assert session.scalar(select(SearchDocument.id).where(SearchDocument.ref_id == b)) is None


def test_segment_uses_the_seeded_dictionary(session):
    search.invalidate()
    assert "欠费停机" in search.segment("宽带欠费停机了")
    assert search.query_terms("海事卫星电话无法登网") == ["海事卫星电话", "无法", "登网"]


def test_selective_within_still_finds_old_matches(session, docs, monkeypatch):
    monkeypatch.setattr(engine, "POOL", 3)
    old = [docs("宽带报装须知", "报装流程", code="keep") for _ in range(2)]
    for _ in range(10):
        docs("宽带报装说明", "报装资费", code="other")
    allowed = select(Department.id).where(Department.code.like("keep-%"))
    page = search.query(session, KIND, "宽带 报装", within=allowed)
    assert sorted(ids(page)) == sorted(old) and page.total == 2 and page.exact
    mixed = select(Department.id).where(Department.code.like("keep-%") | (Department.id == max(old) + 5))
    assert len(search.query(session, KIND, "宽带 报装", within=mixed).hits) == 3


def test_another_process_change_is_seen_after_the_check_interval(session, monkeypatch):
    """A change committed elsewhere (another app process) reaches this one through the version."""
    from kefu.core.search import dictionary_store
    from kefu.core.search import text as textmod
    from kefu.core.search.models import SearchWord

    monkeypatch.setattr(textmod, "CHECK_INTERVAL", 3600.0)
    assert search.query_terms("漏损") == ["漏", "损"]
    session.add(SearchWord(word="漏损", pos="", enabled=True, note=""))
    dictionary_store.bump(session)
    session.flush()
    assert textmod.current(session).query_terms("漏损") == ["漏", "损"]  # not due yet: no reload
    monkeypatch.setattr(textmod, "CHECK_INTERVAL", 0.0)
    assert textmod.current(session).query_terms("漏损") == ["漏损"]
