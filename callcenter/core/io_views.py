"""Excel import and export screens, and the progress page of worker jobs."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from callcenter.core import tasks
from callcenter.core.choices import Channel, JobKind, JobStatus
from callcenter.core.context import acting, client_ip
from callcenter.core.exporting import export_to_file
from callcenter.core.importing import (
    FileRejected,
    check_file,
    failure_report,
    read_rows,
    run_import,
    too_large_message,
)
from callcenter.core.models import Job
from callcenter.core.views import ScreenView

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TempFileResponse(FileResponse):
    """Streams a temporary file from disk and removes it afterwards."""

    def __init__(self, path: str, *args, **kwargs):
        self._temp_path = path
        super().__init__(open(path, "rb"), *args, **kwargs)  # noqa: SIM115 - closed by FileResponse

    def close(self):
        super().close()
        Path(self._temp_path).unlink(missing_ok=True)


class ExportView(ScreenView):
    action = "export"

    def get(self, request):
        from callcenter.core.tasks import screen_queryset

        screen = self.screen
        qs = screen_queryset(screen, request.user, request.GET)
        limit = settings.CALLCENTER["EXPORT_STREAM_ROWS"]
        if qs.order_by()[: limit + 1].count() <= limit:
            with acting(channel=Channel.UI):
                columns = screen.get_export_columns(request.user)
                path, _n = export_to_file(qs, columns, rows=screen.export_rows(qs, columns))
            return TempFileResponse(path, as_attachment=True, filename=f"{screen.model_name}s.xlsx",
                                    content_type=XLSX)
        job = Job.objects.create(enterprise=request.user.enterprise, user=request.user, kind=JobKind.EXPORT,
                                 screen=screen.key, params={"query": request.GET.urlencode()})
        transaction.on_commit(lambda: tasks.export_job(job.pk))
        return redirect("core:job", pk=job.pk)


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel 文件"))

    def __init__(self, *args, importers=None, enterprise=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["importer"] = forms.ChoiceField(
            label=gettext_lazy("导入类型"), choices=[(k, v.label) for k, v in importers.items()])
        self.option_names: dict[str, list[str]] = {}
        for key, importer in importers.items():
            extra = importer.option_fields(enterprise=enterprise, user=user)
            self.option_names[key] = list(extra)
            self.fields.update(extra)
        self.order_fields(["importer", *[n for names in self.option_names.values() for n in names], "file"])
        from callcenter.core.forms import bootstrapify

        bootstrapify(self)


class ImportView(ScreenView):
    action = "import"

    def show(self, request, form, status=200, **extra):
        return render(request, "core/import.html", self.base_context(
            form=form, title=_("导入") + " " + str(self.screen.label), importers=self.screen.importers,
            **extra), status=status)

    def get(self, request):
        initial = {"importer": request.GET.get("importer")} if request.GET.get("importer") else None
        return self.show(request, ImportForm(importers=self.screen.importers, initial=initial,
                                             enterprise=request.user.enterprise, user=request.user))

    def post(self, request):
        form = ImportForm(request.POST, request.FILES, importers=self.screen.importers,
                          enterprise=request.user.enterprise, user=request.user)
        if not form.is_valid():
            return self.show(request, form, status=400)
        upload = form.cleaned_data["file"]
        limit = settings.CALLCENTER["IMPORT_MAX_BYTES"]
        if upload.size > limit:
            form.add_error("file", too_large_message(limit))
            return self.show(request, form, status=400)
        data = upload.read()
        key = form.cleaned_data["importer"]
        options = {name: form.cleaned_data.get(name) for name in form.option_names.get(key, [])}
        importer = self.screen.importers[key](enterprise=request.user.enterprise, user=request.user, options=options)
        try:
            check_file(data)
            header, body = read_rows(data)
        except FileRejected as exc:
            for msg in exc.messages:
                form.add_error("file", msg)
            return self.show(request, form, status=400)
        job = Job.objects.create(enterprise=request.user.enterprise, user=request.user, kind=JobKind.IMPORT,
                                 screen=self.screen.key, total=len(body),
                                 params={"importer": key, "ip": client_ip(request), "name": upload.name,
                                         "options": options})
        if len(body) > settings.CALLCENTER["IMPORT_INLINE_ROWS"]:
            path = tasks.job_dir(job) / "input.xlsx"
            path.write_bytes(data)
            Job.objects.filter(pk=job.pk).update(input_file=str(path))
            transaction.on_commit(lambda: tasks.import_job(job.pk))
            return redirect("core:job", pk=job.pk)
        try:
            with acting(channel=Channel.IMPORT):
                result = run_import(importer, header, body)
        except FileRejected as exc:
            job.delete()
            for msg in exc.messages:
                form.add_error("file", msg)
            return self.show(request, form, status=400)
        report = ""
        if result.errors:
            path = tasks.job_dir(job) / "failures.xlsx"
            path.write_bytes(failure_report(header, result.errors))
            report = str(path)
        Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, done=result.total, succeeded=result.saved,
                                             failed=len(result.errors), result_file=report, message=result.summary)
        return redirect("core:job", pk=job.pk)


class ImportTemplateView(ScreenView):
    action = "import"

    def get(self, request):
        key = request.GET.get("importer") or next(iter(self.screen.importers))
        if key not in self.screen.importers:
            raise Http404
        importer = self.screen.importers[key](enterprise=request.user.enterprise, user=request.user)
        response = HttpResponse(importer.template_bytes(), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{self.screen.model_name}-{key}-template.xlsx"'
        return response


@login_required
def job_view(request, pk: int):
    """Progress of an import or export; the page polls itself until the job ends."""
    job = get_object_or_404(Job, pk=pk, user=request.user, enterprise_id=request.user.enterprise_id)
    template = "core/_job.html" if request.htmx else "core/job.html"
    return render(request, template, {"job": job, "title": _("后台作业"),
                                      "running": job.status in (JobStatus.PENDING, JobStatus.RUNNING)})


@login_required
def job_download(request, pk: int):
    job = get_object_or_404(Job, pk=pk, user=request.user, enterprise_id=request.user.enterprise_id)
    if not job.result_file or not Path(job.result_file).exists():
        raise Http404
    name = "failures.xlsx" if job.kind == JobKind.IMPORT else Path(job.result_file).name
    return FileResponse(open(job.result_file, "rb"), as_attachment=True, filename=name,  # noqa: SIM115
                        content_type=XLSX)
