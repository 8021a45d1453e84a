"""`kefu simulate`: the planned traffic (pure), and runs against a real kefu server process on a
database of its own (the demo organisation), checked in the database afterwards."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from kefu.callcenter import simulate_cli, traffic
from kefu.callcenter.models import Agent, AgentStateSpan, Call, CallQueue
from kefu.callcenter.simulation import Exponential, LogNormal
from kefu.cli import app as cli_app
from kefu.customers.contacts.models import ContactRecord
from kefu.customers.models import CustomerPhone
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.org.models import ApiToken, User
from tests.live import server

# --- the plan ------------------------------------------------------------------------------------


def _plan(seed: int = 7, **kw: object) -> list[traffic.PlannedCall]:
    args: dict = {
        "rate_per_hour": 360.0,
        "duration_seconds": 3600.0,
        "handling": Exponential(120.0),
        "patience": Exponential(40.0),
        "seed": seed,
    }
    args.update(kw)
    return traffic.plan(**args)


def test_poisson_arrivals_count_and_gaps():
    counts = [len(_plan(seed)) for seed in range(40)]
    # 360 calls per hour over an hour: mean 360, standard deviation 19.
    assert 345 <= statistics.mean(counts) <= 375
    calls = _plan(3)
    gaps = [b.arrival - a.arrival for a, b in itertools.pairwise(calls)]
    assert 8.5 <= statistics.mean(gaps) <= 11.5  # 3600 / 360 = 10 s
    assert all(0 <= c.arrival < 3600 for c in calls)
    assert [c.index for c in calls] == list(range(len(calls)))


def test_same_seed_same_calls_and_rate_keeps_callers():
    assert _plan(11) == _plan(11)
    assert _plan(11) != _plan(12)
    slow, fast = _plan(11, rate_per_hour=100.0), _plan(11, rate_per_hour=200.0)
    # Independent streams: the callers' numbers and handling times do not depend on the rate.
    assert [c.from_number for c in slow[:20]] == [c.from_number for c in fast[:20]]
    assert [c.handling for c in slow[:20]] == [c.handling for c in fast[:20]]


def test_handling_and_patience_sampling():
    calls = _plan(5, duration_seconds=36000.0)
    assert 110 <= statistics.mean(c.handling for c in calls) <= 130
    assert 36 <= statistics.mean(c.patience for c in calls) <= 44  # type: ignore[misc]
    assert all(c.handling >= 1 for c in calls)
    lognormal = _plan(5, duration_seconds=36000.0, handling=LogNormal(120.0, 30.0))
    values = [c.handling for c in lognormal]
    assert 115 <= statistics.mean(values) <= 125
    assert 25 <= statistics.stdev(values) <= 35
    assert all(c.patience is None for c in _plan(5, patience=None))


def test_callers_numbers_some_known():
    known = ["139 0000 1111", "138 0000 2222"]
    calls = _plan(9, known_numbers=known, known_share=0.3)
    share = sum(c.from_number in known for c in calls) / len(calls)
    assert 0.2 <= share <= 0.4
    others = [c.from_number for c in calls if c.from_number not in known]
    assert all(len(n) == 11 and n[:3] in traffic.MOBILE_PREFIXES for n in others)
    assert all(c.ivr and c.queued > c.arrival for c in calls)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="rate"):
        _plan(rate_per_hour=0)
    with pytest.raises(ValueError, match="duration"):
        _plan(duration_seconds=-1)
    assert traffic.parse_duration("10m") == 600
    assert traffic.parse_duration("1.5h") == 5400
    assert traffic.parse_duration("45") == 45
    with pytest.raises(ValueError):
        traffic.parse_duration("ten minutes")
    with pytest.raises(simulate_cli.SimulationError, match="--speed"):
        simulate_cli.Options(speed=0).validate()


def test_summary_and_erlang_prediction():
    calls = [
        {"outcome": "answered", "wait_seconds": 5, "talk_seconds": 100},
        {"outcome": "answered", "wait_seconds": 30, "talk_seconds": 200},
        {"outcome": "abandoned", "wait_seconds": 12, "talk_seconds": None},
        {"outcome": "missed", "wait_seconds": 40, "talk_seconds": None},
    ]
    s = traffic.summarize(calls, threshold_seconds=20)
    assert (s.offered, s.answered, s.abandoned, s.other) == (4, 2, 1, 1)
    assert s.service_level == pytest.approx(0.25)
    assert s.average_wait == pytest.approx((5 + 30 + 12 + 40) / 4)
    assert s.average_answer_wait == pytest.approx(17.5)
    assert s.average_talk == pytest.approx(150)
    p = traffic.erlang_prediction(
        rate_per_hour=100, aht_seconds=180, agents=7, threshold_seconds=20, target=0.8
    )
    assert p.traffic == pytest.approx(5.0)
    assert 0 < p.probability_of_wait < 1 and 0 < p.service_level < 1
    assert p.agents_needed is not None and p.agents_needed >= 6
    over = traffic.erlang_prediction(rate_per_hour=100, aht_seconds=180, agents=5, threshold_seconds=20)
    assert over.service_level == 0 and math.isinf(over.asa)


def test_dry_run_prints_the_plan_and_sends_nothing():
    result = CliRunner().invoke(
        cli_app,
        [
            "simulate",
            "--dry-run",
            "--rate",
            "120",
            "--duration",
            "5m",
            "--seed",
            "4",
            "--url",
            "http://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    planned = _plan(
        4,
        rate_per_hour=120.0,
        duration_seconds=300.0,
        handling=Exponential(180.0),
        patience=Exponential(60.0),
    )
    assert lines[0].startswith(f"{len(planned)} calls into hotline")
    assert len(lines) == len(planned) + 1
    assert "new_call from" in lines[1] and "to 95105" in lines[1]


# --- against a real server -------------------------------------------------------------------------


@pytest.fixture
def live_demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """The demo organisation in a database of its own, served by a real `uvicorn` process."""
    if request.config.getoption("--db") == "postgres":
        url = request.getfixturevalue("fresh_pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'simulate.db'}"
    engine = make_engine(url)
    upgrade(engine)
    from kefu.models import Base

    Base.metadata.create_all(engine)  # as tests/conftest.py: tables whose migration is not written yet
    from kefu import demo

    with Session(engine) as session, session.begin():
        demo.seed(session)
    env = {
        "KEFU_DATABASE_URL": url,
        "KEFU_DATA_DIR": str(tmp_path / "var"),
        "KEFU_SECRET_KEY": "simulate-test",
        "KEFU_CTI_ADAPTER": "simulated",
        "KEFU_REDIS_URL": "",
    }
    try:
        with server(env, log=tmp_path / "server.log") as base:
            yield base, engine
    finally:
        engine.dispose()


def _run(base: str, engine: Engine, **options: object) -> tuple[traffic.Summary, list[str]]:
    factory = sessionmaker(bind=engine)
    token = simulate_cli.simulator_token(factory)
    opts = simulate_cli.Options(url=base, token=token, **options)  # type: ignore[arg-type]
    lines: list[str] = []
    summary = asyncio.run(simulate_cli.simulate(opts, session_factory=factory, echo=lines.append))
    assert summary is not None
    return summary, lines


def _check(engine: Engine, summary: traffic.Summary, run_prefix: str, queue_code: str) -> list[Call]:
    with Session(engine) as s:
        queue = s.scalars(select(CallQueue).where(CallQueue.code == queue_code)).one()
        calls = list(s.scalars(select(Call).where(Call.call_id.like(run_prefix + "%")).order_by(Call.id)))
        assert len(calls) == summary.offered > 0
        answered = [c for c in calls if c.outcome == "answered"]
        abandoned = [c for c in calls if c.outcome == "abandoned"]
        assert len(answered) == summary.answered > 0
        assert len(abandoned) == summary.abandoned
        assert len(answered) + len(abandoned) == len(calls)
        for c in calls:
            assert c.state == "ended" and c.ended_at is not None
            assert c.queue_id == queue.id and c.to_number == simulate_cli.SERVICE_NUMBER
            assert c.ivr.get("intent"), c.ivr
            record = s.get(ContactRecord, c.contact_id)
            assert record is not None and record.ended_at is not None and record.channel == "phone"
        for c in answered:
            assert c.agent_id is not None and c.answered_at is not None
            assert c.talk_seconds is not None and c.talk_seconds >= 1
            assert c.end_cause == "normalClearing"
            assert s.get(ContactRecord, c.contact_id).agent_id == c.agent_id  # type: ignore[union-attr]
        for c in abandoned:
            assert c.end_cause == "cancel" and c.answered_at is None
        # Nobody is left ringing or talking; every agent's time log is one open span at most.
        agents = list(s.scalars(select(Agent).where(Agent.state != "offline")))
        assert agents
        for a in agents:
            assert a.state in ("ready", "wrap_up"), (a.user_id, a.state)
            open_spans = s.scalars(
                select(AgentStateSpan).where(
                    AgentStateSpan.user_id == a.user_id, AgentStateSpan.ended_at.is_(None)
                )
            ).all()
            assert len(open_spans) == 1 and open_spans[0].state == a.state
        # The run's tokens of the agents it logged in are revoked at its end.
        sim_user = s.scalars(select(User).where(User.username == simulate_cli.SIMULATOR_USERNAME)).one()
        agent_tokens = s.scalars(
            select(ApiToken).where(ApiToken.name == simulate_cli.TOKEN_NAME, ApiToken.user_id != sim_user.id)
        ).all()
        assert all(t.revoked_at is not None for t in agent_tokens)
        return calls


def _prefix(lines: list[str]) -> str:
    return lines[0].split(":", 1)[0] + "-"


def test_auto_answer_runs_against_a_live_server(live_demo):
    base, engine = live_demo
    # A kefu-routed queue first: kefu's ACD offers the calls to the agents the simulator logged in
    # (agent02 and leader01 serve `senior` by their billing skill).
    summary, lines = _run(
        base,
        engine,
        queue="senior",
        rate=360.0,
        duration=240.0,
        aht=40.0,
        patience=30.0,
        speed=40.0,
        seed=5,
        auto_answer=True,
        agents=2,
    )
    assert "(kefu-routed)" in lines[0], lines
    calls = _check(engine, summary, _prefix(lines), "senior")
    with Session(engine) as s:
        names = {u.id: u.username for u in s.scalars(select(User))}
    assert {names[c.agent_id] for c in calls if c.agent_id} <= {"agent02", "leader01"}
    assert any(line.startswith("Erlang C with 2 agents") for line in lines), lines

    # Then the PBX-routed hotline: the simulator picks the longest-idle agent and reports ringing.
    summary, lines = _run(
        base,
        engine,
        queue="hotline",
        rate=360.0,
        duration=240.0,
        aht=40.0,
        patience=30.0,
        speed=40.0,
        seed=6,
        auto_answer=True,
        agents=3,
    )
    assert "(pbx-routed)" in lines[0], lines
    calls = _check(engine, summary, _prefix(lines), "hotline")
    used = {c.agent_id for c in calls if c.agent_id}
    assert len(used) >= 2
    with Session(engine) as s:
        known = set(s.scalars(select(CustomerPhone.number)))
    assert any(c.customer_id is not None for c in calls) or not any(c.from_number in known for c in calls)
    text = "\n".join(lines)
    for word in ("offered", "answered", "abandoned", "service level (20s)", "average wait", "average talk"):
        assert word in text
