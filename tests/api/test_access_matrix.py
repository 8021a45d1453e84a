"""Role × endpoint matrix: every API route is public by design, open to any signed-in user by design,
or refuses users who lack its permission. A new route must be classified here, or this test fails."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from kefu.app import routers

PUBLIC = {("POST", "/api/v1/auth/login")}
# Open to every signed-in user: one's own account, inbox and the live message stream; code tables that
# every form needs.
ANY_SIGNED_IN = {
    ("GET", "/api/v1/me"),
    ("PATCH", "/api/v1/me"),
    ("POST", "/api/v1/me/password"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/read"),
    ("GET", "/api/v1/notifications/stream"),
    ("GET", "/api/v1/dictionary/{code}/items"),
}
# Announcements addressed to me (the service shows only those: 404 for any other) and their files.
ANY_SIGNED_IN |= {
    ("GET", "/api/v1/announcements"),
    ("GET", "/api/v1/announcements/{announcement_id}"),
    ("POST", "/api/v1/announcements/{announcement_id}/read"),
    ("GET", "/api/v1/announcements/{announcement_id}/attachments/{attachment_id}"),
}
# A call I took part in (the service shows only those, or those within `callcenter.calls.view`).
ANY_SIGNED_IN |= {("GET", "/api/v1/callcenter/calls/{call_pk}")}
# A recording of a call I took part in, or that is linked to a ticket I may see (test_recordings).
ANY_SIGNED_IN |= {("GET", "/api/v1/callcenter/calls/{call_pk}/recording")}
# The agent's event stream checks `callcenter.agent.use` inside (tests/api/callcenter: 403).
ANY_SIGNED_IN |= {("GET", "/api/v1/callcenter/stream")}
# The supervisors' event stream checks `callcenter.monitor.view` inside (tests/api/callcenter: 403).
ANY_SIGNED_IN |= {("GET", "/api/v1/callcenter/monitor/stream")}
# Zammad's CTI push API carries its API token in the URL (tests/api/callcenter: 401, 403 and success).
PUBLIC |= {("POST", "/api/v1/cti/{token}")}


def api_routes() -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path, permissions of its gate) for every JSON API route."""
    found = []
    for router in routers():
        for route in router.routes:
            if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
                continue
            permissions: tuple[str, ...] = ()
            for dep in route.dependant.dependencies:
                permissions += getattr(dep.call, "kefu_permissions", ())
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                found.append((method, route.path, permissions))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


ROUTES = api_routes()


def test_routers_are_flat():
    """Routes of a nested `include_router` would hide from this walker: list sub-routers in routers()."""
    from starlette.routing import BaseRoute, Route

    for router in routers():
        nested = [
            r for r in router.routes if isinstance(r, BaseRoute) and not isinstance(r, (APIRoute, Route))
        ]
        assert not nested, f"{router.prefix or router}: include sub-routers in kefu.app.routers() instead"


def test_every_route_is_classified():
    unclassified = [(m, p) for m, p, perms in ROUTES if not perms and (m, p) not in PUBLIC | ANY_SIGNED_IN]
    assert not unclassified, f"routes without a permission gate and not declared public: {unclassified}"


@pytest.mark.parametrize(
    ("method", "path", "permissions"),
    [r for r in ROUTES if (r[0], r[1]) not in PUBLIC],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_route_refuses_the_anonymous_and_the_unpermitted(client, factory, method, path, permissions):
    anonymous = client.request(method, concrete(path), json={})
    assert anonymous.status_code == 401, anonymous.text
    if not permissions:
        return
    nobody = factory.token_login(factory.user([]))
    denied = client.request(method, concrete(path), json={}, headers=nobody.headers)
    assert denied.status_code == 403, denied.text
    # Any one of the gate's permissions admits (whatever the answer is next: 404, 422, 200 …).
    holder = factory.token_login(factory.user([permissions[0]]))
    admitted = client.request(method, concrete(path), json={}, headers=holder.headers)
    assert admitted.status_code != 403, admitted.text
