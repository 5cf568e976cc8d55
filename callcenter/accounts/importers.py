"""Batch changes to agents through downloadable Excel templates (manual 2.2.3):
rename, move department, assign caller IDs."""

from __future__ import annotations

from abc import abstractmethod

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from callcenter.accounts.models import Agent, CallerId, Department
from callcenter.core import audit
from callcenter.core.importing import Column, Importer
from callcenter.core.scope import scoped


class AgentBatchImporter(Importer):
    """Rows name an existing agent by number and give the new value of one field."""

    field = ""
    columns: list[Column] = []

    def prepare(self) -> None:
        # Whole rows: the audit snapshot reads every field, and a deferred one costs a query per
        # field per agent (23 x 5,000 queries for a 5,000-row file, ~25 s; see bench/).
        self.agents = {a.number: a for a in scoped(Agent.objects.all(), self.user)}
        self.seen: set[str] = set()

    def agent(self, values) -> Agent:
        number = values.get("number", "").strip()
        if not number:
            raise ValidationError(_("坐席号：不能为空"))
        agent = self.agents.get(number)
        if agent is None:
            raise ValidationError(_("坐席号：%(num)s 不存在") % {"num": number})
        if number in self.seen:
            raise ValidationError(_("坐席号：%(num)s 在文件中重复") % {"num": number})
        return agent

    @abstractmethod
    def value(self, values):
        """The new value of `field` from the row, or ValidationError naming the column."""

    def validate_row(self, values):
        agent = self.agent(values)
        value = self.value(values)
        # Only a row that is saved claims its number; a rejected row leaves it free.
        self.seen.add(agent.number)
        return agent, value

    def save(self, items) -> int:
        entries = []
        objs = []
        for agent, value in items:
            before = audit.snapshot(agent)
            setattr(agent, self.field, value)
            changes = audit.diff(before, audit.snapshot(agent))
            if changes:
                entries.append((agent, "update", changes))
                objs.append(agent)
        with transaction.atomic():
            Agent.objects.bulk_update(objs, [self.field], batch_size=1000)
            audit.record_many(entries)
        return len(items)


class AgentRenameImporter(AgentBatchImporter):
    key = "rename"
    label = gettext_lazy("批量改名")
    description = gettext_lazy("按坐席号修改姓名")
    field = "name"
    columns = [Column("坐席号", "number", required=True, example="801"),
               Column("姓名", "name", required=True, example="张三", help="最多50个字符")]

    def value(self, values):
        name = values.get("name", "").strip()
        if not name:
            raise ValidationError(_("姓名：不能为空"))
        if len(name) > 50:
            raise ValidationError(_("姓名：最多50个字符"))
        return name


class AgentMoveDepartmentImporter(AgentBatchImporter):
    key = "department"
    label = gettext_lazy("批量转移部门")
    description = gettext_lazy("按坐席号修改所属部门；部门填写名称，多级部门用 / 分隔，如 销售部/一组")
    field = "department"
    columns = [Column("坐席号", "number", required=True, example="801"),
               Column("部门", "department", required=True, example="销售部/一组")]

    def prepare(self) -> None:
        super().prepare()
        depts = list(Department.objects.filter(enterprise=self.enterprise))
        by_id = {d.pk: d for d in depts}
        self.paths: dict[str, Department | None] = {}
        for d in depts:
            names, node = [], d
            while node is not None:
                names.append(node.name)
                node = by_id.get(node.parent_id)
            self.paths["/".join(reversed(names))] = d
        self.names: dict[str, list[Department]] = {}
        for d in depts:
            self.names.setdefault(d.name, []).append(d)

    def value(self, values):
        raw = "/".join(p.strip() for p in values.get("department", "").split("/") if p.strip())
        if not raw:
            raise ValidationError(_("部门：不能为空"))
        if raw in self.paths:
            return self.paths[raw]
        matches = self.names.get(raw, [])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ValidationError(_("部门：有多个“%(d)s”，请写完整路径，如 上级/%(d)s") % {"d": raw})
        raise ValidationError(_("部门：%(d)s 不存在") % {"d": raw})


class AgentCallerIdImporter(AgentBatchImporter):
    key = "caller_id"
    label = gettext_lazy("批量分配外显号码")
    description = gettext_lazy("按坐席号分配外显号码；号码须已在外显设置中添加")
    field = "caller_id"
    columns = [Column("坐席号", "number", required=True, example="801"),
               Column("外显号码", "caller_id", required=True, example="02088880000")]

    def prepare(self) -> None:
        super().prepare()
        self.numbers = {c.number: c for c in CallerId.objects.filter(enterprise=self.enterprise)}

    def value(self, values):
        number = values.get("caller_id", "").strip()
        if not number:
            raise ValidationError(_("外显号码：不能为空"))
        caller_id = self.numbers.get(number)
        if caller_id is None:
            raise ValidationError(_("外显号码：%(num)s 不在本企业的外显号码中") % {"num": number})
        return caller_id


AGENT_IMPORTERS = {
    AgentRenameImporter.key: AgentRenameImporter,
    AgentMoveDepartmentImporter.key: AgentMoveDepartmentImporter,
    AgentCallerIdImporter.key: AgentCallerIdImporter,
}
