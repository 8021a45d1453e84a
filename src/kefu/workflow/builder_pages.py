"""The simple flow builder screen (简单流程配置): nodes in order, their handling settings and states.

The page keeps the flow in the browser (Alpine.js) and posts it whole as JSON (`flow_json`); the
server checks it, shows every problem beside its field (422), or saves it as BPMN — a new template, or
the draft of the template being edited — and goes to the template page.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from kefu.core import i18n
from kefu.core.errors import KefuError, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render
from kefu.workflow import builder_forms as forms
from kefu.workflow import flows
from kefu.workflow.builder import Problem
from kefu.workflow.models import FlowTemplate

router = APIRouter(prefix="/workflow", include_in_schema=False)
register(
    NavItem(
        "workflow",
        "Flow builder",
        "/workflow/builder",
        "bi-list-ol",
        ("workflow.templates.create",),
        20,
    )
)

# The page asks for a percentage; the builder's own message speaks of a fraction.
WARN_PERCENT_MESSAGE = lazy("Enter a percentage between 1 and 99")
NEW_FLOW = {
    "code": "",
    "name": "",
    "nodes": [{"id": "register", "name": "", "assign": [{"kind": "initiator", "ref": ""}]}],
}


def _editable_template(session: SessionDep, actor: Actor, template_id: int | None) -> FlowTemplate | None:
    """The template to save into (None: a new one), after the permission that needs."""
    needed = "workflow.templates.create" if template_id is None else "workflow.templates.edit"
    if not actor.can(needed):
        raise PermissionDenied()
    return None if template_id is None else flows.get_template(session, template_id)


def _messages(found: list[Problem]) -> dict[str, str]:
    """field path → the first message about it, in the reader's language."""
    errors: dict[str, str] = {}
    for problem in found:
        text = problem.render(i18n.gettext)
        if problem.field.endswith(".warn_at"):
            text = i18n.gettext(WARN_PERCENT_MESSAGE)
        errors.setdefault(problem.field or "_", text)
    return errors


def _page(
    request: Request,
    session: SessionDep,
    *,
    template: FlowTemplate | None,
    flow: dict[str, Any] | None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "workflow/builder.html",
        {
            "template": template,
            "version": forms.latest_version(template) if template is not None else None,
            "flow": flow,
            "errors": errors or {},
            "values": values or {},
            "options": forms.options(session).model_dump(),
        },
        status_code=status,
    )


@router.get("/builder")
def builder_page(
    request: Request,
    session: SessionDep,
    actor: Requires("workflow.templates.create", "workflow.templates.edit"),
    template: int | None = None,
) -> Response:
    """A new flow, or (`?template=ID`) the latest version of a template while it is of the simple shape."""
    found = _editable_template(session, actor, template)
    if found is None:
        return _page(request, session, template=None, flow=NEW_FLOW)
    flow = forms.read_template(found)
    return _page(request, session, template=found, flow=None if flow is None else flow.model_dump())


@router.post("/builder")
def builder_submit(
    request: Request,
    session: SessionDep,
    actor: Requires("workflow.templates.create", "workflow.templates.edit"),
    flow_json: Annotated[str, Form()] = "",
    template_id: Annotated[int | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    template = _editable_template(session, actor, template_id)
    values = {"description": description, "comment": comment}
    try:
        body = forms.BuilderFlow.model_validate_json(flow_json or "{}")
    except ValidationError as exc:
        raw = _raw_flow(flow_json)
        errors = _messages(forms.parse_problems(exc)) if raw is not None else {}
        if raw is None:
            errors["_"] = i18n.gettext("The flow could not be read; reload the page and try again")
        return _page(
            request,
            session,
            template=template,
            flow=raw or NEW_FLOW,
            errors=errors,
            values=values,
            status=422,
        )
    try:
        saved, _version = forms.save(
            session, actor=actor, body=body, template=template, description=description, comment=comment
        )
    except forms.FlowProblems as exc:
        session.rollback()
        errors = _messages(exc.problems)
    except KefuError as exc:
        if exc.status_code in (403, 404):
            raise
        session.rollback()
        errors = {getattr(exc, "field", "_"): exc.render(i18n.gettext)}
    else:
        return RedirectResponse(f"/workflow/templates/{saved.id}", status_code=303)
    template = _editable_template(session, actor, template_id)
    return _page(
        request, session, template=template, flow=body.model_dump(), errors=errors, values=values, status=422
    )


def _raw_flow(text: str) -> dict[str, Any] | None:
    """What the browser sent, to show it again, when it is at least a JSON object with a node list."""
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes", []), list):
        return None
    return raw if all(isinstance(node, dict) for node in raw.get("nodes", [])) else None
