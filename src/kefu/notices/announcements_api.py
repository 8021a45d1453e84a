"""Announcements over HTTP: what I receive (any signed-in person) and what I publish
(`notices.announcements.*`). The live push rides on the message stream (`/api/v1/notifications/stream`).

`manage_router` must be registered before `router`, whose `/{announcement_id}` would otherwise
swallow `/manage`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from kefu.core.errors import NotFound
from kefu.notices import announcement_access as access
from kefu.notices import announcement_files as files
from kefu.notices import announcements as service
from kefu.notices.announcement_models import Announcement, AnnouncementAttachment
from kefu.notices.announcement_schemas import (
    AnnouncementCreate,
    AnnouncementInbox,
    AnnouncementWrite,
    AttachmentRead,
    DepartmentCounts,
    ManagedAnnouncement,
    ManagedList,
    ReadResult,
    ReceiptCounts,
    ReceiptRead,
    ReceiptReport,
    ReceivedAnnouncement,
    ReceivedBrief,
    RemindResult,
    Withdraw,
)
from kefu.notices.permissions import MANAGE_ANY, PUBLISH
from kefu.web.deps import CurrentActor, Requires, SessionDep

router = APIRouter(prefix="/api/v1/announcements", tags=["announcements"])
manage_router = APIRouter(prefix="/api/v1/announcements/manage", tags=["announcements"])

Viewer = Requires(*MANAGE_ANY)
Publisher = Requires(PUBLISH)


# --- what I receive -----------------------------------------------------------------------------


@router.get("", response_model=AnnouncementInbox)
def my_announcements(
    session: SessionDep, actor: CurrentActor, unread_only: bool = False, offset: int = 0, limit: int = 50
) -> AnnouncementInbox:
    """Announcements addressed to me and in their validity window, newest first."""
    rows = access.inbox(
        session,
        user_id=actor.user.id,
        unread_only=unread_only,
        limit=max(1, min(limit, 200)),
        offset=max(offset, 0),
    )
    return AnnouncementInbox(
        unread=access.unread_count(session, actor.user.id),
        items=[
            ReceivedBrief.model_validate(a).model_copy(update={"read_at": read_at}) for a, read_at in rows
        ],
    )


@router.get("/{announcement_id}", response_model=ReceivedAnnouncement)
def my_announcement(session: SessionDep, actor: CurrentActor, announcement_id: int) -> ReceivedAnnouncement:
    """One announcement addressed to me (reading it here does not count as read: POST `/read`)."""
    announcement, read_at = access.received(session, actor, announcement_id)
    return ReceivedAnnouncement.model_validate(announcement).model_copy(update={"read_at": read_at})


@router.post("/{announcement_id}/read", response_model=ReadResult)
def acknowledge(session: SessionDep, actor: CurrentActor, announcement_id: int) -> ReadResult:
    """I have read (acknowledged) the announcement: the read receipt its publisher sees."""
    announcement, _ = access.received(session, actor, announcement_id)
    service.mark_read(session, actor=actor, announcement=announcement)
    _, read_at = access.received(session, actor, announcement_id)
    return ReadResult(read_at=read_at, unread=access.unread_count(session, actor.user.id))


@router.get("/{announcement_id}/attachments/{attachment_id}")
def download(
    session: SessionDep, actor: CurrentActor, announcement_id: int, attachment_id: int
) -> StreamingResponse:
    """A file of an announcement I receive or manage."""
    row = access.attachment(session, actor, announcement_id, attachment_id)
    return StreamingResponse(
        files.open_file(row),
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- what I publish -----------------------------------------------------------------------------


def managed_read(session: Session, announcement: Announcement) -> ManagedAnnouncement:
    counts = access.counts(session, [announcement.id])[announcement.id]
    return _managed(announcement, counts)


def _managed(announcement: Announcement, counts: access.Counts) -> ManagedAnnouncement:
    base = ManagedAnnouncement.model_validate(
        {
            **{
                k: getattr(announcement, k)
                for k in ManagedAnnouncement.model_fields
                if k not in ("counts", "attachments")
            },
            "attachments": [AttachmentRead.model_validate(f) for f in announcement.attachments],
            "counts": ReceiptCounts(total=counts.total, read=counts.read, unread=counts.unread),
        }
    )
    return base


@manage_router.get("", response_model=ManagedList)
def managed_list(
    session: SessionDep, actor: Viewer, status: str | None = None, offset: int = 0, limit: int = 50
) -> ManagedList:
    """Announcements in my scope (drafts, published, withdrawn) with their read counts."""
    items = access.managed_list(
        session, actor, status=status, limit=max(1, min(limit, 200)), offset=max(offset, 0)
    )
    counts = access.counts(session, [a.id for a in items])
    return ManagedList(items=[_managed(a, counts[a.id]) for a in items])


@manage_router.post("", response_model=ManagedAnnouncement, status_code=201)
def create(session: SessionDep, actor: Publisher, body: AnnouncementCreate) -> ManagedAnnouncement:
    """Write an announcement; `publish: true` publishes it at once."""
    announcement = service.create(session, actor=actor, draft=body.draft())
    if body.publish:
        service.publish(session, actor=actor, announcement=announcement)
    return managed_read(session, announcement)


@manage_router.get("/{announcement_id}", response_model=ManagedAnnouncement)
def managed_one(session: SessionDep, actor: Viewer, announcement_id: int) -> ManagedAnnouncement:
    return managed_read(session, access.managed(session, actor, announcement_id))


@manage_router.put("/{announcement_id}", response_model=ManagedAnnouncement)
def replace_draft(
    session: SessionDep, actor: Publisher, announcement_id: int, body: AnnouncementWrite
) -> ManagedAnnouncement:
    """Change a draft (every field)."""
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    service.update_draft(session, actor=actor, announcement=announcement, draft=body.draft())
    return managed_read(session, announcement)


@manage_router.delete("/{announcement_id}", status_code=204)
def delete_draft(session: SessionDep, actor: Publisher, announcement_id: int) -> Response:
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    service.delete_draft(session, actor=actor, announcement=announcement)
    return Response(status_code=204)


@manage_router.post("/{announcement_id}/publish", response_model=ManagedAnnouncement)
def publish(session: SessionDep, actor: Publisher, announcement_id: int) -> ManagedAnnouncement:
    """Publish a draft: the audience becomes its recipients and they are told live."""
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    service.publish(session, actor=actor, announcement=announcement)
    return managed_read(session, announcement)


@manage_router.post("/{announcement_id}/withdraw", response_model=ManagedAnnouncement)
def withdraw(
    session: SessionDep, actor: Publisher, announcement_id: int, body: Withdraw
) -> ManagedAnnouncement:
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    service.withdraw(session, actor=actor, announcement=announcement, reason=body.reason)
    return managed_read(session, announcement)


@manage_router.post("/{announcement_id}/remind", response_model=RemindResult)
def remind(session: SessionDep, actor: Publisher, announcement_id: int) -> RemindResult:
    """Tell the recipients who have not read it yet once more."""
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    return RemindResult(reminded=service.remind(session, actor=actor, announcement=announcement))


@manage_router.get("/{announcement_id}/receipts", response_model=ReceiptReport)
def receipts(
    session: SessionDep,
    actor: Viewer,
    announcement_id: int,
    read: bool | None = None,
    offset: int = 0,
    limit: int = 500,
) -> ReceiptReport:
    """Read receipts: counts, counts per department, and the people (`read=false`: who has not read)."""
    announcement = access.managed(session, actor, announcement_id)
    counts = access.counts(session, [announcement.id])[announcement.id]
    rows = access.receipts(
        session, announcement.id, read=read, limit=max(1, min(limit, 2000)), offset=max(offset, 0)
    )
    return ReceiptReport(
        counts=ReceiptCounts(total=counts.total, read=counts.read, unread=counts.unread),
        departments=[
            DepartmentCounts(department=name, total=c.total, read=c.read, unread=c.unread)
            for name, c in access.department_counts(session, announcement.id)
        ],
        items=[ReceiptRead.model_validate(r) for r in rows],
    )


@manage_router.post("/{announcement_id}/attachments", response_model=AttachmentRead, status_code=201)
def attach(
    session: SessionDep, actor: Publisher, announcement_id: int, file: Annotated[UploadFile, File()]
) -> AnnouncementAttachment:
    """Add a file to a draft."""
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    return files.attach(
        session,
        actor=actor,
        announcement=announcement,
        filename=file.filename or "",
        content_type=file.content_type,
        stream=file.file,
    )


@manage_router.delete("/{announcement_id}/attachments/{attachment_id}", status_code=204)
def detach(session: SessionDep, actor: Publisher, announcement_id: int, attachment_id: int) -> Response:
    announcement = access.managed(session, actor, announcement_id, need_publish=True)
    row = session.get(AnnouncementAttachment, attachment_id)
    if row is None:
        raise NotFound()
    files.detach(session, actor=actor, announcement=announcement, attachment=row)
    return Response(status_code=204)
