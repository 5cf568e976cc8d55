"""Customers (manual 2.3.1 管理客户资料) and field codes (2.3.2 客户字段代码).

A customer has fixed columns (name, phone, company, category, owning agent) and the
enterprise's own fields (`CustomerField`) stored in `data`, keyed by the field's key.
A choice field's value is the path of its field-code values, joined by " / ".
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent
from callcenter.core.crypto import EncryptedTextField
from callcenter.core.models import TenantModel
from callcenter.crm.choices import FieldType, SourceKind

PATH_SEP = " / "


class CustomerCategory(TenantModel):
    name = models.CharField(_("分类名称"), max_length=60)
    remark = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("客户分类")
        verbose_name_plural = _("客户分类")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="custcat_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="custcat_ent_name")]
        permissions = [("export_customercategory", _("可导出客户分类"))]

    def __str__(self) -> str:
        return self.name


class FieldCode(TenantModel):
    """A named, hierarchical value list (e.g. 意向等级: A > A1, A2; B; C)."""

    name = models.CharField(_("代码名称"), max_length=60)
    remark = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("客户字段代码")
        verbose_name_plural = _("客户字段代码")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="fieldcode_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="fieldcode_ent_name")]
        permissions = [("export_fieldcode", _("可导出客户字段代码"))]

    def __str__(self) -> str:
        return self.name

    def paths(self) -> dict[str, FieldCodeValue]:
        """Every value by its full path ("A / A1"), parents first."""
        values = list(self.values.order_by("order", "id"))
        by_id = {v.pk: v for v in values}
        out = {}
        for v in values:
            names, node, seen = [], v, set()
            while node is not None and node.pk not in seen:
                seen.add(node.pk)
                names.append(node.value)
                node = by_id.get(node.parent_id)
            out[PATH_SEP.join(reversed(names))] = v
        return dict(sorted(out.items(), key=lambda kv: kv[0]))


class FieldCodeValue(TenantModel):
    code = models.ForeignKey(FieldCode, on_delete=models.CASCADE, related_name="values", verbose_name=_("字段代码"))
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children",
                               verbose_name=_("上级值"))
    value = models.CharField(_("值"), max_length=60)
    order = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("字段代码值")
        verbose_name_plural = _("字段代码值")
        indexes = [models.Index(fields=["code", "parent", "order", "id"], name="fcvalue_code_parent")]

    def __str__(self) -> str:
        return self.value


field_key_validator = RegexValidator(r"^[a-z][a-z0-9_]{0,29}$", _("字段键只能用小写字母、数字和下划线，以字母开头"))


class CustomerField(TenantModel):
    """A customer field of the enterprise, and how the screen pop shows it."""

    key = models.CharField(_("字段键"), max_length=30, validators=[field_key_validator])
    label = models.CharField(_("字段名称"), max_length=60)
    field_type = models.CharField(_("字段类型"), max_length=10, choices=FieldType.choices, default=FieldType.TEXT)
    code = models.ForeignKey(FieldCode, on_delete=models.PROTECT, null=True, blank=True, related_name="fields",
                             verbose_name=_("字段代码"))
    required = models.BooleanField(_("必填"), default=False)
    visible = models.BooleanField(_("显示"), default=True)
    order = models.PositiveIntegerField(_("顺序"), default=0)
    width = models.PositiveSmallIntegerField(_("宽度占比"), default=25,
                                             validators=[MinValueValidator(1), MaxValueValidator(100)],
                                             help_text=_("弹屏中所占宽度的百分比"))
    is_birthday = models.BooleanField(_("生日字段"), default=False, help_text=_("日期字段；生日提醒发给客户的归属坐席"))

    class Meta:
        verbose_name = _("客户字段")
        verbose_name_plural = _("客户字段")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "key"], name="custfield_unique_key"),
            models.UniqueConstraint(fields=["enterprise"], condition=models.Q(is_birthday=True),
                                    name="custfield_one_birthday"),
        ]
        indexes = [models.Index(fields=["enterprise", "order", "id"], name="custfield_ent_order")]
        permissions = [("export_customerfield", _("可导出客户字段"))]

    def __str__(self) -> str:
        return self.label


class Customer(TenantModel):
    category = models.ForeignKey(CustomerCategory, on_delete=models.PROTECT, related_name="customers",
                                 verbose_name=_("客户分类"))
    owner = models.ForeignKey(Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("归属坐席"))
    name = models.CharField(_("客户名称"), max_length=100, blank=True)
    phone = models.CharField(_("电话"), max_length=32)
    company = models.CharField(_("公司"), max_length=200, blank=True)
    data = models.JSONField(_("自定义字段"), default=dict, blank=True)
    locked_by = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  verbose_name=_("锁定坐席"))
    locked_until = models.DateTimeField(_("锁定到期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    scope_owner_field = "owner"

    class Meta:
        verbose_name = _("客户资料")
        verbose_name_plural = _("管理客户资料")
        indexes = [
            models.Index(fields=["enterprise", "category", "id"], name="cust_ent_cat"),
            models.Index(fields=["enterprise", "phone"], name="cust_ent_phone"),
            models.Index(fields=["enterprise", "owner", "id"], name="cust_ent_owner"),
            models.Index(fields=["enterprise", "created_at", "id"], name="cust_ent_created"),
            models.Index(fields=["enterprise", "name", "id"], name="cust_ent_name"),
            models.Index(fields=["enterprise", "locked_by", "id"], name="cust_ent_locked"),
            # Only locked customers have an expiry, which the expiry sweep looks for (locked_until <=
            # now): the unlocked ones, nearly all, cost no upkeep (every insert, every category move
            # of a campaign intake: campaigns/intake.py).
            models.Index(fields=["locked_until"], name="cust_locked_until",
                         condition=models.Q(locked_until__isnull=False)),
        ]
        permissions = [
            ("import_customer", _("可导入客户资料")),
            ("export_customer", _("可导出客户资料")),
            ("lock_customer", _("可锁定客户资料")),
            ("transfer_customer", _("可转移客户资料")),
            ("merge_customer", _("可合并客户资料")),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.phone}".strip()

    def is_locked(self, now=None) -> bool:
        if self.locked_by_id is None:
            return False
        return self.locked_until is None or self.locked_until > (now or timezone.now())


class ThirdPartySource(TenantModel):
    """第三方数据库 (manual 2.7.4): a customer database of the enterprise's own, read by a lookup SQL
    with one `?` (the caller's number). Mapped fields overwrite the local values when shown."""

    name = models.CharField(_("名称"), max_length=60)
    kind = models.CharField(_("数据库类型"), max_length=12, choices=SourceKind.choices, default=SourceKind.MYSQL)
    host = models.CharField(_("地址"), max_length=200, blank=True)
    port = models.PositiveIntegerField(_("端口"), null=True, blank=True,
                                       validators=[MinValueValidator(1), MaxValueValidator(65535)])
    database = models.CharField(_("数据库"), max_length=200, help_text=_("SQLite 为文件路径"))
    user = models.CharField(_("用户名"), max_length=100, blank=True)
    password = EncryptedTextField(_("密码"), blank=True)
    sql = models.TextField(_("提取 SQL"), help_text=_("WHERE 子句中用一个 ? 代表来电号码，如 phone=?"))
    enabled = models.BooleanField(_("生效"), default=False)
    timeout = models.PositiveSmallIntegerField(_("超时（秒）"), default=2,
                                               validators=[MinValueValidator(1), MaxValueValidator(30)])
    columns = models.JSONField(_("目标字段"), default=list, blank=True)
    mapping = models.JSONField(_("字段对应"), default=dict, blank=True, help_text=_("本地字段键 → 第三方字段"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("第三方数据库")
        verbose_name_plural = _("第三方数据库")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="tpsource_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="tpsource_ent_name")]

    def __str__(self) -> str:
        return self.name


class ThirdPartySubTable(TenantModel):
    """第三方数据库子表 (manual 2.7.5): a named SQL whose rows for the caller show as a tab."""

    source = models.ForeignKey(ThirdPartySource, on_delete=models.PROTECT, related_name="sub_tables",
                               verbose_name=_("第三方数据库"))
    name = models.CharField(_("名称"), max_length=60)
    sql = models.TextField(_("子表 SQL"), help_text=_("WHERE 子句中用一个 ? 代表来电号码，如 phone=?"))
    columns = models.JSONField(_("字段"), default=list, blank=True,
                               help_text=_("[{name, label, order, visible}]"))
    enabled = models.BooleanField(_("启用"), default=True)
    order = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("第三方数据库子表")
        verbose_name_plural = _("第三方数据库子表")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="tpsubtable_unique_name")]
        indexes = [models.Index(fields=["enterprise", "order", "id"], name="tpsubtable_ent_order")]

    def __str__(self) -> str:
        return self.name
