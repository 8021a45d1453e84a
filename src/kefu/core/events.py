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
from collections.abc import AsyncIterator
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


class LocalHub:
    """In-process fan-out to asyncio subscribers; `publish` is safe from any thread."""

    def __init__(self) -> None:
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]] = set()
        self._lock = threading.Lock()
        self.published: list[Event] = []  # the last events, for tests and diagnostics
        self.keep_last = 200

    def publish(self, event: Event) -> None:
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        self.published.append(event)
        del self.published[: -self.keep_last]
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # the subscriber's loop has closed
                with self._lock:
                    self._subscribers.discard((loop, queue))

    async def subscribe(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=1000)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._subscribers.discard(entry)

    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

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


def on_commit(session: Session, event: Event) -> None:
    """Publish `event` once `session` commits; drop it if the session rolls back."""
    if not session.in_transaction():
        session.begin()  # so that a rollback before the next commit drops it too
    session.info.setdefault("kefu_pending_events", []).append(event)


@sa_event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the real commit is still to come
    for pending in session.info.pop("kefu_pending_events", []):
        publish(pending)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction rolled back
        session.info.pop("kefu_pending_events", None)
