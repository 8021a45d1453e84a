"""File storage behind one interface: ticket attachments, knowledge-base files, recordings, prompts.

`Storage` is what domain code sees; `LocalStorage` keeps files on disk. An object-storage backend
(S3-compatible) implements the same four methods. Domain code stores the returned `StoredFile.key`
in its own rows together with the display name from `check_upload`, and calls `delete_on_rollback`
so a failed request leaves no file behind.

Keys are random (`ab/cd/<32 hex>`), not content hashes: two rows that attach the same bytes get two
files, so deleting one attachment, or rolling back one request, never removes another's file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mimetypes
import os
import re
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from kefu.core.errors import FieldError, NotFound

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
MAX_NAME_LENGTH = 200
_KEY = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{32})")
_TEMP_PREFIX = ".tmp-"
# Characters Windows refuses in file names; replaced so a downloaded file saves under its name.
_RESERVED = str.maketrans({c: "_" for c in '<>:"|?*'})


@dataclass(frozen=True)
class StoredFile:
    """A stored file: `key` is opaque to callers and is what they keep in their rows."""

    key: str
    size: int
    sha256: str


class Storage(Protocol):
    """Where uploaded files live. Every backend refuses keys it did not hand out with `NotFound`."""

    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredFile:
        """Store everything `stream` yields, or nothing when it is longer than `max_bytes`
        (`FieldError` on `file`)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored bytes for reading; `NotFound` when there is no such file."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file; removing a missing file is not an error."""
        ...

    def exists(self, key: str) -> bool: ...


def human_size(size: int) -> str:
    """`512 B`, `1.5 KB`, `20 MB` (binary multiples, as file managers show them)."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f}".removesuffix(".0") + f" {unit}"
        value /= 1024
    return f"{value:.1f}".removesuffix(".0") + " GB"


def too_large(max_bytes: int) -> FieldError:
    return FieldError("file", "The file is larger than %(max)s", max=human_size(max_bytes))


class LocalStorage:
    """Files on the local disk under `root`, in a two-level fan-out (`ab/cd/abcd…`).

    A file appears under its key only once complete: it is written to a temporary file in the
    same directory and renamed into place, so readers never see half a file.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredFile:
        name = uuid.uuid4().hex
        key = f"{name[:2]}/{name[2:4]}/{name}"
        target = self.root / key
        fd, temp = self._temp_file(target.parent)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_large(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            self._prune(target.parent)
            raise
        _fsync_dir(target.parent)
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound() from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._prune(path.parent)

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except NotFound:
            return False

    def _path(self, key: str) -> Path:
        """The file of a key this storage hands out; anything else — `../`, absolute paths,
        other shapes — is `NotFound`, so no key can reach outside `root`."""
        match = _KEY.fullmatch(key) if isinstance(key, str) else None
        if match is None or not match[3].startswith(match[1] + match[2]):
            raise NotFound()
        return self.root / key

    def _temp_file(self, directory: Path) -> tuple[int, str]:
        # A concurrent `_prune` may remove the empty directory between mkdir and mkstemp: retry.
        for _attempt in range(5):
            directory.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(dir=directory, prefix=_TEMP_PREFIX)
            except FileNotFoundError:
                continue
        return tempfile.mkstemp(dir=directory, prefix=_TEMP_PREFIX)

    def _prune(self, directory: Path) -> None:
        """Remove the fan-out directories of a file once they are empty (a full one stays)."""
        for level in (directory, directory.parent):
            if level == self.root:
                return
            try:
                level.rmdir()
            except OSError:
                return


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_upload(filename: str, content_type: str | None, *, allowed: Iterable[str]) -> str:
    """The name to show and offer for download, or `FieldError` on `file` when the name is empty
    or its extension is not in `allowed` (compared case-insensitively, with or without a dot).

    Browsers may send a full client path (`C:\\Users\\…\\报告.pdf`): only the last part is kept.
    A name without an extension (a pasted image is often `blob`) gets one from `content_type`
    when that one is allowed.
    """
    allowed_exts = {ext.strip().lstrip(".").lower() for ext in allowed}
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    # Control and format characters (newlines, NUL, right-to-left override) never belong in a name.
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = name.translate(_RESERVED).strip().rstrip(". ").strip()
    if not name.strip("."):
        raise FieldError("file", "The file name is empty")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        mime = (content_type or "").split(";")[0].strip().lower()
        guessed = (mimetypes.guess_extension(mime) or "").lstrip(".")
        if guessed not in allowed_exts:
            raise FieldError("file", "Files without an extension are not allowed")
        stem, ext = name, guessed
    if ext.lower() not in allowed_exts:
        raise FieldError("file", "Files of type %(ext)s are not allowed", ext=ext.lower())
    return stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip() + "." + ext


_storage: Storage | None = None
_storage_lock = threading.Lock()


def get_storage() -> Storage:
    """The storage configured for this process (made on first use)."""
    global _storage
    with _storage_lock:
        if _storage is None:
            from kefu.settings import get_settings

            _storage = LocalStorage(get_settings().resolved_storage_dir())
        return _storage


def reset_storage() -> None:
    """Forget the configured storage, so the next `get_storage` reads the settings again (tests)."""
    global _storage
    with _storage_lock:
        _storage = None


# --- no orphans from failed requests ---------------------------------------------------------

_PENDING = "kefu_files_on_rollback"


def delete_on_rollback(session: Session, key: str, *, storage: Storage | None = None) -> None:
    """Delete the file `key` unless `session` commits: on rollback (of the whole transaction, or of
    the savepoint it was stored in) and when the session closes without committing."""
    if not session.in_transaction():
        session.begin()  # so that a rollback before the next commit removes it too
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, key, storage or get_storage()))


def _remove(entries: list[tuple[SessionTransaction, str, Storage]]) -> None:
    for _transaction, key, storage in entries:
        try:
            storage.delete(key)
        except Exception:  # the failed request's own error matters more; a stray file is harmless
            log.exception("could not delete stored file %s after a rollback", key)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@sa_event.listens_for(Session, "after_commit")
def _keep_committed_files(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    session.info.pop(_PENDING, None)


@sa_event.listens_for(Session, "after_soft_rollback")
def _remove_rolled_back_files(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    gone = [entry for entry in pending if _within(entry[0], previous_transaction)]
    pending[:] = [entry for entry in pending if not _within(entry[0], previous_transaction)]
    _remove(gone)


@sa_event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction: Any) -> None:
    # The outermost transaction ended without `after_commit` clearing the list: rolled back or
    # closed unfinished.
    if transaction.parent is None:
        _remove(session.info.pop(_PENDING, []))
