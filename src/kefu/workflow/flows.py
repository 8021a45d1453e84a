"""Flow templates and versions (流程模板, WF-1): create, edit drafts, validate, publish, retire, import,
export. Publishing parses the BPMN once and stores the spec with the version, so every instance of it
shares one parsed definition and keeps running on it after newer versions are published."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, KefuError, NotFound
from kefu.core.permissions import Actor
from kefu.workflow import permissions as _permissions  # noqa: F401 — registers workflow.templates
from kefu.workflow.builder.autolayout import with_diagram
from kefu.workflow.engine import Problem, parse, validate_bpmn
from kefu.workflow.engine.model import MAX_DOCUMENT_BYTES
from kefu.workflow.models import FlowTemplate, FlowVersion, VersionStatus

FUNCTION = "workflow.templates"
CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,59}$")
MAX_XML_BYTES = 2 * 1024 * 1024


class FlowInvalid(KefuError):
    """The BPMN cannot be published; `problems` names each offending element."""

    status_code = 422
    code = "flow_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("The flow has %(n)s problem(s) and cannot be published", n=len(problems))
        self.problems = problems

    def as_detail(self, gettext: Any = lambda s: s) -> list[dict[str, object]]:
        """One 422 entry per problem, located at the offending BPMN element."""
        return [
            {"loc": ["body", "bpmn_xml", p.element_id], "msg": p.render(gettext), "type": "flow_invalid"}
            for p in self.problems
        ]


def _check_xml(xml: str) -> str:
    """The XML to store: refused when empty or too large; laid out when it has no diagram (a flow that
    has one is returned unchanged, see `builder.autolayout`)."""
    if not xml or not xml.strip():
        raise FieldError("bpmn_xml", "Upload or draw a BPMN diagram")
    if len(xml.encode()) > MAX_XML_BYTES:
        raise FieldError(
            "bpmn_xml", "The BPMN file is larger than %(n)s MB", n=MAX_XML_BYTES // (1024 * 1024)
        )
    laid_out = with_diagram(xml)
    return laid_out if len(laid_out.encode()) <= MAX_DOCUMENT_BYTES else xml  # still readable as it came


def get_template(session: Session, template_id: int) -> FlowTemplate:
    stmt = (
        select(FlowTemplate)
        .where(FlowTemplate.id == template_id)
        .options(selectinload(FlowTemplate.versions))
    )
    template = session.scalars(stmt).first()
    if template is None:
        raise NotFound()
    return template


def get_version(session: Session, version_id: int) -> FlowVersion:
    version = session.get(FlowVersion, version_id)
    if version is None:
        raise NotFound()
    return version


def list_templates(session: Session) -> list[FlowTemplate]:
    stmt = select(FlowTemplate).options(selectinload(FlowTemplate.versions)).order_by(FlowTemplate.code)
    return list(session.scalars(stmt))


def create_template(
    session: Session, *, actor: Actor, code: str, name: str, bpmn_xml: str, description: str = ""
) -> FlowTemplate:
    """A new template with its first version as a draft (drafts may still have problems)."""
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise FieldError("code", "Use a letter first, then letters, digits, '_' or '-'")
    if session.scalar(select(func.count()).select_from(FlowTemplate).where(FlowTemplate.code == code)):
        raise FieldError("code", "Already in use")
    name = (name or "").strip()
    if not name:
        raise FieldError("name", "This field is required")
    template = FlowTemplate(
        code=code, name=name[:100], description=(description or "").strip(), created_by_id=actor.user.id
    )
    template.versions.append(
        FlowVersion(number=1, bpmn_xml=_check_xml(bpmn_xml), created_by_id=actor.user.id)
    )
    session.add(template)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="flow.create",
        function=FUNCTION,
        target=template,
        after={"code": code, "name": name},
    )
    return template


def update_template(
    session: Session,
    *,
    actor: Actor,
    template: FlowTemplate,
    name: str | None = None,
    description: str | None = None,
) -> FlowTemplate:
    before = {"name": template.name, "description": template.description}
    if name is not None:
        if not name.strip():
            raise FieldError("name", "This field is required")
        template.name = name.strip()[:100]
    if description is not None:
        template.description = description.strip()
    after = {"name": template.name, "description": template.description}
    b, a = audit.diff(before, after)
    if a:
        audit.record(
            session, actor=actor, action="flow.update", function=FUNCTION, target=template, before=b, after=a
        )
    return template


def save_draft(
    session: Session, *, actor: Actor, template: FlowTemplate, bpmn_xml: str, comment: str = ""
) -> FlowVersion:
    """Put `bpmn_xml` into the template's draft, opening a new draft version when there is none."""
    bpmn_xml = _check_xml(bpmn_xml)
    draft = next((v for v in template.versions if v.status is VersionStatus.DRAFT), None)
    if draft is None:
        number = max((v.number for v in template.versions), default=0) + 1
        draft = FlowVersion(number=number, bpmn_xml=bpmn_xml, created_by_id=actor.user.id)
        template.versions.append(draft)
    draft.bpmn_xml = bpmn_xml
    draft.comment = (comment or "").strip()[:500]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="flow.save_draft",
        function=FUNCTION,
        target=template,
        summary=f"version {draft.number}",
    )
    return draft


