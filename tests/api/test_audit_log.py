"""Audit log (ORG-5): search, keyset pages, export, append-only storage, pages and permissions."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, event, select, text, update
from sqlalchemy.exc import DBAPIError

from kefu.audit import ddl
from kefu.audit.models import AuditLog
from kefu.org.config import parameters
from tests.support import browser_login

_seq = itertools.count(1)
T0 = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 on 1 March in Asia/Shanghai


@pytest.fixture(scope="session", autouse=True)
def append_only(engine):
    """The triggers the migration installs; installed here only while the migration lacks them."""
    with engine.begin() as conn:
        if not ddl.has_append_only(conn):
            ddl.install_append_only(conn)


def entry(session, **kw) -> AuditLog:
    kw.setdefault("action", f"test.action{next(_seq)}")
    kw.setdefault("at", T0)
    row = AuditLog(**kw)
    session.add(row)
    session.flush()
    return row


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_search_filters_newest_first(client, factory, session):
    viewer = factory.token_login(factory.user(["audit.log.view"]))
    alice = factory.user(username="alice_audit")
    a = entry(
        session,
        action="test.create",
        actor_id=alice.id,
        actor_name=f"{alice.name} (alice_audit)",
        function="admin.users",
        target_type="app_user",
        target_id="7",
        target_label="王小明",
        client_ip="10.0.0.7",
        summary="Created the account",
        correlation_id="c0ffee",
    )
    b = entry(session, action="test.create", actor_name="Bob (bob)", summary="Imported 100% of the list")
    c = entry(session, action="test.delete", actor_name="Bob (bob)", client_ip="10.0.0.70")

    def search(**params):
        return ids(client.get("/api/v1/audit/log", params=params, headers=viewer.headers))

    assert search(action="test.create") == [b.id, a.id]
    assert search(actor_id=alice.id) == [a.id]
    assert search(actor="ALICE_aud") == [a.id]
    assert search(actor="bob") == [c.id, b.id]
    assert search(function="admin.users", action="test.create") == [a.id]
    assert search(target_type="app_user", target_id="7") == [a.id]
    assert search(client_ip="10.0.0.7") == [a.id]  # exact, not a prefix of 10.0.0.70
    assert search(q="小明") == [a.id]
    assert search(q="100%") == [b.id]  # % is literal
    assert search(q="10_%") == []
    assert search(correlation_id="c0ffee") == [a.id]
    item = client.get("/api/v1/audit/log", params={"actor_id": alice.id}, headers=viewer.headers).json()
    assert item["items"][0]["target_label"] == "王小明"
    assert item["total"] is None


def test_time_range_is_local_and_inclusive(client, factory, session):
    viewer = factory.token_login(factory.user(["audit.log.view"]))
    late = entry(session, action="test.range", at=T0)  # 2026-03-01 23:30 local
    early_next = entry(session, action="test.range", at=T0 + timedelta(hours=1))  # 2026-03-02 00:30 local

    def search(**params):
        return ids(
            client.get("/api/v1/audit/log", params={"action": "test.range", **params}, headers=viewer.headers)
        )

    assert search(since="2026-03-02") == [early_next.id]
    assert search(until="2026-03-01") == [late.id]
    assert search(since="2026-03-01", until="2026-03-01") == [late.id]
    assert search(until="2026-03-01 23:30") == [late.id]  # the whole minute named
    assert search(until="2026-03-01 23:29") == []
    assert search(since="2026-03-01T23:31") == [early_next.id]
    assert search(since="2026-03-01T16:00:00+00:00") == [early_next.id]  # an explicit offset is honoured


def test_bad_dates_are_422_naming_the_field(client, factory):
    viewer = factory.token_login(factory.user(["audit.log.view", "audit.log.export"]))
    r = client.get("/api/v1/audit/log", params={"since": "2026-13-01"}, headers=viewer.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "since"]
    assert "YYYY-MM-DD" in r.json()["detail"][0]["msg"]
    r = client.get(
        "/api/v1/audit/log", params={"since": "2026-03-02", "until": "2026-03-01"}, headers=viewer.headers
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "until"]
    r = client.get("/api/v1/audit/log/export", params={"until": "yesterday"}, headers=viewer.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "until"]


def test_permissions_are_enforced(client, factory, session):
    row = entry(session)
    nobody = factory.token_login(factory.user(["notices.messages.send"]))
    viewer = factory.token_login(factory.user(["audit.log.view"]))
    for url in ("/api/v1/audit/log", f"/api/v1/audit/log/{row.id}", "/api/v1/audit/log/export"):
        assert client.get(url, headers=nobody.headers).status_code == 403, url
    assert client.get(f"/api/v1/audit/log/{row.id}", headers=viewer.headers).status_code == 200
    assert client.get("/api/v1/audit/log/999999999", headers=viewer.headers).status_code == 404
    assert client.get("/api/v1/audit/log/export", headers=viewer.headers).status_code == 403
    assert client.get("/api/v1/audit/log").status_code == 401


def test_keyset_pages_and_total(client, factory, session):
    viewer = factory.token_login(factory.user(["audit.log.view"]))
    made = [entry(session, action="test.page", at=T0 + timedelta(minutes=i)).id for i in range(7)]
    seen, before, pages = [], None, 0
    while True:
        params = {"action": "test.page", "limit": 3, "with_total": True}
        if before is not None:
            params["before_id"] = before
        body = client.get("/api/v1/audit/log", params=params, headers=viewer.headers).json()
        assert body["total"] == 7
        seen += [i["id"] for i in body["items"]]
        pages += 1
        before = body["next_before_id"]
        if before is None:
            break
    assert seen == sorted(made, reverse=True)
    assert pages == 3
    r = client.get("/api/v1/audit/log", params={"limit": 501}, headers=viewer.headers)
    assert r.status_code == 422


def test_search_query_count_does_not_grow_with_rows(client, factory, session, engine):
    viewer = factory.token_login(factory.user(["audit.log.view"]))
    for _ in range(3):
        entry(session, action="test.few")
    for _ in range(30):
        entry(session, action="test.many")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def run(action: str) -> int:
        statements.clear()
        assert (
            client.get("/api/v1/audit/log", params={"action": action}, headers=viewer.headers).status_code
            == 200
        )
        return len(statements)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run("test.few")  # warm-up
        few, many = run("test.few"), run("test.many")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert few == many
    assert sum("audit_log" in s for s in statements) == 1


def test_export_csv_is_excel_ready_and_audited(client, factory, session):
    user = factory.user(["audit.log.view", "audit.log.export"])
    exporter = factory.token_login(user)
    row = entry(
        session,
        action="test.export",
        actor_name="张三 (zhangsan)",
        summary='=HYPERLINK("http://evil")',
        target_label="工单 TS-1",
        before={"status": "新建"},
        after={"status": "已办结", "n": 2},
    )
    r = client.get("/api/v1/audit/log/export", params={"action": "test.export"}, headers=exporter.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["编号", "时间 (Asia/Shanghai)", "操作人"]
    assert len(table) == 2
    line = table[1]
    assert line[0] == str(row.id)
    assert line[1] == "2026-03-01 23:30:00"
    assert line[2] == "张三 (zhangsan)"
    assert line[9] == "工单 TS-1"
    assert line[10] == '\'=HYPERLINK("http://evil")'  # no formula
    assert line[11] == '{"status":"新建"}'
    assert line[12] == '{"n":2,"status":"已办结"}'
    audited = session.scalars(select(AuditLog).where(AuditLog.action == "audit.export")).all()
    assert len(audited) == 1
    assert audited[0].actor_id == user.id
    assert "test.export" in audited[0].summary and "CSV" in audited[0].summary
    assert audited[0].after["rows"] == 1
    # An export never contains its own record: only the earlier export shows up here.
    again = client.get("/api/v1/audit/log/export", params={"function": "audit.log"}, headers=exporter.headers)
    lines = list(csv.reader(io.StringIO(again.content.decode("utf-8-sig"))))
    assert [x[0] for x in lines[1:]] == [str(audited[0].id)]


def test_export_xlsx(client, factory, session):
    exporter = factory.token_login(factory.user(["audit.log.export"]))
    entry(session, action="test.xlsx", summary="=1+1", before={"a": 1})
    entry(session, action="test.xlsx", summary="second")
    r = client.get(
        "/api/v1/audit/log/export", params={"action": "test.xlsx", "format": "xlsx"}, headers=exporter.headers
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][2] == "操作人"
    assert [x[10] for x in rows[1:]] == ["second", "=1+1"]  # newest first; text stays text
    assert rows[2][1] == datetime(2026, 3, 1, 23, 30)
    assert rows[2][11] == '{"a":1}'
    assert (
        client.get("/api/v1/audit/log/export", params={"format": "pdf"}, headers=exporter.headers).status_code
        == 422
    )


def test_export_is_capped(client, factory, session):
    exporter = factory.token_login(factory.user(["audit.log.export"]))
    admin = factory.actor(factory.user(["admin.parameters.edit"]))
    parameters.set_value(session, key="audit.export_max_rows", raw=100, actor=admin)
    session.add_all(AuditLog(action="test.cap", at=T0) for _ in range(101))
    session.flush()
    r = client.get("/api/v1/audit/log/export", params={"action": "test.cap"}, headers=exporter.headers)
    assert r.status_code == 422
    assert r.json()["code"] == "export_too_large"
    assert "101" in r.json()["detail"] and "100" in r.json()["detail"]
    assert session.scalar(select(AuditLog.id).where(AuditLog.action == "audit.export")) is None
    ok = client.get(
        "/api/v1/audit/log/export",
        params={"action": "test.cap", "since": "2099-01-01"},
        headers=exporter.headers,
    )
    assert ok.status_code == 200


def _refused(session, statement_or_change) -> str:
    with pytest.raises(DBAPIError) as info, session.begin_nested():
        if callable(statement_or_change):
            statement_or_change()
            session.flush()
        else:
            session.execute(statement_or_change)
    return str(info.value)


def test_audit_rows_cannot_be_changed_or_deleted(session, factory):
    row = entry(session, action="test.immutable", summary="original")
    assert "append-only" in _refused(
        session, update(AuditLog).where(AuditLog.id == row.id).values(summary="x")
    )
    assert "append-only" in _refused(session, delete(AuditLog).where(AuditLog.id == row.id))

    def orm_update() -> None:
        session.get(AuditLog, row.id).summary = "forged"

    def orm_delete() -> None:
        session.delete(session.get(AuditLog, row.id))

    assert "append-only" in _refused(session, orm_update)
    assert "append-only" in _refused(session, orm_delete)
    if session.get_bind().dialect.name == "postgresql":
        assert "append-only" in _refused(session, text("TRUNCATE audit_log"))
    session.expire_all()
    assert session.get(AuditLog, row.id).summary == "original"


def test_deleting_an_actor_keeps_their_records(session, factory):
    user = factory.user()
    row = entry(session, action="test.actor_gone", actor_id=user.id, actor_name="Gone (gone)")
    sneaky = update(AuditLog).where(AuditLog.id == row.id).values(actor_id=None, summary="rewritten")
    assert "append-only" in _refused(session, sneaky)
    session.delete(user)
    session.flush()
    session.expire_all()
    kept = session.get(AuditLog, row.id)
    assert kept.actor_id is None
    assert kept.actor_name == "Gone (gone)"


def test_trigger_guards_every_column():
    columns = {c.name for c in AuditLog.__table__.columns}
    assert set(ddl.SQLITE_GUARDED_COLUMNS) == columns - {"actor_id"}


def test_audit_page_filters_with_htmx_and_exports(client, factory, session):
    user = factory.user(["audit.log.view", "audit.log.export"])
    browser_login(client, user.username)
    entry(session, action="test.page_view", summary="看得见的摘要", before={"a": 1}, after={"a": 2})
    entry(session, action="test.other", summary="另一条")
    page = client.get("/audit", params={"action": "test.page_view"})
    assert page.status_code == 200
    assert "看得见的摘要" in page.text and "另一条" not in page.text
    assert 'id="export-csv"' in page.text and "操作日志" in page.text
    partial = client.get(
        "/audit", params={"action": "test.other"}, headers={"HX-Request": "true", "HX-Target": "audit-panel"}
    )
    assert partial.status_code == 200
    assert "<html" not in partial.text and "另一条" in partial.text
    bad = client.get("/audit", params={"since": "2026-02-30"})
    assert bad.status_code == 422
    assert "is-invalid" in bad.text and "YYYY-MM-DD" in bad.text
    counted = client.get("/audit", params={"action": "test.page_view", "with_total": "true"})
    assert "共 1 条记录" in counted.text
    download = client.get("/audit/export", params={"action": "test.page_view", "format": "csv"})
    assert download.status_code == 200
    assert "看得见的摘要" in download.content.decode("utf-8-sig")


def test_audit_page_needs_permission(client, factory):
    viewer = factory.user(["audit.log.view"])
    browser_login(client, viewer.username)
    page = client.get("/audit")
    assert page.status_code == 200
    assert 'href="/audit"' in page.text  # menu entry
    assert 'id="export-csv"' not in page.text
    assert client.get("/audit/export").status_code == 403
    client.cookies.clear()
    other = factory.user(["notices.messages.send"])
    browser_login(client, other.username)
    home = client.get("/")
    assert 'data-nav="/audit"' not in home.text
    assert client.get("/audit").status_code == 403


def test_every_audit_string_has_a_chinese_translation():
    from pathlib import Path

    from babel.messages.extract import extract_from_file

    from kefu.audit import export, query
    from kefu.core import i18n
    from kefu.web import nav

    templates = Path(export.__file__).parent / "templates"
    msgids = {label for _, label in export.AUDIT_COLUMNS}
    msgids |= {query.BAD_TIME, "The end must be after the start", export.ExportTooLarge(1, 1).message}
    msgids |= {item.label for item in nav.ITEMS if item.section == "audit"}
    msgids.add(export.EXPORT_MAX_ROWS.label)
    for path in templates.glob("*.html"):
        found = extract_from_file("jinja2.ext:babel_extract", str(path), options={"newstyle_gettext": "true"})
        msgids |= {m[1] if isinstance(m[1], str) else m[1][0] for m in found}
    catalog = i18n.translations("zh_CN")
    assert len(msgids) > 50
    missing = sorted(m for m in msgids if catalog.gettext(m) == m)
    assert missing == []
