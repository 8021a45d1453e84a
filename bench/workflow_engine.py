"""Workflow engine benchmarks (no database): `python -m bench.workflow_engine [--repeat N]`.

Measures what a ticket pays per engine step: restore the instance from its stored state (the spec
comes from the in-memory cache), complete one task, dump the state again. Also parse/publish of a
flow and a whole six-step run. Prints a Markdown table of medians and p95. The flows are the test
fixtures under `tests/unit/workflow/flows/`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from kefu.workflow.engine import spec as spec_module
from kefu.workflow.engine.runtime import Engine, Instance
from kefu.workflow.engine.spec import load_spec, parse
from kefu.workflow.engine.validate import validate_bpmn

FLOWS = Path(__file__).resolve().parent.parent / "tests" / "unit" / "workflow" / "flows"
APPROVAL_STEPS = [
    ("register", "done"),
    ("review", "rejected"),
    ("register", "done"),
    ("review", "approved"),
    ("handle", "done"),
    ("close", "done"),
]


def sample(fn: Callable[[], object], *, repeat: int, warmup: int = 5) -> list[float]:
    """Seconds per call of `fn`, `repeat` times after `warmup` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    """(median, p95) of `samples`."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def measure(fn: Callable[[], object], *, repeat: int) -> tuple[float, float]:
    return summary(sample(fn, repeat=repeat))


def _step(engine: Engine, spec_json: str, state: str, node_id: str, choice: str) -> str:
    instance = engine.restore(spec_json, state)
    task = next(t for t in instance.ready_tasks() if t.node_id == node_id)
    instance.complete(task.task_id, state=choice, data={f"{node_id}_note": "bench"})
    return instance.dump()


def _states_before_each_step(engine: Engine, spec_json: str) -> list[str]:
    states = [engine.start(spec_json, {"amount": 120}).dump()]
    for node_id, choice in APPROVAL_STEPS[:-1]:
        states.append(_step(engine, spec_json, states[-1], node_id, choice))
    return states


def _full_run(engine: Engine, spec_json: str) -> Instance:
    state = engine.start(spec_json, {"amount": 120}).dump()
    for node_id, choice in APPROVAL_STEPS:
        state = _step(engine, spec_json, state, node_id, choice)
    instance = engine.restore(spec_json, state)
    assert instance.is_completed
    return instance


def _countersign_states(engine: Engine) -> tuple[str, str]:
    spec_json = parse((FLOWS / "countersign.bpmn").read_bytes()).spec_json
    instance = engine.start(spec_json, {})
    prepare = instance.ready_tasks()[0]
    instance.complete(
        prepare.task_id, state="done", data={"countersigners": [f"leader{i}" for i in range(5)]}
    )
    return spec_json, instance.dump()


def run(repeat: int) -> list[tuple[str, float, float, str]]:
    rows: list[tuple[str, float, float, str]] = []
    xml = (FLOWS / "approval.bpmn").read_bytes()
    engine = Engine()
    med, p95 = measure(lambda: validate_bpmn(xml), repeat=max(20, repeat // 10))
    rows.append(("validate a 4-node flow", med, p95, f"{len(xml)} B XML"))
    med, p95 = measure(lambda: parse(xml), repeat=max(20, repeat // 10))
    spec_json = parse(xml).spec_json
    rows.append(("parse = validate + build spec JSON (publish)", med, p95, f"spec {len(spec_json)} B"))
    med, p95 = measure(lambda: spec_module._load(spec_json, "x"), repeat=max(20, repeat // 10))
    rows.append(("load spec JSON, uncached (first step after start-up)", med, p95, "once per version"))

    states = _states_before_each_step(engine, spec_json)
    pooled: list[float] = []
    for number, ((node_id, choice), state) in enumerate(zip(APPROVAL_STEPS, states, strict=True), start=1):
        samples = sample(
            lambda s=state, n=node_id, c=choice: _step(engine, spec_json, s, n, c), repeat=repeat
        )
        pooled += samples
        med, p95 = summary(samples)
        rows.append(
            (
                f"step {number}: restore + complete {node_id}/{choice} + dump",
                med,
                p95,
                f"state {len(state)} B",
            )
        )
    med, p95 = summary(pooled)
    rows.append(("step: the six steps pooled", med, p95, f"{len(pooled)} samples"))

    cs_spec, cs_state = _countersign_states(engine)

    def vote() -> str:
        instance = engine.restore(cs_spec, cs_state)
        task = instance.ready_tasks()[0]
        instance.complete(task.task_id, state="approved", opinion="ok")
        return instance.dump()

    med, p95 = measure(vote, repeat=repeat)
    rows.append(("step: one countersign vote of 5 (quorum 2)", med, p95, f"state {len(cs_state)} B"))
    final = _full_run(engine, spec_json)
    med, p95 = measure(lambda: _full_run(engine, spec_json), repeat=max(20, repeat // 10))
    rows.append(
        (
            "full run: start + 6 steps, each restore/complete/dump",
            med,
            p95,
            f"final state {len(final.dump())} B",
        )
    )
    assert load_spec(spec_json) is load_spec(str(spec_json))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=400)
    args = parser.parse_args()
    rows = run(args.repeat)
    print("| case | median | p95 | note |")
    print("|---|---|---|---|")
    for name, med, p95, note in rows:
        print(f"| {name} | {med * 1000:.2f} ms | {p95 * 1000:.2f} ms | {note} |")


if __name__ == "__main__":
    main()
