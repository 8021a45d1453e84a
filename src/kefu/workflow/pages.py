"""Flow template screens: list, import, versions with their problems, publish/retire, the designer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kefu.core import i18n
from kefu.core.errors import KefuError
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register, section
from kefu.web.templating import render
from kefu.workflow import flows

router = APIRouter(prefix="/workflow", include_in_schema=False)
section("workflow", "Process management", 70)
register(
    NavItem(
        "workflow", "Flow templates", "/workflow/templates", "bi-diagram-2", ("workflow.templates.view",), 10
    )
)


def _problem_text(p: flows.Problem) -> str:
    return p.render(i18n.gettext)


async def _read_upload(upload: UploadFile | None, pasted: str) -> str:
    if upload is not None and upload.filename:
        raw = await upload.read(flows.MAX_XML_BYTES + 1)
        return raw.decode("utf-8", errors="replace")
    return pasted


@router.get("/templates")
def template_list(
    request: Request, session: SessionDep, actor: Requires("workflow.templates.view")
) -> Response:
    return render(
        request,
        "workflow/list.html",
        {"templates": flows.list_templates(session), "errors": {}, "values": {}},
    )


@router.post("/templates")
async def template_create(
    request: Request,
    session: SessionDep,
    actor: Requires("workflow.templates.create"),
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    bpmn_text: Annotated[str, Form()] = "",
    bpmn_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    xml = await _read_upload(bpmn_file, bpmn_text)
    try:
        template = flows.create_template(
            session, actor=actor, code=code, name=name, description=description, bpmn_xml=xml
        )
    except KefuError as exc:
        session.rollback()
        errors = {getattr(exc, "field", "_"): exc.render(i18n.gettext)}
        values = {"code": code, "name": name, "description": description}
        return render(
            request,
            "workflow/list.html",
            {"templates": flows.list_templates(session), "errors": errors, "values": values},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/workflow/templates/{template.id}", status_code=303)


def _detail(
    request: Request,
    session: SessionDep,
    template_id: int,
    *,
    errors: dict[str, str] | None = None,
    problems: dict[int, list[tuple[str, str]]] | None = None,
    status: int = 200,
) -> Response:
    template = flows.get_template(session, template_id)
    found = (
        problems
        if problems is not None
        else {
            v.id: [(p.element_id, _problem_text(p)) for p in flows.problems(v)]
            for v in template.versions
            if v.status.value == "draft"
        }
    )
    return render(
        request,
        "workflow/detail.html",
        {
            "template": template,
            "problems": found,
            "errors": errors or {},
            "current": flows.current_published(template),
        },
        status_code=status,
    )


@router.get("/templates/{template_id}")
def template_detail(
    request: Request, session: SessionDep, actor: Requires("workflow.templates.view"), template_id: int
) -> Response:
    return _detail(request, session, template_id)


@router.post("/templates/{template_id}/draft")
async def template_upload_draft(
    request: Request,
    session: SessionDep,
    actor: Requires("workflow.templates.edit"),
    template_id: int,
    comment: Annotated[str, Form()] = "",
    bpmn_text: Annotated[str, Form()] = "",
    bpmn_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    xml = await _read_upload(bpmn_file, bpmn_text)
    try:
        flows.save_draft(
            session,
            actor=actor,
            template=flows.get_template(session, template_id),
            bpmn_xml=xml,
            comment=comment,
        )
    except KefuError as exc:
        if exc.status_code == 404:
            raise
        session.rollback()
        return _detail(
            request,
            session,
            template_id,
            errors={"bpmn_xml": exc.render(i18n.gettext)},
            status=exc.status_code,
        )
    return RedirectResponse(f"/workflow/templates/{template_id}", status_code=303)


@router.post("/versions/{version_id}/{action}")
def version_action(
    request: Request,
    session: SessionDep,
    actor: Requires("workflow.templates.view"),
    version_id: int,
    action: str,
) -> Response:
    """publish, retire or delete a version (each checks its own permission)."""
    from kefu.core.errors import NotFound, PermissionDenied

    needed = {
        "publish": "workflow.templates.publish",
        "retire": "workflow.templates.publish",
        "delete": "workflow.templates.delete",
    }.get(action)
    if needed is None:
        raise NotFound()
    if not actor.can(needed):
        raise PermissionDenied()
    version = flows.get_version(session, version_id)
    template_id = version.template_id
    try:
        if action == "publish":
            flows.publish(session, actor=actor, version=version)
        elif action == "retire":
            flows.retire(session, actor=actor, version=version)
        else:
            flows.delete_draft(session, actor=actor, version=version)
    except flows.FlowInvalid as exc:
        session.rollback()
        listed = {version_id: [(p.element_id, _problem_text(p)) for p in exc.problems]}
        return _detail(
            request, session, template_id, problems=listed, status=422, errors={"_": exc.render(i18n.gettext)}
        )
    except KefuError as exc:
        if exc.status_code in (403, 404):
            raise
        session.rollback()
        return _detail(
            request, session, template_id, errors={"_": exc.render(i18n.gettext)}, status=exc.status_code
        )
    if action == "delete" and session.get(flows.FlowTemplate, template_id) is None:
        return RedirectResponse("/workflow/templates", status_code=303)
    return RedirectResponse(f"/workflow/templates/{template_id}", status_code=303)


@router.get("/versions/{version_id}/designer")
def designer(
    request: Request, session: SessionDep, actor: Requires("workflow.templates.view"), version_id: int
) -> Response:
    """The graphical designer (bpmn-js); drafts are editable, other versions open read-only."""
    version = flows.get_version(session, version_id)
    editable = version.status.value == "draft" and actor.can("workflow.templates.edit")
    return render(request, "workflow/designer.html", {"version": version, "editable": editable})
