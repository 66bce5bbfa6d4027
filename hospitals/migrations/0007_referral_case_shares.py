"""A case shared with a centre through a referral becomes a CaseShare row (cases.access reads
shares now): one active share for each referral in a shared status."""

from django.db import migrations
from django.utils import timezone

# Referral.SHARED_STATUSES when this migration was written.
SHARED_STATUSES = ("sent", "acknowledged", "under_review", "accepted", "more_info", "declined")


def grant_shares(apps, schema_editor):
    db = schema_editor.connection.alias
    CaseShare = apps.get_model("cases", "CaseShare")
    Referral = apps.get_model("hospitals", "Referral")
    shared = Referral.objects.using(db).filter(status__in=SHARED_STATUSES)
    source_type = "hospitals.referral"
    already = set(
        CaseShare.objects.using(db).filter(source_type=source_type, revoked_at=None).values_list("source_id", flat=True)
    )
    now = timezone.now()
    shares = [
        CaseShare(
            case_id=case_id,
            party_kind="centre",
            party_id=hospital_id,
            source_type=source_type,
            source_id=pk,
            granted_at=first_sent_at or sent_at or now,
        )
        for pk, case_id, hospital_id, first_sent_at, sent_at in shared.values_list(
            "pk", "case_id", "hospital_id", "first_sent_at", "sent_at"
        ).iterator()
        if pk not in already
    ]
    CaseShare.objects.using(db).bulk_create(shares, batch_size=1000)


def remove_shares(apps, schema_editor):
    db = schema_editor.connection.alias
    CaseShare = apps.get_model("cases", "CaseShare")
    CaseShare.objects.using(db).filter(source_type="hospitals.referral").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hospitals", "0006_webhooks_moved_to_their_app"),
        ("cases", "0006_case_share"),
    ]

    operations = [migrations.RunPython(grant_shares, remove_shares)]
