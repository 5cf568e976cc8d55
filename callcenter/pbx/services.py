"""Applying agent, trunk and queue configuration to the PBX (manual 2.7.2 坐席配置生效, C11/S2).

`config_apply` takes the enterprise's snapshot, records the apply with what changed since the
last successful one, and after the transaction commits publishes it:

1. render the enterprise's part of pjsip/queues/extensions/musiconhold into a fresh release
   directory (the other enterprises' parts are copied from the active release, so one
   enterprise never pushes another's unapplied edits);
2. swap the ``current`` symlink to it atomically (a new symlink renamed over the old);
3. send each needed reload once over AMI (only for files whose content changed).

If AMI cannot be reached or a reload fails, ``current`` is swapped back, modules already
reloaded are reloaded again from the previous files, and the apply is recorded as failed:
the previous configuration stays active.

Layout of ``settings.PBX["CONFIG_DIR"]``::

    current -> releases/20261127T180301-42
    releases/<stamp>-<apply id>/{pjsip,queues,extensions,musiconhold}.conf
    releases/<stamp>-<apply id>/parts/<enterprise code>/<file>
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.core.models import Enterprise
from callcenter.pbx import selectors
from callcenter.pbx.asterisk import ami, render
from callcenter.pbx.asterisk.snapshot import EnterpriseConf, diff
from callcenter.pbx.choices import ApplyStatus
from callcenter.pbx.models import ConfigApply

log = logging.getLogger(__name__)

CURRENT = "current"
RELEASES = "releases"
PARTS = "parts"


def config_apply(*, enterprise: Enterprise, user) -> ConfigApply:
    """Record an apply of `enterprise`'s current configuration and publish it after commit."""
    conf = selectors.snapshot(enterprise)
    stored = conf.to_dict()
    last = selectors.last_applied(enterprise)
    changes = diff(last.snapshot if last else None, stored)
    with transaction.atomic():
        record = ConfigApply.objects.create(
            enterprise=enterprise, applied_by=user, applied_by_label=str(user)[:100] if user else "",
            status=ApplyStatus.RUNNING, snapshot=stored, summary={"changes": changes.to_dict()},
        )
        # Reloads go out once, after the row is committed; a rollback sends nothing.
        transaction.on_commit(lambda: publish(record.pk, conf))
    record.refresh_from_db()
    return record


# --- publishing ---------------------------------------------------------------------------------------------


def config_root() -> Path:
    return Path(settings.PBX["CONFIG_DIR"])


def active_release(root: Path | None = None) -> Path | None:
    """The release directory Asterisk's includes point at now, or None before the first apply."""
    current = (root or config_root()) / CURRENT
    if not current.is_symlink():
        return None
    target = current.resolve()
    return target if target.is_dir() else None


