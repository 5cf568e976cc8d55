"""Reads of the workspace: the agent's current call and the screen pop's data (X1).

The screen pop respects crm's rules: customers outside the agent's data scope are not shown,
and a customer locked by another agent raises PermissionDenied (403), like crm's own pages.
Third-party values and sub-tables come from callcenter.crm.thirdparty.

The pop is the hottest read of an agent's day (budget: p99 <= 50 ms, `make bench`): the customer,
the calls and the follow-ups are three hand-written queries, each an index lookup on the number
(or the customer) whatever the size of the tables; the enterprise's pop settings come from
workspace.popconfig's cache; third-party sources are asked only when one is enabled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils.translation import gettext as _

from callcenter.accounts.models import Agent
from callcenter.calls.choices import AgentStatus, CallDirection
from callcenter.calls.models import Cdr, LiveChannel
from callcenter.core.scope import visible_agent_ids
from callcenter.crm import services as crm
from callcenter.crm.models import Customer, CustomerCategory
from callcenter.workspace.models import FollowUp
from callcenter.workspace.popconfig import pop_config

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


def third_party_url(agent, *, phone: str, call_id: str = "", enterprise_url: str | None = None) -> str | None:
    """The agent's third-party screen-pop address (their own, else the enterprise's) with
    {phone} {user} {password} {cmmId} filled and URL-encoded; None when unset or not http(s)."""
    if enterprise_url is None and not agent.screen_pop_url:
        enterprise_url = pop_config(agent.enterprise_id).screen_pop_url if agent.enterprise_id else ""
    template = (agent.screen_pop_url or enterprise_url or "").strip()
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


CUSTOMER_SQL = (
    "SELECT c.id, c.enterprise_id, c.category_id, c.owner_id, c.name, c.phone, c.company, c.data, c.locked_by_id, "
    "c.locked_until, k.name AS category_name, CASE WHEN {scope} THEN 1 ELSE 0 END AS in_scope "
    "FROM {customers} c JOIN {categories} k ON k.id = c.category_id "
    "WHERE c.enterprise_id = %s AND c.phone = %s ORDER BY c.id DESC LIMIT 20")


def find_customer(user, phone: str) -> tuple[Customer | None, int, bool]:
    """(the customer the user may open, other matches, out of scope). Raises PermissionDenied when
    every match the user could see is locked by another agent.

    One query: the matches (newest first), their category and whether each is in the user's scope."""
    scope, scope_params = _scope_sql(Customer, user, "c")
    sql = CUSTOMER_SQL.format(scope=scope, customers=connection.ops.quote_name(Customer._meta.db_table),
                              categories=connection.ops.quote_name(CustomerCategory._meta.db_table))
    matches = list(Customer.objects.raw(sql, [*scope_params, user.enterprise_id, phone]))
    if not matches:
        return None, 0, False
    for m in matches:
        m.category = CustomerCategory(id=m.category_id, enterprise_id=m.enterprise_id, name=m.category_name)
    locked_out = [m for m in matches if not crm.may_open(user, m)]
    openable = [m for m in matches if m.in_scope and m not in locked_out]
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


def _scope_sql(model, user, alias: str) -> tuple[str, list]:
    """core.scope.scoped() as SQL for `alias` rows of `model`: the user's enterprise and, unless
    they see all of it, the agents whose rows they may see (by the model's owner field). The unary
    plus keeps the planner off the (enterprise, agent, date) indexes, which would give the ORDER BY
    by walking every row of the agent or the enterprise; the rows here come from the number's
    indexes. tests/workspace/test_pop_data.py checks the result against scoped() itself."""
    owner = model.scope_owner_field
    assert owner in ("agent", "owner"), model  # an agent foreign key
    ids = visible_agent_ids(user)
    sql, params = f"+{alias}.enterprise_id = %s", [user.enterprise_id]
    if ids is not None:
        sql += f" AND +{alias}.{owner}_id IN ({', '.join(['%s'] * len(ids))})"
        params += sorted(ids)
    return sql, params


