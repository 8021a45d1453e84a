"""Business-system adapters (INT-2, CON-8) against a real local HTTP server: answers mapped to the
interfaces, timeouts, retries with backoff, the circuit breaker, configuration, and the demo system."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from kefu.core import clock
from kefu.customers.adapters import registry
from kefu.customers.adapters.base import CustomerRef, SourceError, SourceKind
from kefu.customers.adapters.breaker import CircuitBreaker, State
from kefu.customers.adapters.demo import DemoSource
from kefu.customers.adapters.http import HttpConfig, HttpSource
from tests.api.customers import fake_business_system
from tests.api.customers.conftest import errors_of

REF = CustomerRef(
    id=7, code="KH 00000007", name="张三", service_numbers=("13800138000",), subscriber_kinds=("mobile",)
)


@pytest.fixture(scope="module")
def fake():
    with fake_business_system.running() as system:
        yield system


@pytest.fixture(autouse=True)
def _fresh(fake):
    fake.reset("ok", body=fake_business_system.BILLING)
    registry.reset_breakers()


def _source(
    fake,
    *,
    timeout=1.0,
    retries=0,
    threshold=3,
    cooldown=60.0,
    now=time.monotonic,
    path="/customers/{customer_code}/billing",
):
    config = HttpConfig(
        base_url=fake.url,
        path=path,
        timeout=timeout,
        retries=retries,
        auth_header="X-Api-Key",
        auth_value="s3cret",
    )
    waits: list[float] = []
    source = HttpSource(
        SourceKind.BILLING,
        config,
        CircuitBreaker(threshold=threshold, cooldown=cooldown, now=now),
        sleep=waits.append,
    )
    return source, waits


def test_answers_are_mapped_to_the_interface(fake):
    source, _ = _source(fake)
    billing = source.billing(REF)
    assert billing.arrears == Decimal("88.00") and billing.bills[0].outstanding == Decimal("88.00")
    assert billing.last_payment.channel == "微信支付" and billing.next_due_date == date(2026, 12, 20)
    path, headers = fake.requests[0]
    assert path == "/customers/KH%2000000007/billing"  # placeholders are quoted
    assert headers["X-Api-Key"] == "s3cret"
    fake.reset("missing")
    assert source.billing(REF).bills == []  # not known there: empty, not an error


def test_a_slow_system_times_out(fake):
    fake.reset("slow", delay=1.5)
    source, _ = _source(fake, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(SourceError) as exc:
        source.billing(REF)
    assert exc.value.reason == "timeout" and time.monotonic() - started < 1.2


def test_passing_failures_are_retried_with_backoff(fake):
    fake.reset("flaky", fail_first=2)
    source, waits = _source(fake, retries=2)
    assert source.billing(REF).arrears == Decimal("88.00")
    assert len(fake.requests) == 3 and waits == [0.1, 0.2]
    fake.reset("flaky", fail_first=5)
    with pytest.raises(SourceError) as exc:
        source.billing(REF)
    assert exc.value.reason == "unavailable" and len(fake.requests) == 3


def test_an_unreadable_answer_is_an_error(fake):
    fake.reset("garbage")
    source, _ = _source(fake)
    with pytest.raises(SourceError) as exc:
        source.billing(REF)
    assert exc.value.reason == "bad_response"
    fake.reset("ok", body={"balance": "not money"})
    with pytest.raises(SourceError) as exc:
        source.billing(REF)
    assert exc.value.reason == "bad_response"


def test_the_circuit_opens_after_failures_and_half_opens_after_the_cool_down(fake):
    now = [1000.0]
    fake.reset("fail")
    source, _ = _source(fake, threshold=3, cooldown=30, now=lambda: now[0])
    for _ in range(3):
        with pytest.raises(SourceError):
            source.billing(REF)
    assert source.breaker.state is State.OPEN and len(fake.requests) == 3
    with pytest.raises(SourceError) as exc:
        source.billing(REF)
    assert exc.value.reason == "circuit_open" and len(fake.requests) == 3  # nothing sent
    now[0] += 31
    assert source.breaker.state is State.HALF_OPEN
    with pytest.raises(SourceError):
        source.billing(REF)  # the trial fails: open again at once
    assert source.breaker.state is State.OPEN and len(fake.requests) == 4
    now[0] += 31
    fake.reset("ok")
    assert source.billing(REF).arrears == Decimal("88.00")  # the trial succeeds: closed
    assert source.breaker.state is State.CLOSED


def test_half_open_lets_one_trial_through():
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, cooldown=5, now=lambda: now[0])
    breaker.failure()
    assert not breaker.allow()
    now[0] = 6
    assert breaker.allow() and not breaker.allow()  # the second caller waits for the trial's outcome
    breaker.success()
    assert breaker.allow() and breaker.state is State.CLOSED


def test_demo_answers_are_deterministic_and_realistic():
    water = CustomerRef(
        id=1, code="KH00000001", name="王五", service_numbers=("3301008812",), subscriber_kinds=("water",)
    )
    with clock.freeze(datetime(2026, 11, 22, 2, tzinfo=UTC)):
        demo = DemoSource()
        first, again = demo.billing(water), demo.billing(water)
        readings = demo.readings(water)
        assert demo.readings(REF) == []  # no water meter
    assert first == again and len(first.bills) == 6
    assert first.arrears == sum((b.outstanding for b in first.bills), Decimal(0))
    assert len(readings) == 6 and all(r.consumption > 0 for r in readings)
    assert readings[0].reading - readings[1].reading == readings[0].consumption


def test_configuration_over_http(crm, fake):
    r = crm.call(
        "PUT",
        "/business-systems/billing",
        crm.config,
        {
            "implementation": "http",
            "base_url": "ftp://x",
            "path": "billing/{who}",
            "timeout_seconds": 0,
            "retries": 9,
        },
        expect=422,
    )
    assert set(errors_of(r)) == {"base_url", "path", "timeout_seconds", "retries"}
    ok = crm.call(
        "PUT",
        "/business-systems/billing",
        crm.config,
        {
            "implementation": "http",
            "base_url": fake.url,
            "path": "/customers/{customer_code}/billing",
            "timeout_seconds": 1,
            "retries": 0,
            "auth_value": "s3cret",
        },
    )
    assert ok["auth_value_set"] and "s3cret" not in str(ok) and ok["circuit"] == "closed"
    listed = {s["kind"]: s for s in crm.call("GET", "/business-systems", crm.config)}
    assert listed["billing"]["implementation"] == "http" and listed["meter"]["implementation"] == "off"
    probe = crm.call("POST", "/business-systems/billing/probe", crm.config)
    assert probe["ok"] and fake.requests[-1][1]["Authorization"] == "s3cret"
    fake.reset("fail")
    assert not crm.call("POST", "/business-systems/billing/probe", crm.config)["ok"]
    crm.call("PUT", "/business-systems/billing", crm.officer, {"implementation": "off"}, expect=403)
    crm.call("PUT", "/business-systems/nonsense", crm.config, {"implementation": "off"}, expect=404)
