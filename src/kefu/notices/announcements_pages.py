"""Announcement pages (公告): mine (list and reading one), and the publisher's list, editor and read
receipts. Forms post to page routes that call the same service functions as the API; bad input
re-shows the form with the message beside each field (422), a clash shows it above (409), and
nothing of the failed request is kept.

The publisher's routes come first: `/announcements/{announcement_id}` would otherwise take `/manage`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from kefu.core import clock, i18n, storage
from kefu.core.errors import FieldError, FieldErrors, KefuError
from kefu.core.permissions import Actor
from kefu.notices import announcement_access as access
from kefu.notices import announcement_audience as audiences
from kefu.notices import announcement_files as files
from kefu.notices import announcement_forms as forms
from kefu.notices import announcements as service
from kefu.notices.announcement_models import Announcement, AnnouncementAttachment, AnnouncementStatus
from kefu.notices.permissions import MANAGE_ANY, PUBLISH
from kefu.web.deps import CurrentActor, Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(prefix="/announcements", include_in_schema=False)
register(NavItem("workbench", "Announcements", "/announcements", "bi-megaphone", order=22))
register(
    NavItem("workbench", "Manage announcements", "/announcements/manage", "bi-broadcast", MANAGE_ANY, 24)
)

Viewer = Requires(*MANAGE_ANY)
Publisher = Requires(PUBLISH)
PAGE_SIZE = 50


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _errors(session: Session, exc: KefuError) -> dict[str, str]:
    """Undo the failed request's writes; field → message (`_` for the whole form)."""
    session.rollback()
    if isinstance(exc, FieldErrors):
        return exc.by_field(i18n.gettext)
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


def _shown(exc: KefuError) -> bool:
    return exc.status_code in (409, 422)


def _common() -> dict[str, Any]:
    return {
        "priority_labels": forms.PRIORITY_LABELS,
        "priority_styles": forms.PRIORITY_STYLES,
        "status_labels": forms.STATUS_LABELS,
        "human_size": storage.human_size,
        "now": clock.now(),
    }


# --- the publisher's pages ----------------------------------------------------------------------


