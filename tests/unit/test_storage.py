"""File storage: local disk backend, upload checks, and no orphan files after a rollback."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from kefu.core import storage as storage_module
from kefu.core.errors import FieldError, NotFound
from kefu.core.storage import (
    CHUNK_SIZE,
    LocalStorage,
    StoredFile,
    check_upload,
    delete_on_rollback,
    get_storage,
    human_size,
    reset_storage,
)
from kefu.settings import DEFAULT_ATTACHMENT_TYPES, Settings, get_settings

ALLOWED = DEFAULT_ATTACHMENT_TYPES


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def read(store: LocalStorage, key: str) -> bytes:
    with store.open(key) as fh:
        return fh.read()


# --- LocalStorage ----------------------------------------------------------------------------


def test_put_then_open_returns_the_same_bytes_with_size_and_hash(store: LocalStorage) -> None:
    content = bytes(range(256)) * (CHUNK_SIZE // 256 * 2 + 3)  # more than two chunks

    stored = store.put(io.BytesIO(content), max_bytes=len(content))

    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert read(store, stored.key) == content
    assert store.exists(stored.key)
    first, second, name = stored.key.split("/")
    assert (first, second) == (name[:2], name[2:4]) and len(name) == 32
    assert files_under(store.root) == [store.root / stored.key]


def test_delete_removes_the_file_and_its_empty_folders(store: LocalStorage) -> None:
    stored = store.put(io.BytesIO(b"hello"), max_bytes=100)

    store.delete(stored.key)

    assert not store.exists(stored.key)
    with pytest.raises(NotFound):
        store.open(stored.key)
    assert list(store.root.iterdir()) == []
    store.delete(stored.key)  # deleting again is not an error


def test_empty_file_is_stored(store: LocalStorage) -> None:
    stored = store.put(io.BytesIO(b""), max_bytes=10)
    assert stored == StoredFile(key=stored.key, size=0, sha256=hashlib.sha256(b"").hexdigest())
    assert read(store, stored.key) == b""


def test_file_of_exactly_the_limit_is_accepted_one_byte_more_is_refused(store: LocalStorage) -> None:
    limit = CHUNK_SIZE + 10  # the refusal comes in the second chunk, after the first was written

    ok = store.put(io.BytesIO(b"x" * limit), max_bytes=limit)
    with pytest.raises(FieldError) as refused:
        store.put(io.BytesIO(b"x" * (limit + 1)), max_bytes=limit)

    assert ok.size == limit
    assert refused.value.field == "file"
    assert refused.value.message == "The file is larger than %(max)s"
    assert refused.value.params == {"max": human_size(limit)}
    assert files_under(store.root) == [store.root / ok.key]  # nothing left of the refused one


def test_refused_file_leaves_nothing_on_disk(store: LocalStorage) -> None:
    with pytest.raises(FieldError) as refused:
        store.put(io.BytesIO(b"y" * (20 * 1024 * 1024 + 1)), max_bytes=20 * 1024 * 1024)
    assert str(refused.value) == "The file is larger than 20 MB"
    assert files_under(store.root) == []
    assert list(store.root.iterdir()) == []  # not even the fan-out folders


class BrokenStream(io.RawIOBase):
    """Yields one chunk, then fails like a dropped upload connection."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise ConnectionResetError("client went away")
        return b"z" * 1000


def test_failed_upload_leaves_no_partial_or_temporary_file(store: LocalStorage) -> None:
    kept = store.put(io.BytesIO(b"kept"), max_bytes=100)

    with pytest.raises(ConnectionResetError):
        store.put(BrokenStream(), max_bytes=10_000)  # type: ignore[arg-type]

    assert files_under(store.root) == [store.root / kept.key]


def test_no_temporary_files_remain_after_puts(store: LocalStorage) -> None:
    for n in range(20):
        store.put(io.BytesIO(b"n" * n), max_bytes=100)
    names = [p.name for p in files_under(store.root)]
    assert len(names) == 20
    assert not [name for name in names if name.startswith(".tmp")]


