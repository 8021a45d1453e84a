"""The shape of a demo preset file (`data/<name>.toml`), checked before anything is written.

Pydantic checks each section's keys and types (unknown keys are refused, so a typo does not pass
silently); `check_references` then checks that every code a section names is declared in the file or
said to exist already. The values themselves (element definitions, flow nodes, identity numbers, …)
are checked by the services the loader calls, whose messages name the same keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(_Strict):
    name: str
    title: str
    description: str = ""
    actor: str = "admin"  # the user who configures everything (needs every configuration right)
    # Users and departments the file refers to that it does not create (the demo organisation).
    requires_users: list[str] = Field(default_factory=list)
    requires_departments: list[str] = Field(default_factory=list)


class DepartmentSpec(_Strict):
    code: str
    name: str
    parent: str = ""
    supervisor: str = ""  # username, set once the users exist
    sort: int = 0


class UserSpec(_Strict):
    username: str
    name: str
    department: str
    roles: list[str]  # role codes of existing roles
    agent_no: str = ""
    phone_ext: str = ""
    mobile: str = ""
    email: str = ""


class DictionarySpec(_Strict):
    """A dictionary type with items; an existing type (a shared one) only gets the missing items."""

    code: str
    name: str
    description: str = ""
    items: list[list[str]]  # [code, label] or [code, label, English label]


class CategorySpec(_Strict):
    code: str
    name: str
    parent: str = ""
    description: str = ""
    sort: int = 0


class FormSpec(_Strict):
    code: str
    name: str
    category: str = ""
    department: str = ""
    description: str = ""
    elements: list[dict[str, Any]]  # as the form-template editor stores them (tickets.formdef)


class SlaSpec(_Strict):
    """An SLA policy: the whole-ticket limit of the types that name it, and node limits of the flows
    that name it (ISO-8601 durations of working time)."""

    code: str
    name: str
    ticket_limit: str = ""
    nodes: dict[str, str] = Field(default_factory=dict)
    warn_at: float = 0.75
    escalation: Literal["notify", "reassign", "path"] = "notify"


class StateSpec(_Strict):
    code: str
    label: str
    next: str


class NodeSpec(_Strict):
    id: str
    name: str
    dispatch: Literal["auto", "manual", "grab"] = "auto"
    assign: list[str]  # "kind" or "kind:ref", e.g. "department:SAT-NOC", "submitter_supervisor"
    states: list[StateSpec] = Field(default_factory=list)
    limit: str = ""  # overrides the flow's SLA policy for this node
    escalation: Literal["", "notify", "reassign", "path"] = ""


class FlowSpec(_Strict):
    code: str
    name: str
    description: str = ""
    sla: str = ""
    nodes: list[NodeSpec]


class TypeSpec(_Strict):
    code: str
    name: str
    prefix: str
    flow: str
    category: str = ""
    form: str = ""
    sla: str = ""
    department: str = ""
    priority: str = "normal"
    description: str = ""
    sort: int = 0


class CaseSpec(_Strict):
    code: str
    name: str
    type: str
    category: str = ""
    subject: str = ""
    description: str = ""
    priority: str = ""
    nature: str = ""
    fields: dict[str, Any] = Field(default_factory=dict)


class AcceptanceSpec(_Strict):
    """Business acceptance orders (业务受理申请单): the two order types (pay first, serve first), their
    new orders handled in `department`'s pool."""

    department: str


class DispatchRuleSpec(_Strict):
    name: str
    department: str
    area: str = ""
    fault_type: str = ""
    customer_tier: str = ""
    sort: int = 0


class NoticeSpec(_Strict):
    """A fault or cutover notice whose window is placed relative to the moment of loading."""

    kind: Literal["fault", "cutover"] = "fault"
    title: str
    content: str = ""
    public_text: str = ""
    areas: list[str]
    services: list[str] = Field(default_factory=list)
    starts_in_hours: float = 0
    hours: float = Field(gt=0)
    status: Literal["draft", "published"] = "published"


class KnowledgeCategorySpec(_Strict):
    key: str
    name: str
    parent: str = ""
    publish_mode: Literal["auto", "manual"] = "auto"
    editors: list[str] = Field(default_factory=list)  # department codes that maintain it


class ArticleSpec(_Strict):
    category: str  # a knowledge category key
    title: str
    summary: str = ""
    keywords: str = ""
    body: str  # HTML; sanitised by the knowledge base
    business_type: str = ""  # a business category code
    attributes: list[str] = Field(default_factory=list)
    audience: Literal["public", "internal"] = "public"
    hot: bool = False