@router.get("/manage")
def manage_list(
    request: Request, session: SessionDep, actor: Viewer, status: str = "", page: int = 1
) -> Response:
    page = max(page, 1)
    wanted = status if status in {s.value for s in AnnouncementStatus} else None
    items = access.managed_list(
        session, actor, status=wanted, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    return render(
        request,
        "notices/announcements/manage.html",
        {
            **_common(),
            "items": items,
            "counts": access.counts(session, [a.id for a in items]),
            "status": wanted or "",
            "page": page,
            "more": more,
            "display_status": forms.display_status,
        },
    )


def _editor(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    announcement: Announcement | None,
    values: forms.EditorValues,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "notices/announcements/edit.html",
        {
            **_common(),
            **forms.choices(session, actor),
            "announcement": announcement,
            "values": values,
            "errors": errors or {},
            "priority_help": forms.PRIORITY_HELP,
        },
        status_code=status,
    )


def _attach_uploads(session: Session, actor: Actor, announcement: Announcement, form: FormData) -> None:
    for item in form.getlist("files"):
        if isinstance(item, UploadFile) and item.filename:
            try:
                files.attach(
                    session,
                    actor=actor,
                    announcement=announcement,
                    filename=item.filename,
                    content_type=item.content_type,
                    stream=item.file,
                )
            except FieldError as exc:
                raise FieldError("files", exc.message, **exc.params) from None


def _save(
    request: Request, session: Session, actor: Actor, form: FormData, announcement: Announcement | None
) -> Response:
    """Save the editor's draft (and its new files); publish it too when asked. One transaction."""
    values = forms.read_form(form)
    existing_id = announcement.id if announcement is not None else None
    try:
        draft = forms.to_draft(values)
        if announcement is None:
            announcement = service.create(session, actor=actor, draft=draft)
        else:
            service.update_draft(session, actor=actor, announcement=announcement, draft=draft)
        _attach_uploads(session, actor, announcement, form)
        if form.get("action") == "publish":
            service.publish(session, actor=actor, announcement=announcement)
    except KefuError as exc:
        if not _shown(exc):
            raise
        errors = _errors(session, exc)
        again = access.managed(session, actor, existing_id, need_publish=True) if existing_id else None
        if again is not None and again.status != AnnouncementStatus.DRAFT:
            return _receipts_page(request, session, actor, again.id, errors=errors, status=exc.status_code)
        return _editor(
            request, session, actor, announcement=again, values=values, errors=errors, status=exc.status_code
        )
    return RedirectResponse(f"/announcements/manage/{announcement.id}", status_code=303)


@router.get("/manage/new")
def new_form(request: Request, session: SessionDep, actor: Publisher) -> Response:
    return _editor(request, session, actor, announcement=None, values=forms.EditorValues())


@router.post("/manage/new")
def create(request: Request, session: SessionDep, actor: Publisher, form: FormDep) -> Response:
    return _save(request, session, actor, form, None)


@router.get("/manage/{announcement_id}/edit")
def edit_form(request: Request, session: SessionDep, actor: Publisher, announcement_id: int) -> Response:
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    if announcement.status != AnnouncementStatus.DRAFT:
        return RedirectResponse(f"/announcements/manage/{announcement.id}", status_code=303)
    return _editor(
        request, session, actor, announcement=announcement, values=forms.EditorValues.of(announcement)
    )


@router.post("/manage/{announcement_id}/edit")
def edit(
    request: Request, session: SessionDep, actor: Publisher, announcement_id: int, form: FormDep
) -> Response:
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    return _save(request, session, actor, form, announcement)


def _receipts_page(
    request: Request,
    session: Session,
    actor: Actor,
    announcement_id: int,
    *,
    show: str = "unread",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    announcement = access.managed(session, actor, announcement_id)
    read = {"unread": False, "read": True}.get(show)
    counts = access.counts(session, [announcement.id])[announcement.id]
    can_publish = actor.can(PUBLISH) and _in_publish_scope(session, actor, announcement.id)
    return render(
        request,
        "notices/announcements/receipts.html",
        {
            **_common(),
            "a": announcement,
            "audience": (
                announcement.audience_names
                if announcement.status != AnnouncementStatus.DRAFT
                else audiences.names(session, service.audience_of(announcement))
            ),
            "counts": counts,
            "departments": access.department_counts(session, announcement.id),
            "receipts": access.receipts(session, announcement.id, read=read, limit=2000),
            "show": show if read is not None else "all",
            "state": forms.display_status(announcement, clock.now()),
            "can_publish": can_publish,
            "errors": errors or {},
        },
        status_code=status,
    )


def _in_publish_scope(session: Session, actor: Actor, announcement_id: int) -> bool:
    try:
        access.managed(session, actor, announcement_id, need_publish=True)
    except KefuError:
        return False
    return True


@router.get("/manage/{announcement_id}")
def receipts(
    request: Request, session: SessionDep, actor: Viewer, announcement_id: int, show: str = "unread"
) -> Response:
    """The announcement as published, its read receipts, who has not read it, and its actions."""
    return _receipts_page(request, session, actor, announcement_id, show=show)


def _act(request: Request, session: Session, actor: Actor, announcement_id: int, action: Any) -> Response:
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    try:
        action(announcement)
    except KefuError as exc:
        if not _shown(exc):
            raise
        errors = _errors(session, exc)
        return _receipts_page(request, session, actor, announcement_id, errors=errors, status=exc.status_code)
    return RedirectResponse(f"/announcements/manage/{announcement_id}", status_code=303)


@router.post("/manage/{announcement_id}/publish")
def publish(request: Request, session: SessionDep, actor: Publisher, announcement_id: int) -> Response:
    return _act(
        request,
        session,
        actor,
        announcement_id,
        lambda a: service.publish(session, actor=actor, announcement=a),
    )


@router.post("/manage/{announcement_id}/withdraw")
def withdraw(
    request: Request, session: SessionDep, actor: Publisher, announcement_id: int, form: FormDep
) -> Response:
    reason = form.get("reason")
    text = reason if isinstance(reason, str) else ""
    return _act(
        request,
        session,
        actor,
        announcement_id,
        lambda a: service.withdraw(session, actor=actor, announcement=a, reason=text),
    )


@router.post("/manage/{announcement_id}/remind")
def remind(request: Request, session: SessionDep, actor: Publisher, announcement_id: int) -> Response:
    return _act(
        request,
        session,
        actor,
        announcement_id,
        lambda a: service.remind(session, actor=actor, announcement=a),
    )


@router.post("/manage/{announcement_id}/delete")
def delete(session: SessionDep, actor: Publisher, announcement_id: int) -> Response:
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    service.delete_draft(session, actor=actor, announcement=announcement)
    return RedirectResponse("/announcements/manage", status_code=303)


@router.post("/manage/{announcement_id}/attachments/{attachment_id}/delete")
def detach(session: SessionDep, actor: Publisher, announcement_id: int, attachment_id: int) -> Response:
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    row = session.get(AnnouncementAttachment, attachment_id)
    if row is None or row.announcement_id != announcement.id:
        return RedirectResponse(f"/announcements/manage/{announcement_id}/edit", status_code=303)
    files.detach(session, actor=actor, announcement=announcement, attachment=row)
    return RedirectResponse(f"/announcements/manage/{announcement_id}/edit", status_code=303)


# --- what I receive -----------------------------------------------------------------------------


@router.get("")
def my_list(
    request: Request, session: SessionDep, actor: CurrentActor, unread_only: bool = False, page: int = 1
) -> Response:
    page = max(page, 1)
    rows = access.inbox(
        session,
        user_id=actor.user.id,
        unread_only=unread_only,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "notices/announcements/list.html",
        {
            **_common(),
            "rows": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "page": page,
            "unread_only": unread_only,
            "unread": access.unread_count(session, actor.user.id),
        },
    )


@router.get("/{announcement_id}")
def read_one(request: Request, session: SessionDep, actor: CurrentActor, announcement_id: int) -> Response:
    """One announcement addressed to me; opening it is reading it (the receipt its publisher sees)."""
    announcement, read_at = access.received(session, actor, announcement_id)
    if read_at is None:
        service.mark_read(session, actor=actor, announcement=announcement)
        read_at = clock.now()
    return render(
        request,
        "notices/announcements/detail.html",
        {**_common(), "a": announcement, "read_at": read_at},
    )
