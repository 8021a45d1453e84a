"""Error log (ORG-6): 500s are stored under the correlation id the user sees; admins list, read and
export them as one file for the vendor."""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu import __version__
from kefu.audit import service as audit
from kefu.audit.models import AuditLog, ErrorLog
from kefu.web.deps import CurrentActor, SessionDep
from tests.support import browser_login

_seq = itertools.count(1)
T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)  # 10:00 on 4 May in Asia/Shanghai


def _boom_write(session: SessionDep, actor: CurrentActor) -> None:
    audit.record(session, actor=actor, action="test.boom_write", summary="must not survive")
    session.flush()
    raise RuntimeError("boom in the API")


def _boom_page(actor: CurrentActor) -> None:
    raise ValueError("boom on a page")


@pytest.fixture
def boom_client(connection):
    """A fresh app (not the shared one) with two routes that fail."""
    from kefu.app import create_app
    from kefu.settings import Settings

    app: FastAPI = create_app(Settings(jobs_immediate=True), configure_database=False)
    app.add_api_route("/api/v1/test-boom", _boom_write, methods=["POST"])
    app.add_api_route("/test-boom-page", _boom_page, methods=["GET"])
    with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000)) as c:
        yield c


def error(session, **kw) -> ErrorLog:
    kw.setdefault("correlation_id", f"test{next(_seq):08d}")
    kw.setdefault("at", T0)
    kw.setdefault("traceback", "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n")
    row = ErrorLog(**kw)
    session.add(row)
    session.flush()
    return row


def test_api_500_is_logged_with_its_correlation_id_and_rolls_back(boom_client, factory, session):
    user = factory.user()
    login = factory.token_login(user)
    r = boom_client.post("/api/v1/test-boom", headers=login.headers)
    assert r.status_code == 500
    body = r.json()
    cid = body["correlation_id"]
    assert cid and r.headers["x-correlation-id"] == cid
    assert body["code"] == "server_error"
    assert "boom" not in r.text  # no internals leak to the client
    row = session.scalars(select(ErrorLog).where(ErrorLog.correlation_id == cid)).one()
    assert (row.method, row.path, row.user_id) == ("POST", "/api/v1/test-boom", user.id)
    assert row.exc_type == "builtins.RuntimeError"
    assert row.message == "boom in the API"
    assert "_boom_write" in row.traceback
    assert row.client_ip == "127.0.0.1"
    assert session.scalar(select(AuditLog.id).where(AuditLog.action == "test.boom_write")) is None


def test_page_500_shows_the_reference(boom_client, factory, session):
    user = factory.user()
    login = factory.token_login(user)
    r = boom_client.get("/test-boom-page", headers=login.headers)
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("text/html")
    cid = r.headers["x-correlation-id"]
    assert re.search(rf'id="correlation-id">{cid}<', r.text)
    row = session.scalars(select(ErrorLog).where(ErrorLog.correlation_id == cid)).one()
    assert (row.path, row.user_id, row.exc_type) == ("/test-boom-page", user.id, "builtins.ValueError")


def test_list_filters_pages_and_detail(client, factory, session):
    admin = factory.user(username="err_admin")
    viewer = factory.token_login(factory.user(["audit.errors.view"]))
    a = error(
        session,
        correlation_id="aaaa0001",
        path="/api/v1/tickets/9",
        exc_type="sqlalchemy.exc.IntegrityError",
        method="POST",
        user_id=admin.id,
        message="duplicate key",
    )
    b = error(
        session,
        correlation_id="aaaa0002",
        path="/admin/users",
        exc_type="builtins.KeyError",
        at=T0 + timedelta(days=1),
    )
    c = error(
        session,
        correlation_id="aaaa0003",
        path="/api/v1/tickets/10",
        exc_type="builtins.KeyError",
        at=T0 + timedelta(days=2),
    )

    def search(**params):
        r = client.get("/api/v1/audit/errors", params=params, headers=viewer.headers)
        assert r.status_code == 200, r.text
        return [i["correlation_id"] for i in r.json()["items"] if i["correlation_id"].startswith("aaaa")]

    assert search() == ["aaaa0003", "aaaa0002", "aaaa0001"]
    assert search(path="/tickets/") == ["aaaa0003", "aaaa0001"]
    assert search(exc_type="integrityerror") == ["aaaa0001"]
    assert search(correlation_id="aaaa0002") == ["aaaa0002"]
    assert search(since="2026-05-05", until="2026-05-05") == ["aaaa0002"]
    assert search(until="2026-05-04 10:00") == ["aaaa0001"]
    first = client.get(
        "/api/v1/audit/errors", params={"path": "/", "limit": 2, "with_total": True}, headers=viewer.headers
    ).json()
    assert [i["id"] for i in first["items"]] == [c.id, b.id]
    assert first["total"] >= 3
    assert "traceback" not in first["items"][0]
    rest = client.get(
        "/api/v1/audit/errors",
        params={"path": "/", "before_id": first["next_before_id"]},
        headers=viewer.headers,
    ).json()
    assert a.id in [i["id"] for i in rest["items"]]
    detail = client.get(f"/api/v1/audit/errors/{a.id}", headers=viewer.headers).json()
    assert detail["username"] == "err_admin"
    assert detail["traceback"].startswith("Traceback")
    assert client.get("/api/v1/audit/errors/999999999", headers=viewer.headers).status_code == 404
    bad = client.get("/api/v1/audit/errors", params={"until": "2026-05-32"}, headers=viewer.headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "until"]


