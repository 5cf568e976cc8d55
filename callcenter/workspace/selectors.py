"""Reads of the workspace: the agent's current call and the screen pop's data (X1).

The screen pop respects crm's rules: customers outside the agent's data scope are not shown,
and a customer locked by another agent raises PermissionDenied (403), like crm's own pages.
Third-party values and sub-tables come from callcenter.crm.thirdparty.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from callcenter.calls.choices import AgentStatus, CallDirection
from callcenter.calls.models import Cdr, LiveChannel
from callcenter.core.scope import scoped
from callcenter.crm import services as crm
from callcenter.crm.models import Customer
from callcenter.workspace.models import FollowUp

log = logging.getLogger(__name__)
HISTORY_LIMIT = 20
FOLLOWUP_LIMIT = 20


@dataclass
class CurrentCall:
    state: str
    since: object = None
    call_id: str = ""
    phone: str = ""
    direction: str = ""
    bridged: bool = False

    def as_dict(self) -> dict:
        return {"state": self.state, "since": self.since.isoformat() if self.since else None,
                "call_id": self.call_id, "phone": self.phone, "direction": self.direction, "bridged": self.bridged}


def current_call(agent) -> CurrentCall:
    """The agent's state and, while ringing or talking, the customer's number."""
    from callcenter.calls.models import AgentState

    live = AgentState.objects.filter(agent=agent).only("state", "since", "call_id").first()
    if live is None:
        return CurrentCall(state=AgentStatus.OFFLINE)
    out = CurrentCall(state=live.state, since=live.since)
    if live.state not in (AgentStatus.BUSY, AgentStatus.RINGING) or not live.call_id:
        return out
    out.call_id = live.call_id
    out.bridged = live.state == AgentStatus.BUSY
    cdr = (Cdr.objects.filter(call_id=live.call_id, enterprise_id=agent.enterprise_id)
           .only("direction", "caller", "callee").first())
    if cdr is not None:
        out.direction = cdr.direction
        out.phone = cdr.callee if cdr.direction in (CallDirection.OUT, CallDirection.TEST) else cdr.caller
    else:
        channel = LiveChannel.objects.filter(channel_id=live.call_id, enterprise_id=agent.enterprise_id).first()
        if channel is not None:
            out.phone = channel.caller
    return out


def bootstrap_cols(width: int) -> int:
    """A width share (percent of the row) as Bootstrap grid columns (1-12)."""
    return max(1, min(12, round((width or 25) * 12 / 100)))


def third_party_url(agent, *, phone: str, call_id: str = "") -> str | None:
    """The agent's third-party screen-pop address (their own, else the enterprise's) with
    {phone} {user} {password} {cmmId} filled and URL-encoded; None when unset or not http(s)."""
    template = (agent.screen_pop_url or getattr(agent.enterprise, "screen_pop_url", "") or "").strip()
    if not template.lower().startswith(("http://", "https://")):
        return None
    values = {"{phone}": phone, "{user}": agent.third_party_user or "",
              "{password}": agent.third_party_password or "", "{cmmId}": call_id or ""}
    for key, value in values.items():
        template = template.replace(key, quote(str(value), safe=""))
    return template


def third_party(enterprise_id: int, phone: str) -> dict:
    """{"values": {local field key: value}, "tabs": [{"name", "columns", "rows", "notice"}], "notices": [...]}
    from callcenter.crm.thirdparty: the main lookups and the sub-tables run at once, each in its own
    thread and connection under its time limit, cached briefly. A failing source is a notice."""
    from callcenter.crm import thirdparty

    out = {"values": {}, "tabs": [], "notices": [], "available": True}
    try:
        found = thirdparty.gather(enterprise_id, phone)
    except Exception as exc:  # a down or slow third party must not break the pop
        log.warning("third-party lookup failed: %s", exc)
        out["notices"].append(_("第三方客户资料暂时无法获取，显示本地资料"))
        return out
    out["values"] = {str(k): v for k, v in found.values.items()}
    if found.notice:
        out["notices"].append(found.notice)
    for name, columns, rows, notice in found.tabs:
        out["tabs"].append({"name": str(name), "columns": [label for _name, label in columns],
                            "rows": [list(r) for r in rows], "notice": str(notice or "")})
    return out


@dataclass
class ScreenPop:
    phone: str
    call_id: str = ""
    customer: Customer | None = None
    other_matches: int = 0
    out_of_scope: bool = False
    fields: list[dict] = field(default_factory=list)
    third_party: dict = field(default_factory=dict)
    history: list[Cdr] = field(default_factory=list)
    followups: list[FollowUp] = field(default_factory=list)
    third_party_url: str | None = None

    @property
    def unknown(self) -> bool:
        return self.customer is None and not self.out_of_scope

    @property
    def display_name(self) -> str:
        """The customer's name as the pop shows it: the third party's when it has one (2.7.4)."""
        return str(self.third_party.get("values", {}).get("name") or (self.customer.name if self.customer else ""))

    def as_dict(self) -> dict:
        c = self.customer
        return {
            "phone": self.phone, "call_id": self.call_id, "unknown": self.unknown, "out_of_scope": self.out_of_scope,
            "customer": None if c is None else {"id": c.pk, "name": c.name, "phone": c.phone, "company": c.company,
                                                 "category": c.category_id, "owner": c.owner_id, "data": c.data},
            "other_matches": self.other_matches,
            "fields": [{k: f[k] for k in ("key", "label", "value", "width", "cols", "third_party")}
                       for f in self.fields],
            "third_party": {"values": self.third_party.get("values", {}),
                            "tabs": self.third_party.get("tabs", []),
                            "notices": self.third_party.get("notices", [])},
            "history": [{"id": h.pk, "call_id": h.call_id, "direction": h.direction, "caller": h.caller,
                         "callee": h.callee, "agent": h.agent_label, "started_at": h.started_at.isoformat(),
                         "talk_seconds": h.talk_seconds,
                         "recording_url": f"/calls/cdrs/{h.pk}/recording/" if h.recording_id else None}
                        for h in self.history],
            "followups": [{"id": f.pk, "text": f.text, "result": f.result, "agent": str(f.agent),
                           "next_contact_at": f.next_contact_at.isoformat() if f.next_contact_at else None,
                           "created_at": f.created_at.isoformat()} for f in self.followups],
            "third_party_url": self.third_party_url,
        }


def find_customer(user, phone: str) -> tuple[Customer | None, int, bool]:
    """(the customer the user may open, other matches, out of scope). Raises PermissionDenied when
    every match the user could see is locked by another agent."""
    matches = list(Customer.objects.filter(enterprise_id=user.enterprise_id, phone=phone)
                   .select_related("category", "owner", "locked_by").order_by("-id")[:20])
    if not matches:
        return None, 0, False
    visible_ids = set(scoped(Customer.objects.filter(pk__in=[m.pk for m in matches]), user)
                      .values_list("pk", flat=True))
    visible = [m for m in matches if m.pk in visible_ids]
    locked_out = [m for m in matches if not crm.may_open(user, m)]
    openable = [m for m in visible if m not in locked_out]
    if openable:
        return openable[0], len(matches) - 1, False
    if locked_out:
        raise PermissionDenied(_("客户已被坐席 %(a)s 锁定") % {"a": locked_out[0].locked_by})
    return None, len(matches), True


def customer_fields(customer: Customer | None, fields, overlay: dict | None = None) -> list[dict]:
    """The screen-pop fields (visible, in order) with the customer's values and their widths; mapped
    third-party values (`overlay`, by field key) replace the local ones and are flagged."""
    overlay = overlay or {}
    fixed = [("name", _("客户名称"), customer.name if customer else ""),
             ("phone", _("电话"), customer.phone if customer else ""),
             ("company", _("公司"), customer.company if customer else ""),
             ("category", _("客户分类"), str(customer.category) if customer else "")]
    out = [{"key": k, "label": label, "value": value, "width": 25} for k, label, value in fixed]
    for f in fields:
        if not f.visible:
            continue
        out.append({"key": f.key, "label": f.label, "value": customer.data.get(f.key, "") if customer else "",
                    "width": f.width})
    for item in out:
        item["third_party"] = item["key"] in overlay
        if item["third_party"]:
            item["value"] = overlay[item["key"]]
        item["cols"] = bootstrap_cols(item["width"])
    return out


def screen_pop(user, phone: str, *, call_id: str = "", with_third_party: bool = True) -> ScreenPop:
    """Everything the screen pop shows for `phone` (raises ValidationError for a bad number,
    PermissionDenied for a customer locked by another agent)."""
    phone = crm.phone_or_refuse(phone)
    customer, others, out_of_scope = find_customer(user, phone)
    pop = ScreenPop(phone=phone, call_id=call_id, customer=customer, other_matches=others,
                    out_of_scope=out_of_scope)
    if with_third_party and not out_of_scope:
        pop.third_party = third_party(user.enterprise_id, phone)
    overlay = pop.third_party.get("values", {})
    if customer is not None or overlay:
        pop.fields = customer_fields(customer, crm.fields_of(user.enterprise), overlay)
    pop.history = list(scoped(Cdr.objects.filter(Q(caller=phone) | Q(callee=phone)), user)
                       .select_related("agent").order_by("-started_at", "-id")[:HISTORY_LIMIT])
    notes = FollowUp.objects.filter(Q(phone=phone) | Q(customer=customer) if customer else Q(phone=phone))
    pop.followups = list(scoped(notes, user).select_related("agent").order_by("-created_at", "-id")[:FOLLOWUP_LIMIT])
    pop.third_party_url = third_party_url(user, phone=phone, call_id=call_id)
    return pop
