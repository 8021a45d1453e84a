"""Domain events, published when the transaction that caused them commits.

Two hubs behind one interface: `LocalHub` fans out inside this process (embedded mode);
`RedisHub` publishes on a Redis channel and every app process relays what it hears to its own
local subscribers (server mode), so a browser connected to any process sees every event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "kefu:events"


@dataclass(frozen=True)
class Event:
    """Something that happened. `audience` limits delivery to these user ids (None: everyone)."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    audience: tuple[int, ...] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        obj = json.loads(raw)
        audience = tuple(obj["audience"]) if obj.get("audience") is not None else None
        return cls(type=obj["type"], data=obj.get("data") or {}, audience=audience)

    def reaches(self, user_id: int) -> bool:
        return self.audience is None or user_id in self.audience


Accept = Callable[[Event], bool]


class _Subscription:
    """One subscriber: its loop and queue, the event types it wants (None: all) and its filter."""

    __slots__ = ("accept", "loop", "queue", "types")

    def __init__(self, types: frozenset[str] | None, accept: Accept | None) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=1000)
        self.types = types
        self.accept = accept


def _put_all(event: Event, queues: list[asyncio.Queue[Event]]) -> None:
    for queue in queues:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:  # a stalled reader loses events rather than memory
            log.warning("event subscriber is %d events behind; dropping %s", queue.qsize(), event.type)


class LocalHub:
    """In-process fan-out to asyncio subscribers; `publish` is safe from any thread.

    Subscribers say which event types they want and may pass a filter, which the hub applies at
    delivery (in the publishing or relaying thread): an event wakes only the subscribers it is for,
    and each event loop is woken once per event however many of its subscribers take it — with
    hundreds of agent desks connected to a process, waking every stream for every call event was
    the screen pop's main cost (see docs/benchmarks.md).
    """

    def __init__(self) -> None:
        self._by_type: dict[str, set[_Subscription]] = {}
        self._any_type: set[_Subscription] = set()
        self._lock = threading.Lock()
        self.published: list[Event] = []  # the last events, for tests and diagnostics
        self.keep_last = 200

    def publish(self, event: Event) -> None:
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        self.published.append(event)
        del self.published[: -self.keep_last]
        with self._lock:
            candidates = [*self._by_type.get(event.type, ()), *self._any_type]
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Queue[Event]]] = {}
        for sub in candidates:
            if sub.accept is not None:
                try:
                    if not sub.accept(event):
                        continue
                except Exception:  # a broken filter must not stop delivery to the others
                    log.exception("event filter failed on %s", event.type)
                    continue
            by_loop.setdefault(sub.loop, []).append(sub.queue)
        for loop, queues in by_loop.items():
            try:
                loop.call_soon_threadsafe(_put_all, event, queues)
            except RuntimeError:  # the subscribers' loop has closed
                with self._lock:
                    for sub in candidates:
                        if sub.loop is loop:
                            self._discard(sub)

    def _discard(self, sub: _Subscription) -> None:
        if sub.types is None:
            self._any_type.discard(sub)
            return
        for event_type in sub.types:
            subs = self._by_type.get(event_type)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_type[event_type]

    async def subscribe(
        self, types: Iterable[str] | None = None, *, accept: Accept | None = None
    ) -> AsyncIterator[Event]:
        """Events as they are published: those of `types` (all when None) that `accept` (when
        given) returns true for. `accept` runs in the delivering thread, in publication order,
        before the event is queued: keep it quick and let it update the state it filters on
        (e.g. the calls an agent's stream follows) so that the next event sees the update."""
        sub = _Subscription(frozenset(types) if types is not None else None, accept)
        with self._lock:
            if sub.types is None:
                self._any_type.add(sub)
            else:
                for event_type in sub.types:
                    self._by_type.setdefault(event_type, set()).add(sub)
        try:
            while True:
                yield await sub.queue.get()
        finally:
            with self._lock:
                self._discard(sub)

    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._any_type | set().union(*self._by_type.values()))

    def start(self) -> None:
        """Nothing to start in embedded mode."""

    def stop(self) -> None:
        """Nothing to stop in embedded mode."""


class RedisHub(LocalHub):
    """Publishes through Redis pub/sub; a listener thread relays every message to local subscribers."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()

    def publish(self, event: Event) -> None:
        self._redis.publish(CHANNEL, event.to_json())

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="kefu-events", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=5)

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(CHANNEL)
                self._ready.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self._deliver(Event.from_json(message["data"]))
            except Exception:  # Redis restarted or the network blinked: resubscribe
                log.exception("event listener lost Redis; reconnecting")
                self._stop.wait(1.0)
            finally:
                pubsub.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


hub: LocalHub = LocalHub()


def configure(redis_url: str = "") -> LocalHub:
    """Choose the hub for this process: Redis in server mode, in-process otherwise."""
    global hub
    hub.stop()
    hub = RedisHub(redis_url) if redis_url else LocalHub()
    return hub


def publish(event: Event) -> None:
    """Publish now. Inside a unit of work use `on_commit` instead."""
    try:
        hub.publish(event)
    except Exception:  # delivery is best-effort; the committed change stands
        log.exception("could not publish event %s", event.type)


def on_commit(session: Session, event: Event | Callable[[], Event]) -> None:
    """Publish `event` once `session` commits; drop it if the session rolls back.

    `event` may be a callable that builds the event after the commit, e.g. to read the id of a row
    that the commit's flush inserted (so the caller needs no flush of its own)."""
    if not session.in_transaction():
        session.begin()  # so that a rollback before the next commit drops it too
    session.info.setdefault("kefu_pending_events", []).append(event)


@sa_event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the real commit is still to come
    for pending in session.info.pop("kefu_pending_events", []):
        if callable(pending):
            try:
                pending = pending()
            except Exception:  # best-effort, like the delivery itself
                log.exception("could not build an event after commit")
                continue
        publish(pending)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction rolled back
        session.info.pop("kefu_pending_events", None)