@contextlib.contextmanager
def _locked(root: Path):
    """One publisher at a time per config directory, across processes."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _point_current(root: Path, target: Path | None) -> None:
    """Atomically make ``current`` point at `target` (relative link), or remove it."""
    current = root / CURRENT
    if target is None:
        with contextlib.suppress(FileNotFoundError):
            current.unlink()
        return
    tmp = root / f".{CURRENT}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, root))
    os.replace(tmp, current)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build_release(root: Path, name: str, conf: EnterpriseConf, previous: Path | None, *, app: str,
                  keep_codes: set[str]) -> tuple[Path, dict[str, str]]:
    """Write a release directory: this enterprise's fresh parts, the others' copied from `previous`."""
    release = root / RELEASES / name
    release.mkdir(parents=True)
    own = render.render_enterprise(conf, app=app)
    parts: dict[str, dict[str, str]] = {filename: {} for filename in render.FILES}
    if previous is not None and (previous / PARTS).is_dir():
        for part_dir in sorted((previous / PARTS).iterdir()):
            code = part_dir.name
            if code == conf.code or code not in keep_codes:
                continue
            for filename in render.FILES:
                source = part_dir / filename
                if source.is_file():
                    parts[filename][code] = source.read_text()
    for filename, text in own.items():
        parts[filename][conf.code] = text
    for filename in render.FILES:
        for code, text in parts[filename].items():
            part_dir = release / PARTS / code
            part_dir.mkdir(parents=True, exist_ok=True)
            (part_dir / filename).write_text(text)
        (release / filename).write_text(render.assemble(filename, parts[filename]))
    return release, {filename: _sha(text) for filename, text in own.items()}


def _changed_files(new: Path, old: Path | None) -> list[str]:
    changed = []
    for filename in render.FILES:
        old_file = old / filename if old is not None else None
        if old_file is None or not old_file.is_file() or old_file.read_bytes() != (new / filename).read_bytes():
            changed.append(filename)
    return changed


def _prune(root: Path, keep: int, protect: set[Path]) -> None:
    releases = sorted((p for p in (root / RELEASES).iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in releases[:-keep] if keep > 0 else releases:
        if old.resolve() not in protect:
            shutil.rmtree(old, ignore_errors=True)


def _reload(commands: list[str]) -> None:
    pbx = settings.PBX
    ami.reload_sync(commands, host=pbx["AMI_HOST"], port=int(pbx["AMI_PORT"]), username=pbx["AMI_USER"],
                    secret=pbx["AMI_SECRET"], timeout=float(pbx.get("AMI_TIMEOUT", 10)))


def publish(apply_id: int, conf: EnterpriseConf) -> ConfigApply:
    """Render, swap and reload for one recorded apply; records the result on the row."""
    record = ConfigApply.objects.select_related("enterprise").get(pk=apply_id)
    root = config_root()
    summary = dict(record.summary)
    status, message = ApplyStatus.OK, ""
    with _locked(root):
        previous = active_release(root)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        keep_codes = set(Enterprise.objects.values_list("code", flat=True))
        release = None
        try:
            release, files = build_release(root, f"{stamp}-{apply_id}", conf, previous,
                                           app=settings.PBX["APP"], keep_codes=keep_codes)
        except OSError as exc:
            status, message = ApplyStatus.FAILED, _("写入配置文件失败：%(err)s") % {"err": exc}
            files = {}
        summary.update(files=files, release=release.name if release else "")
        if release is not None:
            changed = _changed_files(release, previous)
            commands = [ami.RELOAD_COMMANDS[f] for f in changed]
            summary["reloads"] = commands
            _point_current(root, release)
            try:
                if commands:
                    _reload(commands)
                message = _("已生效") if commands else _("配置无变化，无需重新加载")
            except Exception as exc:  # AMI down, reload refused, or anything unexpected: roll back
                if not isinstance(exc, ami.AmiError):
                    log.exception("config apply %s: reload failed unexpectedly", apply_id)
                status = ApplyStatus.FAILED
                message = (_("PBX 重新加载失败，已恢复原配置：%(err)s") if previous is not None
                           else _("PBX 重新加载失败，配置未生效：%(err)s")) % {"err": exc}
                _point_current(root, previous)
                _restore(commands, previous)
                shutil.rmtree(release, ignore_errors=True)
                summary["release"] = ""
            if status == ApplyStatus.OK:
                with contextlib.suppress(OSError):
                    _prune(root, int(settings.PBX.get("KEEP_RELEASES", 10)), {release.resolve()})
    ConfigApply.objects.filter(pk=apply_id).update(status=status, message=message, summary=summary,
                                                   finished_at=timezone.now())
    if status == ApplyStatus.FAILED:
        log.warning("config apply %s of %s failed: %s", apply_id, record.enterprise.code, message)
    record.refresh_from_db()
    return record


def _restore(commands: list[str], previous: Path | None) -> None:
    """After a failed reload, load the previous files again (best effort; AMI may be down)."""
    if not commands or previous is None:
        return
    try:
        _reload(commands)
    except ami.AmiError as exc:
        log.info("reload of the previous configuration not possible: %s", exc)


def config_write_initial(*, enterprise: Enterprise) -> ConfigApply:
    """Write `enterprise`'s configuration before the PBX runs (first install): render and swap
    in the files with no reload, since the PBX reads them when it starts."""
    conf = selectors.snapshot(enterprise)
    stored = conf.to_dict()
    root = config_root()
    with _locked(root):
        previous = active_release(root)
        keep_codes = set(Enterprise.objects.values_list("code", flat=True))
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        release, files = build_release(root, f"{stamp}-initial-{enterprise.code}", conf, previous,
                                       app=settings.PBX["APP"], keep_codes=keep_codes)
        _point_current(root, release)
    return ConfigApply.objects.create(
        enterprise=enterprise, applied_by=None, applied_by_label="system", status=ApplyStatus.OK,
        finished_at=timezone.now(), message=_("初始配置已写入，PBX 启动时读取"), snapshot=stored,
        summary={"changes": diff(None, stored).to_dict(), "files": files, "release": release.name, "reloads": []})
