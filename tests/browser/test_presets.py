"""Each industry preset in a real browser (NFR-4): `kefu preset load NAME` loads it into a database
that holds nothing of that industry (the first into an empty one); the demo agent registers the
industry's typical ticket through the registration form, filling the industry's own fields, and the
people the preset names walk it to closed through the ticket page — dispatch, accept, reply,
complete, review, close, as that industry's flow requires."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from kefu.presets import files
from kefu.presets.schema import Preset, StepSpec
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.live import server

NAMES = ["satellite", "cabletv", "water", "mobile", "securities"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A server on an empty database (migrated, nothing else); each test loads its preset into it."""
    data = tmp_path_factory.mktemp("presets")
    env = {
        "KEFU_DATA_DIR": str(data / "var"),
        "KEFU_SECRET_KEY": "browser-tests",
        "KEFU_DATABASE_URL": "",
        "KEFU_REDIS_URL": "",
    }
    _kefu(env, "migrate")
    with server(env, log=data / "server.log") as url:
        yield url, env


def _kefu(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kefu.cli", *args], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def _choose(page: Any, select: str, label: str) -> None:
    """Pick an option that reloads the registration form over htmx and wait until the new form has
    settled (only then are its controls bound)."""
    page.evaluate(
        """() => {
            window.__form = document.getElementById('register-form');
            window.__settled = false;
            const settled = () => { window.__settled = true; };
            document.body.addEventListener('htmx:afterSettle', settled, {once: true});
        }"""
    )
    page.select_option(select, label=label)
    page.wait_for_function("() => !document.body.contains(window.__form) && window.__settled")


def _fill_fields(page: Any, preset: Preset, form_code: str, values: dict[str, Any]) -> None:
    """The industry's form elements, each through the control its type renders as."""
    form = next(f for f in preset.forms if f.code == form_code)
    for element in form.elements:
        code, kind = element["code"], element["type"]
        if code not in values:
            continue
        value, control = values[code], f"#f-fields-{code}"
        if kind == "choice":
            page.select_option(control, str(value))
        elif kind == "multichoice":
            for item in value:
                page.check(f"{control} input[value='{item}']")
        elif kind == "bool":
            page.set_checked(control, bool(value))
        else:
            page.fill(control, str(value))


def _person_label(preset: Preset, username: str) -> str:
    user = next(u for u in preset.users if u.username == username)
    department = next(d.name for d in preset.departments if d.code == user.department)
    return f"{user.name}（{department}）"


def _take_step(page: Any, preset: Preset, step: StepSpec) -> None:
    """One step on the ticket page; returns when the page shows the ticket after it."""
    detail = page.locator("#ticket-detail")
    version = detail.get_attribute("data-version")
    actions = page.locator("#ticket-actions")
    if step.action == "accept":
        actions.locator("[data-action='accept']").first.click()
    else:
        actions.locator(f"button[data-action='{step.action}']").first.click()
        form = actions.locator(f"form[data-action-form='{step.action}']").first
        form.wait_for(state="visible")
        if step.action == "complete":
            form.locator("select[name='state']").select_option(step.state)
        if step.action == "dispatch":
            form.locator("select[name='user_id']").select_option(label=_person_label(preset, step.to))
        if step.comment:
            form.locator("textarea[name='comment']").fill(step.comment)
        form.locator("button[type='submit']").click()
    page.locator(f"#ticket-detail:not([data-version='{version}'])").wait_for()
    page.locator("#ticket-notice").wait_for()


@pytest.mark.parametrize("name", NAMES)
def test_typical_ticket_of_the_industry_end_to_end(browser, site, name):
    base, env = site
    # `kefu preset load` as an administrator would run it (the first one also creates the demo
    # organisation): the database holds nothing of this industry before.
    _kefu(env, "preset", "load", name)
    preset = files.read(name)
    spec = preset.typical
    ticket_type = next(t for t in preset.types if t.code == spec.type)
    case = next(c for c in preset.cases if c.code == spec.case)
    customer = next(c for c in preset.customers if c.code == spec.customer)
    pages: dict[str, Any] = {}

    def page_of(username: str) -> Any:
        if username not in pages:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
            pages[username] = context.new_page()
            sign_in(pages[username], base, username)
        return pages[username]

    try:
        # The demo agent registers the typical ticket from its case template, with the industry's fields.
        agent = page_of(spec.registrar)
        agent.goto(base + "/tickets/new")
        _choose(agent, "#f-type_id", ticket_type.name)
        _choose(agent, "#f-case_template_id", case.name)
        agent.wait_for_function(
            "subject => document.getElementById('f-subject').value === subject", arg=case.subject
        )
        agent.select_option("#f-channel", spec.channel)
        agent.fill("#f-customer_name", customer.name)
        agent.fill("#f-customer_phone", customer.phones[0])
        _fill_fields(agent, preset, ticket_type.form, spec.fields)
        agent.click("#register-submit")
        agent.wait_for_url(re.compile(r".*/tickets/\d+$"))
        ticket_url = agent.url
        serial = agent.locator("#ticket-title code").inner_text()
        assert serial.startswith(ticket_type.prefix + "-"), serial
        assert customer.name in agent.locator("#ticket-facts").inner_text()
        labels = set(agent.locator("#ticket-fields dt").all_inner_texts())
        form = next(f for f in preset.forms if f.code == ticket_type.form)
        assert {e["label"] for e in form.elements if e["code"] in spec.fields} <= labels

        # Everyone the flow names takes their step on the ticket page.
        for step in spec.steps:
            page = page_of(step.user)
            page.goto(ticket_url)
            _take_step(page, preset, step)
            if step.comment:
                assert page.locator("#ticket-log", has_text=step.comment).count() == 1

        last = page_of(spec.steps[-1].user)
        last.locator("#ticket-detail[data-status='closed']").wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        last.screenshot(path=str(ARTIFACTS / f"preset-{name}-closed.png"), full_page=True)
    finally:
        for page in pages.values():
            page.context.close()
