"""黑名单【导入】 (manual 2.7.3): an Excel file of 号码, 方向, 备注."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from callcenter.core.importing import Column, Importer
from callcenter.telephony import services
from callcenter.telephony.choices import BlacklistDirection
from callcenter.telephony.models import BlacklistEntry

DIRECTION_WORDS = {
    "": BlacklistDirection.BOTH,
    "呼入": BlacklistDirection.INBOUND, "in": BlacklistDirection.INBOUND, "inbound": BlacklistDirection.INBOUND,
    "呼出": BlacklistDirection.OUTBOUND, "out": BlacklistDirection.OUTBOUND, "outbound": BlacklistDirection.OUTBOUND,
    "呼入和呼出": BlacklistDirection.BOTH, "呼入呼出": BlacklistDirection.BOTH, "双向": BlacklistDirection.BOTH,
    "both": BlacklistDirection.BOTH,
}


class BlacklistImporter(Importer):
    key = "blacklist"
    label = gettext_lazy("批量导入黑名单")
    description = gettext_lazy(
        "方向填写 呼入、呼出 或 呼入和呼出，留空为呼入和呼出；已在黑名单中的号码和文件中重复的号码不导入")
    columns = [
        Column("号码", "number", required=True, example="13800138000", help="3到20位数字"),
        Column("方向", "direction", example="呼入和呼出", help="呼入 / 呼出 / 呼入和呼出"),
        Column("备注", "remark", example="骚扰电话", help="最多200个字符"),
    ]

    def prepare(self) -> None:
        self.existing = set(BlacklistEntry.objects.filter(enterprise=self.enterprise).values_list("number", flat=True))
        self.seen: set[str] = set()

    def validate_row(self, values):
        number = services.normal_number(values.get("number", ""))
        if not number:
            raise ValidationError(_("号码：不能为空"))
        if not (number.isdigit() and 3 <= len(number) <= 20):
            raise ValidationError(_("号码：%(num)s 不是3到20位数字") % {"num": number})
        if number in self.seen:
            raise ValidationError(_("号码：%(num)s 在文件中重复") % {"num": number})
        if number in self.existing:
            raise ValidationError(_("号码：%(num)s 已在黑名单中") % {"num": number})
        word = values.get("direction", "").strip().lower()
        direction = DIRECTION_WORDS.get(word)
        if direction is None:
            raise ValidationError(
                _("方向：“%(v)s”无效，请填写 呼入、呼出 或 呼入和呼出") % {"v": values.get("direction")})
        remark = values.get("remark", "").strip()
        if len(remark) > 200:
            raise ValidationError(_("备注：最多200个字符"))
        self.seen.add(number)
        return BlacklistEntry(number=number, direction=direction, remark=remark)

    def save(self, items) -> int:
        return services.blacklist_add_many(enterprise=self.enterprise, entries=items)


BLACKLIST_IMPORTERS = {BlacklistImporter.key: BlacklistImporter}