def _newest(model, user, *, columns: str, join: str, sides: list[tuple[str, list]], order: str, limit: int):
    """The `limit` newest rows of `model` (with their agent) matching any of `sides` (conditions on
    the number's or the customer's own rows, each one index lookup) in the user's data scope.

    Hand-written SQL: it is the hottest read of the pop (the ORM took ~1.3 ms of CPU to build each of
    these), and its shape is what keeps both planners on index lookups: an OR of the sides, or the
    scope's agent filter next to the ORDER BY, makes them walk every row of the agent or the
    enterprise in date order instead (SQLite, which has no statistics here, did)."""
    table, agents = (connection.ops.quote_name(m._meta.db_table) for m in (model, Agent))
    scope, params = _scope_sql(model, user, "t")
    picks = " UNION ALL ".join(f"SELECT id FROM {table} WHERE {where}" for where, _p in sides)  # noqa: S608
    sql = (f"SELECT {columns}, a.number AS agent_no, a.name AS agent_name, a.enterprise_id AS agent_enterprise "  # noqa: S608
           f"FROM {table} t {join} {agents} a ON a.id = t.agent_id "
           f"WHERE t.id IN ({picks}) AND {scope} ORDER BY {order} LIMIT {int(limit)}")
    rows = list(model.objects.raw(sql, [p for _w, side in sides for p in side] + params))
    for row in rows:  # the agent as str(agent) shows it ("811 张三"), without a query per row
        if row.agent_id is not None and row.agent_no is not None:
            row.agent = Agent(id=row.agent_id, enterprise_id=row.agent_enterprise, number=row.agent_no,
                              name=row.agent_name)
    return rows


def call_history(user, phone: str) -> list[Cdr]:
    """The number's calls in the user's data scope (as caller or callee), newest first."""
    ent = user.enterprise_id
    return _newest(Cdr, user, columns="t.id, t.call_id, t.direction, t.caller, t.callee, t.agent_id, t.agent_number, "
                   "t.started_at, t.talk_seconds, t.recording_id", join="LEFT JOIN",
                   sides=[("enterprise_id = %s AND caller = %s", [ent, phone]),
                          ("enterprise_id = %s AND callee = %s", [ent, phone])],
                   order="t.started_at DESC, t.id DESC", limit=HISTORY_LIMIT)


def followups(user, phone: str, customer: Customer | None) -> list[FollowUp]:
    """Follow-ups on the number or on the customer, in the user's data scope, newest first."""
    sides = [("enterprise_id = %s AND phone = %s", [user.enterprise_id, phone])]
    if customer is not None:
        sides.append(("customer_id = %s", [customer.pk]))
    return _newest(FollowUp, user, columns="t.id, t.text, t.result, t.next_contact_at, t.created_at, t.agent_id",
                   join="JOIN", sides=sides, order="t.created_at DESC, t.id DESC", limit=FOLLOWUP_LIMIT)


def screen_pop(user, phone: str, *, call_id: str = "", with_third_party: bool = True) -> ScreenPop:
    """Everything the screen pop shows for `phone` (raises ValidationError for a bad number,
    PermissionDenied for a customer locked by another agent)."""
    phone = crm.phone_or_refuse(phone)
    customer, others, out_of_scope = find_customer(user, phone)
    config = pop_config(user.enterprise_id)
    pop = ScreenPop(phone=phone, call_id=call_id, customer=customer, other_matches=others,
                    out_of_scope=out_of_scope)
    if with_third_party and not out_of_scope and config.third_party:
        pop.third_party = third_party(user.enterprise_id, phone)
    overlay = pop.third_party.get("values", {})
    if customer is not None or overlay:
        pop.fields = customer_fields(customer, config.fields, overlay)
    pop.history = call_history(user, phone)
    pop.followups = followups(user, phone, customer)
    pop.third_party_url = third_party_url(user, phone=phone, call_id=call_id, enterprise_url=config.screen_pop_url)
    return pop
