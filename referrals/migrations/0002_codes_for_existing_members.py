"""Give every member enrolled before referrals existed a referral code, as new members get at enrolment."""

import secrets

from django.db import migrations

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def add_codes(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    ReferralCode = apps.get_model("referrals", "ReferralCode")
    taken = set(ReferralCode.objects.values_list("code", flat=True))
    missing = Member.objects.exclude(id__in=ReferralCode.objects.values("member_id")).values_list("id", flat=True)
    batch = []
    for member_id in missing.iterator():
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        while code in taken:
            code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        taken.add(code)
        batch.append(ReferralCode(member_id=member_id, code=code))
        if len(batch) >= 1000:
            ReferralCode.objects.bulk_create(batch)
            batch = []
    ReferralCode.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]

    operations = [migrations.RunPython(add_codes, migrations.RunPython.noop)]