class KnowledgeSpec(_Strict):
    author: str
    reviewer: str
    categories: list[KnowledgeCategorySpec] = Field(default_factory=list)
    articles: list[ArticleSpec] = Field(default_factory=list)


class AddressSpec(_Strict):
    region: str
    detail: str
    kind: str = "home"


class SubscriberSpec(_Strict):
    kind: str
    number: str
    product: str = ""
    opened_on: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)


class CustomerSpec(_Strict):
    code: str
    name: str
    kind: Literal["individual", "enterprise"] = "individual"
    tier: str = "regular"
    id_type: str = ""
    id_number: str = ""
    parent: str = ""
    contact_person: str = ""
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    address: AddressSpec | None = None
    subscribers: list[SubscriberSpec] = Field(default_factory=list)


class StepSpec(_Strict):
    user: str
    action: Literal["accept", "reply", "complete", "dispatch"]
    state: str = ""  # complete: the node's state
    to: str = ""  # dispatch: the username
    comment: str = ""


class TypicalSpec(_Strict):
    """The industry's typical ticket: registered by `registrar` and walked to closed by `steps`."""

    type: str
    registrar: str
    customer: str
    case: str = ""
    channel: str = "phone"
    subject: str = ""
    description: str = ""
    priority: str = ""
    nature: str = ""
    fields: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepSpec]


class SampleSpec(_Strict):
    """A demo ticket made like the typical one for another customer, walked `steps` steps."""

    customer: str
    steps: int = Field(ge=0)
    subject: str = ""
    fields: dict[str, Any] = Field(default_factory=dict)


class Preset(_Strict):
    preset: Meta
    departments: list[DepartmentSpec] = Field(default_factory=list)
    users: list[UserSpec] = Field(default_factory=list)
    dictionaries: list[DictionarySpec] = Field(default_factory=list)
    categories: list[CategorySpec] = Field(default_factory=list)
    forms: list[FormSpec] = Field(default_factory=list)
    sla: list[SlaSpec] = Field(default_factory=list)
    flows: list[FlowSpec] = Field(default_factory=list)
    types: list[TypeSpec] = Field(default_factory=list)
    cases: list[CaseSpec] = Field(default_factory=list)
    dispatch_rules: list[DispatchRuleSpec] = Field(default_factory=list)
    acceptance: AcceptanceSpec | None = None
    notices: list[NoticeSpec] = Field(default_factory=list)
    knowledge: KnowledgeSpec | None = None
    customers: list[CustomerSpec] = Field(default_factory=list)
    typical: TypicalSpec
    samples: list[SampleSpec] = Field(default_factory=list)


