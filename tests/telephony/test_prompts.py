"""语音上传 (manual 2.2.1): uploads checked by content, conversion offered, rename, playback, delete rules."""

from __future__ import annotations

import io
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from callcenter.accounts.services import permissions_from_names
from callcenter.core.models import AuditLog
from callcenter.telephony import services
from callcenter.telephony.choices import PromptKind
from callcenter.telephony.models import Prompt
from tests.telephony.conftest import field_errors, make_group, make_menu, make_prompt, page_text, tone

ADD = "/telephony/prompts/add/"


def upload(client, data: bytes, filename: str, name: str = "欢迎语", **extra):
    return client.post(ADD, {"name": name, "kind": "prompt", "remark": "", "file": SimpleUploadedFile(
        filename, data), **extra})


def wav_params(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()


def crafted_mp3() -> bytes:
    """An ID3v2 tag, then MPEG-1 Layer III frame headers (44.1 kHz, joint stereo) with empty frames."""
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 10]) + b"\x00" * 10
    frame = bytes([0xFF, 0xFB, 0x90, 0x44]) + b"\x00" * 413
    return tag + frame * 20


def test_upload_8k_16bit_mono_wav(ent, as_user):
    c = as_user(ent["admin"])
    r = upload(c, tone(seconds=1.5), "hello.wav", remark="开场白")
    prompt = Prompt.objects.get(enterprise=ent["enterprise"], name="欢迎语")
    assert r.status_code == 302 and r.url == f"/telephony/prompts/{prompt.pk}/"
    assert prompt.duration_ms == 1500
    assert prompt.kind == PromptKind.PROMPT
    stored = prompt.file.read()
    assert prompt.size == len(stored)
    assert wav_params(stored) == (8000, 2, 1, 12000)
    entry = AuditLog.objects.get(object_type="telephony.prompt", action="create")
    assert entry.changes["name"] == [None, "欢迎语"] and entry.enterprise_id == ent["enterprise"].pk


def test_raw_pcm_is_wrapped_into_a_wav(ent, as_user):
    raw = tone(seconds=1.0)[44:]  # the samples alone
    r = upload(as_user(ent["admin"]), raw, "greeting.pcm", name="原始PCM")
    assert r.status_code == 302
    prompt = Prompt.objects.get(name="原始PCM")
    stored = prompt.file.read()
    assert stored[:4] == b"RIFF" and stored[8:12] == b"WAVE"
    assert wav_params(stored) == (8000, 2, 1, 8000)
    assert prompt.duration_ms == 1000


@pytest.mark.parametrize(("data", "filename", "says", "convertible"), [
    (lambda: tone(rate=44100, channels=2, fmt="MP3"), "song.mp3", "MP3, 44.1 kHz, 立体声", True),
    (crafted_mp3, "renamed.wav", "MP3, 44.1 kHz, 立体声", True),  # libsndfile decodes its empty frames
    (lambda: tone(channels=2), "stereo.wav", "WAV PCM, 8 kHz, 16 bit, 立体声", True),
    (lambda: tone(rate=44100), "cd.wav", "WAV PCM, 44.1 kHz, 16 bit, 单声道", True),
    (lambda: tone(subtype="PCM_24"), "deep.wav", "WAV PCM, 8 kHz, 24 bit, 单声道", True),
    (lambda: "这不是声音，只是一段文字。\nhello".encode(), "notes.wav", "不是音频文件（文本）", False),
    (lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"\x00" * 100, "doc.wav", "不是音频文件（PDF）", False),
])
def test_bad_files_are_refused_naming_what_they_are(ent, as_user, data, filename, says, convertible):
    r = upload(as_user(ent["admin"]), data(), filename)
    assert r.status_code == 200
    errors = field_errors(r)["file"]
    assert any(says in e for e in errors), errors
    assert ('name="convert"' in r.content.decode()) is convertible
    assert not Prompt.objects.exists()
    assert not AuditLog.objects.filter(object_type="telephony.prompt").exists()


def test_file_over_10_mb_is_refused_before_parsing(ent, as_user):
    big = b"RIFF" + b"\x00" * (11 * 1024 * 1024)
    r = upload(as_user(ent["admin"]), big, "long.wav")
    assert r.status_code == 200
    assert any("10 MB" in e for e in field_errors(r)["file"])
    assert not Prompt.objects.exists()


