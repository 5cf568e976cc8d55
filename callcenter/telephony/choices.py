"""Enumerations of call configuration (manual 2.2, 2.7.3, 2.8), with labels and badge colours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PromptKind(models.TextChoices):
    PROMPT = "prompt", _("语音")
    RINGBACK = "ringback", _("彩铃")


class GroupOrder(models.TextChoices):
    """转接顺序 (2.2.4)."""

    SEQUENTIAL = "sequential", _("顺序")
    ROUND_ROBIN = "round_robin", _("轮询")
    RANDOM = "random", _("随机")


class TransferMode(models.TextChoices):
    """坐席转接 (2.2.6)."""

    PLAY_ONLY = "play_only", _("只播放不转接坐席")
    DIRECT = "direct", _("不播放直接转坐席")
    PLAY_SECONDS = "play_seconds", _("播放中转坐席")
    PLAY_TO_END = "play_to_end", _("播放完后立即转坐席")
    KEY_ONLY = "key_only", _("仅按键转接")


DTMF_KEYS = [str(d) for d in range(10)] + ["*", "#"]
REPLAY_KEY_CHOICES = [("", _("不重听"))] + [(k, k) for k in DTMF_KEYS]
TRANSFER_KEY_CHOICES = [("", _("不转接")), ("any", _("任意键"))] + [(k, k) for k in DTMF_KEYS]


class TrunkServerType(models.TextChoices):
    LOCAL = "local", _("本地服务器")
    GATEWAY = "gateway", _("普通落地网关")


class QueueStrategy(models.TextChoices):
    """排队策略 (2.2.8), with app_queue's own names as values."""

    RINGALL = "ringall", _("呼叫所有")
    LINEAR = "linear", _("轮流呼叫")
    RRMEMORY = "rrmemory", _("记住最后呼叫轮流呼叫")
    FEWESTCALLS = "fewestcalls", _("呼叫最少分机")
    LEASTRECENT = "leastrecent", _("电话数最少分机")
    RANDOM = "random", _("随机")


class RouteKind(models.TextChoices):
    DATABASE = "db", _("数据库导航")
    AREA = "area", _("地区导航")


class DestinationKind(models.TextChoices):
    EXTENSION = "extension", _("分机（坐席或队列）")
    GROUP = "group", _("坐席组")
    IVR = "ivr", _("语音导航")


class IvrOrder(models.TextChoices):
    FIXED = "fixed", _("固定顺序")
    ROUND_ROBIN = "round_robin", _("号码轮巡")


class IvrAction(models.TextChoices):
    """按键处理方式 (2.8.1)."""

    EXTENSION = "extension", _("直接转分机")
    PROMPT = "prompt", _("播放语音")
    ASK_EXTENSION = "ask_extension", _("手工转分机")
    LAST_AGENT = "last_agent", _("转接到最后一次通话的员工")


class BlacklistDirection(models.TextChoices):
    INBOUND = "in", _("呼入")
    OUTBOUND = "out", _("呼出")
    BOTH = "both", _("呼入和呼出")


WEEKDAYS = [(1, _("星期一")), (2, _("星期二")), (3, _("星期三")), (4, _("星期四")), (5, _("星期五")),
            (6, _("星期六")), (7, _("星期日"))]

# Extensions a caller may dial directly from an IVR (2.8.1 允许转分机).
DIRECT_DIAL_RANGE = (400, 899)
