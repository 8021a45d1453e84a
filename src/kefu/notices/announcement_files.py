"""Files of announcements, kept in `core.storage` with the deployment's size and type limits.

Files are added to and removed from drafts only: what recipients were given does not change under
them. A stored file whose request rolls back is removed at once; a removed attachment's file goes
once the removal has committed (a background job, so a rollback keeps it).
"""

from __future__ import annotations

import logging
from typing import BinaryIO

from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, jobs, storage
from kefu.core.errors import Conflict, NotFound
from kefu.core.permissions import Actor
from kefu.notices.announcement_models import Announcement, AnnouncementAttachment, AnnouncementStatus
from kefu.notices.permissions import ANNOUNCEMENTS
from kefu.settings import get_settings

log = logging.getLogger(__name__)


def _delete_files(keys: list[str]) -> int:
    """Remove stored files (a missing one is not an error, so a retry is harmless)."""
    store = storage.get_storage()
    for key in keys:
        try:
            store.delete(key)
        except NotFound:
            log.warning("refused to delete a file with an unknown key")
    return len(keys)


delete_files = jobs.task(name="notices.delete_announcement_files")(_delete_files)


def _require_draft(announcement: Announcement) -> None:
    if announcement.status != AnnouncementStatus.DRAFT:
        raise Conflict("Files can be changed only while the announcement is a draft")


def attach(
    session: Session,
    *,
    actor: Actor,
    announcement: Announcement,
    filename: str,
    content_type: str | None,
    stream: BinaryIO,
) -> AnnouncementAttachment:
    """Store an uploaded file on a draft; `FieldError` on `file` when its type or size is refused."""
    _require_draft(announcement)
    config = get_settings()
    name = storage.check_upload(filename, content_type, allowed=config.attachment_types)
    stored = storage.get_storage().put(stream, max_bytes=config.attachment_max_bytes)
    storage.delete_on_rollback(session, stored.key)
    row = AnnouncementAttachment(
        announcement_id=announcement.id,
        filename=name,
        content_type=(content_type or "application/octet-stream")[:100],
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        uploaded_by_id=actor.user.id,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    session.refresh(announcement, ["attachments"])
    audit.record(
        session,
        actor=actor,
        action="announcement.attach",
        function=ANNOUNCEMENTS,
        target=announcement,
        target_label=announcement.title,
        summary=name,
    )
    return row


def detach(
    session: Session, *, actor: Actor, announcement: Announcement, attachment: AnnouncementAttachment
) -> None:
    """Remove a file from a draft."""
    _require_draft(announcement)
    if attachment.announcement_id != announcement.id:
        raise NotFound()
    key, name = attachment.storage_key, attachment.filename
    session.delete(attachment)
    session.flush()
    session.refresh(announcement, ["attachments"])
    audit.record(
        session,
        actor=actor,
        action="announcement.detach",
        function=ANNOUNCEMENTS,
        target=announcement,
        target_label=announcement.title,
        summary=name,
    )
    jobs.enqueue_on_commit(session, delete_files, [key])


def open_file(attachment: AnnouncementAttachment) -> BinaryIO:
    return storage.get_storage().open(attachment.storage_key)
