"""Subscriber kinds and their attribute definitions over HTTP (configuration)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kefu.customers import kinds
from kefu.customers.models import AttributeDefinition, SubscriberKind
from kefu.customers.schemas import AttributeIn, AttributeRead, AttributeUpdate, KindIn, KindRead, KindUpdate
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/customers/kinds", tags=["customers"])
CONFIG_VIEW, CONFIG_EDIT = "customers.config.view", kinds.EDIT
# Forms that register subscribers need the kinds and their attributes too.
READERS = (CONFIG_VIEW, CONFIG_EDIT, "customers.customer.view", "customers.customer.edit")


@router.get("", response_model=list[KindRead])
def list_kinds(
    session: SessionDep, actor: Requires(*READERS), enabled_only: bool = False
) -> list[SubscriberKind]:
    """Every subscriber kind with its attribute definitions."""
    return kinds.list_kinds(session, enabled_only=enabled_only)


@router.post("", response_model=KindRead, status_code=201)
def create_kind(session: SessionDep, actor: Requires(CONFIG_EDIT), body: KindIn) -> SubscriberKind:
    return kinds.create_kind(session, actor=actor, **body.model_dump())


@router.patch("/{code}", response_model=KindRead)
def update_kind(
    session: SessionDep, actor: Requires(CONFIG_EDIT), code: str, body: KindUpdate
) -> SubscriberKind:
    kind = kinds.get_kind(session, code)
    return kinds.update_kind(session, actor=actor, kind=kind, **body.model_dump(exclude_unset=True))


@router.delete("/{code}", status_code=204)
def delete_kind(session: SessionDep, actor: Requires(CONFIG_EDIT), code: str) -> Response:
    kinds.delete_kind(session, actor=actor, kind=kinds.get_kind(session, code))
    return Response(status_code=204)


@router.post("/{code}/attributes", response_model=AttributeRead, status_code=201)
def add_attribute(
    session: SessionDep, actor: Requires(CONFIG_EDIT), code: str, body: AttributeIn
) -> AttributeDefinition:
    return kinds.add_attribute(session, actor=actor, kind=kinds.get_kind(session, code), **body.model_dump())


@router.patch("/{code}/attributes/{attribute_id}", response_model=AttributeRead)
def update_attribute(
    session: SessionDep, actor: Requires(CONFIG_EDIT), code: str, attribute_id: int, body: AttributeUpdate
) -> AttributeDefinition:
    definition = kinds.get_attribute(kinds.get_kind(session, code), attribute_id)
    return kinds.update_attribute(
        session, actor=actor, definition=definition, **body.model_dump(exclude_unset=True)
    )


@router.delete("/{code}/attributes/{attribute_id}", status_code=204)
def delete_attribute(
    session: SessionDep, actor: Requires(CONFIG_EDIT), code: str, attribute_id: int
) -> Response:
    definition = kinds.get_attribute(kinds.get_kind(session, code), attribute_id)
    kinds.delete_attribute(session, actor=actor, definition=definition)
    return Response(status_code=204)