def test_permissions_are_enforced(client, factory, session):
    row = error(session, correlation_id="perm0001")
    nobody = factory.token_login(factory.user(["audit.log.view"]))
    viewer = factory.token_login(factory.user(["audit.errors.view"]))
    exporter = factory.token_login(factory.user(["audit.errors.export"]))
    for url in ("/api/v1/audit/errors", f"/api/v1/audit/errors/{row.id}", "/api/v1/audit/errors/export"):
        assert client.get(url, headers=nobody.headers).status_code == 403, url
    assert client.get("/api/v1/audit/errors/export", headers=viewer.headers).status_code == 403
    assert client.get(f"/api/v1/audit/errors/{row.id}", headers=exporter.headers).status_code == 403
    assert client.get("/api/v1/audit/errors/export", headers=exporter.headers).status_code == 200


def test_export_is_one_zip_for_the_vendor_and_audited(client, factory, session):
    user = factory.user(["audit.errors.export"])
    exporter = factory.token_login(user)
    error(
        session, correlation_id="zip00001", path="/api/v1/x", exc_type="builtins.KeyError", message="缺少字段"
    )
    error(session, correlation_id="zip00002", path="/api/v1/x", at=T0 + timedelta(hours=1))
    error(session, correlation_id="zip00003", path="/elsewhere")
    r = client.get("/api/v1/audit/errors/export", params={"path": "/api/v1/x"}, headers=exporter.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].endswith('.zip"')
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(archive.namelist()) == ["README.txt", "errors.jsonl", "manifest.json"]
    lines = [json.loads(x) for x in archive.read("errors.jsonl").decode("utf-8").splitlines()]
    assert [x["correlation_id"] for x in lines] == ["zip00002", "zip00001"]
    assert lines[1]["message"] == "缺少字段"
    assert lines[1]["traceback"].startswith("Traceback")
    assert lines[1]["at_local"].startswith("2026-05-04T10:00:00+08:00")
    readme = archive.read("README.txt").decode("utf-8")
    assert f"kefu {__version__}" in readme and "Exported at:" in readme and "/api/v1/x" in readme
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["version"] == __version__ and manifest["rows"] == 2
    audited = session.scalars(select(AuditLog).where(AuditLog.action == "error_log.export")).one()
    assert audited.actor_id == user.id and "/api/v1/x" in audited.summary


def test_error_pages(client, factory, session):
    row = error(session, correlation_id="page0001", path="/api/v1/page-test", message="页面错误")
    user = factory.user(["audit.errors.view", "audit.errors.export", "audit.log.view"])
    browser_login(client, user.username)
    page = client.get("/audit/errors", params={"correlation_id": "page0001"})
    assert page.status_code == 200
    assert "page0001" in page.text and 'id="export-errors"' in page.text and "错误日志" in page.text
    partial = client.get(
        "/audit/errors",
        params={"path": "page-test"},
        headers={"HX-Request": "true", "HX-Target": "errors-panel"},
    )
    assert "<html" not in partial.text and "page0001" in partial.text
    assert client.get("/audit/errors", params={"since": "soon"}).status_code == 422
    detail = client.get(f"/audit/errors/{row.id}")
    assert detail.status_code == 200
    assert "KeyError: &#39;x&#39;" in detail.text and "页面错误" in detail.text
    assert 'href="/audit?correlation_id=page0001"' in detail.text
    assert client.get("/audit/errors/999999999").status_code == 404
    download = client.get("/audit/errors/export", params={"correlation_id": "page0001"})
    assert download.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(download.content)).read("errors.jsonl").count(b"\n") == 1


def test_error_pages_need_permission(client, factory, session):
    row = error(session, correlation_id="deny0001")
    user = factory.user(["audit.log.view"])
    browser_login(client, user.username)
    assert 'data-nav="/audit/errors"' not in client.get("/audit").text
    assert client.get("/audit/errors").status_code == 403
    assert client.get(f"/audit/errors/{row.id}").status_code == 403
    assert client.get("/audit/errors/export").status_code == 403
