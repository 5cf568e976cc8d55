"""字段代码 (R2) as cascading choices in a real browser: a customer's 意向等级 is picked one level
at a time (A, then A1 or A2), saved as its path, shown again level by level on the edit page and
changed there."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_journeys import login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def codes(ent):
    from callcenter.crm import services

    e = ent["enterprise"]
    retail = services.category_create(enterprise=e, name="零售")
    level = services.fieldcode_create(enterprise=e, name="意向等级")
    a = services.fieldcode_value_add(code=level, value="A")
    services.fieldcode_value_add(code=level, value="A1", parent=a)
    a2 = services.fieldcode_value_add(code=level, value="A2", parent=a)
    b = services.fieldcode_value_add(code=level, value="B")
    services.fieldcode_value_add(code=level, value="B1", parent=b)
    services.customerfield_create(enterprise=e, values={"key": "intent", "label": "意向等级", "field_type": "choice",
                                                       "code": level, "order": 1})
    return {"retail": retail, "a2": a2}


def levels(page) -> list[list[str]]:
    """The options of each level's select, in order (the placeholder left out)."""
    return page.evaluate("""() => [...document.querySelector('[name=f_intent]').nextElementSibling
        .querySelectorAll('select')].map(s => [...s.options].filter(o => o.value).map(o => o.text))""")


def test_a_field_code_is_chosen_level_by_level_and_shown_again_on_edit(page, ent, codes):
    from callcenter.crm.models import Customer

    login(page, "800", PASSWORD)
    page.goto("/crm/customers/add/")
    page.select_option("[name=category]", label="零售")
    page.fill("[name=phone]", "13800138000")
    page.fill("[name=name]", "张三")
    assert page.locator("[name=f_intent]").is_hidden()  # the flat list of paths gives way to the levels
    page.wait_for_function("document.querySelector('[name=f_intent]').nextElementSibling.querySelectorAll('select')"
                           ".length === 1")
    assert levels(page) == [["A", "B"]]
    first = page.locator("[name=f_intent] + div select").nth(0)
    first.select_option(label="A")
    page.wait_for_function("document.querySelector('[name=f_intent]').nextElementSibling.querySelectorAll('select')"
                           ".length === 2")
    assert levels(page) == [["A", "B"], ["A1", "A2"]]
    page.locator("[name=f_intent] + div select").nth(1).select_option(label="A2")
    page.click("#btn-save")
    page.wait_for_url(re.compile(r"/crm/customers/(\d+/)?(\?.*)?$"))
    customer = Customer.objects.get(phone="13800138000")
    assert customer.data["intent"] == "A / A2"

    # the edit page shows the stored path level by level; choosing B drops the second level's A values.
    # The values under A2 (asked for last) are held back: the first level must answer a change while
    # the levels below it are still loading, and the late answer must not bring the A values back.
    held = []
    page.route(lambda url: f"parent={codes['a2'].pk}" in url, lambda route: held.append(route))
    page.goto(f"/crm/customers/{customer.pk}/edit/")
    page.wait_for_function("document.querySelector('[name=f_intent]').nextElementSibling.querySelectorAll('select')"
                           ".length === 2")
    selects = page.locator("[name=f_intent] + div select")
    assert selects.nth(0).evaluate("s => s.selectedOptions[0].text") == "A"
    assert selects.nth(1).evaluate("s => s.selectedOptions[0].text") == "A2"
    selects.nth(0).select_option(label="B")
    page.wait_for_function("(() => { const s = document.querySelector('[name=f_intent]').nextElementSibling"
                           ".querySelectorAll('select'); return s.length === 2 && s[1].options.length === 2; })()")
    assert levels(page) == [["A", "B"], ["B1"]]
    assert held, "the values under A2 were never asked for"
    for route in held:
        route.continue_()
    page.wait_for_timeout(300)
    assert levels(page) == [["A", "B"], ["B1"]]
    selects.nth(1).select_option(label="B1")
    page.click("#btn-save")
    page.wait_for_url(re.compile(r"/crm/customers/(\d+/)?(\?.*)?$"))
    customer.refresh_from_db()
    assert customer.data["intent"] == "B / B1"
