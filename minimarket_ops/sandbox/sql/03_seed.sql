-- 03_seed.sql: realistic, healthy Mini Market data, generated in SQL.
--
-- Scaled by the setting sandbox.scale (the loader runs SET LOCAL sandbox.scale
-- first; 1 is about a real store, 100 loads in about 30 s on two cores; unset
-- means 1). Small scales keep every table non-empty. Deterministic apart from
-- the clock and the ids of the bulk tables (precios_proveedor, logs, audit,
-- ...: their column default gen_random_uuid()): catalogue, staff and stock ids
-- are md5 of a name (personal: md5('personal-<n>')::uuid, n = 1..12), random()
-- is seeded, and every timestamp is relative to now() (the load's transaction
-- start), so the data ages from the moment it is loaded.
--
-- Healthy by construction (the checks' thresholds in TARGET-SYSTEM.md):
--   * exactly 6 stock rows with stock_actual * 2 <= stock_minimo in 'principal'
--     (critica is "more than 10"), about 5 % more at or below stock_minimo;
--   * at most one scraping run below 80 % per night, so at most 2 in any 24 h
--     ("more than 3" is alta), and runs in the last 24 h always exist;
--   * no IP with more than 2 failed logins at all ("more than 5 in 24 h");
--   * every price change alert older than 1 h is processed; 3 younger
--     unprocessed ones (baja/media, so never overdue);
--   * log messages carry EAN-13 barcodes, SKUs, dates, timestamps and UUIDs
--     but no card numbers, JWTs, API keys or passwords.
-- Run after 02_security.sql, as postgres, in one transaction.

DO $seed$ BEGIN PERFORM setseed(0.42); END $seed$;

SET LOCAL work_mem = '128MB';
SET LOCAL jit = off;                      -- compiling these one-off statements costs more than it saves
SET LOCAL maintenance_work_mem = '256MB';

-- ---------------------------------------------------------------------------
-- Bulk load: the keys, unique constraints, indexes and foreign keys of the
-- tables of public are set aside here and put back, exactly as 01_schema.sql
-- defined them (same names and definitions), at the end of this file. Building
-- an index once is many times faster than maintaining it row by row, and
-- re-adding a foreign key validates every row in one query, so the result is
-- as checked as a row-by-row load.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE _ddl AS
SELECT 1 AS fase, c.conrelid::regclass::text AS tabla, c.conname::text AS nombre,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) AS crear,
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS quitar
FROM pg_catalog.pg_constraint c
JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r' AND c.contype IN ('p', 'u')
UNION ALL
SELECT 2, i.indrelid::regclass::text, i.indexrelid::regclass::text,
       pg_get_indexdef(i.indexrelid),
       format('DROP INDEX %s', i.indexrelid::regclass)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                  WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 3, c.conrelid::regclass::text, c.conname::text,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)),
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname)
FROM pg_catalog.pg_constraint c
JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r' AND c.contype = 'f';

DO $quitar$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT * FROM _ddl ORDER BY fase DESC, tabla, nombre LOOP
        EXECUTE d.quitar;
    END LOOP;
END
$quitar$;

-- ---------------------------------------------------------------------------
-- Parameters
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE _seed AS
SELECT s                                        AS scale,
       greatest(200, round(3000 * s))::int      AS n_productos,
       greatest(4, ceil(500 * s / 8.0))::int    AS logs_por_corrida,   -- 8 runs a night: ~500 x scale rows a day
       greatest(10, round(100 * s))::int        AS movimientos_por_dia,
       greatest(300, round(3000 * s))::int      AS n_audit,
       greatest(12, round(30 * s))::int         AS n_failed_logins,
       greatest(500, round(3000 * s))::int      AS n_api_requests,
       greatest(32, round(48 * s))::int         AS n_tareas,
       greatest(6, round(30 * s))::int          AS n_faltantes,
       greatest(30, round(60 * s))::int         AS n_security_logs
FROM (SELECT greatest(coalesce(nullif(current_setting('sandbox.scale', true), '')::numeric, 1), 0.01) AS s) x;

-- ---------------------------------------------------------------------------
-- Categories: 3 roots (nivel 1), 8 leaves (nivel 2)
-- ---------------------------------------------------------------------------
INSERT INTO categorias (id, codigo, nombre, descripcion, parent_id, nivel, margen_minimo, margen_maximo, activo)
VALUES
    (md5('categoria-BEB')::uuid, 'BEB', 'Bebidas', 'Bebidas con y sin alcohol', NULL, 1, 20, 50, true),
    (md5('categoria-ALM')::uuid, 'ALM', 'Almacén', 'Productos secos y envasados', NULL, 1, 18, 45, true),
    (md5('categoria-LIM')::uuid, 'LIM', 'Limpieza', 'Limpieza del hogar y de la ropa', NULL, 1, 22, 55, true);

CREATE TEMP TABLE _cat (idx int, codigo text, nombre text, raiz text, tipos text[], marcas text[], tamanos text[],
                        base numeric, margen_minimo numeric, margen_maximo numeric, slug text);
