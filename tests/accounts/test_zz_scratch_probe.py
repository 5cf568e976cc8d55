from django.test import Client
from callcenter.accounts.models import LoginLog

def test_probe(ent):
    c = Client(HTTP_USER_AGENT="probe")
    for i in range(6):
        r = c.post("/accounts/login/", {"enterprise_code": "acme", "number": "820", "password": "bad"})
        print(i, r.status_code, list(LoginLog.objects.values_list("result", flat=True).order_by("id")))
    r = c.post("/accounts/login/", {"enterprise_code": "acme", "number": "820", "password": "secret-pass-1"})
    print("good", r.status_code, list(LoginLog.objects.values_list("result", flat=True).order_by("id")))