def test_identical_content_twice_gives_two_independent_files(store: LocalStorage) -> None:
    first = store.put(io.BytesIO(b"same bytes"), max_bytes=100)
    second = store.put(io.BytesIO(b"same bytes"), max_bytes=100)

    assert first.key != second.key
    assert first.sha256 == second.sha256
    store.delete(first.key)  # one ticket drops its attachment…
    assert read(store, second.key) == b"same bytes"  # …the other keeps its own


def test_concurrent_writers_of_identical_content_do_not_interfere(store: LocalStorage) -> None:
    content = b"concurrent" * 50_000
    results: list[StoredFile] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write() -> None:
        try:
            start.wait()
            results.append(store.put(io.BytesIO(content), max_bytes=len(content)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len({r.key for r in results}) == 8
    assert all(read(store, r.key) == content for r in results)
    assert len(files_under(store.root)) == 8


@pytest.mark.parametrize(
    "key",
    [
        "../outside.txt",
        "../../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../outside.txt",
        "ab/cd/abcd" + "0" * 28 + "/../../../../outside.txt",
        "ab/cd/ef" + "0" * 30,  # name does not match its folders
        "AB/CD/ABCD" + "0" * 28,  # keys are lower-case hex
        "ab/cd/abcd" + "0" * 28 + "\n",
        "ab\\cd\\abcd" + "0" * 28,
        "",
    ],
)
def test_keys_outside_the_storage_shape_are_not_found(store: LocalStorage, tmp_path: Path, key: str) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    store.put(io.BytesIO(b"inside"), max_bytes=100)

    with pytest.raises(NotFound):
        store.open(key)
    with pytest.raises(NotFound):
        store.delete(key)
    assert store.exists(key) is False
    assert outside.read_text() == "secret"


def test_human_size() -> None:
    assert human_size(100) == "100 B"
    assert human_size(1536) == "1.5 KB"
    assert human_size(20 * 1024 * 1024) == "20 MB"
    assert human_size(3 * 1024**3) == "3 GB"


# --- check_upload ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("report.pdf", "report.pdf"),
        ("SCAN.PDF", "SCAN.PDF"),
        ("Photo.JpG", "Photo.JpG"),
        ("投诉材料（第二批）.docx", "投诉材料（第二批）.docx"),
        ("C:\\Users\\张三\\桌面\\回访记录 2024.xlsx", "回访记录 2024.xlsx"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("a\x00b\nc\u202e.pdf", "abc.pdf"),  # NUL, newline, right-to-left override
        ('what?"now".txt', "what__now_.txt"),
        ("  spaced.pdf  ", "spaced.pdf"),
        ("archive.tar.zip", "archive.tar.zip"),
    ],
)
def test_check_upload_gives_a_safe_display_name(sent: str, shown: str) -> None:
    assert check_upload(sent, "application/octet-stream", allowed=ALLOWED) == shown


def test_check_upload_keeps_long_names_within_200_characters_with_their_extension() -> None:
    shown = check_upload("长" * 300 + ".pdf", None, allowed=ALLOWED)
    assert len(shown) == 200
    assert shown == "长" * 196 + ".pdf"


@pytest.mark.parametrize(
    ("sent", "ext"), [("virus.exe", "exe"), ("invoice.pdf.EXE", "exe"), ("page.html", "html")]
)
def test_check_upload_refuses_other_types(sent: str, ext: str) -> None:
    with pytest.raises(FieldError) as refused:
        check_upload(sent, None, allowed=ALLOWED)
    assert refused.value.field == "file"
    assert refused.value.message == "Files of type %(ext)s are not allowed"
    assert refused.value.params == {"ext": ext}


@pytest.mark.parametrize("sent", ["", "   ", "../", "C:\\dir\\", "...", "\x00\x01"])
def test_check_upload_refuses_empty_names(sent: str) -> None:
    with pytest.raises(FieldError) as refused:
        check_upload(sent, "application/pdf", allowed=ALLOWED)
    assert (refused.value.field, refused.value.message) == ("file", "The file name is empty")


def test_check_upload_names_a_pasted_image_from_its_content_type() -> None:
    assert check_upload("blob", "image/png", allowed=ALLOWED) == "blob.png"
    with pytest.raises(FieldError) as refused:
        check_upload("README", None, allowed=ALLOWED)
    assert refused.value.message == "Files without an extension are not allowed"
    with pytest.raises(FieldError):
        check_upload("blob", "application/x-msdownload", allowed=ALLOWED)


def test_check_upload_reads_the_allowed_list_case_and_dot_insensitively() -> None:
    assert check_upload("a.pdf", None, allowed=[".PDF"]) == "a.pdf"
    with pytest.raises(FieldError):
        check_upload("a.png", None, allowed=[".PDF"])


# --- settings and the configured storage -----------------------------------------------------


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_storage_dir() == tmp_path / "files"
    assert settings.attachment_max_bytes == 20 * 1024 * 1024
    assert {"pdf", "docx", "jpg", "amr", "msg"} <= settings.attachment_types
    assert "exe" not in settings.attachment_types

    monkeypatch.setenv("KEFU_STORAGE_DIR", "")
    monkeypatch.setenv("KEFU_ATTACHMENT_TYPES", ".PDF, png;jpg")
    configured = Settings(data_dir=tmp_path)
    assert configured.resolved_storage_dir() == tmp_path / "files"
    assert configured.attachment_types == {"pdf", "png", "jpg"}

    monkeypatch.setenv("KEFU_STORAGE_DIR", str(tmp_path / "elsewhere"))
    assert Settings(data_dir=tmp_path).resolved_storage_dir() == tmp_path / "elsewhere"


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "configured"
    monkeypatch.setattr(get_settings(), "storage_dir", root)
    reset_storage()
    yield root
    reset_storage()


def test_get_storage_is_local_storage_at_the_configured_folder_once_per_process(configured: Path) -> None:
    storage = get_storage()
    assert isinstance(storage, LocalStorage) and storage.root == configured
    assert get_storage() is storage
    reset_storage()
    assert get_storage() is not storage


# --- delete_on_rollback ----------------------------------------------------------------------


def stored_in(session: Session, store: LocalStorage, content: bytes = b"attachment") -> str:
    session.execute(text("SELECT 1"))  # the request has done some database work
    key = store.put(io.BytesIO(content), max_bytes=1000).key
    delete_on_rollback(session, key, storage=store)
    return key


def test_rollback_removes_the_files_stored_in_the_transaction(session: Session, store: LocalStorage) -> None:
    before = store.put(io.BytesIO(b"older"), max_bytes=100).key
    key = stored_in(session, store)
    assert store.exists(key)

    session.rollback()

    assert not store.exists(key)
    assert store.exists(before)  # files not registered are left alone


def test_commit_keeps_the_files_even_if_a_later_transaction_rolls_back(
    session: Session, store: LocalStorage
) -> None:
    key = stored_in(session, store)
    session.commit()
    later = stored_in(session, store)

    session.rollback()

    assert store.exists(key)
    assert not store.exists(later)


def test_closing_the_session_without_commit_removes_the_files(session: Session, store: LocalStorage) -> None:
    key = stored_in(session, store)
    session.close()
    assert not store.exists(key)


def test_registering_outside_a_transaction_still_removes_on_rollback(
    session: Session, store: LocalStorage
) -> None:
    assert not session.in_transaction()
    key = store.put(io.BytesIO(b"early"), max_bytes=100).key
    delete_on_rollback(session, key, storage=store)
    session.rollback()
    assert not store.exists(key)


def test_savepoint_rollback_removes_only_its_own_files(session: Session, store: LocalStorage) -> None:
    outer = stored_in(session, store)
    with pytest.raises(RuntimeError), session.begin_nested():
        inner = stored_in(session, store)
        raise RuntimeError("the nested step fails")
    assert not store.exists(inner)
    assert store.exists(outer)

    with session.begin_nested():
        released = stored_in(session, store)
    assert store.exists(released)

    session.rollback()  # the outer transaction fails after all: its files and the released one go
    assert not store.exists(outer)
    assert not store.exists(released)


def test_a_failing_delete_does_not_hide_the_rollback(session: Session, store: LocalStorage) -> None:
    class Unwritable(LocalStorage):
        def delete(self, key: str) -> None:
            raise PermissionError("read-only disk")

    broken = Unwritable(store.root)
    key = broken.put(io.BytesIO(b"stuck"), max_bytes=100).key
    delete_on_rollback(session, key, storage=broken)

    session.rollback()  # logs, does not raise

    assert store.exists(key)
    assert storage_module._PENDING not in session.info
