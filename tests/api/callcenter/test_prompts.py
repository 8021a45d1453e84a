"""Voice prompts (CC-10): a real WAV uploaded, played back to the page and to the PBX, replaced,
edited and deleted; files that are not audio refused by their content; the library's filters,
the pages, the rules on deleting a prompt a menu plays, and who may do what."""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.callcenter.models import VoicePrompt
from kefu.core import storage
from tests.api.callcenter.conftest import API
from tests.support import PASSWORD, browser_login

CONFIG = ["callcenter.config.view", "callcenter.config.edit"]


def make_wav(seconds: float = 1.0, rate: int = 8000, tone: float = 440.0) -> bytes:
    """A real mono 16-bit PCM WAV: a sine tone."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        frames = int(seconds * rate)
        wav.writeframes(
            b"".join(
                struct.pack("<h", int(12000 * math.sin(2 * math.pi * tone * i / rate))) for i in range(frames)
            )
        )
    return out.getvalue()


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    return {".".join(str(p) for p in d["loc"][1:]): d["msg"] for d in body["detail"]}


@pytest.fixture
def editor(cc):
    return cc.factory.token_login(cc.factory.user(CONFIG))


def upload(cc, who, *, files=None, expect=201, **fields):
    data = {"code": "welcome", "name": "欢迎语", "category": "welcome", "language": "zh_CN", **fields}
    r = cc.client.post(API + "/prompts", data=data, files=files, headers=who.headers)
    assert r.status_code == expect, r.text
    return r.json()


def test_a_real_wav_is_stored_and_played_to_the_page_and_the_pbx(cc, editor):
    audio = make_wav(1.5)
    prompt = upload(cc, editor, files={"file": ("欢迎.wav", audio, "audio/wav")}, text="欢迎致电")
    assert prompt["content_type"] == "audio/wav" and prompt["size"] == len(audio)
    assert prompt["duration_seconds"] == 1.5 and prompt["file_name"] == "欢迎.wav"
    assert prompt["audio_url"] == f"{API}/prompts/{prompt['id']}/audio"
    played = cc.client.get(prompt["audio_url"], headers=editor.headers)
    assert played.status_code == 200 and played.content == audio
    assert played.headers["content-type"] == "audio/wav"
    # The PBX fetches it with its CTI integration token; an agent without configuration rights may not.
    assert cc.client.get(prompt["audio_url"], headers=cc.pbx.headers).content == audio
    assert cc.client.get(prompt["audio_url"], headers=cc.alice.headers).status_code == 403
    row = cc.session.get(VoicePrompt, prompt["id"])
    assert storage.get_storage().exists(row.file_key)
    audited = select(AuditLog).where(
        AuditLog.action == "callcenter.prompt.create", AuditLog.target_id == str(row.id)
    )
    assert cc.session.scalar(audited) is not None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("fake.wav", b"this is not audio at all, only text pretending"),
        ("fake.mp3", b"<html><body>nope</body></html>"),
        ("broken.wav", b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunkjunk"),
    ],
)
def test_a_file_that_is_not_audio_is_refused_by_its_content(cc, editor, name, content):
    before = cc.session.scalar(select(func.count()).select_from(VoicePrompt))
    body = upload(cc, editor, files={"file": (name, content, "audio/wav")}, text="欢迎", expect=422)
    assert set(errors_of(body)) == {"file"}
    assert cc.session.scalar(select(func.count()).select_from(VoicePrompt)) == before


def test_other_audio_types_and_text_only(cc, editor):
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
    ogg = b"OggS\x00\x02" + b"\x00" * 100
    assert (
        upload(cc, editor, code="a", files={"file": ("a.mp3", mp3, "audio/mpeg")})["content_type"]
        == "audio/mpeg"
    )
    assert (
        upload(cc, editor, code="b", files={"file": ("b.ogg", ogg, "audio/ogg")})["content_type"]
        == "audio/ogg"
    )
    spoken = upload(cc, editor, code="c", text="请稍候")
    assert spoken["audio_url"] is None and spoken["file_name"] == ""
    assert cc.client.get(f"{API}/prompts/{spoken['id']}/audio", headers=editor.headers).status_code == 404
    wrong_type = upload(cc, editor, code="d", files={"file": ("a.exe", make_wav(), "audio/wav")}, expect=422)
    assert "file" in errors_of(wrong_type)


def test_fields_are_checked(cc, editor):
    errors = errors_of(
        upload(cc, editor, code="bad code!", name="", category="jingle", language="fr", expect=422)
    )
    assert set(errors) == {"code", "name", "category", "language"}
    assert "text" in errors_of(upload(cc, editor, expect=422))  # neither text nor a file
    upload(cc, editor, text="欢迎")
    assert "code" in errors_of(upload(cc, editor, text="again", expect=422))  # same code and language
    upload(cc, editor, text="Welcome", language="en")  # another language of the same code


def test_replace_edit_remove_the_file_and_delete(cc, editor):
    first = upload(cc, editor, files={"file": ("a.wav", make_wav(1.0), "audio/wav")}, text="欢迎")
    url = f"{API}/prompts/{first['id']}"
    second_audio = make_wav(2.0, tone=660.0)
    r = cc.client.put(
        url + "/audio", files={"file": ("b.wav", second_audio, "audio/wav")}, headers=editor.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["sha256"] != first["sha256"] and r.json()["duration_seconds"] == 2.0
    assert cc.client.get(url + "/audio", headers=editor.headers).content == second_audio
    r = cc.client.put(
        url + "/audio", files={"file": ("c.wav", b"plain text", "audio/wav")}, headers=editor.headers
    )
    assert r.status_code == 422
    assert cc.client.get(url + "/audio", headers=editor.headers).content == second_audio  # unchanged
    edited = cc.call("PATCH", f"/prompts/{first['id']}", editor, {"name": "新欢迎语", "category": "menu"})
    assert edited["name"] == "新欢迎语" and edited["category"] == "menu"
    assert "category" in errors_of(
        cc.call("PATCH", f"/prompts/{first['id']}", editor, {"category": "x"}, expect=422)
    )
    text_only = cc.call("DELETE", f"/prompts/{first['id']}/audio", editor)
    assert text_only["audio_url"] is None and text_only["text"] == "欢迎"
    cc.call("DELETE", f"/prompts/{first['id']}", editor, expect=204)
    assert cc.session.get(VoicePrompt, first["id"]) is None


def test_a_prompt_a_menu_plays_cannot_be_deleted_while_it_is_the_last_of_its_code(cc, editor):
    zh = upload(cc, editor, text="欢迎")
    cc.call(
        "POST", "/ivr/menus", editor, {"code": "main", "name": "主菜单", "prompt_code": "welcome"}, expect=201
    )
    refused = cc.call("DELETE", f"/prompts/{zh['id']}", editor, expect=409)
    assert "主菜单" in refused["detail"]
    en = upload(cc, editor, text="Welcome", language="en")
    cc.call("DELETE", f"/prompts/{zh['id']}", editor, expect=204)  # the English one still plays
    assert "主菜单" in cc.call("DELETE", f"/prompts/{en['id']}", editor, expect=409)["detail"]


def test_the_library_filters_and_permissions(cc, editor):
    upload(cc, editor, text="欢迎")
    upload(cc, editor, code="bye", category="goodbye", text="再见")
    upload(cc, editor, code="bye", category="goodbye", language="yue", text="再见")
    assert [p["code"] for p in cc.call("GET", "/prompts", editor, category="goodbye")] == ["bye", "bye"]
    assert [p["language"] for p in cc.call("GET", "/prompts", editor, language="yue")] == ["yue"]
    viewer = cc.factory.token_login(cc.factory.user(["callcenter.config.view"]))
    assert len(cc.call("GET", "/prompts", viewer)) == 3
    upload(cc, viewer, code="x", text="x", expect=403)
    cc.call("GET", "/prompts", cc.alice, expect=403)
    cc.call("GET", "/prompts", cc.pbx, expect=403)


def test_the_pages(cc, editor, client):
    user = cc.factory.user(CONFIG)
    csrf = browser_login(client, user.username, PASSWORD)
    upload(cc, editor, files={"file": ("a.wav", make_wav(), "audio/wav")}, text="欢迎")
    page = client.get("/callcenter/prompts")
    assert page.status_code == 200 and 'data-nav="/callcenter/prompts"' in page.text
    assert "<audio" in page.text and "/audio" in page.text
    refused = client.post(
        "/callcenter/prompts",
        data={
            "csrf_token": csrf,
            "code": "p2",
            "name": "二",
            "category": "menu",
            "language": "zh_CN",
            "enabled": "1",
        },
        files={"file": ("x.wav", b"not audio", "audio/wav")},
    )
    assert refused.status_code == 422 and 'data-error-for="file"' in refused.text
    assert 'value="p2"' in refused.text  # the form is shown again with what was entered
    done = client.post(
        "/callcenter/prompts",
        data={
            "csrf_token": csrf,
            "code": "p2",
            "name": "二",
            "category": "menu",
            "language": "zh_CN",
            "text": "请稍候",
            "enabled": "1",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    row = cc.session.scalar(select(VoicePrompt).where(VoicePrompt.code == "p2"))
    assert row.text == "请稍候" and row.file_key == ""
    assert client.get(f"/callcenter/prompts/{row.id}").status_code == 200
    assert client.get("/callcenter/prompts", params={"category": "goodbye"}).text.count("data-prompt=") == 0
