"""The demo enterprise's customers: two categories, a field code with sub-values, custom fields
(with a birthday) and ~200 customers owned by agents 801-806. Some phones are numbers the
simulated PBX calls from (13800138000, 1390000xxxx), so screen pops find a customer."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from callcenter.accounts.models import Agent
from callcenter.core import audit
from callcenter.crm import services
from callcenter.crm.models import Customer

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def seed(enterprise, *, count: int = 200) -> None:
    rng = random.Random(20240501)
    retail = services.category_create(enterprise=enterprise, name="零售客户", remark="演示")
    corporate = services.category_create(enterprise=enterprise, name="企业客户", remark="演示")
    level = services.fieldcode_create(enterprise=enterprise, name="意向等级")
    for top, subs in (("A", ("A1 立即购买", "A2 一月内")), ("B", ("B1 比较中", "B2 观望")), ("C", ())):
        parent = services.fieldcode_value_add(code=level, value=top)
        for i, sub in enumerate(subs):
            services.fieldcode_value_add(code=level, value=sub, parent=parent, order=i)
    fields = [
        {"key": "intent", "label": "意向等级", "field_type": "choice", "code": level, "order": 1, "width": 25},
        {"key": "birthday", "label": "生日", "field_type": "date", "is_birthday": True, "order": 2, "width": 25},
        {"key": "email", "label": "邮箱", "field_type": "email", "order": 3, "width": 25},
        {"key": "address", "label": "地址", "field_type": "text", "order": 4, "width": 50},
        {"key": "budget", "label": "预算（元）", "field_type": "number", "order": 5, "width": 25, "visible": False},
    ]
    for values in fields:
        services.customerfield_create(enterprise=enterprise, values=values)
    paths = list(level.paths())
    agents = list(Agent.objects.filter(enterprise=enterprise, number__in=[str(n) for n in range(801, 807)])
                  .order_by("number"))
    phones = ["13800138000"] + [f"1390000{i:04d}" for i in range(60)]
    while len(phones) < count:
        phones.append(f"1{rng.choice('3578')}{rng.randrange(10**9):09d}")
    now = timezone.now()
    objs = []
    for i, phone in enumerate(phones[:count]):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        data = {"intent": rng.choice(paths), "address": f"广州市天河区演示路{i + 1}号"}
        if i % 3 == 0:
            data["birthday"] = (date(1970, 1, 1) + timedelta(days=rng.randrange(365 * 35))).isoformat()
        if i % 4 == 0:
            data["email"] = f"demo{i}@example.com"
        if i % 5 == 0:
            data["budget"] = rng.randrange(1, 100) * 1000
        objs.append(Customer(enterprise=enterprise, category=corporate if i % 4 == 0 else retail,
                             owner=agents[i % len(agents)] if agents else None, name=name, phone=phone,
                             company=f"演示公司{i % 17 + 1}" if i % 4 == 0 else "", data=data,
                             created_at=now - timedelta(minutes=count - i)))
    with transaction.atomic():
        created = Customer.objects.bulk_create(objs)
        if created and created[0].pk is not None:
            audit.record_many([(c, "create", audit.diff({}, audit.snapshot(c))) for c in created])
