"""Apply a demo preset through the services the administration screens use.

One `Loader` walks the sections of a checked preset in dependency order — departments and users,
dictionaries, business categories, form templates, flows (drawn with the simple builder and
published), ticket types with their SLA policy, case templates, dispatch rules, fault notices, the
knowledge base (written, reviewed and published through its lifecycle so that search finds it),
customers with subscribers — and finally registers the sample tickets. Each object is looked up by its
code (or title) first and left alone when it exists, so loading twice changes nothing. A service
refusing a value becomes a `PresetError` naming the file, the key in it and the service's message.
Nothing here knows an industry: the industries differ only in their files.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, security
from kefu.core.errors import FieldErrors, KefuError
from kefu.core.permissions import Actor, build_actor
from kefu.org import departments
from kefu.org.config import dictionary
from kefu.org.config.models import DictType
from kefu.org.models import Department, Role, User
from kefu.presets import content, files, typical
from kefu.presets.schema import FlowSpec, Preset
from kefu.tickets import acceptance_flows, fault_notices, faults
from kefu.tickets.fault_models import DispatchRule, FaultNotice
from kefu.tickets.models import BusinessCategory, CaseTemplate, FormTemplate, Ticket, TicketType
from kefu.tickets.setup import service as setup
from kefu.workflow import builder, flows
from kefu.workflow.models import FlowTemplate


@dataclass
class LoadResult:
    """What one load did: how many objects of each section it created, and the staff accounts of the
    preset (username, password, role names) to print beside the demo's."""

    name: str
    title: str
    created: dict[str, int] = field(default_factory=dict)
    accounts: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.created.values())


def _under(key: str, field: str) -> str:
    """A service's field inside the preset's key, in the file's notation: `forms[0]` + `elements.4.type`
    → `forms[0].elements[4].type`."""
    if not field:
        return key
    return key + "." + re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", field)


@functools.lru_cache(maxsize=4)
def _demo_hash(password: str) -> str:
    """One hash of the demo password for every preset account (hashing costs ≈ 0.3 s each)."""
    return security.hash_password(password)


def load(session: Session, name: str, *, password: str) -> LoadResult:
    """Load the preset `name` (or a path to a preset file); new staff accounts get `password`."""
    preset = files.read(name)
    return Loader(session, preset, file=files.path_of(name).name, password=password).run()


