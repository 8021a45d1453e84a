"""The proactive-service pages: create a batch in the browser form, see its preview, start it and watch
the progress reach done; bad input shows the form again with the messages; a list file is uploaded."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from kefu.messaging.models import Batch
from tests.api.messaging.test_batches import FEE_BODY, LIST_BODY, RUNNER, _dnd, _template, customer
from tests.support import browser_login


def _setup(msg, session):
    msg.configure("sms", implementation="log")
    fee = _template(msg, "fee_notice", "fee_notice", FEE_BODY)
    reminder = _template(msg, "reminder", "payment_reminder", LIST_BODY)
    runner = msg.factory.user(RUNNER, department=msg.south)
    csrf = browser_login(msg.client, runner.username)
    return fee, reminder, csrf


def _form(csrf: str, **values: object) -> dict[str, object]:
    return {
        "csrf_token": csrf,
        "name": "11月费用通知",
        "kind": "fee_notice",
        "channel": "sms",
        "template_id": "",
        "business_category_id": "",
        "mode": "filter",
        "statuses": ["active"],
        "tiers": ["gold"],
        "variables.period": "2026年11月",
        "variables.amount": "128.50",
        "variables.due_date": "2026-11-30",
        **values,
    }


def test_create_preview_start_and_watch_the_progress_reach_done(msg, session):
    fee, _reminder, csrf = _setup(msg, session)
    client = msg.client
    customer(session, "王一", "KHA", mobile="13900000001")
    customer(session, "王二", "KHB", mobile="13900000002")
    customer(session, "王三", "KHC")
    _dnd(msg, "13900000002", msg.fees, reason="客户拒收费用短信")

    listing = client.get("/messaging/batches")
    assert listing.status_code == 200 and 'id="new-batch"' in listing.text
    assert 'href="/messaging/batches"' in listing.text  # the menu entry
    form = client.get("/messaging/batches/new")
    assert form.status_code == 200 and 'id="batch-form"' in form.text and "fee_notice" in form.text

    before = session.scalar(select(func.count()).select_from(Batch))
    bad = client.post(
        "/messaging/batches", data=_form(csrf, name="", template_id=str(fee), **{"variables.amount": ""})
    )
    assert bad.status_code == 422
    assert 'data-error-for="name"' in bad.text and 'data-error-for="variables.amount"' not in bad.text
    bad = client.post(
        "/messaging/batches", data=_form(csrf, template_id=str(fee), **{"variables.amount": ""})
    )
    assert bad.status_code == 422 and 'data-error-for="variables.amount"' in bad.text
    assert 'value="2026年11月"' in bad.text  # what was typed is kept
    assert session.scalar(select(func.count()).select_from(Batch)) == before

    created = client.post(
        "/messaging/batches", data=_form(csrf, template_id=str(fee)), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    batch_id = int(url.rsplit("/", 1)[1])
    page = client.get(url)
    assert page.status_code == 200 and 'id="batch-preview"' in page.text
    count = re.search(r'id="batch-preview-count">([^<]*)<', page.text).group(1)
    assert "3" in count
    assert "尊敬的王一：您2026年11月的费用为128.50元" in page.text and "客户拒收费用短信" in page.text

    started = client.post(f"{url}/start", data={"csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303
    progress = client.get(f"{url}/progress", headers={"HX-Request": "true"})
    assert progress.status_code == 200 and 'data-status="done"' in progress.text
    assert 'data-count="sent">1<' in progress.text and 'data-count="skipped">2<' in progress.text
    assert 'data-skip="dnd">1<' in progress.text and 'data-skip="no_address">1<' in progress.text
    assert 'id="batch-percent">100%<' in progress.text and "hx-trigger" not in progress.text
    assert progress.headers.get("hx-refresh") == "true"  # the last poll reloads the page with the results
    done = client.get(url)
    assert (
        done.status_code == 200
        and 'id="batch-results"' in done.text
        and done.text.count("data-message=") == 3
    )
    skipped = client.get(f"{url}?status=skipped&skip_reason=dnd")
    assert skipped.text.count("data-message=") == 1
    again = client.post(f"{url}/start", data={"csrf_token": csrf})
    assert again.status_code == 409 and 'id="batch-errors"' in again.text
    assert f'data-batch="{batch_id}"' in client.get("/messaging/batches").text


def test_a_running_batch_polls_its_progress(msg, session, sms_gateway):
    _fee, reminder, csrf = _setup(msg, session)
    msg.configure("sms", implementation="http", http_url=sms_gateway.url, max_attempts=5)
    sms_gateway.answers = [(503, {})] * 5
    data = _form(
        csrf,
        name="催缴",
        kind="payment_reminder",
        template_id=str(reminder),
        mode="list",
        **{"variables.amount": "", "variables.period": ""},
    )
    files = {
        "list_file": ("list.csv", "to,amount,account_no\n13900000011,1,ZH1\n".encode("gb18030"), "text/csv")
    }
    created = msg.client.post("/messaging/batches", data=data, files=files, follow_redirects=False)
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    msg.client.post(f"{url}/start", data={"csrf_token": csrf})
    progress = msg.client.get(f"{url}/progress", headers={"HX-Request": "true"})
    assert 'data-status="running"' in progress.text and 'hx-trigger="every 2s"' in progress.text
    assert 'data-count="queued">1<' in progress.text and "hx-refresh" not in progress.headers
    cancelled = msg.client.post(f"{url}/cancel", data={"csrf_token": csrf}, follow_redirects=False)
    assert cancelled.status_code == 303
    assert 'data-status="cancelled"' in msg.client.get(f"{url}/progress").text


def test_a_list_file_with_a_bad_line_is_shown_again_with_the_line(msg, session):
    _fee, reminder, csrf = _setup(msg, session)
    data = _form(
        csrf, kind="payment_reminder", template_id=str(reminder), mode="list", **{"variables.amount": ""}
    )
    text = "to,amount,account_no\n13900000011,1,ZH1\n13900000012,,ZH2\n"
    files = {"list_file": ("list.csv", ("\ufeff" + text).encode("utf-8"), "text/csv")}
    r = msg.client.post("/messaging/batches", data=data, files=files)
    assert r.status_code == 422 and 'id="list-errors"' in r.text
    assert "第 3 行：缺少 amount 的值" in r.text
    pasted = msg.client.post(
        "/messaging/batches", data={**data, "list": text.replace(",,", ",5,")}, follow_redirects=False
    )
    assert pasted.status_code == 303


def test_the_pages_need_the_rights(msg, session):
    viewer = msg.factory.user(["messaging.batch.view"])
    browser_login(msg.client, viewer.username)
    assert msg.client.get("/messaging/batches").status_code == 200
    assert 'id="new-batch"' not in msg.client.get("/messaging/batches").text
    assert msg.client.get("/messaging/batches/new").status_code == 403
    nobody = msg.factory.user([])
    msg.client.cookies.clear()
    browser_login(msg.client, nobody.username)
    assert msg.client.get("/messaging/batches").status_code == 403
