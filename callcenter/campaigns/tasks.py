"""Worker jobs of campaigns: the intake of a large number file, with progress on its Job."""

from __future__ import annotations

from pathlib import Path

from django.db import close_old_connections
from django.utils import timezone
from huey.contrib.djhuey import db_task

from callcenter.core.choices import Channel, JobStatus
from callcenter.core.context import acting
from callcenter.core.models import Job


@db_task()
def intake_job(job_id: int) -> None:
    run_intake_job(job_id)


def _progress(job_id: int, **fields) -> None:
    Job.objects.filter(pk=job_id).update(**fields)


def run_intake_job(job_id: int) -> None:
    """Take in the numbers the request wrote to the job's input file (already checked there: text,
    within the cap, at least one valid number). Progress goes to the Job as the bulk writes commit;
    on failure the task's rows are removed and the task ends with the reason."""
    from callcenter.campaigns import intake, services
    from callcenter.campaigns.models import Task

    close_old_connections()
    job = Job.objects.select_related("user").get(pk=job_id)
    task = Task.objects.select_related("enterprise").get(pk=job.params["task"])
    _progress(job_id, status=JobStatus.RUNNING)
    try:
        lines = Path(job.input_file).read_text(encoding="utf-8").split("\n")
        source = intake.Source(job.params.get("kind", "file"), job.params.get("name", ""), lines,
                               encoding=job.params.get("encoding", ""),
                               ignored_list=bool(job.params.get("ignored_list")))
        parsed = intake.parse(lines, dedupe=task.dedupe)
        _progress(job_id, total=len(parsed.accepted))
        with acting(actor=job.user, channel=Channel.IMPORT, ip=job.params.get("ip")):
            outcome = intake.apply(task, parsed, user=job.user,
                                   progress=lambda done, total: _progress(job_id, done=min(done, total)))
            services.finish_intake(task, outcome, source, submit=bool(job.params.get("submit")))
        _progress(job_id, status=JobStatus.DONE, done=len(parsed.accepted), succeeded=outcome.accepted,
                  failed=sum(outcome.dropped.values()), finished_at=timezone.now())
    except Exception as exc:  # the task page must say why the intake failed, whatever failed
        services.intake_failed(task.pk, str(exc))
        _progress(job_id, status=JobStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now())
        raise
    finally:
        services.remove_input(job.input_file)
