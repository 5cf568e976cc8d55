"""The customers' expiry index holds the locked customers only (locked_until not null): nearly all
customers are unlocked, and each of them cost that index an entry on every insert and every update
(a campaign intake moves tens of thousands of customers to the task's category)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0002_thirdparty"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="customer",
            name="cust_locked_until",
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(condition=models.Q(("locked_until__isnull", False)), fields=["locked_until"],
                               name="cust_locked_until"),
        ),
    ]
