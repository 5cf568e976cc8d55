"""Customer import de-duplicates against the stored customers (R1): a row whose phone is already a
customer of the enterprise updates it (category, the row's non-empty values) instead of adding a
second record; the job page reports created vs updated; a stored customer the importer may not
change is reported as a failed row."""

from __future__ import annotations

import openpyxl

from callcenter.core.models import AuditLog, Job
from callcenter.crm import services
from callcenter.crm.models import Customer
from tests.crm.conftest import make_customer, xlsx

HEADER = ["客户名称", "电话", "公司", "归属坐席", "意向等级", "生日", "预算"]


def run(client, crm, rows, category="corp"):
    r = client.post("/crm/customers/import/", {"importer": "customers", "category": crm[category].pk,
                                               "file": xlsx([HEADER, *rows])})
    assert r.status_code == 302, r.content.decode()[:2000]
    return Job.objects.order_by("-pk").first()


def test_existing_phone_updates_the_customer_and_the_job_counts_created_and_updated(crm, as_user):
    stored = make_customer(crm, crm["sub1"], phone="13900001111", name="老王", data={"intent": "B", "budget": 5})
    stored.company = "老公司"
    stored.save()
    c = as_user(crm["admin"])
    job = run(c, crm, [
        ["", "139-0000-1111", "", "", "A/A1", "1990-05-06", ""],  # existing: empty cells keep stored values
        ["新客户", "13900002222", "新公司", "", "", "", "3"],
    ])
    assert (job.succeeded, job.failed) == (2, 0)
    assert job.message == "新增 1 个客户，更新 1 个已有客户（电话相同）"
    assert Customer.objects.filter(phone="13900001111").count() == 1
    stored.refresh_from_db()
    assert stored.category == crm["corp"] and stored.name == "老王" and stored.company == "老公司"
    assert stored.owner == crm["sub1"]  # no owner in the row: unchanged
    assert stored.data == {"intent": "A / A1", "birthday": "1990-05-06", "budget": 5}
    new = Customer.objects.get(phone="13900002222")
    assert new.owner == crm["admin"] and new.category == crm["corp"]
    update = AuditLog.objects.get(object_type="crm.customer", object_id=str(stored.pk), action="update")
    assert update.changes["category"] == [crm["retail"].pk, crm["corp"].pk]


def test_named_owner_and_values_overwrite_and_a_number_stored_twice_updates_the_newest(crm, as_user):
    make_customer(crm, crm["agent"], phone="13900003333", name="旧一")
    newest = make_customer(crm, crm["agent"], phone="13900003333", name="旧二")
    job = run(as_user(crm["admin"]), crm, [["新名字", "13900003333", "新公司", "811", "B", "", "9"]])
    assert job.message == "新增 0 个客户，更新 1 个已有客户（电话相同）"
    newest.refresh_from_db()
    assert (newest.name, newest.company, newest.owner, newest.data) == (
        "新名字", "新公司", crm["sub1"], {"intent": "B", "budget": 9})
    assert Customer.objects.filter(phone="13900003333", name="旧一").exists()


def test_another_enterprises_customer_with_the_same_phone_is_not_touched(crm, other, as_user):
    theirs = services.customer_create(enterprise=other["enterprise"], values={
        "category": services.category_create(enterprise=other["enterprise"], name="他们的"),
        "phone": "13900004444", "name": "别家的"})
    job = run(as_user(crm["admin"]), crm, [["我们的", "13900004444", "", "", "", "", ""]])
    assert job.message == "新增 1 个客户，更新 0 个已有客户（电话相同）"
    theirs.refresh_from_db()
    assert theirs.name == "别家的" and theirs.enterprise == other["enterprise"]
    assert Customer.objects.filter(enterprise=crm["enterprise"], phone="13900004444").count() == 1


def test_customers_the_importer_may_not_change_are_failed_rows(crm, as_user):
    from django.contrib.auth.models import Permission

    # the supervisor (810, scope: own and subordinates) may import
    crm["supervisor"].user_permissions.add(Permission.objects.get(codename="import_customer"))
    outside = make_customer(crm, crm["agent"], phone="13900005555", name="不在范围")  # 820 is not below 810
    locked = make_customer(crm, crm["sub1"], phone="13900006666", name="被锁")
    services.customer_lock(customer=locked, agent=crm["sub2"])  # 812 (below 810) holds the lock
    mine = make_customer(crm, crm["sub1"], phone="13900007777", name="下级的")
    job = run(as_user(crm["supervisor"]), crm, [
        ["改", "13900005555", "", "", "", "", ""],
        ["改", "13900006666", "", "", "", "", ""],
        ["改", "13900007777", "", "", "", "", ""],
    ])
    assert (job.succeeded, job.failed) == (2, 1), job.message
    wb = openpyxl.load_workbook(job.result_file)
    reasons = {row[0]: row[1] for row in wb.active.iter_rows(min_row=2, values_only=True)}
    assert list(reasons) == [2] and "不在您的数据范围内" in reasons[2]
    outside.refresh_from_db()
    mine.refresh_from_db()
    locked.refresh_from_db()
    assert outside.name == "不在范围" and mine.name == "改"
    assert locked.name == "改"  # 812's lock does not keep out 812's supervisor

    # a lock keeps out an importer who is not above the locking agent, even one who sees everything
    services.customer_unlock(customer=locked, by=crm["admin"])
    services.customer_lock(customer=locked, agent=crm["sub1"])
    importer = crm["sub2"]
    importer.user_permissions.add(Permission.objects.get(codename="import_customer"))
    importer.data_scope = "all"
    importer.save()
    job = run(as_user(importer), crm, [["再改", "13900006666", "", "", "", "", ""]])
    assert (job.succeeded, job.failed) == (0, 1)
    reason = next(openpyxl.load_workbook(job.result_file).active.iter_rows(min_row=2, values_only=True))[1]
    assert "已被坐席 811" in reason and "锁定" in reason
    locked.refresh_from_db()
    assert locked.name == "改"


def test_duplicates_within_the_file_are_still_reported(crm, as_user):
    make_customer(crm, crm["agent"], phone="13900008888")
    job = run(as_user(crm["admin"]), crm, [["一", "13900008888", "", "", "", "", ""],
                                           ["二", "139 0000 8888", "", "", "", "", ""]])
    assert (job.succeeded, job.failed) == (1, 1)
    assert Customer.objects.filter(phone="13900008888").count() == 1
    assert Customer.objects.get(phone="13900008888").name == "一"
