from __future__ import annotations

import io

import openpyxl
import pytest


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Third-party lookups are cached per source and number; no test sees another's results."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def crm(ent):
    """Enterprise A's categories, the 意向等级 field code (A > A1, A2; B; C) and custom fields."""
    from callcenter.crm import services

    e = ent["enterprise"]
    retail = services.category_create(enterprise=e, name="零售")
    corp = services.category_create(enterprise=e, name="企业")
    level = services.fieldcode_create(enterprise=e, name="意向等级")
    a = services.fieldcode_value_add(code=level, value="A")
    services.fieldcode_value_add(code=level, value="A1", parent=a)
    services.fieldcode_value_add(code=level, value="A2", parent=a)
    services.fieldcode_value_add(code=level, value="B")
    services.customerfield_create(enterprise=e, values={"key": "intent", "label": "意向等级", "field_type": "choice",
                                                       "code": level, "order": 1})
    services.customerfield_create(enterprise=e, values={"key": "birthday", "label": "生日", "field_type": "date",
                                                       "is_birthday": True, "order": 2})
    services.customerfield_create(enterprise=e, values={"key": "budget", "label": "预算", "field_type": "number",
                                                       "order": 3})
    return {**ent, "retail": retail, "corp": corp, "level": level}


def make_customer(crm, owner, phone="13800138000", **extra):
    from callcenter.crm import services

    values = {"category": crm["retail"], "phone": phone, "name": extra.pop("name", "客户"), "owner": owner}
    return services.customer_create(enterprise=crm["enterprise"], values=values, data=extra.pop("data", {}))


def xlsx(rows: list[list]) -> io.BytesIO:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "customers.xlsx"
    return buf
