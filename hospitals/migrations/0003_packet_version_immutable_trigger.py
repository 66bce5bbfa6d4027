"""On PostgreSQL a trigger refuses any UPDATE of a packet version: a sent packet is a record."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION hospitals_packet_version_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'packet versions are immutable; send a new version instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER hospitals_packet_version_no_update BEFORE UPDATE ON hospitals_packetversion
    FOR EACH ROW EXECUTE FUNCTION hospitals_packet_version_immutable();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS hospitals_packet_version_no_update ON hospitals_packetversion;
DROP FUNCTION IF EXISTS hospitals_packet_version_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("hospitals", "0002_apicredential_appointmentslot_hospitalcontact_and_more")]

    operations = [migrations.RunPython(forward, backward)]
