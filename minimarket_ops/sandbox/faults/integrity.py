"""Integrity faults: each breaks one thing, so exactly its check fails (tests/test_integrity_checks.py).

Rows are chosen deterministically (by sku, by the seed's md5 ids) and, where possible, among
rows no other check looks at (the 'secundario' depósito, historic prices), so one fault
makes one check fail. Orphans are made as a restore with triggers off makes them
(session_replication_role = replica skips the foreign-key triggers).
"""

from minimarket_ops.sandbox.faults import Fault, register

register(
    Fault(
        "schema_objects_missing",
        "database",
        "a view and an index the schema manifest expects are gone (as after a partial migration)",
        "schema_manifest",
        sql="""
        DROP VIEW vista_alertas_activas;
        DROP INDEX logs_scraping_timestamp_idx;
        """,
    ),
    Fault(
        "foreign_key_missing",
        "database",
        "the foreign key stock_deposito.producto_id -> productos was dropped",
        "foreign_keys_present",
        sql="ALTER TABLE stock_deposito DROP CONSTRAINT stock_deposito_producto_id_fkey;",
    ),
    Fault(
        "foreign_key_not_valid",
        "database",
        "the foreign key precios_proveedor.proveedor_id -> proveedores was re-added NOT VALID and never validated",
        "foreign_keys_present",
        sql="""
        ALTER TABLE precios_proveedor DROP CONSTRAINT precios_proveedor_proveedor_id_fkey;
        ALTER TABLE precios_proveedor ADD CONSTRAINT precios_proveedor_proveedor_id_fkey
            FOREIGN KEY (proveedor_id) REFERENCES proveedores (id) NOT VALID;
        """,
    ),
    Fault(
        "core_table_empty",
        "database",
        "proveedores lost its rows (with the prices and configuration that hang from them), as after a bad restore",
        "core_tables_populated",
        sql="TRUNCATE proveedores CASCADE;",
    ),
    Fault(
        "orphan_stock",
        "database",
        "two stock rows of the secundario depósito point at products that do not exist",
        "stock_without_product",
        sql="""
        SET LOCAL session_replication_role = replica;
        UPDATE stock_deposito SET producto_id = gen_random_uuid()
         WHERE id IN (SELECT id FROM stock_deposito WHERE deposito = 'secundario' ORDER BY id LIMIT 2);
        """,
    ),
    Fault(
        "orphan_prices",
        "database",
        "two historic prices point at no product and one at no supplier",
        "prices_without_product_or_supplier",
        sql="""
        SET LOCAL session_replication_role = replica;
        UPDATE precios_proveedor SET producto_id = gen_random_uuid()
         WHERE id IN (SELECT id FROM precios_proveedor WHERE NOT es_precio_vigente ORDER BY id LIMIT 2);
        UPDATE precios_proveedor SET proveedor_id = gen_random_uuid()
         WHERE id IN (SELECT id FROM precios_proveedor WHERE NOT es_precio_vigente ORDER BY id DESC LIMIT 1);
        """,
    ),
    Fault(
        "duplicate_vigente_prices",
        "database",
        "the partial unique index is gone and two (product, supplier) pairs got a second vigente price",
        "duplicate_vigente_prices",
        sql="""
        DROP INDEX precios_proveedor_un_vigente;
        INSERT INTO precios_proveedor (producto_id, proveedor_id, precio_compra, precio_anterior,
                                       fecha_vigencia_desde, fecha_vigencia_hasta, moneda, es_precio_vigente, fuente)
        SELECT producto_id, proveedor_id, precio_compra, precio_anterior, now(), NULL, moneda, true, fuente
          FROM precios_proveedor
         WHERE es_precio_vigente
         ORDER BY producto_id, proveedor_id
         LIMIT 2;
        """,
    ),
    Fault(
        "vigente_price_index_missing",
        "database",
        "the partial unique index that allows one vigente price per (product, supplier) is gone (no duplicates yet)",
        "duplicate_vigente_prices",
        sql="DROP INDEX precios_proveedor_un_vigente;",
    ),
    Fault(
        "dangling_category_parent",
        "database",
        "the category LIM-ROP points at a parent category that does not exist",
        "dangling_category_parent",
        sql="""
        SET LOCAL session_replication_role = replica;
        UPDATE categorias SET parent_id = gen_random_uuid() WHERE codigo = 'LIM-ROP';
        """,
    ),
    Fault(
        "category_cycle",
        "database",
        "the root BEB was made a child of its own child BEB-GAS: a cycle of two",
        "category_cycles",
        sql="UPDATE categorias SET parent_id = (SELECT id FROM categorias WHERE codigo = 'BEB-GAS') WHERE codigo = 'BEB';",
    ),
    Fault(
        "negative_stock",
        "database",
        "two stock rows (already critically low) went below zero",
        "negative_stock",
        sql="""
        UPDATE stock_deposito SET stock_actual = -4
         WHERE deposito = 'principal' AND stock_actual * 2 <= stock_minimo
           AND id IN (SELECT id FROM stock_deposito WHERE deposito = 'principal' AND stock_actual * 2 <= stock_minimo
                       ORDER BY id LIMIT 2);
        """,
    ),
    Fault(
        "inverted_stock_bounds",
        "database",
        "three stock rows of the secundario depósito got a stock_maximo below their stock_minimo",
        "stock_bounds",
        sql="""
        UPDATE stock_deposito SET stock_maximo = stock_minimo - 1
         WHERE id IN (SELECT id FROM stock_deposito WHERE deposito = 'secundario' AND stock_maximo IS NOT NULL
                       ORDER BY id LIMIT 3);
        """,
    ),
    Fault(
        "non_positive_prices",
        "database",
        "the CHECK (precio_compra > 0) is gone; three vigente prices are 0 or negative (and one historic price is 0)",
        "non_positive_prices",
        sql="""
        ALTER TABLE precios_proveedor DROP CONSTRAINT precios_proveedor_precio_compra_check;
        UPDATE precios_proveedor SET precio_compra = CASE WHEN n = 1 THEN -10 ELSE 0 END
          FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM precios_proveedor
                 WHERE es_precio_vigente ORDER BY id LIMIT 3) x
         WHERE precios_proveedor.id = x.id;
        UPDATE precios_proveedor SET precio_compra = 0
         WHERE id = (SELECT id FROM precios_proveedor WHERE NOT es_precio_vigente ORDER BY id LIMIT 1);
        """,
    ),
    Fault(
        "duplicate_skus",
        "database",
        "the unique constraint on productos.sku is gone and three active products share one SKU",
        "duplicate_barcodes_or_skus",
        sql="""
        ALTER TABLE productos DROP CONSTRAINT productos_sku_key;
        UPDATE productos SET sku = (SELECT sku FROM productos WHERE activo ORDER BY sku LIMIT 1)
         WHERE id IN (SELECT id FROM productos WHERE activo ORDER BY sku LIMIT 3);
        """,
    ),
    Fault(
        "barcode_unique_missing",
        "database",
        "the unique constraint on productos.codigo_barras is gone (no duplicates yet)",
        "duplicate_barcodes_or_skus",
        sql="ALTER TABLE productos DROP CONSTRAINT productos_codigo_barras_key;",
    ),
    Fault(
        "products_without_barcode",
        "database",
        "about one active product in ten lost its barcode (NULL, one of them empty)",
        "products_without_barcode",
        sql="""
        UPDATE productos SET codigo_barras = NULL
         WHERE activo AND codigo_barras IS NOT NULL AND right(sku, 1) = '3';
        UPDATE productos SET codigo_barras = ''
         WHERE id = (SELECT id FROM productos WHERE activo AND codigo_barras IS NULL ORDER BY sku LIMIT 1);
        """,
    ),
    Fault(
        "expired_vigente_prices",
        "database",
        "four prices are still vigente although their fecha_vigencia_hasta passed three days ago",
        "expired_vigente_prices",
        sql="""
        UPDATE precios_proveedor SET fecha_vigencia_hasta = now() - interval '3 days'
         WHERE id IN (SELECT id FROM precios_proveedor WHERE es_precio_vigente ORDER BY id LIMIT 4);
        """,
    ),
    Fault(
        "invalid_index",
        "database",
        "an index is left invalid, as a failed CREATE INDEX CONCURRENTLY leaves it",
        "invalid_indexes",
        sql="""
        UPDATE pg_catalog.pg_index SET indisvalid = false
         WHERE indexrelid = 'public.tareas_pendientes_creado_por_idx'::regclass;
        """,
    ),
    Fault(
        "unvalidated_constraint",
        "database",
        "the CHECK (nivel >= 1) on categorias was re-added NOT VALID and never validated",
        "unvalidated_constraints",
        sql="""
        ALTER TABLE categorias DROP CONSTRAINT categorias_nivel_check;
        ALTER TABLE categorias ADD CONSTRAINT categorias_nivel_check CHECK (nivel >= 1) NOT VALID;
        """,
    ),
)
