"""Views of the calls app beyond the generic screens: the recording of a call, the CDR page
with its quality review (T7 质检), and the agent monitor (T10 坐席监控).

The recording of a call, for the <audio> player on the CDR page and for download (T5, T7).

Access follows the CDR: whoever may see the call (its enterprise, their data scope) may
hear it. A stored file is streamed with range support for seeking. A recording kept by
the PBX (`ari:<name>`, written by call control) is fetched from ARI's stored recordings
with the server's ARI credentials and passed through, so the browser never needs to
reach the PBX.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

import httpx
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from callcenter.calls import selectors, services
from callcenter.calls.choices import AgentStatus
from callcenter.calls.forms import QualityReviewForm
from callcenter.calls.models import Cdr, QualityReview
from callcenter.core.scope import scoped
from callcenter.core.views import ObjectDetailView, add_errors


@login_required
@require_GET
def cdr_recording(request, pk: int):
    if request.user.enterprise_id is None or not request.user.has_perm("calls.view_cdr"):
        raise PermissionDenied(_("没有权限"))
    cdr = get_object_or_404(scoped(Cdr.objects.select_related("recording"), request.user), pk=pk)
    recording = cdr.recording
    if recording is None:
        raise Http404(_("这通电话没有录音"))
    download = request.GET.get("download") == "1"
    if recording.file:
        try:
            handle = recording.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404(_("录音文件不存在"))
        name = recording.file.name.rsplit("/", 1)[-1]
        content_type = mimetypes.guess_type(name)[0] or "audio/wav"
        return FileResponse(handle, as_attachment=download, filename=name, content_type=content_type)
    if recording.url.startswith("ari:"):
        return _from_ari(recording.url.removeprefix("ari:"), download=download)
    if recording.url.startswith(("http://", "https://", "/")):
        return HttpResponseRedirect(recording.url)
    raise Http404(_("录音文件不存在"))


def _from_ari(name: str, *, download: bool) -> HttpResponse:
    pbx = settings.PBX
    url = f"{pbx['ARI_URL'].rstrip('/')}/ari/recordings/stored/{quote(name, safe='')}/file"
    try:
        reply = httpx.get(url, auth=(pbx["ARI_USER"], pbx["ARI_PASSWORD"]), timeout=10)
    except httpx.HTTPError:
        raise Http404(_("录音暂时无法获取（PBX 不可达）"))
    if reply.status_code != 200:
        raise Http404(_("录音文件不存在"))
    response = HttpResponse(reply.content, content_type=reply.headers.get("content-type", "audio/wav"))
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name.rsplit("/", 1)[-1]}.wav"'
    return response


# --- 通话详单 detail with 质检 (T7) ----------------------------------------------------------------


class CdrDetailView(ObjectDetailView):
    """The call, its recording with a waveform, its campaign attempt and its quality review;
    POST scores the call (needs the permission to add or change quality reviews)."""

    def post(self, request, pk):
        user = request.user
        cdr = self.get_object(pk)
        existing = QualityReview.objects.filter(cdr=cdr).exists()
        if not user.has_perm("calls.change_qualityreview" if existing else "calls.add_qualityreview"):
            raise PermissionDenied(_("没有权限"))
        form = QualityReviewForm(request.POST)
        if form.is_valid():
            try:
                services.quality_review_save(cdr=cdr, reviewer=request.user, score=form.cleaned_data["score"],
                                             comment=form.cleaned_data["comment"])
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("已保存质检评分"))
                return HttpResponseRedirect(reverse("calls:cdr_detail", args=[cdr.pk]) + "#quality")
        return self.render_detail(request, cdr, status=400, review_form=form)


def review_context(request, cdr: Cdr) -> dict:
    """Context of the CDR page's quality section and campaign section."""
    review = QualityReview.objects.filter(cdr=cdr).select_related("reviewer").first()
    user = request.user
    can_review = user.has_perm("calls.change_qualityreview" if review else "calls.add_qualityreview")
    initial = {"score": review.score, "comment": review.comment} if review else None
    attempt = None
    if cdr.attempt_id is not None:
        from callcenter.campaigns.models import Attempt

        attempt = (Attempt.objects.filter(pk=cdr.attempt_id, enterprise_id=cdr.enterprise_id)
                   .select_related("task", "number").first())
    return {"review": review, "can_review": can_review and cdr.answered_at is not None,
            "review_form": QualityReviewForm(initial=initial), "attempt": attempt}


# --- 坐席监控 (T10) --------------------------------------------------------------------------------


@login_required
@require_GET
def agent_monitor(request):
    """Live agent states with time in state and today's traffic, as a table and charts; the
    page polls its own partial every few seconds."""
    user = request.user
    if user.enterprise_id is None or not user.has_perm("calls.view_agentstate"):
        raise PermissionDenied(_("没有权限"))
    state = request.GET.get("state") or ""
    if state and state not in AgentStatus.values:
        state = ""
    monitor = selectors.agent_monitor(user, state=state)
    context = {"monitor": monitor, "state": state, "states": AgentStatus.choices, "title": _("坐席监控"),
               "chart": monitor.chart()}
    template = "calls/_agent_monitor.html" if request.htmx else "calls/agent_monitor.html"
    return render(request, template, context)