INSERT INTO _cat VALUES
    (0, 'BEB-GAS', 'Gaseosas', 'BEB',
        ARRAY['Gaseosa cola', 'Gaseosa lima-limón', 'Gaseosa naranja', 'Agua tónica', 'Gaseosa pomelo'],
        ARRAY['Coca-Cola', 'Pepsi', 'Sprite', 'Fanta', 'Seven Up', 'Manaos', 'Paso de los Toros', 'Schweppes'],
        ARRAY['500 ml', '1,5 L', '2,25 L', '3 L', '354 ml lata'], 1800, 20, 45, 'bebidas/gaseosas'),
    (1, 'BEB-AGU', 'Aguas', 'BEB',
        ARRAY['Agua mineral sin gas', 'Agua mineral con gas', 'Agua saborizada pomelo', 'Agua saborizada manzana', 'Soda en sifón'],
        ARRAY['Villavicencio', 'Villa del Sur', 'Eco de los Andes', 'Glaciar', 'Levité', 'Cellier'],
        ARRAY['500 ml', '1,5 L', '2 L', '6,25 L'], 900, 20, 50, 'bebidas/aguas'),
    (2, 'BEB-CER', 'Cervezas', 'BEB',
        ARRAY['Cerveza rubia', 'Cerveza negra', 'Cerveza roja', 'Cerveza IPA', 'Cerveza sin alcohol'],
        ARRAY['Quilmes', 'Brahma', 'Stella Artois', 'Andes Origen', 'Patagonia', 'Schneider', 'Imperial'],
        ARRAY['473 ml lata', '710 ml lata', '1 L retornable', '340 ml porrón'], 2200, 22, 50, 'bebidas/cervezas'),
    (3, 'ALM-PAS', 'Pastas y arroz', 'ALM',
        ARRAY['Fideos spaghetti', 'Fideos tirabuzón', 'Fideos moñito', 'Fideos mostachol', 'Arroz largo fino', 'Arroz doble carolina', 'Polenta instantánea'],
        ARRAY['Matarazzo', 'Lucchetti', 'Don Vicente', 'Favorita', 'Gallo', 'Marolio', 'Knorr'],
        ARRAY['500 g', '1 kg', '400 g'], 1100, 18, 40, 'almacen/pastas-y-arroz'),
    (4, 'ALM-CON', 'Conservas', 'ALM',
        ARRAY['Tomate perita', 'Arvejas', 'Choclo cremoso', 'Atún al natural', 'Duraznos en almíbar', 'Lentejas', 'Caballa en aceite'],
        ARRAY['La Campagnola', 'Arcor', 'Inca', 'Marolio', 'Canale', 'Cumaná'],
        ARRAY['300 g', '350 g', '400 g', '820 g'], 1400, 18, 42, 'almacen/conservas'),
    (5, 'ALM-ACE', 'Aceites y aderezos', 'ALM',
        ARRAY['Aceite de girasol', 'Aceite mezcla', 'Aceite de oliva extra virgen', 'Vinagre de alcohol', 'Mayonesa', 'Ketchup', 'Mostaza'],
        ARRAY['Natura', 'Cocinero', 'Cañuelas', 'Lira', 'Hellmann''s', 'Fanacoa', 'Menoyo'],
        ARRAY['250 ml', '500 ml', '900 ml', '1,5 L', '250 g doypack'], 2600, 18, 45, 'almacen/aceites-y-aderezos'),
    (6, 'LIM-HOG', 'Limpieza del hogar', 'LIM',
        ARRAY['Lavandina', 'Detergente', 'Limpiador de pisos', 'Desengrasante', 'Esponja multiuso', 'Bolsas de residuos'],
        ARRAY['Ayudín', 'Magistral', 'Cif', 'Mr. Músculo', 'Procenex', 'Poett', 'Odex'],
        ARRAY['500 ml', '750 ml', '1 L', '2 L', 'x 10 u'], 1500, 22, 55, 'limpieza/hogar'),
    (7, 'LIM-ROP', 'Cuidado de la ropa', 'LIM',
        ARRAY['Jabón en polvo', 'Jabón líquido', 'Suavizante', 'Quitamanchas', 'Jabón en pan'],
        ARRAY['Ariel', 'Skip', 'Ala', 'Drive', 'Vivere', 'Comfort', 'Zorro'],
        ARRAY['400 g', '800 g', '3 L', '1 L', '200 g'], 3500, 22, 55, 'limpieza/ropa');

INSERT INTO categorias (id, codigo, nombre, descripcion, parent_id, nivel, margen_minimo, margen_maximo, activo)
SELECT md5('categoria-' || c.codigo)::uuid, c.codigo, c.nombre, c.nombre || ' (' || r.nombre || ')',
       r.id, r.nivel + 1, c.margen_minimo, c.margen_maximo, true
FROM _cat c
JOIN categorias r ON r.codigo = c.raiz;

-- ---------------------------------------------------------------------------
-- Products: unique EAN-13 (prefix 779, valid check digit) and SKU; ~2 % without
-- a barcode, ~4 % inactive.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE _prod AS
SELECT q.i,
       md5('producto-' || q.i)::uuid AS id,
       q.cat_idx,
       md5('categoria-' || c.codigo)::uuid AS categoria_id,
       c.codigo AS cat_codigo,
       c.nombre AS cat_nombre,
       c.tipos[1 + floor(random() * cardinality(c.tipos))::int] AS tipo,
       c.marcas[1 + floor(random() * cardinality(c.marcas))::int] AS marca,
       c.tamanos[1 + floor(random() * cardinality(c.tamanos))::int] AS tamano,
       CASE WHEN q.i % 50 = 0 THEN NULL
            -- EAN-13 check digit: weights 1, 3, 1, 3 ... over the 12 digits from the left
            ELSE q.n12::text || ((10 - (1 * (q.n12 / 100000000000 % 10)
                 + 3 * (q.n12 / 10000000000 % 10)
                 + 1 * (q.n12 / 1000000000 % 10)
                 + 3 * (q.n12 / 100000000 % 10)
                 + 1 * (q.n12 / 10000000 % 10)
                 + 3 * (q.n12 / 1000000 % 10)
                 + 1 * (q.n12 / 100000 % 10)
                 + 3 * (q.n12 / 10000 % 10)
                 + 1 * (q.n12 / 1000 % 10)
                 + 3 * (q.n12 / 100 % 10)
                 + 1 * (q.n12 / 10 % 10)
                 + 3 * (q.n12 / 1 % 10)) % 10) % 10)::text
       END AS codigo_barras,
       c.codigo || '-' || lpad(q.i::text, 6, '0') AS sku,
       (q.i % 25 <> 7) AS activo,
       round(c.base * (0.6 + random() * 1.2)::numeric, 2) AS precio_sugerido,
       c.margen_minimo, c.margen_maximo
FROM (
    SELECT i, i % 8 AS cat_idx,
           779000000000 + (i::bigint * 7919) % 1000000000 AS n12        -- prefix 779 (Argentina) + 9 digits
    FROM generate_series(1, (SELECT n_productos FROM _seed)) i
) q
JOIN _cat c ON c.idx = q.cat_idx;
ANALYZE _prod;

INSERT INTO productos (id, nombre, descripcion, codigo_barras, sku, categoria_id, marca, contenido_neto,
                       dimensiones, activo, precio_sugerido, observaciones, created_at, updated_at)
SELECT p.id,
       p.tipo || ' ' || p.marca || ' ' || p.tamano,
       p.tipo || ' marca ' || p.marca || ', presentación ' || p.tamano,
       p.codigo_barras, p.sku, p.categoria_id, p.marca, p.tamano,
       jsonb_build_object('alto_cm', round((6 + random() * 30)::numeric, 1),
                          'ancho_cm', round((4 + random() * 20)::numeric, 1),
                          'profundidad_cm', round((4 + random() * 15)::numeric, 1),
                          'peso_g', 100 + floor(random() * 3000)::int),
       p.activo, p.precio_sugerido,
       CASE WHEN NOT p.activo THEN 'Discontinuado por el proveedor'
            WHEN p.codigo_barras IS NULL THEN 'Producto fraccionado en el local: sin código de barras'
       END,
       now() - (200 + random() * 500) * interval '1 day',
       now() - (1 + random() * 60) * interval '1 day'
FROM _prod p;

