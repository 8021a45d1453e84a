"""The simple flow builder over HTTP (简单流程配置): preview a flow as BPMN, save it as a template.

`POST /preview` computes and changes nothing (it takes a body too structured for a query string);
`POST /templates` creates a template or saves a template's draft through the flow-template service,
which writes the audit record.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from kefu.core import i18n
from kefu.web.deps import Requires, SessionDep
from kefu.workflow import builder_forms as forms
from kefu.workflow import flows
from kefu.workflow.models import FlowTemplate
from kefu.workflow.schemas import FlowRead

router = APIRouter(prefix="/api/v1/workflow/builder", tags=["workflow"])

Builder = Requires("workflow.templates.create", "workflow.templates.edit")


@router.get("/options", response_model=forms.BuilderOptions)
def builder_options(session: SessionDep, actor: Builder) -> forms.BuilderOptions:
    """What candidate rules can name: roles, departments, user groups (codes) and active users."""
    return forms.options(session)


@router.post("/preview", response_model=forms.BuilderPreview)
def preview(session: SessionDep, actor: Builder, body: forms.BuilderFlow) -> forms.BuilderPreview:
    """Read-only: the BPMN XML of the flow and every problem (the XML is empty while there are any)."""
    xml, found = forms.preview(session, body)
    return forms.BuilderPreview(
        bpmn_xml=xml,
        problems=[
            forms.BuilderProblemRead(
                field=p.field, loc=forms.location(p.field), message=p.render(i18n.gettext)
            )
            for p in found
        ],
    )


@router.get("/templates/{template_id}", response_model=forms.BuilderFlow)
def read_template(
    session: SessionDep, actor: Requires("workflow.templates.edit"), template_id: int
) -> forms.BuilderFlow:
    """The latest version of the template in the simple form; 409 when only the designer can show it."""
    return forms.read_template_or_refuse(flows.get_template(session, template_id))


@router.post("/templates", response_model=FlowRead, status_code=201)
def save_template(
    session: SessionDep, actor: Builder, body: forms.BuilderSave, response: Response
) -> FlowTemplate:
    """Create a template from the flow (201), or with `template_id` save it as that template's draft (200).

    Problems answer 422 with one entry per problem, located at its field (`body.nodes.1.states.0.next`).
    """
    template = None if body.template_id is None else flows.get_template(session, body.template_id)
    saved, _version = forms.save(
        session,
        actor=actor,
        body=body,
        template=template,
        description=body.description,
        comment=body.comment,
    )
    if template is not None:
        response.status_code = 200
    return saved
