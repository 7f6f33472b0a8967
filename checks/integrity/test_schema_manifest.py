import pytest

# Each expected non-table object: which kinds of pg_class (or pg_proc) satisfy it.
OBJECTS_QUERY = """
SELECT e.kind, e.sch, e.name,
       CASE e.kind
         WHEN 'function' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                                       WHERE p.pronamespace = n.oid AND p.proname = e.name)
         ELSE c.relkind = ANY (CASE e.kind WHEN 'view' THEN ARRAY['v'] WHEN 'materialized view' THEN ARRAY['m']
                                           ELSE ARRAY['i', 'I'] END::"char"[])
       END AS present,
       c.relkind::text AS found_relkind
  FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS e(kind, sch, name, ord)
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = e.sch
  LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = e.name
 ORDER BY e.ord
"""

RELKIND = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "i": "index",
           "I": "partitioned index", "S": "sequence", "f": "foreign table", "c": "composite type", "t": "TOAST table"}


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_schema_manifest(db, schema, settings, finding):
    """Every table, column, view, materialized view, index and function the schema map expects exists (schema drift)."""
    objs = settings.schema_objects
    expected = ([("view", o) for o in objs.views] + [("materialized view", o) for o in objs.materialized_views]
                + [("index", o) for o in objs.indexes] + [("function", o) for o in objs.functions])
    missing = [{"object": m, "found": None} for m in schema.missing()]
    if expected:
        with db.transaction() as conn:
            cur = conn.execute(OBJECTS_QUERY, ([k for k, _ in expected], [o.schema_name for _, o in expected],
                                               [o.name for _, o in expected]))
            for kind, sch, name, present, relkind in cur:
                if not present:
                    missing.append({"object": f"{kind} {sch}.{name}",
                                    "found": f"a {RELKIND.get(relkind, relkind)} of that name" if relkind else None})
    total = len(missing)
    finding.record(measured="objects the schema map and schema_objects expect that the target lacks",
                   value=total, threshold="none missing", ok=total == 0)
    if missing:
        names = ", ".join(m["object"] for m in missing)
        finding.fail(
            measured="objects the schema map and schema_objects expect that the target lacks",
            value=total,
            threshold="none missing",
            # Every missing object is named here; the sample rows keep the first ten with detail.
            rows=missing,
            rows_total=total,
            remediation=f"Missing: {names}. Restore them from the schema migrations, or, where the deployment "
            "names them differently on purpose, change [schema_map.*] / [schema_objects] in the configuration",
            runbook="2.2",
        )
