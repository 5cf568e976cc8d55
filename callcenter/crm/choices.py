"""Enumerations of the customers app (manual 2.3.1-2.3.2)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FieldType(models.TextChoices):
    TEXT = "text", _("文本")
    NUMBER = "number", _("数字")
    DATE = "date", _("日期")
    CHOICE = "choice", _("字段代码")
    PHONE = "phone", _("电话")
    EMAIL = "email", _("邮箱")


class SourceKind(models.TextChoices):
    POSTGRESQL = "postgresql", _("PostgreSQL")
    MYSQL = "mysql", _("MySQL / MariaDB")
    SQLITE = "sqlite", _("SQLite 文件")
