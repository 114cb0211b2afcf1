"""A tamper-evident audit log: every row carries a hash chained to the row before.

- `row_hash` is set by a BEFORE INSERT trigger, under a transaction-level advisory lock: one
  writer at a time takes the next id and chains to the last row, so concurrent inserts chain
  in id order, and a multi-row INSERT chains row by row.
- Existing rows get their hashes here, in id order; every row is kept.
- UPDATE, DELETE and TRUNCATE on the table are revoked from every role but its owner (the
  runtime role keeps SELECT and INSERT; `migrate` grants it again, see audit/roles.py).

The hash formula is repeated in audit/chain.py, which verifies it: keep the two in step.
"""

from django.db import migrations, models

CHAIN = """
CREATE FUNCTION audit_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    -- Held until commit: the next writer waits, then sees this row and chains to it.
    PERFORM pg_advisory_xact_lock(hashtext('audit_auditevent chain'));
    NEW.id := nextval(pg_get_serial_sequence('audit_auditevent', 'id'));
    SELECT row_hash INTO previous FROM audit_auditevent ORDER BY id DESC LIMIT 1;
    NEW.row_hash := sha256(coalesce(previous, ''::bytea) || convert_to(jsonb_build_array(
        NEW.id, extract(epoch FROM NEW.at), NEW.user_id, NEW.ip_address::text, NEW.path,
        NEW.action, NEW.object_type, NEW.object_id, NEW.person_id, NEW.changes,
        NEW.reason)::text, 'UTF8'));
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_event_chain
    BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_chain();
"""

UNCHAIN = """
DROP TRIGGER audit_event_chain ON audit_auditevent;
DROP FUNCTION audit_event_chain();
"""

# Chain the rows already there, oldest first (one pass, then one UPDATE).
BACKFILL = """
ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only;
DO $$
DECLARE
    e record;
    previous bytea := ''::bytea;
    ids bigint[] := '{}';
    hashes bytea[] := '{}';
BEGIN
    FOR e IN SELECT * FROM audit_auditevent ORDER BY id LOOP
        previous := sha256(previous || convert_to(jsonb_build_array(
            e.id, extract(epoch FROM e.at), e.user_id, e.ip_address::text, e.path, e.action,
            e.object_type, e.object_id, e.person_id, e.changes, e.reason)::text, 'UTF8'));
        ids := ids || e.id;
        hashes := hashes || previous;
    END LOOP;
    UPDATE audit_auditevent a SET row_hash = h.row_hash
    FROM unnest(ids, hashes) AS h(id, row_hash) WHERE a.id = h.id;
END;
$$;
ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only;
"""

# Only the owner may change or empty the table (and the trigger still refuses it).
REVOKE = """
DO $$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
        WHERE g.table_schema = 'public' AND g.table_name = 'audit_auditevent'
          AND g.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES')
          AND g.grantee <> pg_get_userbyid(
              (SELECT relowner FROM pg_class WHERE oid = 'audit_auditevent'::regclass))
    LOOP
        EXECUTE format(
            'REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON audit_auditevent FROM %I',
            grantee);
    END LOOP;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="row_hash",
            field=models.BinaryField(db_default=b"", editable=False),
        ),
        migrations.RunSQL(CHAIN, UNCHAIN),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(REVOKE, migrations.RunSQL.noop),
    ]
