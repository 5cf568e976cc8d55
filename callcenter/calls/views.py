"""The recording of a call, for the <audio> player on the CDR page and for download (T5, T7).

Access follows the CDR: whoever may see the call (its enterprise, their data scope) may
hear it. A stored file is streamed with range support for seeking; a recording the
simulated Asterisk synthesises is a redirect to its URL.
"""

from __future__ import annotations

import mimetypes

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
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
    if recording.url.startswith(("http://", "https://", "/")):
        return HttpResponseRedirect(recording.url)
    raise Http404(_("录音文件不存在"))