def problems(version: FlowVersion) -> list[Problem]:
    """What stands between this version and publication (empty: it can be published)."""
    return validate_bpmn(version.bpmn_xml)


def publish(session: Session, *, actor: Actor, version: FlowVersion) -> FlowVersion:
    """Validate, parse once, and make the version available to ticket types."""
    if version.status is not VersionStatus.DRAFT:
        raise Conflict("Only a draft can be published")
    found = problems(version)
    if found:
        raise FlowInvalid(found)
    parsed = parse(version.bpmn_xml)
    version.process_id = parsed.process_id
    version.spec_json = parsed.spec_json
    version.nodes = {node_id: _jsonable(settings) for node_id, settings in parsed.nodes.items()}
    version.status = VersionStatus.PUBLISHED
    version.published_at = clock.now()
    version.published_by_id = actor.user.id
    audit.record(
        session,
        actor=actor,
        action="flow.publish",
        function=FUNCTION,
        target=version.template,
        summary=f"version {version.number}",
    )
    return version


def retire(session: Session, *, actor: Actor, version: FlowVersion) -> FlowVersion:
    """No new work starts on a retired version; running instances finish on it."""
    if version.status is not VersionStatus.PUBLISHED:
        raise Conflict("Only a published version can be retired")
    version.status = VersionStatus.RETIRED
    version.retired_at = clock.now()
    audit.record(
        session,
        actor=actor,
        action="flow.retire",
        function=FUNCTION,
        target=version.template,
        summary=f"version {version.number}",
    )
    return version


def delete_draft(session: Session, *, actor: Actor, version: FlowVersion) -> None:
    if version.status is not VersionStatus.DRAFT:
        raise Conflict("Only a draft can be deleted; retire a published version instead")
    template = version.template
    audit.record(
        session,
        actor=actor,
        action="flow.delete_draft",
        function=FUNCTION,
        target=template,
        summary=f"version {version.number}",
    )
    if len(template.versions) == 1:
        session.delete(template)
    else:
        template.versions.remove(version)
        session.delete(version)


def current_published(template: FlowTemplate) -> FlowVersion | None:
    """The newest published version: what new work is bound to."""
    published = [v for v in template.versions if v.status is VersionStatus.PUBLISHED]
    return max(published, key=lambda v: v.number, default=None)


def published_version(session: Session, template_id: int) -> FlowVersion | None:
    """`current_published` by one indexed query, without loading the template's other versions."""
    stmt = (
        select(FlowVersion)
        .where(FlowVersion.template_id == template_id, FlowVersion.status == VersionStatus.PUBLISHED)
        .order_by(FlowVersion.number.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def _jsonable(settings: Any) -> Any:
    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        return dataclasses.asdict(settings)
    return settings
