"""Worker jobs: large imports and exports, with progress written to their Job row."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from huey.contrib.djhuey import db_task

from callcenter.core.choices import Channel, JobStatus
from callcenter.core.context import acting
from callcenter.core.models import Job


def job_dir(job: Job) -> Path:
    path = Path(settings.MEDIA_ROOT) / "jobs" / str(job.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _progress(job_id: int, **fields) -> None:
    Job.objects.filter(pk=job_id).update(**fields)


@db_task()
def export_job(job_id: int) -> None:
    run_export_job(job_id)


def run_export_job(job_id: int) -> None:
    from django.http import QueryDict

    from callcenter.core.exporting import export_to_file
    from callcenter.core.screens import get_screen

    close_old_connections()
    job = Job.objects.select_related("user", "user__enterprise").get(pk=job_id)
    _progress(job_id, status=JobStatus.RUNNING)
    try:
        screen = get_screen(job.screen)
        qs = screen_queryset(screen, job.user, QueryDict(job.params.get("query", "")))
        columns = screen.get_export_columns(job.user)
        tmp, n = export_to_file(qs, columns, rows=screen.export_rows(qs, columns),
                                progress=lambda done: _progress(job_id, done=done))
        target = job_dir(job) / f"{screen.model_name}-export.xlsx"
        os.replace(tmp, target)
        _progress(job_id, status=JobStatus.DONE, done=n, succeeded=n, result_file=str(target),
                  finished_at=timezone.now())
    except Exception as exc:  # the job page must say why it failed, whatever failed
        _progress(job_id, status=JobStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now())
        raise


def screen_queryset(screen, user, params):
    """The screen's rows for `user` narrowed by the list's filters, as the list showed them."""
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    qs = screen.queryset(request)
    if screen.filterset_class is not None and params:
        fs = screen.filterset_class(params, queryset=qs, request=request)
        qs = fs.qs if fs.is_valid() else qs.none()
    return qs.order_by("pk")


@db_task()
def import_job(job_id: int) -> None:
    run_import_job(job_id)


def run_import_job(job_id: int) -> None:
    from callcenter.core.importing import FileRejected, failure_report, read_rows, run_import
    from callcenter.core.screens import get_screen

    close_old_connections()
    job = Job.objects.select_related("user", "user__enterprise").get(pk=job_id)
    _progress(job_id, status=JobStatus.RUNNING)
    try:
        screen = get_screen(job.screen)
        importer = screen.importers[job.params["importer"]](enterprise=job.user.enterprise, user=job.user,
                                                            options=job.params.get("options") or {})
        data = Path(job.input_file).read_bytes()
        header, body = read_rows(data)
        _progress(job_id, total=len(body))
        with acting(actor=job.user, channel=Channel.IMPORT, ip=job.params.get("ip")):
            result = run_import(importer, header, body, progress=lambda done, r: _progress(
                job_id, done=done, succeeded=r.saved, failed=len(r.errors)))
        report = ""
        if result.errors:
            path = job_dir(job) / "failures.xlsx"
            path.write_bytes(failure_report(header, result.errors))
            report = str(path)
        _progress(job_id, status=JobStatus.DONE, done=result.total, succeeded=result.saved,
                  failed=len(result.errors), result_file=report, message=result.summary, finished_at=timezone.now())
    except FileRejected as exc:
        _progress(job_id, status=JobStatus.FAILED, message="；".join(exc.messages), finished_at=timezone.now())
    except Exception as exc:  # the job page must say why it failed, whatever failed
        _progress(job_id, status=JobStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now())
        raise
    finally:
        Path(job.input_file).unlink(missing_ok=True)
