"""The in-process events hub: delivery by type and filter, one loop wake-up per event."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from kefu.callcenter import agents, cti
from kefu.callcenter.api import _DeskFilter
from kefu.core.events import Event, LocalHub


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run in a thread of its own: a browser test's Playwright may own this thread's loop."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the event loop did not finish"
    if failure:
        raise failure[0]


async def _collect(hub: LocalHub, n: int, **kwargs) -> list[Event]:
    got: list[Event] = []
    async for event in hub.subscribe(**kwargs):
        got.append(event)
        if len(got) == n:
            break
    return got


async def _started(hub: LocalHub, count: int) -> None:
    while hub.subscriber_count() < count:
        await asyncio.sleep(0)


def test_types_and_filters_choose_the_subscribers():
    hub = LocalHub()

    async def main() -> None:
        a = asyncio.create_task(_collect(hub, 2, types=["x"]))
        b = asyncio.create_task(_collect(hub, 1, types=["y"], accept=lambda e: e.data.get("n") == 2))
        c = asyncio.create_task(_collect(hub, 3))
        await _started(hub, 3)
        hub.publish(Event("x", {"n": 1}))
        hub.publish(Event("y", {"n": 1}))
        hub.publish(Event("y", {"n": 2}))
        hub.publish(Event("x", {"n": 3}))
        got_a, got_b, got_c = await asyncio.wait_for(asyncio.gather(a, b, c), 5)
        assert [(e.type, e.data["n"]) for e in got_a] == [("x", 1), ("x", 3)]
        assert [(e.type, e.data["n"]) for e in got_b] == [("y", 2)]
        assert [(e.type, e.data["n"]) for e in got_c] == [("x", 1), ("y", 1), ("y", 2)]
        await asyncio.sleep(0)
        assert hub.subscriber_count() == 0  # finished subscribers are gone

    _run(main)


def test_one_wake_up_per_loop_and_event_whatever_the_number_of_subscribers():
    hub = LocalHub()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        calls = 0
        original = loop.call_soon_threadsafe

        def counting(*args, **kwargs):
            nonlocal calls
            calls += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        tasks = [asyncio.create_task(_collect(hub, 1, types=["x"])) for _ in range(50)]
        await _started(hub, 50)
        calls = 0
        publisher = threading.Thread(target=hub.publish, args=(Event("x"),))
        publisher.start()
        publisher.join()
        assert calls == 1
        hub.publish(Event("unwanted"))  # nobody wants it: the loop is not woken at all
        assert calls == 1
        results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert all(len(r) == 1 for r in results)

    _run(main)


def test_a_failing_filter_does_not_stop_delivery_to_the_others():
    hub = LocalHub()

    async def main() -> None:
        def broken(event: Event) -> bool:
            raise ValueError("boom")

        bad = asyncio.create_task(_collect(hub, 1, accept=broken))
        good = asyncio.create_task(_collect(hub, 1))
        await _started(hub, 2)
        hub.publish(Event("x"))
        assert len(await asyncio.wait_for(good, 5)) == 1
        assert not bad.done()
        bad.cancel()

    _run(main)


def test_the_desk_stream_follows_the_calls_that_rang_at_its_agent():
    desk = _DeskFilter(7)
    other_ring = Event(cti.CALL_RINGING, {"call": 1}, audience=(8,))
    my_ring = Event(cti.CALL_RINGING, {"call": 2}, audience=(7,))
    assert not desk(other_ring)
    assert not desk(Event(cti.CALL_UPDATED, {"call": 1}))
    assert desk(my_ring)
    # The update right after the ringing is taken: the filter noted the call when it accepted the ring.
    assert desk(Event(cti.CALL_UPDATED, {"call": 2}))
    assert desk(Event(cti.CALL_UPDATED, {"call": 3, "agent_id": 7}))
    assert desk(Event(agents.AGENT_STATE, {"user_id": 7, "call": 4}))
    assert desk(Event(cti.CALL_UPDATED, {"call": 4}))
    assert not desk(Event(agents.AGENT_STATE, {"user_id": 8, "call": 5}))
    assert not desk(Event(cti.CALL_UPDATED, {"call": 5}))
