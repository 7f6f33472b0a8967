import pytest

from checks.integrity._catalog import foreign_key_matches, resolve_foreign_keys

# Read-only catalog query over the non-system schemas; the expected foreign keys are left
# out here because foreign_keys_present judges them (one fault, one failing check).
QUERY = """
SELECT n.nspname AS schema_name,
       CASE WHEN c.conrelid <> 0 THEN c.conrelid::regclass::text ELSE 'domain ' || c.contypid::regtype::text END AS on_object,
       c.conname AS constraint_name,
       CASE c.contype WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign key' WHEN 'n' THEN 'not null' ELSE c.contype::text END AS kind,
       pg_catalog.pg_get_constraintdef(c.oid) AS definition,
       count(*) OVER () AS total
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
 WHERE NOT c.convalidated
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND c.oid <> ALL (%s::oid[])
 ORDER BY 1, 2, 3
 LIMIT 10
"""


@pytest.mark.weekly
@pytest.mark.severity("media")
def test_unvalidated_constraints(db, schema, settings, thresholds, finding):
    """Constraints left NOT VALID: existing rows were never checked against them."""
    # Expected foreign keys the target has (drifted ones cannot exist, so need no exclusion).
    fks, _drift = resolve_foreign_keys(schema, settings.schema_objects.foreign_keys)
    judged = [c["oid"] for found in foreign_key_matches(db, fks).values() for c in found]
    total, rows = db.sample(QUERY, (judged,))
    finding.at_most(
        total,
        thresholds.unvalidated_constraints_max_count,
        threshold_name="unvalidated_constraints_max_count",
        measured="constraints left NOT VALID (besides the expected foreign keys, see foreign_keys_present)",
        rows=rows,
        rows_total=total,
        remediation="Fix the rows that violate it, then ALTER TABLE ... VALIDATE CONSTRAINT ... (a SHARE UPDATE "
        "EXCLUSIVE lock: reads and writes go on)",
        runbook="3.3",
    )
