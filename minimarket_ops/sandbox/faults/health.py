from minimarket_ops.sandbox.faults import Fault, register

register(
    Fault("db_down", "server", "the database does not accept connections", "database_reachable"),
    Fault("api_down", "server", "the API gateway does not answer", "api_health"),
    Fault("api_slow", "api", "every API answer is delayed far beyond the SLO", "api_health"),
    Fault("api_5xx", "api", "the health endpoint answers 503 'down'", "api_health"),
    Fault(
        "orphan_products",
        "database",
        "three products point at categories that do not exist (as after a restore with triggers off)",
        "products_without_category",
        sql="""
        SET LOCAL session_replication_role = replica;
        UPDATE productos SET categoria_id = gen_random_uuid()
         WHERE id IN (SELECT id FROM productos ORDER BY sku LIMIT 3);
        """,
    ),
)