-- ---------------------------------------------------------------------------
-- Suppliers and their configuration (no secrets in valor)
-- ---------------------------------------------------------------------------
INSERT INTO proveedores (id, nombre, direccion, telefono, email, sitio_web, activo, configuracion)
VALUES
    (md5('proveedor-1')::uuid, 'Maxiconsumo Necochea', 'Av. 59 y calle 100, Necochea, Buenos Aires',
     '+54 2262 43-0000', NULL, 'https://www.maxiconsumo.com',
     true, '{"tipo_integracion": "scraping", "sucursal": "necochea", "moneda": "ARS"}'),
    (md5('proveedor-2')::uuid, 'Distribuidora Local', 'Calle 62 nº 2950, Necochea, Buenos Aires',
     '+54 2262 42-1234', 'pedidos@distribuidoralocal.com.ar', NULL,
     true, '{"tipo_integracion": "lista_precios", "formato": "xlsx", "moneda": "ARS"}'),
    (md5('proveedor-3')::uuid, 'Mayorista Norte', 'Ruta 88 km 3,5, Quequén, Buenos Aires',
     '+54 2262 45-6789', 'ventas@mayoristanorte.com.ar', 'https://www.mayoristanorte.com.ar',
     true, '{"tipo_integracion": "lista_precios", "formato": "csv", "moneda": "ARS"}');

INSERT INTO configuracion_proveedor (proveedor_id, clave, valor, descripcion, tipo_dato)
VALUES
    (md5('proveedor-1')::uuid, 'url_base', 'https://www.maxiconsumo.com/sucursal_necochea', 'Catálogo de la sucursal', 'string'),
    (md5('proveedor-1')::uuid, 'tamano_lote', '50', 'Productos por lote de scraping', 'integer'),
    (md5('proveedor-1')::uuid, 'delay_min_ms', '2000', 'Espera mínima entre lotes', 'integer'),
    (md5('proveedor-1')::uuid, 'delay_max_ms', '5000', 'Espera máxima entre lotes', 'integer'),
    (md5('proveedor-1')::uuid, 'reintentos_max', '3', 'Reintentos por página', 'integer'),
    (md5('proveedor-1')::uuid, 'timeout_ms', '30000', 'Timeout por solicitud', 'integer'),
    (md5('proveedor-1')::uuid, 'scraping_activo', 'true', 'Scraping nocturno habilitado', 'boolean'),
    (md5('proveedor-1')::uuid, 'horario_cron', '0 3 * * *', 'Horario del scraping (UTC)', 'string'),
    (md5('proveedor-1')::uuid, 'user_agent', 'MiniMarketBot/2.0', 'Agente de usuario del scraper', 'string'),
    (md5('proveedor-2')::uuid, 'dia_actualizacion', 'lunes', 'Día en que llega la lista de precios', 'string'),
    (md5('proveedor-2')::uuid, 'pedido_minimo_ars', '150000', 'Pedido mínimo en pesos', 'number'),
    (md5('proveedor-2')::uuid, 'plazo_entrega_dias', '2', 'Días hábiles de entrega', 'integer'),
    (md5('proveedor-3')::uuid, 'dia_actualizacion', 'jueves', 'Día en que llega la lista de precios', 'string'),
    (md5('proveedor-3')::uuid, 'pedido_minimo_ars', '250000', 'Pedido mínimo en pesos', 'number'),
    (md5('proveedor-3')::uuid, 'plazo_entrega_dias', '3', 'Días hábiles de entrega', 'integer'),
    (md5('proveedor-3')::uuid, 'acepta_devoluciones', 'false', 'Acepta devoluciones de mercadería', 'boolean');

-- ---------------------------------------------------------------------------
-- Staff: 12, two of them inactive (and without recent activity)
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE _staff (n int, id uuid, nombre text, email text, rol text, activo boolean, fecha_ingreso date);
INSERT INTO _staff (n, nombre, email, rol, activo, fecha_ingreso)
VALUES
    ( 1, 'María José González', 'mjgonzalez@minimarket-necochea.com.ar', 'admin',      true,  current_date - 1460),
    ( 2, 'Martín Rodríguez',    'mrodriguez@minimarket-necochea.com.ar', 'admin',      true,  current_date - 1100),
    ( 3, 'Lucía Fernández',     'lfernandez@minimarket-necochea.com.ar', 'supervisor', true,  current_date - 900),
    ( 4, 'Diego Martínez',      'dmartinez@minimarket-necochea.com.ar',  'supervisor', true,  current_date - 640),
    ( 5, 'Sofía López',         'slopez@minimarket-necochea.com.ar',     'deposito',   true,  current_date - 800),
    ( 6, 'Federico Díaz',       'fdiaz@minimarket-necochea.com.ar',      'deposito',   true,  current_date - 500),
    ( 7, 'Camila Romero',       'cromero@minimarket-necochea.com.ar',    'deposito',   true,  current_date - 300),
    ( 8, 'Nicolás Sosa',        'nsosa@minimarket-necochea.com.ar',      'ventas',     true,  current_date - 420),
    ( 9, 'Julieta Álvarez',     'jalvarez@minimarket-necochea.com.ar',   'ventas',     true,  current_date - 250),
    (10, 'Gustavo Benítez',     'gbenitez@minimarket-necochea.com.ar',   'ventas',     true,  current_date - 120),
    (11, 'Rocío Acosta',        'racosta@minimarket-necochea.com.ar',    'deposito',   false, current_date - 700),
    (12, 'Hernán Medina',       'hmedina@minimarket-necochea.com.ar',    'ventas',     false, current_date - 560);
UPDATE _staff SET id = md5('personal-' || n)::uuid;

INSERT INTO personal (id, nombre, email, telefono, rol, activo, fecha_ingreso, configuracion, created_at, updated_at)
SELECT id, nombre, email,
       '+54 9 2262 ' || (50 + n) || '-' || lpad((1000 + n * 373)::text, 4, '0'),
       rol, activo, fecha_ingreso,
       jsonb_build_object('turno', CASE WHEN n % 2 = 0 THEN 'tarde' ELSE 'mañana' END,
                          'notificaciones', jsonb_build_object('email', true, 'push', n % 3 = 0)),
       fecha_ingreso::timestamptz,
       CASE WHEN activo THEN now() - n * interval '3 days' ELSE now() - (40 + n) * interval '1 day' END
FROM _staff;

-- ---------------------------------------------------------------------------
-- Stock: every product in 'principal', 20 % also in 'secundario'.
-- Exactly 6 critical rows (stock_actual * 2 <= stock_minimo), all in principal,
-- all of active products; ~5 % low (stock_minimo/2 < stock_actual <= stock_minimo).
-- ---------------------------------------------------------------------------
INSERT INTO stock_deposito (id, producto_id, deposito, stock_actual, stock_minimo, stock_maximo,
                            ubicacion_fisica, ultima_actualizacion, activo, created_at, updated_at)
