"""The recording of a call, for the <audio> player on the CDR page and for download (T5, T7).

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
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from callcenter.calls.models import Cdr
from callcenter.core.scope import scoped


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
