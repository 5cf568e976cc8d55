"""Fixtures and builders of the task tests (intake, T1, T4, the `tasks` API). Imported by the test
modules (`from tests.campaigns.kit import *`), so other campaign tests keep their own conftest."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

__all__ = ["camp", "field_errors", "make_task", "page_text", "post_send", "send_data",
           "text_file", "_task_files"]


@pytest.fixture(autouse=True)
def _task_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


@pytest.fixture
def camp(ent, other):
    """Enterprise A with an agent group (811, 812) and a flow transferring to it, a play-only flow,
    two customer categories; enterprise B with its own flow, category, customers and blacklist."""
    from callcenter.crm import services as crm
    from callcenter.telephony import services as tel

    e = ent["enterprise"]
    group = tel.group_create(enterprise=e, values={"name": "外呼组"}, members=[ent["sub1"], ent["sub2"]])
    flow = tel.callflow_create(enterprise=e, values={"name": "回访流程", "transfer_mode": "direct",
                                                     "agent_group": group})
    cat = crm.category_create(enterprise=e, name="回访客户")
    old = crm.category_create(enterprise=e, name="老客户")
    b = other["enterprise"]
    b_group = tel.group_create(enterprise=b, values={"name": "B组"}, members=[other["agent"]])
    b_flow = tel.callflow_create(enterprise=b, values={"name": "B流程", "transfer_mode": "direct",
                                                       "agent_group": b_group})
    b_cat = crm.category_create(enterprise=b, name="B分类")
    return {**ent, "group": group, "flow": flow, "cat": cat, "old": old, "other": other, "b_flow": b_flow,
            "b_cat": b_cat}


def text_file(lines, *, encoding="utf-8", newline="\n", name="numbers.txt", bom=b"") -> SimpleUploadedFile:
    data = bom + newline.join(lines).encode(encoding)
    return SimpleUploadedFile(name, data, content_type="text/plain")


def send_data(camp, **overrides) -> dict:
    data = {"name": "春季回访", "flow": camp["flow"].pk, "category": camp["cat"].pk, "start_at": "",
            "dedupe": "1", "recall_called_today": "0", "skip_existing_customers": "0", "numbers_text": "",
            "_draft": "1"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_send(client, camp, **overrides):
    return client.post("/campaigns/tasks/send/", send_data(camp, **overrides))


def make_task(camp, numbers=("13800000001", "13800000002", "13800000003"), *, submit=True, user=None, **values):
    """A task made through the service, as the T1 page makes it."""
    from callcenter.campaigns import intake, services

    vals = {"name": values.pop("name", "任务"), "flow": camp["flow"], "category": camp["cat"], "start_at": None,
            "windows": [], "dedupe": True, **values}
    created = services.task_create(enterprise=camp["enterprise"], user=user or camp["admin"], values=vals,
                                   source=intake.read_text("\n".join(numbers)), submit=submit)
    created.task.refresh_from_db()
    return created.task


def field_errors(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'<div\b[^>]*\bdata-field="([^"]+)"[^>]*>(.*?)</div>', response.content.decode(),
                                 re.S):
        found.setdefault(name, []).append(html.unescape(re.sub(r"<[^>]+>", "", text)).strip())
    return found


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def soon(minutes=30):
    return timezone.localtime(timezone.now() + timedelta(minutes=minutes))