SELECT md5('stock-principal-' || i)::uuid, id, 'principal',
       CASE WHEN critico THEN floor(random() * (mn / 2 + 1))::int
            WHEN bajo    THEN mn / 2 + 1 + floor(random() * (mn - mn / 2))::int
            ELSE mn + 1 + floor(random() * (coalesce(mx, mn * 6) - mn))::int
       END,
       mn, mx,
       'Pasillo ' || (1 + cat_idx) || ' - Estante ' || chr(65 + (i % 6)) || ' - Nivel ' || (1 + i % 4),
       upd, activo, upd - interval '180 days', upd
FROM (
    SELECT p.*,
           (p.i % 25 = 3 AND p.i <= 128) AS critico,         -- i = 3, 28, 53, 78, 103, 128
           (p.i % 20 = 9) AS bajo,
           5 + floor(random() * 16)::int AS mn,
           random() AS r_mx,
           now() - random() * interval '30 days' AS upd
    FROM _prod p
) s
CROSS JOIN LATERAL (SELECT CASE WHEN s.i % 40 = 13 THEN NULL ELSE s.mn * (4 + floor(s.r_mx * 7)::int) END AS mx) m;

INSERT INTO stock_deposito (id, producto_id, deposito, stock_actual, stock_minimo, stock_maximo,
                            ubicacion_fisica, ultima_actualizacion, activo, created_at, updated_at)
SELECT md5('stock-secundario-' || i)::uuid, id, 'secundario',
       mn + 1 + floor(random() * (mx - mn))::int, mn, mx,
       'Depósito secundario - Rack ' || (1 + i % 12) || ' - Posición ' || (1 + i % 30),
       upd, activo, upd - interval '120 days', upd
FROM (
    SELECT p.*, 5 + floor(random() * 16)::int AS mn, now() - random() * interval '30 days' AS upd
    FROM _prod p
    WHERE p.i % 5 = 1
) s
CROSS JOIN LATERAL (SELECT s.mn * (3 + floor(random() * 5)::int) AS mx) m;

-- ---------------------------------------------------------------------------
-- Prices: every product from Maxiconsumo, half also from Distribuidora Local,
-- 30 % also from Mayorista Norte; per pair 1-3 historic rows and exactly one
-- vigente row (fecha_vigencia_hasta NULL or in the future). Vigente prices
-- keep the category's margins against precio_sugerido.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE _pairs AS
SELECT x.*,
       round(x.p_vig / (1 + x.cambio), 2) AS p_prev
FROM (
    SELECT p.i, p.id AS producto_id, p.activo, p.precio_sugerido, s.n AS prov_n,
           md5('proveedor-' || s.n)::uuid AS proveedor_id,
           round((p.precio_sugerido / (1 + (p.margen_minimo + 3 + random() * (p.margen_maximo - p.margen_minimo - 6)) / 100))::numeric, 2) AS p_vig,
           CASE WHEN s.n = 1 AND p.i IN (10, 20, 30) THEN (ARRAY[0.12, 0.17, 0.19])[p.i / 10]::numeric
                WHEN random() < 0.04 THEN
                     CASE WHEN random() < 0.2 THEN -(0.105 + random() * 0.25)
                          ELSE 0.105 + power(random(), 2) * 0.6 END::numeric
                ELSE (0.015 + random() * 0.075)::numeric
           END AS cambio,
           1 + floor(random() * 3)::int AS n_hist,
           CASE WHEN s.n = 1 AND p.i IN (10, 20, 30) THEN now() - (p.i / 10) * interval '15 minutes'
                ELSE now() - (1 + random() * 25) * interval '1 day'
           END AS desde_v,
           CASE WHEN random() < 0.1 THEN now() + (15 + random() * 45) * interval '1 day' END AS hasta_v
    FROM _prod p
    JOIN generate_series(1, 3) s(n)
      ON s.n = 1 OR (s.n = 2 AND p.i % 2 = 0) OR (s.n = 3 AND p.i % 10 IN (1, 4, 7))
) x;

INSERT INTO precios_proveedor (producto_id, proveedor_id, precio_compra, precio_anterior, fecha_vigencia_desde,
                               fecha_vigencia_hasta, moneda, es_precio_vigente, fuente, created_at, updated_at)
SELECT producto_id, proveedor_id, p_vig, p_prev, desde_v, hasta_v, 'ARS', true,
       CASE WHEN prov_n = 1 THEN 'scraping' ELSE 'lista_precios' END,
       desde_v, desde_v
FROM _pairs
UNION ALL
SELECT a.producto_id, a.proveedor_id,
       round(a.p_prev / power(1.06, h.k - 1), 2),
       CASE WHEN h.k < a.n_hist THEN round(a.p_prev / power(1.06, h.k), 2) END,
       a.desde_v - h.k * interval '30 days',
       a.desde_v - (h.k - 1) * interval '30 days',
       'ARS', false,
       CASE WHEN a.prov_n = 1 THEN 'scraping' ELSE 'lista_precios' END,
       a.desde_v - h.k * interval '30 days',
       a.desde_v - (h.k - 1) * interval '30 days'
FROM _pairs a
CROSS JOIN LATERAL generate_series(1, a.n_hist) h(k);

-- Price change alerts for the vigente prices of the last 30 days that moved
-- at least 10 %; severity from the change; processed unless younger than 1 h.
INSERT INTO alertas_cambios_precios (producto_id, proveedor_id, precio_anterior, precio_nuevo, cambio_absoluto,
                                     cambio_porcentual, severidad, fecha_alerta, procesada, fecha_procesamiento, created_at)
SELECT producto_id, proveedor_id, p_prev, p_vig, p_vig - p_prev, pct,
       CASE WHEN abs(pct) >= 50 THEN 'critica' WHEN abs(pct) >= 25 THEN 'alta'
            WHEN abs(pct) >= 15 THEN 'media' ELSE 'baja' END,
       fa,
       fa < now() - interval '1 hour',
       CASE WHEN fa < now() - interval '1 hour' THEN fa + (3 + random() * 40) * interval '1 minute' END,
       fa
FROM (
    SELECT a.*, round((a.p_vig - a.p_prev) / a.p_prev * 100, 2) AS pct,
           a.desde_v + interval '1 minute' AS fa
    FROM _pairs a
    WHERE a.desde_v > now() - interval '30 days'
) z
WHERE abs(pct) >= 10;

-- Price comparisons for a sample of products (10 %), last 7 days.
INSERT INTO comparacion_precios (producto_id, proveedor_id, precio_proveedor, precio_sistema, diferencia_absoluta,
                                 diferencia_porcentual, fecha_comparacion, confianza_match, activa)