class Loader:
    def __init__(self, session: Session, preset: Preset, *, file: str, password: str) -> None:
        self.session = session
        self.preset = preset
        self.file = file
        self.password = password
        self.result = LoadResult(name=preset.preset.name, title=preset.preset.title)
        self.users: dict[str, User] = {}
        self.departments: dict[str, int] = {}
        self.categories: dict[str, int] = {}
        self.forms: dict[str, int] = {}
        self.flows: dict[str, int] = {}
        self.types: dict[str, TicketType] = {}
        self.customers: dict[str, int] = {}
        self._actor: Actor | None = None

    # --- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def at(self, key: str) -> Iterator[None]:
        """Turn a service's refusal inside the block into a PresetError located at `key`."""
        try:
            yield
        except FieldErrors as exc:
            raise self.error([(_under(key, e.field), e.render()) for e in exc.errors]) from None
        except builder.InvalidFlow as exc:
            raise self.error([(_under(key, p.field), p.render()) for p in exc.problems]) from None
        except flows.FlowInvalid as exc:
            raise self.error(
                [(_under(key, f"bpmn.{p.element_id}"), p.render()) for p in exc.problems]
            ) from None
        except KefuError as exc:
            raise self.error([(_under(key, getattr(exc, "field", "")), exc.render())]) from None

    def error(self, problems: list[tuple[str, str]]) -> files.PresetError:
        return files.PresetError(self.file, problems)

    def count(self, section: str) -> None:
        self.result.created[section] = self.result.created.get(section, 0) + 1

    def user(self, username: str, key: str) -> User:
        found = self.users.get(username)
        if found is None:
            found = self.session.scalars(
                select(User).where(func.lower(User.username) == username.lower())
            ).first()
            if found is None:
                reason = f"user {username!r} does not exist (load the demo organisation first)"
                raise files.PresetError(self.file, [(key, reason)])
            self.users[username] = found
        return found

    def actor_of(self, username: str, key: str) -> Actor:
        return build_actor(self.session, self.user(username, key))

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = self.actor_of(self.preset.preset.actor, "preset.actor")
        return self._actor

    def department(self, code: str, key: str) -> int | None:
        if not code:
            return None
        if code not in self.departments:
            found = self.session.scalar(select(Department.id).where(Department.code == code))
            if found is None:
                raise files.PresetError(self.file, [(key, f"department {code!r} does not exist")])
            self.departments[code] = found
        return self.departments[code]

    # --- the sections, in dependency order ---------------------------------------------------------

    def run(self) -> LoadResult:
        self.load_departments()
        self.load_users()
        self.load_dictionaries()
        self.load_categories()
        self.load_forms()
        self.load_flows()
        self.load_types()
        self.load_cases()
        self.load_dispatch_rules()
        self.load_acceptance()
        self.load_notices()
        content.load_knowledge(self)
        content.load_customers(self)
        self.load_samples()
        self.session.flush()
        return self.result

    def load_departments(self) -> None:
        for i, spec in enumerate(self.preset.departments):
            key = f"departments[{i}]"
            found = self.session.scalar(select(Department.id).where(Department.code == spec.code))
            if found is None:
                with self.at(key):
                    dept = departments.create_department(
                        self.session,
                        actor=self.actor,
                        code=spec.code,
                        name=spec.name,
                        parent_id=self.department(spec.parent, f"{key}.parent"),
                        sort=spec.sort,
                    )
                found = dept.id
                self.count("departments")
            self.departments[spec.code] = found

    def load_users(self) -> None:
        roles = list(self.session.scalars(select(Role)))
        for i, spec in enumerate(self.preset.users):
            key = f"users[{i}]"
            existing = self.session.scalars(
                select(User).where(func.lower(User.username) == spec.username.lower())
            ).first()
            chosen: list[Role] = []
            for j, code in enumerate(spec.roles):
                matching = [r for r in roles if r.code == code]
                if len(matching) != 1:
                    why = "no such role" if not matching else "several roles have this code"
                    raise files.PresetError(self.file, [(f"{key}.roles[{j}]", f"{why}: {code!r}")])
                chosen.append(matching[0])
            if existing is None:
                # Demo accounts: the published demo password, no forced change at first sign-in
                # (as the demo organisation's own accounts).
                existing = User(
                    username=spec.username,
                    name=spec.name,
                    department_id=self.department(spec.department, f"{key}.department"),
                    password_hash=_demo_hash(self.password),
                    must_change_password=False,
                    agent_no=spec.agent_no,
                    phone_ext=spec.phone_ext,
                    mobile=spec.mobile,
                    email=spec.email,
                    roles=chosen,
                )
                self.session.add(existing)
                self.session.flush()
                audit.record(
                    self.session,
                    actor=self.actor,
                    action="user.create",
                    function="admin.users",
                    target=existing,
                    summary=f"preset {self.preset.preset.name}",
                    after={
                        "username": existing.username,
                        "name": existing.name,
                        "department_id": existing.department_id,
                        "role_ids": sorted(r.id for r in chosen),
                    },
                )
                self.count("users")
            self.users[spec.username] = existing
            self.result.accounts.append(
                (spec.username, self.password, "、".join(r.name for r in existing.roles))
            )
        for i, dept_spec in enumerate(self.preset.departments):
            if not dept_spec.supervisor:
                continue
            dept = self.session.get(Department, self.departments[dept_spec.code])
            assert dept is not None
            if dept.supervisor_id is None:
                supervisor = self.user(dept_spec.supervisor, f"departments[{i}].supervisor")
                with self.at(f"departments[{i}]"):
                    departments.update_department(
                        self.session, actor=self.actor, department=dept, supervisor_id=supervisor.id
                    )

    def load_dictionaries(self) -> None:
        for i, spec in enumerate(self.preset.dictionaries):
            key = f"dictionaries[{i}]"
            dict_type = self.session.scalars(select(DictType).where(DictType.code == spec.code)).first()
            if dict_type is None:
                with self.at(key):
                    dict_type = dictionary.create_type(
                        self.session,
                        actor=self.actor,
                        code=spec.code,
                        name=spec.name,
                        description=spec.description,
                    )
                self.count("dictionaries")
            have = {item.code for item in dict_type.items}
            for j, item in enumerate(spec.items):
                code, label = item[0], item[1]
                if code in have:
                    continue
                with self.at(f"{key}.items[{j}]"):
                    dictionary.add_item(
                        self.session,
                        actor=self.actor,
                        dict_type=dict_type,
                        code=code,
                        label=label,
                        label_en=item[2] if len(item) > 2 else "",
                    )
                have.add(code)
                self.count("dictionary_items")

    def load_categories(self) -> None:
        for i, spec in enumerate(self.preset.categories):
            found = self.session.scalar(select(BusinessCategory.id).where(BusinessCategory.code == spec.code))
            if found is None:
                with self.at(f"categories[{i}]"):
                    found = setup.create_category(
                        self.session,
                        actor=self.actor,
                        code=spec.code,
                        name=spec.name,
                        parent_id=self.categories.get(spec.parent) if spec.parent else None,
                        description=spec.description,
                        sort=spec.sort,
                    ).id
                self.count("categories")
            self.categories[spec.code] = found

    def load_forms(self) -> None:
        for i, spec in enumerate(self.preset.forms):
            key = f"forms[{i}]"
            found = self.session.scalar(select(FormTemplate.id).where(FormTemplate.code == spec.code))
            if found is None:
                department_id = self.department(spec.department, f"{key}.department")
                with self.at(key):
                    found = setup.create_form_template(
                        self.session,
                        actor=self.actor,
                        code=spec.code,
                        name=spec.name,
                        category_id=self.categories.get(spec.category),
                        department_id=department_id,
                        status="active",
                        elements=[dict(e) for e in spec.elements],
                        description=spec.description,
                    ).id
                self.count("forms")
            self.forms[spec.code] = found

    def simple_flow(self, spec: FlowSpec) -> builder.SimpleFlow:
        """The flow in the simple builder's form, node limits filled in from its SLA policy."""
        sla = next((s for s in self.preset.sla if s.code == spec.sla), None)
        nodes = []
        for node in spec.nodes:
            assign = [builder.AssignRule(*rule.split(":", 1)) for rule in node.assign]
            nodes.append(
                builder.SimpleNode(
                    id=node.id,
                    name=node.name,
                    dispatch=node.dispatch,
                    assign=assign,
                    states=[builder.StateRule(s.code, s.label, s.next) for s in node.states],
                    limit=node.limit or (sla.nodes.get(node.id, "") if sla else ""),
                    warn_at=sla.warn_at if sla else 0.75,
                    escalation=node.escalation or (sla.escalation if sla else "notify"),
                )
            )
        return builder.SimpleFlow(code=spec.code, name=spec.name, nodes=nodes)

    def load_flows(self) -> None:
        for i, spec in enumerate(self.preset.flows):
            key = f"flows[{i}]"
            template = self.session.scalars(
                select(FlowTemplate).where(FlowTemplate.code == spec.code)
            ).first()
            if template is None:
                with self.at(key):
                    xml = builder.to_bpmn(self.simple_flow(spec))
                    template = flows.create_template(
                        self.session,
                        actor=self.actor,
                        code=spec.code,
                        name=spec.name,
                        bpmn_xml=xml,
                        description=spec.description,
                    )
                    flows.publish(self.session, actor=self.actor, version=template.versions[0])
                    self.session.flush()
                self.count("flows")
            self.flows[spec.code] = template.id

    def load_types(self) -> None:
        limits = {s.code: s.ticket_limit for s in self.preset.sla}
        for i, spec in enumerate(self.preset.types):
            key = f"types[{i}]"
            found = self.session.scalars(select(TicketType).where(TicketType.code == spec.code)).first()
            if found is None:
                department_id = self.department(spec.department, f"{key}.department")
                with self.at(key):
                    found = setup.create_ticket_type(
                        self.session,
                        actor=self.actor,
                        code=spec.code,
                        name=spec.name,
                        prefix=spec.prefix,
                        flow_template_id=self.flows[spec.flow],
                        category_id=self.categories.get(spec.category),
                        form_template_id=self.forms.get(spec.form),
                        limit=limits.get(spec.sla) or None,
                        default_department_id=department_id,
                        default_priority=spec.priority,
                        description=spec.description,
                        sort=spec.sort,
                    )
                self.count("types")
            self.types[spec.code] = found

    def load_cases(self) -> None:
        for i, spec in enumerate(self.preset.cases):
            if self.session.scalar(select(CaseTemplate.id).where(CaseTemplate.code == spec.code)) is not None:
                continue
            with self.at(f"cases[{i}]"):
                setup.create_case_template(
                    self.session,
                    actor=self.actor,
                    code=spec.code,
                    name=spec.name,
                    type_id=self.types[spec.type].id,
                    category_id=self.categories.get(spec.category),
                    subject=spec.subject,
                    description=spec.description,
                    priority=spec.priority or None,
                    nature=spec.nature or None,
                    fields=spec.fields,
                )
            self.count("cases")

    def load_dispatch_rules(self) -> None:
        for i, spec in enumerate(self.preset.dispatch_rules):
            key = f"dispatch_rules[{i}]"
            if self.session.scalar(select(DispatchRule.id).where(DispatchRule.name == spec.name)) is not None:
                continue
            values = {
                "name": spec.name,
                "sort": spec.sort,
                "area": spec.area,
                "fault_type": spec.fault_type,
                "customer_tier": spec.customer_tier,
                "department_id": self.department(spec.department, f"{key}.department"),
                "enabled": True,
            }
            with self.at(key):
                faults.create_rule(self.session, actor=self.actor, values=values)
            self.count("dispatch_rules")

    def load_acceptance(self) -> None:
        spec = self.preset.acceptance
        if spec is None:
            return
        from kefu.tickets.acceptance_flows import TYPE_CODES

        codes = [code for code, _prefix in TYPE_CODES.values()]
        missing = self.session.scalar(select(func.count()).where(TicketType.code.in_(codes))) != len(codes)
        with self.at("acceptance"):
            acceptance_flows.ensure_acceptance_types(
                self.session,
                actor=self.actor,
                department_id=self.department(spec.department, "acceptance.department"),
            )
        if missing:
            self.count("acceptance")

    def load_notices(self) -> None:
        now = clock.now().replace(second=0, microsecond=0)
        for i, spec in enumerate(self.preset.notices):
            if self.session.scalar(select(FaultNotice.id).where(FaultNotice.title == spec.title)) is not None:
                continue
            starts = now + timedelta(hours=spec.starts_in_hours)
            values = {
                "kind": spec.kind,
                "title": spec.title,
                "content": spec.content,
                "public_text": spec.public_text,
                "areas": spec.areas,
                "services": spec.services,
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=spec.hours),
                "status": spec.status,
            }
            with self.at(f"notices[{i}]"):
                fault_notices.create(self.session, actor=self.actor, values=values)
            self.count("notices")

    def load_samples(self) -> None:
        """The sample tickets, once: only while the typical ticket's type has no tickets yet."""
        if not self.preset.samples:
            return
        ticket_type = self.types[self.preset.typical.type]
        if (
            self.session.scalar(select(Ticket.id).where(Ticket.type_id == ticket_type.id).limit(1))
            is not None
        ):
            return
        for i, sample in enumerate(self.preset.samples):
            with self.at(f"samples[{i}]"):
                ticket = typical.register(
                    self, customer=sample.customer, subject=sample.subject, fields=sample.fields
                )
                typical.walk(self, ticket, self.preset.typical.steps[: sample.steps])
            self.count("tickets")