def location(loc: tuple[int | str, ...]) -> str:
    """`("flows", 0, "nodes", 2, "id")` → `flows[0].nodes[2].id`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_references(preset: Preset) -> list[tuple[str, str]]:
    """(key, reason) for every name a section uses that is neither declared nor said to exist."""
    problems: list[tuple[str, str]] = []
    users = {u.username for u in preset.users} | set(preset.preset.requires_users)
    departments = {d.code for d in preset.departments} | set(preset.preset.requires_departments)
    categories = {c.code for c in preset.categories}
    dictionaries = {d.code for d in preset.dictionaries}
    forms = {f.code for f in preset.forms}
    slas = {s.code: s for s in preset.sla}
    flows = {f.code: f for f in preset.flows}
    types = {t.code: t for t in preset.types}
    cases = {c.code: c for c in preset.cases}
    customers = {c.code for c in preset.customers}

    def need(key: str, value: str, known: set[str] | dict[str, Any], what: str) -> None:
        if value and value not in known:
            problems.append((key, f"unknown {what} {value!r}"))

    for section, codes in (
        ("departments", [d.code for d in preset.departments]),
        ("users", [u.username for u in preset.users]),
        ("dictionaries", [d.code for d in preset.dictionaries]),
        ("categories", [c.code for c in preset.categories]),
        ("forms", [f.code for f in preset.forms]),
        ("sla", [s.code for s in preset.sla]),
        ("flows", [f.code for f in preset.flows]),
        ("types", [t.code for t in preset.types]),
        ("cases", [c.code for c in preset.cases]),
        ("customers", [c.code for c in preset.customers]),
    ):
        seen: set[str] = set()
        for index, code in enumerate(codes):
            if code in seen:
                problems.append((f"{section}[{index}]", f"{code!r} is declared twice"))
            seen.add(code)
    for i, dept in enumerate(preset.departments):
        need(f"departments[{i}].parent", dept.parent, departments, "department")
        need(f"departments[{i}].supervisor", dept.supervisor, users, "user")
    for i, user in enumerate(preset.users):
        need(f"users[{i}].department", user.department, departments, "department")
    if preset.acceptance is not None:
        need("acceptance.department", preset.acceptance.department, departments, "department")
    for i, dictionary in enumerate(preset.dictionaries):
        for j, item in enumerate(dictionary.items):
            if len(item) not in (2, 3):
                problems.append((f"dictionaries[{i}].items[{j}]", "give [code, label] or [code, label, en]"))
    for i, category in enumerate(preset.categories):
        need(f"categories[{i}].parent", category.parent, categories, "category")
    for i, form in enumerate(preset.forms):
        need(f"forms[{i}].category", form.category, categories, "category")
        need(f"forms[{i}].department", form.department, departments, "department")
        for j, element in enumerate(form.elements):
            chosen = element.get("dictionary")
            if isinstance(chosen, str) and chosen not in dictionaries:
                problems.append((f"forms[{i}].elements[{j}].dictionary", f"unknown dictionary {chosen!r}"))
    for i, flow in enumerate(preset.flows):
        need(f"flows[{i}].sla", flow.sla, slas, "SLA policy")
        node_ids = {n.id for n in flow.nodes}
        if flow.sla in slas:
            for node_id in slas[flow.sla].nodes:
                if node_id not in node_ids:
                    problems.append((f"flows[{i}].sla", f"SLA {flow.sla!r} names node {node_id!r}"))
        for j, node in enumerate(flow.nodes):
            for k, assign in enumerate(node.assign):
                kind, _, ref = assign.partition(":")
                key = f"flows[{i}].nodes[{j}].assign[{k}]"
                if kind == "department":
                    need(key, ref, departments, "department")
                elif kind == "user":
                    need(key, ref, users, "user")
    for i, ticket_type in enumerate(preset.types):
        need(f"types[{i}].flow", ticket_type.flow, flows, "flow")
        need(f"types[{i}].category", ticket_type.category, categories, "category")
        need(f"types[{i}].form", ticket_type.form, forms, "form")
        need(f"types[{i}].sla", ticket_type.sla, slas, "SLA policy")
        need(f"types[{i}].department", ticket_type.department, departments, "department")
    for i, case in enumerate(preset.cases):
        need(f"cases[{i}].type", case.type, types, "ticket type")
        need(f"cases[{i}].category", case.category, categories, "category")
    for i, rule in enumerate(preset.dispatch_rules):
        need(f"dispatch_rules[{i}].department", rule.department, departments, "department")
    if preset.knowledge is not None:
        kb = preset.knowledge
        need("knowledge.author", kb.author, users, "user")
        need("knowledge.reviewer", kb.reviewer, users, "user")
        keys = {c.key for c in kb.categories}
        for i, kc in enumerate(kb.categories):
            need(f"knowledge.categories[{i}].parent", kc.parent, keys, "knowledge category")
            for j, editor in enumerate(kc.editors):
                need(f"knowledge.categories[{i}].editors[{j}]", editor, departments, "department")
        for i, article in enumerate(kb.articles):
            need(f"knowledge.articles[{i}].category", article.category, keys, "knowledge category")
            need(f"knowledge.articles[{i}].business_type", article.business_type, categories, "category")
    for i, customer in enumerate(preset.customers):
        need(f"customers[{i}].parent", customer.parent, customers, "customer")
    typical = preset.typical
    need("typical.type", typical.type, types, "ticket type")
    need("typical.registrar", typical.registrar, users, "user")
    need("typical.customer", typical.customer, customers, "customer")
    need("typical.case", typical.case, cases, "case template")
    if typical.case in cases and cases[typical.case].type != typical.type:
        problems.append(("typical.case", f"case {typical.case!r} is not of type {typical.type!r}"))
    for i, step in enumerate(typical.steps):
        need(f"typical.steps[{i}].user", step.user, users, "user")
        need(f"typical.steps[{i}].to", step.to, users, "user")
        if step.action == "dispatch" and not step.to:
            problems.append((f"typical.steps[{i}].to", "a dispatch names the person"))
        if step.action == "complete" and not step.state:
            problems.append((f"typical.steps[{i}].state", "a completion names the state"))
        if step.action == "reply" and not step.comment:
            problems.append((f"typical.steps[{i}].comment", "a reply needs its text"))
    for i, sample in enumerate(preset.samples):
        need(f"samples[{i}].customer", sample.customer, customers, "customer")
        if sample.steps > len(typical.steps):
            problems.append((f"samples[{i}].steps", f"the typical ticket has {len(typical.steps)} steps"))
    return problems