def test_convertible_file_is_converted_after_ticking_the_box(ent, as_user):
    c = as_user(ent["admin"])
    r = upload(c, tone(rate=44100, channels=2, fmt="MP3", seconds=1.0), "song.mp3", name="彩铃一", kind="ringback")
    body = r.content.decode()
    assert "转换为 8kHz 16bit 单声道后保存" in body
    token = r.context["form"]["pending"].value()
    assert token
    # Resubmit without choosing the file again: the upload was kept for this user.
    r = c.post(ADD, {"name": "彩铃一", "kind": "ringback", "remark": "", "pending": token, "convert": "on"})
    assert r.status_code == 302, field_errors(r)
    prompt = Prompt.objects.get(name="彩铃一")
    rate, width, channels, frames = wav_params(prompt.file.read())
    assert (rate, width, channels) == (8000, 2, 1)
    assert 950 <= prompt.duration_ms <= 1100  # MP3 encoder padding
    assert prompt.kind == PromptKind.RINGBACK


def test_convert_ticked_with_the_first_upload(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post(ADD, {"name": "立体声", "kind": "prompt", "file": SimpleUploadedFile("s.flac", tone(
        rate=16000, channels=2, fmt="FLAC")), "convert": "on"})
    # The box only shows for a convertible file, so a first upload is checked, then offered.
    assert r.status_code == 200 and 'name="convert"' in r.content.decode()
    token = r.context["form"]["pending"].value()
    assert c.post(ADD, {"name": "立体声", "kind": "prompt", "pending": token, "convert": "on"}).status_code == 302
    assert wav_params(Prompt.objects.get(name="立体声").file.read())[:3] == (8000, 2, 1)


def test_pending_upload_of_another_user_is_ignored(ent, as_user):
    r = upload(as_user(ent["admin"]), tone(channels=2), "s.wav")
    token = r.context["form"]["pending"].value()
    r = as_user(ent["supervisor"]).post(ADD, {"name": "x", "kind": "prompt", "pending": token, "convert": "on"})
    assert r.status_code == 403  # the supervisor role may not add prompts at all
    ent["supervisor"].role.permissions.add(*permissions_from_names(["telephony.add_prompt"]))
    r = as_user(ent["supervisor"]).post(ADD, {"name": "x", "kind": "prompt", "pending": token, "convert": "on"})
    assert r.status_code == 200 and "请选择语音文件" in " ".join(field_errors(r)["file"])
    assert not Prompt.objects.exists()


def test_duplicate_name_refused(ent, as_user):
    make_prompt(ent["enterprise"], "欢迎语")
    r = upload(as_user(ent["admin"]), tone(), "a.wav", name="欢迎语")
    assert field_errors(r)["name"] == ["语音名称：已有名为“欢迎语”的语音"]
    assert Prompt.objects.count() == 1


def test_rename_and_edit_remark(ent, as_user):
    prompt = make_prompt(ent["enterprise"], "旧名")
    before = prompt.file.name
    r = as_user(ent["admin"]).post(f"/telephony/prompts/{prompt.pk}/edit/", {"name": "新名", "remark": "改过"})
    assert r.status_code == 302
    prompt.refresh_from_db()
    assert (prompt.name, prompt.remark, prompt.file.name) == ("新名", "改过", before)
    entry = AuditLog.objects.get(object_type="telephony.prompt", action="update")
    assert entry.changes == {"name": ["旧名", "新名"], "remark": ["", "改过"]}


def test_detail_page_plays_the_prompt(ent, as_user):
    prompt = make_prompt(ent["enterprise"])
    body = as_user(ent["admin"]).get(f"/telephony/prompts/{prompt.pk}/").content.decode()
    assert f'<audio controls preload="none" src="/telephony/prompts/{prompt.pk}/audio/"' in body


def test_audio_is_streamed_only_to_the_same_enterprise(ent, other, as_user):
    prompt = make_prompt(ent["enterprise"])
    r = as_user(ent["admin"]).get(f"/telephony/prompts/{prompt.pk}/audio/")
    assert r.status_code == 200 and r["Content-Type"] == "audio/wav"
    data = b"".join(r.streaming_content)
    assert data[:4] == b"RIFF" and wav_params(data)[0] == 8000
    assert as_user(other["admin"]).get(f"/telephony/prompts/{prompt.pk}/audio/").status_code == 404
    assert as_user(ent["agent"]).get(f"/telephony/prompts/{prompt.pk}/audio/").status_code == 403
    assert as_user(other["admin"]).get(f"/api/v1/prompts/{prompt.pk}/audio/").status_code == 404
    assert b"".join(as_user(ent["admin"]).get(f"/api/v1/prompts/{prompt.pk}/audio/").streaming_content) == data


def test_prompt_in_use_cannot_be_deleted_message_names_users(ent, as_user):
    e = ent["enterprise"]
    prompt = make_prompt(e, "欢迎语")
    ring = make_prompt(e, "彩铃", kind=PromptKind.RINGBACK)
    group = make_group(e, "销售组", [ent["agent"]])
    services.callflow_create(enterprise=e, values={"name": "群呼一", "prompt": prompt, "ringback": ring,
                                                   "agent_group": group})
    make_menu(e, "主导航", prompt=prompt)
    key_menu = make_menu(e, "二级导航")
    services.ivr_key_add(menu=key_menu, key="1", action="prompt", prompt=prompt)
    services.queue_create(enterprise=e, values={"name": "客服", "extension": "600", "announce": prompt,
                                                "music": ring, "enabled": False})
    c = as_user(ent["admin"])
    r = c.post(f"/telephony/prompts/{prompt.pk}/delete/")
    assert r.status_code == 409
    text = page_text(r)
    for user in ("流程“群呼一”（播放语音）", "语音导航“主导航”（导航语音）", "语音导航“二级导航”（按键 1）",
                 "队列“客服”（循环播放提示音）"):
        assert user in text
    r = c.post(f"/telephony/prompts/{ring.pk}/delete/")
    assert "流程“群呼一”（转接彩铃）" in page_text(r) and "队列“客服”（队列彩铃）" in page_text(r)
    assert Prompt.objects.count() == 2
    r = c.delete(f"/api/v1/prompts/{prompt.pk}/")
    assert r.status_code == 400 and "群呼一" in r.json()["prompt"][0]


def test_unused_prompt_is_deleted_with_its_file(ent, as_user, django_capture_on_commit_callbacks):
    prompt = make_prompt(ent["enterprise"])
    storage, name = prompt.file.storage, prompt.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        r = as_user(ent["admin"]).post(f"/telephony/prompts/{prompt.pk}/delete/")
    assert r.status_code == 302
    assert not Prompt.objects.exists() and not storage.exists(name)
    assert AuditLog.objects.filter(object_type="telephony.prompt", action="delete").count() == 1


# --- API -------------------------------------------------------------------------------------------


def test_api_upload_list_and_refusals(ent, other, as_user):
    c = as_user(ent["admin"])
    r = c.post("/api/v1/prompts/", {"name": "接口语音", "kind": "prompt", "file": SimpleUploadedFile(
        "a.wav", tone(seconds=0.5))})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["duration_ms"] == 500 and body["audio_url"].endswith(f"/api/v1/prompts/{body['id']}/audio/")
    assert "file" not in body

    r = c.post("/api/v1/prompts/", {"name": "MP3", "file": SimpleUploadedFile(
        "a.mp3", tone(rate=44100, channels=2, fmt="MP3"))})
    assert r.status_code == 400
    assert "MP3, 44.1 kHz" in r.json()["file"][0] and "convert" in r.json()
    r = c.post("/api/v1/prompts/", {"name": "MP3", "convert": "true", "file": SimpleUploadedFile(
        "a.mp3", tone(rate=44100, channels=2, fmt="MP3"))})
    assert r.status_code == 201 and Prompt.objects.get(name="MP3").size > 0

    r = c.post("/api/v1/prompts/", {"name": "大文件", "file": SimpleUploadedFile("b.wav", b"\0" * (11 * 1024 * 1024))})
    assert r.status_code == 400 and "10 MB" in r.json()["file"][0]
    r = c.post("/api/v1/prompts/", {"name": "文本", "file": SimpleUploadedFile("t.wav", b"just some text\n")})
    assert r.status_code == 400 and r.json()["file"] == ["不是音频文件（文本）"]
    assert Prompt.objects.count() == 2

    assert [p["name"] for p in c.get("/api/v1/prompts/").json()["results"]] == ["MP3", "接口语音"]
    assert as_user(other["admin"]).get("/api/v1/prompts/").json()["results"] == []
    pk = body["id"]
    assert as_user(other["admin"]).get(f"/api/v1/prompts/{pk}/").status_code == 404
    assert as_user(other["admin"]).delete(f"/api/v1/prompts/{pk}/").status_code == 404
    r = c.patch(f"/api/v1/prompts/{pk}/", {"name": "改名", "remark": "r"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["name"] == "改名"
    assert as_user(ent["agent"]).post("/api/v1/prompts/", {"name": "x"}).status_code == 403
