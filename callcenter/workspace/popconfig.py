"""The enterprise's screen-pop configuration (X1, manual 2.3.2 设置弹屏字段, 2.7.4 第三方数据库), cached.

Every screen pop needs the same few settings of its enterprise: which custom fields it shows (label,
width share, order, visible), whether any third-party source or sub-table is enabled (when none is,
the pop asks no third party and reads no source rows), and the enterprise's third-party screen-pop
address. They change rarely, so a process reads them once per CONFIG_SECONDS instead of four
queries on every pop.

Saving or deleting a custom field, a third-party source or sub-table, or the enterprise drops its
entry at once and again when the transaction commits (so a pop read in between cannot keep the old
settings). The entry lives in Django's cache: with a shared cache (Redis) every process sees the
change at once; with the default per-process cache, the other web processes see it within
CONFIG_SECONDS. Passwords of sources are never cached here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

CONFIG_SECONDS = 30
KEY = "cc:popconfig:v1:{}"


@dataclass(frozen=True)
class PopField:
    """A custom field as the pop shows it (the attributes customer_fields() reads)."""

    key: str
    label: str
    width: int
    visible: bool = True


@dataclass(frozen=True)
class PopConfig:
    fields: tuple[PopField, ...]  # visible custom fields, in the 设置弹屏字段 order
    third_party: bool  # an enabled source with a mapping, or an enabled sub-table of an enabled source
    screen_pop_url: str  # the enterprise's third-party screen-pop address (an agent's own one wins)


def _load(enterprise_id: int) -> PopConfig:
    from callcenter.core.models import Enterprise
    from callcenter.crm.models import CustomerField, ThirdPartySource, ThirdPartySubTable

    fields = tuple(PopField(key, label, width) for key, label, width in
                   CustomerField.objects.filter(enterprise_id=enterprise_id, visible=True)
                   .order_by("order", "id").values_list("key", "label", "width"))
    # as crm.thirdparty.gather() decides which sources and sub-tables to query
    mapped = any(any(v for v in (mapping or {}).values()) for mapping in
                 ThirdPartySource.objects.filter(enterprise_id=enterprise_id, enabled=True)
                 .values_list("mapping", flat=True))
    third_party = mapped or ThirdPartySubTable.objects.filter(
        enterprise_id=enterprise_id, enabled=True, source__enabled=True).exists()
    url = Enterprise.objects.filter(pk=enterprise_id).values_list("screen_pop_url", flat=True).first() or ""
    return PopConfig(fields=fields, third_party=third_party, screen_pop_url=url)


def pop_config(enterprise_id: int) -> PopConfig:
    key = KEY.format(enterprise_id)
    config = cache.get(key)
    if config is None:
        config = _load(enterprise_id)
        cache.set(key, config, CONFIG_SECONDS)
    return config


def invalidate(enterprise_id: int | None) -> None:
    if enterprise_id is None:
        return
    key = KEY.format(enterprise_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _changed(sender, instance, **kwargs) -> None:
    invalidate(instance.pk if sender._meta.label == "core.Enterprise" else instance.enterprise_id)


def connect() -> None:
    """Wire the invalidation (WorkspaceConfig.ready)."""
    from callcenter.core.models import Enterprise
    from callcenter.crm.models import CustomerField, ThirdPartySource, ThirdPartySubTable

    for model in (CustomerField, ThirdPartySource, ThirdPartySubTable, Enterprise):
        for signal in (post_save, post_delete):
            signal.connect(_changed, sender=model, dispatch_uid=f"popconfig-{signal is post_save}-{model._meta.label}")
