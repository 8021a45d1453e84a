"""Flow templates over HTTP (流程模板): import, drafts, validation, publish, retire, export."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kefu.core import i18n
from kefu.web.deps import Requires, SessionDep
from kefu.workflow import flows
from kefu.workflow.models import FlowTemplate, FlowVersion
from kefu.workflow.schemas import (
    DraftSave,
    FlowCreate,
    FlowRead,
    FlowUpdate,
    ProblemRead,
    VersionDetail,
    VersionRead,
)

router = APIRouter(prefix="/api/v1/workflow", tags=["workflow"])


@router.get("/templates", response_model=list[FlowRead])
def list_templates(session: SessionDep, actor: Requires("workflow.templates.view")) -> list[FlowTemplate]:
    return flows.list_templates(session)


@router.post("/templates", response_model=FlowRead, status_code=201)
def create_template(
    session: SessionDep, actor: Requires("workflow.templates.create"), body: FlowCreate
) -> FlowTemplate:
    """Import a BPMN file as a new template (its first version is a draft)."""
    return flows.create_template(session, actor=actor, **body.model_dump())


@router.get("/templates/{template_id}", response_model=FlowRead)
def get_template(
    session: SessionDep, actor: Requires("workflow.templates.view"), template_id: int
) -> FlowTemplate:
    return flows.get_template(session, template_id)


@router.patch("/templates/{template_id}", response_model=FlowRead)
def update_template(
    session: SessionDep, actor: Requires("workflow.templates.edit"), template_id: int, body: FlowUpdate
) -> FlowTemplate:
    template = flows.get_template(session, template_id)
    return flows.update_template(
        session, actor=actor, template=template, **body.model_dump(exclude_unset=True)
    )


@router.put("/templates/{template_id}/draft", response_model=VersionRead)
def save_draft(
    session: SessionDep, actor: Requires("workflow.templates.edit"), template_id: int, body: DraftSave
) -> FlowVersion:
    """Replace the draft's BPMN (a new draft version opens when the latest is published)."""
    template = flows.get_template(session, template_id)
    return flows.save_draft(
        session, actor=actor, template=template, bpmn_xml=body.bpmn_xml, comment=body.comment
    )


@router.get("/versions/{version_id}", response_model=VersionDetail)
def get_version(
    session: SessionDep, actor: Requires("workflow.templates.view"), version_id: int
) -> FlowVersion:
    return flows.get_version(session, version_id)


@router.get("/versions/{version_id}/bpmn", response_class=Response)
def export_bpmn(session: SessionDep, actor: Requires("workflow.templates.view"), version_id: int) -> Response:
    """The version's BPMN XML as a file, to open in any BPMN modeler."""
    version = flows.get_version(session, version_id)
    filename = f"{version.template.code}-v{version.number}.bpmn"
    return Response(
        version.bpmn_xml,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/versions/{version_id}/problems", response_model=list[ProblemRead])
def version_problems(
    session: SessionDep, actor: Requires("workflow.templates.view"), version_id: int
) -> list[ProblemRead]:
    """Why the version cannot be published yet (empty: it can)."""
    version = flows.get_version(session, version_id)
    return [
        ProblemRead(element_id=p.element_id, message=p.render(i18n.gettext)) for p in flows.problems(version)
    ]


@router.post("/versions/{version_id}/publish", response_model=VersionRead)
def publish(
    session: SessionDep, actor: Requires("workflow.templates.publish"), version_id: int
) -> FlowVersion:
    return flows.publish(session, actor=actor, version=flows.get_version(session, version_id))


@router.post("/versions/{version_id}/retire", response_model=VersionRead)
def retire(
    session: SessionDep, actor: Requires("workflow.templates.publish"), version_id: int
) -> FlowVersion:
    return flows.retire(session, actor=actor, version=flows.get_version(session, version_id))


@router.delete("/versions/{version_id}", status_code=204)
def delete_draft(
    session: SessionDep, actor: Requires("workflow.templates.delete"), version_id: int
) -> Response:
    flows.delete_draft(session, actor=actor, version=flows.get_version(session, version_id))
    return Response(status_code=204)
