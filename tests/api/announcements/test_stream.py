"""What the live stream tells a browser about announcements: on opening, the unread count and the
urgent ones still to acknowledge; then each event addressed to the person."""

from __future__ import annotations

import asyncio
import json

from kefu.core import events
from kefu.notices import announcement_stream as stream
from kefu.notices import announcements as service
from tests.api.announcements.conftest import API, MANAGE, Center


def _opening(user_id: int) -> dict:
    message = asyncio.run(stream.opening(user_id))
    assert message["event"] == "announcements"
    return json.loads(message["data"])


def test_opening_brings_the_urgent_ones_still_to_acknowledge(center: Center):
    urgent = center.publish(user_ids=[center.agent_a.user.id], priority="urgent", title="紧急停机")
    center.publish(user_ids=[center.agent_a.user.id], priority="important", title="重要")
    center.publish(user_ids=[center.agent_a.user.id], title="普通")
    first = _opening(center.agent_a.user.id)
    assert first["unread"] == 3
    assert [p["id"] for p in first["pending"]] == [urgent["id"]]
    assert first["pending"][0]["must_acknowledge"] and "割接" in first["pending"][0]["body"]
    center.call("POST", f"{API}/{urgent['id']}/read", center.agent_a)
    assert _opening(center.agent_a.user.id) == {"unread": 2, "pending": []}
    assert _opening(center.agent_b.user.id) == {"unread": 0, "pending": []}


def test_events_become_stream_messages(center: Center):
    a = center.publish(user_ids=[center.agent_a.user.id, center.agent_b.user.id], priority="urgent")
    uid = center.agent_a.user.id
    [published] = center.events(service.PUBLISHED, a["id"])
    message = asyncio.run(stream.relay(published, uid))
    assert message is not None and message["event"] == "announcement"
    assert json.loads(message["data"])["title"] == "系统割接通知"
    center.call("POST", f"{API}/{a['id']}/read", center.agent_a)
    [read] = center.events(service.READ, a["id"])
    message = asyncio.run(stream.relay(read, uid))
    assert message is not None and message["event"] == "announcements_unread"
    assert json.loads(message["data"]) == {"id": a["id"], "unread": 0}
    center.call("POST", f"{MANAGE}/{a['id']}/withdraw", center.admin, {})
    [withdrawn] = center.events(service.WITHDRAWN, a["id"])
    assert not withdrawn.reaches(uid) and withdrawn.reaches(center.agent_b.user.id)
    message = asyncio.run(stream.relay(withdrawn, center.agent_b.user.id))
    assert message is not None and message["event"] == "announcement_withdrawn"
    assert asyncio.run(stream.relay(events.Event(type="ticket.created"), uid)) is None