SELECT producto_id, proveedor_id, pp, p_vig, pp - p_vig, round((pp - p_vig) / p_vig * 100, 2),
       now() - random() * interval '7 days', round((85 + random() * 15)::numeric, 2), true
FROM (
    SELECT a.*, round(a.p_vig * (1 + (random() - 0.5) * 0.08)::numeric, 2) AS pp
    FROM _pairs a
    WHERE a.prov_n = 1 AND a.i % 10 = 5
) z;

-- ---------------------------------------------------------------------------
-- Scraping: one run per night and leaf category, 03:00-06:00 UTC, last 30
-- nights (only runs already finished). One run below 80 % on the last two
-- nights and every sixth night, never two on the same night.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE _runs AS
SELECT row_number() OVER (ORDER BY r.fecha_inicio) AS r_idx, r.*,
       (SELECT logs_por_corrida FROM _seed) AS n_logs,
       round(r.exitosos * 100.0 / r.procesados, 2) AS tasa_exito,
       r.fecha_inicio + r.dur * interval '1 second' AS fecha_fin
FROM (
    SELECT q.*, round(q.procesados * q.tasa_obj / 100)::int AS exitosos
    FROM (
        SELECT n.n, c.idx, c.nombre AS categoria, c.codigo, c.slug,
               'maxiconsumo-' || to_char(d.d, 'YYYYMMDD') AS job_id,
               d.d + interval '3 hours' + c.idx * interval '22 minutes' + floor(random() * 120) * interval '1 second' AS fecha_inicio,
               600 + floor(random() * 600)::int AS dur,
               low.low,
               enc.encontrados,
               enc.encontrados - floor(random() * 3)::int AS procesados,
               CASE WHEN low.low THEN 62 + random() * 15
                    WHEN random() < 0.06 THEN 85 + random() * 7
                    ELSE 92 + random() * 8 END AS tasa_obj
        FROM generate_series(0, 29) n(n)
        CROSS JOIN _cat c
        CROSS JOIN LATERAL (SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') - n.n * interval '1 day') AT TIME ZONE 'UTC' AS d) d
        CROSS JOIN LATERAL (SELECT (n.n <= 1 OR n.n % 6 = 2) AND c.idx = (n.n * 3) % 8 AS low) low
        CROSS JOIN LATERAL (SELECT greatest(10, round((SELECT n_productos FROM _seed) / 8.0 * (0.97 + random() * 0.03)))::int AS encontrados) enc
    ) q
) r
WHERE r.fecha_inicio + r.dur * interval '1 second' <= now();
ANALYZE _runs;

INSERT INTO estadisticas_scraping (id, job_id, categoria, productos_encontrados, productos_procesados, productos_exitosos,
                                   productos_fallidos, tiempo_ejecucion_segundos, tasa_exito, fecha_inicio, fecha_fin,
                                   error_mensaje, created_at)
SELECT md5('scraping-' || job_id || '-' || codigo)::uuid, job_id, categoria, encontrados, procesados, exitosos,
       procesados - exitosos, dur, tasa_exito, fecha_inicio, fecha_fin,
       CASE WHEN low THEN 'Timeout de conexión con el sitio del proveedor tras 3 reintentos (HTTP 504) desde la página '
                          || (3 + idx) || ' de ' || categoria END,
       fecha_fin
FROM _runs;

-- Scraping logs: ~500 x scale rows a night, inside each run.
INSERT INTO logs_scraping (job_id, nivel, mensaje, categoria, producto_sku, "timestamp", metadata)
SELECT x.job_id, x.nivel, x.mensaje, x.categoria,
       CASE WHEN strpos(x.mensaje, x.sku) > 0 THEN x.sku END,
       x.ts,
       CASE WHEN x.k = 1 OR x.k = x.m THEN jsonb_build_object('job_id', x.job_id, 'lote_tamano', 50)
            WHEN x.k % 5 IN (1, 2) OR x.nivel IN ('warn', 'error')
            THEN jsonb_build_object('pagina', x.pg, 'lote', x.lote, 'duracion_ms', x.ms, 'intento', 1 + (x.k % 3 = 0)::int)
       END
FROM (
    SELECT w.*,
           CASE
               WHEN w.k = 1 THEN
                   'Iniciando scraping de la categoría ' || w.categoria || ' (job ' || w.job_id
                   || ', lotes de 50 productos, espera de 2 a 5 s)'
               WHEN w.k = w.m THEN
                   'Scraping de ' || w.categoria || ' finalizado: ' || w.exitosos || ' de ' || w.procesados
                   || ' productos actualizados, tasa de éxito ' || w.tasa_exito || ' %, duración ' || w.dur || ' s'
               WHEN w.nivel = 'error' THEN
                   CASE w.k % 3
                       WHEN 0 THEN 'HTTP 503 al consultar la página ' || w.pg || ' de ' || w.categoria || ': reintentos agotados'
                       WHEN 1 THEN 'No se encontró coincidencia para el EAN ' || w.ean || ' en el catálogo del proveedor'
                       ELSE 'Error al interpretar el precio "$ ' || to_char(w.precio, 'FM999G990D00') || '" del SKU '
                            || w.sku || ': formato inesperado'
                   END
               WHEN w.nivel = 'warn' THEN
                   CASE w.k % 3
                       WHEN 0 THEN 'Reintento 2 de 3 para la página ' || w.pg || ': timeout tras 30000 ms'
                       WHEN 1 THEN 'Variación de precio inusual para el SKU ' || w.sku || ': +'
                                   || (11 + w.k % 30) || ' % respecto del ' || to_char(w.ts - interval '7 days', 'YYYY-MM-DD')
                       ELSE 'Producto sin stock en el proveedor, EAN ' || w.ean || ' (SKU ' || w.sku || ')'
                   END
               WHEN w.nivel = 'debug' THEN
                   'Parseando ficha del SKU ' || w.sku || ': ' || (10 + w.k % 6) || ' campos, ' || (1 + w.k % 3) || ' imágenes'
               ELSE
                   CASE w.k % 5
                       WHEN 0 THEN 'Producto actualizado, SKU ' || w.sku || ', EAN ' || w.ean || ': precio $'
                                   || w.precio || ' ARS (antes $' || round(w.precio / 1.05, 2) || ')'
                       WHEN 1 THEN 'Lote ' || w.lote || ' procesado: 50 productos en ' || w.ms || ' ms'
                       WHEN 2 THEN 'Página ' || w.pg || ' descargada de https://www.maxiconsumo.com/sucursal_necochea/'
                                   || w.slug || '?p=' || w.pg || ' en ' || w.ms || ' ms'
                       -- A v4-shaped UUID whose digit runs stay short (letters at fixed places).
                       WHEN 3 THEN (SELECT 'Precio de proveedor '
                                   || substr(w2.h, 1, 4) || substr('abcdef', 1 + get_byte(decode(w2.h, 'hex'), 1) % 6, 1)
                                   || substr(w2.h, 6, 3) || '-' || substr('abcdef', 1 + get_byte(decode(w2.h, 'hex'), 2) % 6, 1)
                                   || substr(w2.h, 10, 3) || '-4' || substr(w2.h, 14, 3) || '-'
                                   || substr('ab', 1 + get_byte(decode(w2.h, 'hex'), 3) % 2, 1) || substr(w2.h, 18, 3) || '-'
                                   || substr(w2.h, 21, 5) || substr('abcdef', 1 + get_byte(decode(w2.h, 'hex'), 4) % 6, 1)
                                   || substr(w2.h, 27, 6)
                                   || ' marcado vigente desde '
                                   || to_char(w.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
                                   FROM (SELECT md5(w.job_id || w.categoria || w.k) AS h) w2)
                       ELSE 'Coincidencia por código de barras: EAN ' || w.ean || ' corresponde al SKU ' || w.sku
                            || ' (confianza ' || (90 + w.k % 10) || ' %)'
                   END
           END AS mensaje
FROM (
    SELECT g.*, pr.sku, coalesce(pr.codigo_barras, 'sin código') AS ean, pr.precio_sugerido AS precio,
           CASE WHEN g.k = 1 OR g.k = g.m THEN 'info'
                WHEN g.u < (CASE WHEN g.low THEN 0.20 ELSE 0.015 END) THEN 'error'
                WHEN g.u < (CASE WHEN g.low THEN 0.30 ELSE 0.075 END) THEN 'warn'
                WHEN g.u < (CASE WHEN g.low THEN 0.33 ELSE 0.125 END) THEN 'debug'
                ELSE 'info' END AS nivel
    FROM (
        SELECT r.job_id, r.categoria, r.slug, r.low, r.exitosos, r.procesados, r.tasa_exito, r.dur,
               k.k, (SELECT logs_por_corrida FROM _seed) AS m, random() AS u,
               1 + k.k % 40 AS pg, 1 + k.k / 3 AS lote, 200 + floor(random() * 1800)::int AS ms,
               r.fecha_inicio + (k.k - 1) * r.dur * interval '1 second' / (SELECT logs_por_corrida FROM _seed) AS ts,
               1 + ((r.r_idx * 7919 + k.k * 104729) % (SELECT n_productos FROM _seed)) AS j
        FROM _runs r
        CROSS JOIN LATERAL generate_series(1, r.n_logs) k(k)      -- runs outer: rows come in time order
    ) g
    JOIN _prod pr ON pr.i = g.j
    OFFSET 0                                     -- keeps nivel computed once per row
) w
OFFSET 0                                         -- keeps mensaje computed once per row
) x;

-- ---------------------------------------------------------------------------
-- Stock movements: last 30 days, store hours (08:00-21:00 local = 11:00-24:00 UTC)
-- ---------------------------------------------------------------------------
INSERT INTO movimientos_deposito (producto_id, tipo_movimiento, cantidad, usuario_id, ubicacion_fisica, observaciones, created_at)
SELECT pr.id, z.tipo,
       CASE z.tipo WHEN 'entrada' THEN 6 + floor(random() * 43)::int
                   WHEN 'salida' THEN 1 + floor(random() * 6)::int
                   ELSE 1 + floor(random() * 3)::int END,
       md5('personal-' || (ARRAY[1, 3, 4, 5, 6, 7])[1 + z.g % 6])::uuid,
       'Pasillo ' || (1 + pr.cat_idx) || ' - Estante ' || chr(65 + (pr.i % 6)),
       CASE z.tipo WHEN 'entrada' THEN 'Recepción de mercadería, remito R-' || (1000 + z.g % 9000)
                   WHEN 'salida' THEN 'Reposición de góndola'
                   ELSE 'Ajuste por conteo cíclico' END,
       z.ts
FROM (
    SELECT g, (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
              - (g % 30) * interval '1 day' + interval '11 hours' + random() * interval '13 hours' AS ts,
           CASE WHEN random() < 0.3 THEN 'entrada' WHEN random() < 0.857 THEN 'salida' ELSE 'ajuste' END AS tipo,
           1 + floor(random() * (SELECT n_productos FROM _seed))::int AS j
    FROM generate_series(1, 30 * (SELECT movimientos_por_dia FROM _seed)) g
) z
JOIN _prod pr ON pr.i = z.j
WHERE z.ts <= now()
ORDER BY z.ts;

-- ---------------------------------------------------------------------------
-- Missing products: some resolved
-- ---------------------------------------------------------------------------
INSERT INTO productos_faltantes (producto_id, fecha_deteccion, resuelto, fecha_resolucion, proveedor_sugerido, notas, created_at)
SELECT pr.id, z.det, z.resuelto,
       CASE WHEN z.resuelto THEN z.det + (1 + random() * 4) * interval '1 day' END,
       (ARRAY['Maxiconsumo Necochea', 'Distribuidora Local', 'Mayorista Norte'])[1 + z.g % 3],
       CASE WHEN z.resuelto THEN 'Repuesto con el pedido semanal' ELSE 'Pedido solicitado al proveedor' END,
       z.det
FROM (
    SELECT g, g % 10 >= 3 AS resuelto,
           CASE WHEN g % 10 >= 3 THEN now() - (6 + random() * 22) * interval '1 day'
                ELSE now() - random() * interval '3 days' END AS det,
           CASE WHEN g <= 6 THEN 3 + (g - 1) * 25          -- the critically low products
                ELSE 1 + ((g * 104729) % (SELECT n_productos FROM _seed)) END AS j
    FROM generate_series(1, (SELECT n_faltantes FROM _seed)) g
) z
JOIN _prod pr ON pr.i = z.j;

-- ---------------------------------------------------------------------------
-- Tasks: every estado x prioridad; open tasks are young for their priority
-- (never overdue, never past their escalation time) and due in the future.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE _tasks AS
SELECT g, md5('tarea-' || g)::uuid AS id,
       (ARRAY['pendiente', 'en_progreso', 'completada', 'cancelada'])[1 + g % 4] AS estado,
       (ARRAY['baja', 'media', 'alta', 'critica'])[1 + (g / 4) % 4] AS prioridad,
       (ARRAY['reposicion', 'control_precios', 'inventario', 'mantenimiento', 'administrativa'])[1 + g % 5] AS tipo,
       md5('personal-' || (ARRAY[3, 4, 5, 6, 7, 8, 9, 10])[1 + g % 8])::uuid AS asignado_a,
       (ARRAY['lfernandez', 'dmartinez', 'slopez', 'fdiaz', 'cromero', 'nsosa', 'jalvarez', 'gbenitez'])[1 + g % 8]
           || '@minimarket-necochea.com.ar' AS destinatario,
       md5('personal-' || (ARRAY[1, 2, 3, 4])[1 + g % 4])::uuid AS creado_por,
       random() AS r1, random() AS r2,
       (SELECT c.nombre FROM _cat c WHERE c.idx = g % 8) AS cat_nombre
FROM generate_series(0, (SELECT n_tareas FROM _seed) - 1) g;

ALTER TABLE _tasks ADD COLUMN created_at timestamptz, ADD COLUMN vence timestamptz, ADD COLUMN completado timestamptz;
UPDATE _tasks SET
    created_at = CASE
        WHEN estado IN ('pendiente', 'en_progreso') THEN
            now() - CASE prioridad WHEN 'critica' THEN (5 + r1 * 45) * interval '1 minute'
                                   WHEN 'alta'    THEN (10 + r1 * 170) * interval '1 minute'
                                   WHEN 'media'   THEN (1 + r1 * 19) * interval '1 hour'
                                   ELSE (1 + r1 * 143) * interval '1 hour' END
        ELSE now() - (2 + r1 * 26) * interval '1 day' END;
UPDATE _tasks SET
    vence = CASE WHEN estado IN ('pendiente', 'en_progreso') THEN
                     now() + CASE prioridad WHEN 'critica' THEN (2 + r2 * 6) * interval '1 hour'
                                            ELSE (1 + r2 * 9) * interval '1 day' END
                 ELSE created_at + interval '3 days' END,
    completado = CASE WHEN estado = 'completada' THEN created_at + (1 + r2 * 40) * interval '1 hour' END;

INSERT INTO tareas_pendientes (id, titulo, descripcion, tipo, prioridad, estado, asignado_a, creado_por,
                               fecha_vencimiento, fecha_completado, created_at, updated_at)
SELECT id,
       CASE tipo WHEN 'reposicion' THEN 'Reponer góndola de ' || cat_nombre
                 WHEN 'control_precios' THEN 'Revisar precios de ' || cat_nombre || ' frente a Maxiconsumo'
                 WHEN 'inventario' THEN 'Conteo cíclico del pasillo ' || (1 + g % 8)
                 WHEN 'mantenimiento' THEN 'Revisar cámara de frío del depósito'
                 ELSE 'Cargar remitos pendientes de ' || cat_nombre END,
       'Tarea generada por el sistema (' || tipo || ')',
       tipo, prioridad, estado, asignado_a, creado_por, vence, completado, created_at,
       coalesce(completado, created_at)
FROM _tasks;

-- One assignment notification per task (sent unless younger than 1 h), one
-- completion notification per finished task.
INSERT INTO notificaciones_tareas (tarea_id, tipo, destinatario, mensaje, enviada, fecha_envio, intentos, created_at)
SELECT id, 'asignacion', destinatario,
       'Se te asignó la tarea de prioridad ' || prioridad || ', vence el ' || to_char(vence AT TIME ZONE 'America/Argentina/Buenos_Aires', 'YYYY-MM-DD HH24:MI'),
       created_at + interval '1 minute' < now() - interval '1 hour',
       CASE WHEN created_at + interval '1 minute' < now() - interval '1 hour'
            THEN created_at + interval '1 minute' + r2 * interval '55 minutes' END,
       CASE WHEN created_at + interval '1 minute' < now() - interval '1 hour' THEN 1 + (g % 7 = 0)::int ELSE 0 END,
       created_at + interval '1 minute'
FROM _tasks
UNION ALL
SELECT id, 'completada', 'lfernandez@minimarket-necochea.com.ar',
       'Tarea completada el ' || to_char(completado AT TIME ZONE 'America/Argentina/Buenos_Aires', 'YYYY-MM-DD HH24:MI'),
       true, completado + interval '10 minutes', 1, completado
FROM _tasks
WHERE estado = 'completada';

-- ---------------------------------------------------------------------------
-- Audit log: 30 days of activity of the active staff (user_id = personal.id);
-- a login of each active member in the last day; nothing from inactive staff.
-- ---------------------------------------------------------------------------
INSERT INTO audit_log (created_at, event_type, table_name, user_id, old_data, new_data)
SELECT z.ts, z.ev,
       CASE WHEN z.ev IN ('LOGIN', 'LOGOUT') THEN NULL ELSE z.tbl END,
       s.id,
       CASE z.ev WHEN 'UPDATE' THEN jsonb_build_object(z.campo, z.v1)
                 WHEN 'DELETE' THEN jsonb_build_object(z.campo, z.v1) END,
       CASE z.ev WHEN 'UPDATE' THEN jsonb_build_object(z.campo, z.v2)
                 WHEN 'INSERT' THEN jsonb_build_object(z.campo, z.v2) END
FROM (
    SELECT g, now() - random() * interval '29 days' AS ts,
           CASE WHEN u < 0.25 THEN 'LOGIN' WHEN u < 0.30 THEN 'LOGOUT' WHEN u < 0.70 THEN 'UPDATE'
                WHEN u < 0.95 THEN 'INSERT' ELSE 'DELETE' END AS ev,
           1 + g % 10 AS staff_n,
           (ARRAY['stock_deposito', 'movimientos_deposito', 'productos', 'precios_proveedor', 'tareas_pendientes', 'categorias'])[1 + (g / 10) % 6] AS tbl,
           (ARRAY['stock_actual', 'cantidad', 'precio_sugerido', 'precio_compra', 'estado', 'activo'])[1 + (g / 10) % 6] AS campo,
           floor(random() * 100)::int AS v1, floor(random() * 100)::int AS v2
    FROM (SELECT g, random() AS u FROM generate_series(1, (SELECT n_audit FROM _seed)) g) gg
) z
JOIN _staff s ON s.n = z.staff_n AND s.activo
UNION ALL
SELECT now() - (1 + s.n * 7) * interval '1 minute' * 10, 'LOGIN', NULL, s.id, NULL, NULL
FROM _staff s
WHERE s.activo
UNION ALL
SELECT now() - s.n * interval '13 hours', 'FAILED_LOGIN', NULL, s.id, NULL, jsonb_build_object('motivo', 'credenciales inválidas')
FROM _staff s
WHERE s.n IN (3, 8, 9)
ORDER BY 1;

-- ---------------------------------------------------------------------------
-- Failed logins: last 7 days, scattered IPs, at most 2 attempts per IP.
-- ---------------------------------------------------------------------------
INSERT INTO failed_login_attempts (ip_address, email, attempt_time, user_agent)
SELECT '181.0.0.0'::inet + ((CASE WHEN g % 3 = 0 THEN 1000000 + g ELSE g / 3 END)::bigint * 7919 % 16777216),
       CASE WHEN g % 4 = 0 THEN (SELECT email FROM _staff WHERE n = 1 + g % 10)
            WHEN g % 4 = 1 THEN 'admin@minimarket-necochea.com.ar'
            WHEN g % 4 = 2 THEN 'compras@minimarket-necochea.com.ar'
            ELSE 'usuario' || (g % 97) || '@gmail.com' END,
       now() - random() * interval '7 days',
       (ARRAY['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
              'Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 Mobile Safari/537.36',
              'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
              'python-requests/2.31'])[1 + g % 4]
FROM generate_series(1, (SELECT n_failed_logins FROM _seed)) g;

-- ---------------------------------------------------------------------------
-- Security logs, system alerts (all resolved), system status
-- ---------------------------------------------------------------------------
INSERT INTO security_logs (event_type, description, severity, "timestamp")
SELECT (ARRAY['LOGIN_SUCCESS', 'SESSION_EXPIRED', 'ROLE_REVIEW', 'RATE_LIMITED', 'POLICY_REVIEW', 'BACKUP_VERIFIED'])[1 + g % 6],
       (ARRAY['Inicio de sesión correcto desde la red del local',
              'Sesión expirada por inactividad',
              'Revisión periódica de roles del personal sin cambios',
              'Límite de solicitudes alcanzado por un cliente de la API (HTTP 429)',
              'Revisión de políticas de seguridad a nivel de fila sin observaciones',
              'Verificación de la copia de seguridad diaria correcta'])[1 + g % 6],
       (ARRAY['info', 'info', 'info', 'baja', 'info', 'info'])[1 + g % 6],
       now() - random() * interval '29 days'
FROM generate_series(1, (SELECT n_security_logs FROM _seed)) g
UNION ALL
SELECT 'ACCESS_REVOKED', 'Access revoked for user: ' || s.email, 'alta', now() - (40 + s.n) * interval '1 day'
FROM _staff s
WHERE NOT s.activo;

INSERT INTO alertas_sistema (tipo, mensaje, severidad, fecha_creacion, resuelta, fecha_resolucion)
VALUES
    ('SCRAPING_FALLA', 'Se detectaron 4 fallos de scraping en 24h', 'alta', now() - interval '26 days', true, now() - interval '26 days' + interval '3 hours'),
    ('STOCK_CRITICO', 'Hay 12 productos con stock críticamente bajo', 'critica', now() - interval '19 days', true, now() - interval '18 days'),
    ('API_LATENCIA', 'Tiempo de respuesta promedio de la API sobre 200 ms durante 15 minutos', 'media', now() - interval '12 days', true, now() - interval '12 days' + interval '40 minutes'),
    ('SCRAPING_FALLA', 'Se detectaron 5 fallos de scraping en 24h', 'alta', now() - interval '8 days', true, now() - interval '8 days' + interval '5 hours'),
    ('BACKUP', 'La copia de seguridad incremental de las 06:00 terminó con demora', 'baja', now() - interval '4 days', true, now() - interval '4 days' + interval '2 hours'),
    ('API_LATENCIA', 'Tiempo de respuesta promedio de la API sobre 200 ms durante 5 minutos', 'media', now() - interval '2 days', true, now() - interval '2 days' + interval '20 minutes');

INSERT INTO system_status (status, message, started_at, ended_at)
VALUES ('operational', 'Sistema operativo', now() - interval '21 days', NULL);

-- ---------------------------------------------------------------------------
-- API requests: last 24 h (23.5 h, so a check run soon after the load sees them all), 20-150 ms, mostly 2xx
-- ---------------------------------------------------------------------------
INSERT INTO api_requests (created_at, endpoint, method, response_time, status_code)
SELECT now() - random() * interval '23 hours 30 minutes',      -- margin: the window is "last 24 h"
       (ARRAY['/functions/v1/api-minimarket/productos', '/functions/v1/api-minimarket/productos', '/functions/v1/api-minimarket/stock',
              '/functions/v1/api-minimarket/categorias', '/functions/v1/api-minimarket/precios', '/functions/v1/api-minimarket/deposito',
              '/functions/v1/api-minimarket/proveedores', '/functions/v1/api-minimarket', '/functions/v1/api-proveedor/status',
              '/functions/v1/api-proveedor/precios'])[1 + g % 10],
       CASE WHEN g % 23 = 0 THEN 'POST' WHEN g % 41 = 0 THEN 'PUT' ELSE 'GET' END,
       20 + floor(random() * 131)::int,
       CASE WHEN u < 0.90 THEN 200 WHEN u < 0.93 THEN 201 WHEN u < 0.95 THEN 304 WHEN u < 0.97 THEN 404
            WHEN u < 0.985 THEN 401 WHEN u < 0.995 THEN 400 WHEN u < 0.999 THEN 429 ELSE 500 END
FROM (SELECT g, random() AS u FROM generate_series(1, (SELECT n_api_requests FROM _seed)) g) z
ORDER BY 1;

-- ---------------------------------------------------------------------------
-- Self-check of the health invariants, then the derived objects
-- ---------------------------------------------------------------------------
DO $seedcheck$
DECLARE
    n integer;
BEGIN
    SELECT count(*) INTO n FROM public.stock_deposito WHERE deposito = 'principal' AND stock_actual * 2 <= stock_minimo;
    IF n > 10 THEN RAISE EXCEPTION '03_seed.sql: % critically low stock rows', n; END IF;
    SELECT count(*) INTO n FROM public.estadisticas_scraping WHERE fecha_inicio > now() - interval '24 hours';
    IF n = 0 THEN RAISE EXCEPTION '03_seed.sql: no scraping runs in the last 24 h'; END IF;
    SELECT count(*) INTO n FROM public.estadisticas_scraping WHERE fecha_inicio > now() - interval '24 hours' AND tasa_exito < 80;
    IF n > 3 THEN RAISE EXCEPTION '03_seed.sql: % failed scraping runs in the last 24 h', n; END IF;
END
$seedcheck$;

-- Keys, indexes and foreign keys back, as defined (foreign keys validated).
DO $crear$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT * FROM _ddl ORDER BY fase, tabla, nombre LOOP
        EXECUTE d.crear;
    END LOOP;
END
$crear$;

REFRESH MATERIALIZED VIEW mv_estadisticas_diarias;

DROP TABLE pg_temp._ddl, pg_temp._seed, pg_temp._cat, pg_temp._prod, pg_temp._staff, pg_temp._pairs, pg_temp._runs, pg_temp._tasks;

ANALYZE;
