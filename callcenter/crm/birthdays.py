"""Customer birthday reminders (T12): the source the notices app asks each day.

The enterprise's birthday field is the one CustomerField marked `is_birthday`; dates are
stored as ISO text in `Customer.data`, so "born on this day" is a suffix match on -MM-DD.
"""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from callcenter.crm.models import Customer, CustomerField


def birthday_reminders(today: date):
    """(enterprise id, owning agent id, customer id, title, url) for every customer born on this day."""
    suffix = today.strftime("-%m-%d")
    for field in CustomerField.objects.filter(is_birthday=True).only("enterprise_id", "key"):
        customers = (Customer.objects.filter(enterprise_id=field.enterprise_id, owner__isnull=False,
                                             **{f"data__{field.key}__endswith": suffix})
                     .values_list("pk", "owner_id", "name"))
        for pk, owner_id, name in customers.iterator(chunk_size=1000):
            yield (field.enterprise_id, owner_id, pk, f"客户生日：{name or pk}",
                   reverse("crm:customer_detail", args=[pk]))
