-- 01_schema.sql: the Mini Market reference schema (TARGET-SYSTEM.md), schema public.
--
-- The published schema plus the objects the runbook uses but never defines
-- (audit_log, failed_login_attempts, security_logs, alertas_sistema,
-- system_status, api_requests, mv_estadisticas_diarias and the vista_* views),
-- with the runbook errata corrected. Run after 00_supabase.sql, as postgres,
-- in one transaction, in a fresh database.

-- ===========================================================================
-- Catalogue
-- ===========================================================================
CREATE TABLE categorias (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    codigo        text NOT NULL,
    nombre        text NOT NULL,
    descripcion   text,
    parent_id     uuid,
    nivel         integer NOT NULL DEFAULT 1,
    margen_minimo numeric(5,2),
    margen_maximo numeric(5,2),
    activo        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categorias_codigo_key UNIQUE (codigo),
    CONSTRAINT categorias_nivel_check CHECK (nivel >= 1),
    CONSTRAINT categorias_margenes_check CHECK (margen_minimo IS NULL OR margen_maximo IS NULL OR margen_minimo <= margen_maximo),
    CONSTRAINT categorias_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES categorias (id)
);
CREATE INDEX categorias_parent_id_idx ON categorias (parent_id);

CREATE TABLE productos (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    nombre          text NOT NULL,
    descripcion     text,
    codigo_barras   text,
    sku             text,
    categoria_id    uuid,
    marca           text,
    contenido_neto  text,
    dimensiones     jsonb,
    activo          boolean NOT NULL DEFAULT true,
    precio_sugerido numeric(12,2),
    observaciones   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT productos_codigo_barras_key UNIQUE (codigo_barras),
    CONSTRAINT productos_sku_key UNIQUE (sku),
    CONSTRAINT productos_categoria_id_fkey FOREIGN KEY (categoria_id) REFERENCES categorias (id)
);
CREATE INDEX productos_categoria_id_idx ON productos (categoria_id);

CREATE TABLE proveedores (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    nombre        text NOT NULL,
    direccion     text,
    telefono      text,
    email         text,
    sitio_web     text,
    activo        boolean NOT NULL DEFAULT true,
    configuracion jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT proveedores_nombre_key UNIQUE (nombre)
);

-- ===========================================================================
-- Staff
-- ===========================================================================
CREATE TABLE personal (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    nombre        text NOT NULL,
    email         text NOT NULL,
    telefono      text,
    rol           text,
    activo        boolean NOT NULL DEFAULT true,
    fecha_ingreso date NOT NULL DEFAULT current_date,
    configuracion jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT personal_email_key UNIQUE (email),
    CONSTRAINT personal_rol_check CHECK (rol IN ('admin', 'deposito', 'ventas', 'supervisor'))
);

-- ===========================================================================
-- Stock
-- ===========================================================================
CREATE TABLE stock_deposito (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    producto_id          uuid NOT NULL,
    deposito             text NOT NULL DEFAULT 'principal',
    stock_actual         integer NOT NULL DEFAULT 0,
    stock_minimo         integer NOT NULL DEFAULT 0,
    stock_maximo         integer,
    ubicacion_fisica     text,
    ultima_actualizacion timestamptz NOT NULL DEFAULT now(),
    activo               boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_deposito_producto_id_deposito_key UNIQUE (producto_id, deposito),
    CONSTRAINT stock_deposito_producto_id_fkey FOREIGN KEY (producto_id) REFERENCES productos (id) ON DELETE CASCADE
);
-- producto_id is the leading column of stock_deposito_producto_id_deposito_key,
-- which serves the foreign key; a separate index on it would be redundant.
CREATE INDEX stock_deposito_deposito_idx ON stock_deposito (deposito);

CREATE TABLE movimientos_deposito (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    producto_id      uuid NOT NULL,
    tipo_movimiento  text NOT NULL,
    cantidad         integer NOT NULL,
    usuario_id       uuid,
    ubicacion_fisica text,
    observaciones    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT movimientos_deposito_tipo_movimiento_check CHECK (tipo_movimiento IN ('entrada', 'salida', 'ajuste')),
    CONSTRAINT movimientos_deposito_producto_id_fkey FOREIGN KEY (producto_id) REFERENCES productos (id),
    CONSTRAINT movimientos_deposito_usuario_id_fkey FOREIGN KEY (usuario_id) REFERENCES personal (id) ON DELETE SET NULL
);
CREATE INDEX movimientos_deposito_producto_id_idx ON movimientos_deposito (producto_id);
CREATE INDEX movimientos_deposito_usuario_id_idx ON movimientos_deposito (usuario_id);
CREATE INDEX movimientos_deposito_created_at_idx ON movimientos_deposito (created_at);

CREATE TABLE productos_faltantes (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    producto_id        uuid NOT NULL,
    fecha_deteccion    timestamptz NOT NULL DEFAULT now(),
    resuelto           boolean NOT NULL DEFAULT false,
    fecha_resolucion   timestamptz,
    proveedor_sugerido text,
    notas              text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT productos_faltantes_producto_id_fkey FOREIGN KEY (producto_id) REFERENCES productos (id) ON DELETE CASCADE
);
CREATE INDEX productos_faltantes_producto_id_idx ON productos_faltantes (producto_id);

-- ===========================================================================
-- Tasks
-- ===========================================================================
CREATE TABLE tareas_pendientes (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    titulo            text NOT NULL,
    descripcion       text,
    tipo              text,
    prioridad         text NOT NULL DEFAULT 'media',
    estado            text NOT NULL DEFAULT 'pendiente',
    asignado_a        uuid,
    creado_por        uuid,
    fecha_vencimiento timestamptz,
    fecha_completado  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tareas_pendientes_prioridad_check CHECK (prioridad IN ('baja', 'media', 'alta', 'critica')),
    CONSTRAINT tareas_pendientes_estado_check CHECK (estado IN ('pendiente', 'en_progreso', 'completada', 'cancelada')),
    CONSTRAINT tareas_pendientes_asignado_a_fkey FOREIGN KEY (asignado_a) REFERENCES personal (id) ON DELETE SET NULL,
    CONSTRAINT tareas_pendientes_creado_por_fkey FOREIGN KEY (creado_por) REFERENCES personal (id) ON DELETE SET NULL
);
CREATE INDEX tareas_pendientes_asignado_a_idx ON tareas_pendientes (asignado_a);
CREATE INDEX tareas_pendientes_creado_por_idx ON tareas_pendientes (creado_por);
CREATE INDEX tareas_pendientes_estado_prioridad_idx ON tareas_pendientes (estado, prioridad);

CREATE TABLE notificaciones_tareas (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tarea_id     uuid NOT NULL,
    tipo         text NOT NULL,
    destinatario text NOT NULL,
    mensaje      text NOT NULL,
    enviada      boolean NOT NULL DEFAULT false,
    fecha_envio  timestamptz,
    intentos     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notificaciones_tareas_intentos_check CHECK (intentos >= 0),
    CONSTRAINT notificaciones_tareas_tarea_id_fkey FOREIGN KEY (tarea_id) REFERENCES tareas_pendientes (id) ON DELETE CASCADE
);
CREATE INDEX notificaciones_tareas_tarea_id_idx ON notificaciones_tareas (tarea_id);

-- ===========================================================================
-- Suppliers and prices
-- ===========================================================================
CREATE TABLE precios_proveedor (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    producto_id          uuid NOT NULL,
    proveedor_id         uuid NOT NULL,
    precio_compra        numeric(12,2) NOT NULL,
    precio_anterior      numeric(12,2),
    fecha_vigencia_desde timestamptz NOT NULL DEFAULT now(),
    fecha_vigencia_hasta timestamptz,
    moneda               text NOT NULL DEFAULT 'ARS',
    es_precio_vigente    boolean NOT NULL DEFAULT true,
    fuente               text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT precios_proveedor_precio_compra_check CHECK (precio_compra > 0),
    CONSTRAINT precios_proveedor_moneda_check CHECK (moneda IN ('ARS', 'USD')),
    CONSTRAINT precios_proveedor_producto_id_fkey FOREIGN KEY (producto_id) REFERENCES productos (id) ON DELETE CASCADE,
    CONSTRAINT precios_proveedor_proveedor_id_fkey FOREIGN KEY (proveedor_id) REFERENCES proveedores (id)
);
-- Errata 9: the published CHECK with a subquery is impossible; the rule "one
-- vigente price per product and supplier" is this partial unique index.
CREATE UNIQUE INDEX precios_proveedor_un_vigente ON precios_proveedor (producto_id, proveedor_id) WHERE es_precio_vigente;
CREATE INDEX precios_proveedor_producto_id_idx ON precios_proveedor (producto_id);
CREATE INDEX precios_proveedor_proveedor_id_idx ON precios_proveedor (proveedor_id);

CREATE TABLE comparacion_precios (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    producto_id           uuid NOT NULL,
    proveedor_id          uuid NOT NULL,
    precio_proveedor      numeric(12,2),
    precio_sistema        numeric(12,2),
    diferencia_absoluta   numeric(12,2),
    diferencia_porcentual numeric(8,2),
    fecha_comparacion     timestamptz NOT NULL DEFAULT now(),
    confianza_match       numeric(5,2),
    activa                boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT comparacion_precios_confianza_match_check CHECK (confianza_match BETWEEN 0 AND 100),
    CONSTRAINT comparacion_precios_producto_id_fkey FOREIGN KEY (producto_id) REFERENCES productos (id) ON DELETE CASCADE,
    CONSTRAINT comparacion_precios_proveedor_id_fkey FOREIGN KEY (proveedor_id) REFERENCES proveedores (id)
);
CREATE INDEX comparacion_precios_producto_id_idx ON comparacion_precios (producto_id);
CREATE INDEX comparacion_precios_proveedor_id_idx ON comparacion_precios (proveedor_id);

CREATE TABLE alertas_cambios_precios (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    producto_id         uuid NOT NULL,
    proveedor_id        uuid NOT NULL,
    precio_anterior     numeric(12,2),
    precio_nuevo        numeric(12,2),
    cambio_absoluto     numeric(12,2),
    cambio_porcentual   numeric(8,2),
    severidad           text NOT NULL,
    fecha_alerta        timestamptz NOT NULL DEFAULT now(),
    procesada           boolean NOT NULL DEFAULT false,
    fecha_procesamiento timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alertas_cambios_precios_severidad_check CHECK (severidad IN ('baja', 'media', 'alta', 'critica')),
    CONSTRAINT alertas_cambios_precios_producto_id_fkey FOREIGN KEY (producto_id) REFERENCES productos (id) ON DELETE CASCADE,
    CONSTRAINT alertas_cambios_precios_proveedor_id_fkey FOREIGN KEY (proveedor_id) REFERENCES proveedores (id)
);
CREATE INDEX alertas_cambios_precios_producto_id_idx ON alertas_cambios_precios (producto_id);
CREATE INDEX alertas_cambios_precios_proveedor_id_idx ON alertas_cambios_precios (proveedor_id);
CREATE INDEX alertas_cambios_precios_procesada_fecha_alerta_idx ON alertas_cambios_precios (procesada, fecha_alerta);

CREATE TABLE configuracion_proveedor (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    proveedor_id uuid NOT NULL,
    clave        text NOT NULL,
    valor        text,
    descripcion  text,
    tipo_dato    text NOT NULL DEFAULT 'string',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT configuracion_proveedor_proveedor_id_clave_key UNIQUE (proveedor_id, clave),
    CONSTRAINT configuracion_proveedor_proveedor_id_fkey FOREIGN KEY (proveedor_id) REFERENCES proveedores (id) ON DELETE CASCADE
);
-- proveedor_id leads configuracion_proveedor_proveedor_id_clave_key.

-- ===========================================================================
-- Scraping
-- ===========================================================================
CREATE TABLE estadisticas_scraping (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id                    text NOT NULL,
    categoria                 text,
    productos_encontrados     integer NOT NULL DEFAULT 0,
    productos_procesados      integer NOT NULL DEFAULT 0,
    productos_exitosos        integer NOT NULL DEFAULT 0,
    productos_fallidos        integer NOT NULL DEFAULT 0,
    tiempo_ejecucion_segundos numeric(10,2),
    tasa_exito                numeric(5,2),
    fecha_inicio              timestamptz NOT NULL DEFAULT now(),
    fecha_fin                 timestamptz,
    error_mensaje             text,
    created_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT estadisticas_scraping_tasa_exito_check CHECK (tasa_exito BETWEEN 0 AND 100)
);
CREATE INDEX estadisticas_scraping_fecha_inicio_idx ON estadisticas_scraping (fecha_inicio);

CREATE TABLE logs_scraping (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id      text,
    nivel       text NOT NULL DEFAULT 'info',
    mensaje     text NOT NULL,
    categoria   text,
    producto_sku text,
    "timestamp" timestamptz NOT NULL DEFAULT now(),
    metadata    jsonb,
    CONSTRAINT logs_scraping_nivel_check CHECK (nivel IN ('debug', 'info', 'warn', 'error'))
);
CREATE INDEX logs_scraping_timestamp_idx ON logs_scraping ("timestamp");

-- ===========================================================================
-- Objects the runbook uses but the published schema lacks
-- ===========================================================================
CREATE TABLE audit_log (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),   -- errata 16: the one timestamp
    event_type text NOT NULL,
    table_name text,
    user_id    uuid,                                 -- personal.id (auth.uid()); no FK: history outlives staff rows
    old_data   jsonb,
    new_data   jsonb
);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at);
CREATE INDEX audit_log_user_id_created_at_idx ON audit_log (user_id, created_at);

CREATE TABLE failed_login_attempts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    ip_address   inet NOT NULL,
    email        text,
    attempt_time timestamptz NOT NULL DEFAULT now(),
    user_agent   text
);
CREATE INDEX failed_login_attempts_attempt_time_idx ON failed_login_attempts (attempt_time);

CREATE TABLE security_logs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_type  text NOT NULL,
    description text,
    severity    text NOT NULL DEFAULT 'info',
    "timestamp" timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT security_logs_severity_check CHECK (severity IN ('info', 'baja', 'media', 'alta', 'critica'))
);
CREATE INDEX security_logs_timestamp_idx ON security_logs ("timestamp");

CREATE TABLE alertas_sistema (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tipo             text NOT NULL,
    mensaje          text NOT NULL,
    severidad        text NOT NULL,
    fecha_creacion   timestamptz NOT NULL DEFAULT now(),
    resuelta         boolean NOT NULL DEFAULT false,
    fecha_resolucion timestamptz,
    CONSTRAINT alertas_sistema_severidad_check CHECK (severidad IN ('info', 'baja', 'media', 'alta', 'critica'))
);
CREATE INDEX alertas_sistema_fecha_creacion_idx ON alertas_sistema (fecha_creacion);

CREATE TABLE system_status (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status     text NOT NULL,
    message    text,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz,
    CONSTRAINT system_status_status_check CHECK (status IN ('operational', 'degraded', 'maintenance', 'down'))
);

CREATE TABLE api_requests (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    endpoint      text NOT NULL,
    method        text NOT NULL DEFAULT 'GET',
    response_time integer,                 -- milliseconds
    status_code   integer NOT NULL,
    CONSTRAINT api_requests_response_time_check CHECK (response_time >= 0),
    CONSTRAINT api_requests_status_code_check CHECK (status_code BETWEEN 100 AND 599)
);
CREATE INDEX api_requests_created_at_idx ON api_requests (created_at);

-- ===========================================================================
-- updated_at triggers
-- ===========================================================================
CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER
    SET search_path = public, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

DO $triggers$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['categorias', 'productos', 'proveedores', 'personal', 'stock_deposito',
                             'tareas_pendientes', 'precios_proveedor', 'configuracion_proveedor']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON public.%I FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()',
                       t || '_set_updated_at', t);
    END LOOP;
END
$triggers$;

-- ===========================================================================
-- Views (all security_invoker: the caller's privileges and RLS apply)
-- ===========================================================================
CREATE VIEW vista_productos_con_stock WITH (security_invoker = true) AS
SELECT
    p.id,
    p.nombre,
    p.codigo_barras,
    p.sku,
    p.marca,
    p.contenido_neto,
    p.precio_sugerido,
    p.categoria_id,
    c.codigo  AS categoria_codigo,
    c.nombre  AS categoria_nombre,
    s.deposito,
    s.stock_actual,
    s.stock_minimo,
    s.stock_maximo,
    s.ubicacion_fisica,
    (s.stock_actual <= s.stock_minimo)     AS stock_bajo,
    (s.stock_actual * 2 <= s.stock_minimo) AS stock_critico,
    s.ultima_actualizacion
FROM productos p
LEFT JOIN categorias c ON c.id = p.categoria_id
LEFT JOIN stock_deposito s ON s.producto_id = p.id AND s.activo
WHERE p.activo;

CREATE VIEW vista_alertas_activas WITH (security_invoker = true) AS
SELECT
    'precio'::text      AS origen,
    a.id,
    'CAMBIO_PRECIO'::text AS tipo,
    format('Cambio de precio de %s%% (%s -> %s)', a.cambio_porcentual, a.precio_anterior, a.precio_nuevo) AS mensaje,
    a.severidad,
    a.fecha_alerta      AS fecha,
    a.producto_id,
    a.proveedor_id
FROM alertas_cambios_precios a
WHERE NOT a.procesada
UNION ALL
SELECT
    'sistema'::text,
    s.id,
    s.tipo,
    s.mensaje,
    s.severidad,
    s.fecha_creacion,
    NULL::uuid,
    NULL::uuid
FROM alertas_sistema s
WHERE NOT s.resuelta;

-- Runbook 7.2, reading audit_log.created_at (errata 16).
CREATE VIEW vista_control_accesos WITH (security_invoker = true) AS
SELECT
    p.id,
    p.nombre,
    p.email,
    p.rol,
    p.activo,
    p.fecha_ingreso,
    (SELECT max(a.created_at) FROM audit_log a WHERE a.user_id = p.id) AS ultimo_acceso,
    (SELECT count(*) FROM audit_log a
      WHERE a.user_id = p.id AND a.created_at > now() - interval '7 days') AS accesos_semana,
    (SELECT string_agg(DISTINCT a.table_name, ', ') FROM audit_log a
      WHERE a.user_id = p.id AND a.created_at > now() - interval '7 days') AS tablas_accedidas
FROM personal p
WHERE p.activo = true;

-- Runbook 4.3.
CREATE VIEW vista_monitoreo_tiempo_real WITH (security_invoker = true) AS
SELECT
    (SELECT count(*) FROM api_requests WHERE created_at > now() - interval '1 hour') AS requests_last_hour,
    (SELECT avg(response_time) FROM api_requests WHERE created_at > now() - interval '1 hour') AS avg_response_time,
    (SELECT count(*) FROM api_requests WHERE status_code >= 400 AND created_at > now() - interval '1 hour') AS errors_last_hour,
    (SELECT count(*) FROM pg_stat_activity WHERE state = 'active') AS active_connections,
    (SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction') AS idle_transactions,
    (SELECT count(*) FROM productos WHERE activo = true) AS total_productos,
    (SELECT count(*) FROM stock_deposito WHERE stock_actual <= stock_minimo) AS productos_stock_bajo,
    (SELECT count(*) FROM tareas_pendientes WHERE estado = 'pendiente') AS tareas_pendientes,
    (SELECT count(*) FROM alertas_cambios_precios WHERE procesada = false) AS alertas_pendientes,
    (SELECT avg(tasa_exito) FROM estadisticas_scraping WHERE fecha_inicio > now() - interval '24 hours') AS scraping_success_rate,
    (SELECT max(fecha_inicio) FROM estadisticas_scraping WHERE fecha_inicio > now() - interval '24 hours') AS last_scraping_run,
    now() AS "timestamp";

-- ===========================================================================
-- Materialized view: one row per (Argentine local) day
-- ===========================================================================
CREATE MATERIALIZED VIEW mv_estadisticas_diarias AS
WITH s AS (
    SELECT (fecha_inicio AT TIME ZONE 'America/Argentina/Buenos_Aires')::date AS fecha,
           count(*)                                   AS ejecuciones_scraping,
           count(*) FILTER (WHERE tasa_exito < 80)    AS ejecuciones_fallidas,
           round(avg(tasa_exito), 2)                  AS tasa_exito_promedio,
           coalesce(sum(productos_procesados), 0)     AS productos_procesados,
           coalesce(sum(productos_exitosos), 0)       AS productos_exitosos,
           coalesce(sum(productos_fallidos), 0)       AS productos_fallidos
    FROM estadisticas_scraping
    GROUP BY 1
), m AS (
    SELECT (created_at AT TIME ZONE 'America/Argentina/Buenos_Aires')::date AS fecha,
           count(*)                                             AS movimientos,
           count(*) FILTER (WHERE tipo_movimiento = 'entrada')  AS movimientos_entrada,
           count(*) FILTER (WHERE tipo_movimiento = 'salida')   AS movimientos_salida,
           count(*) FILTER (WHERE tipo_movimiento = 'ajuste')   AS movimientos_ajuste
    FROM movimientos_deposito
    GROUP BY 1
), a AS (
    SELECT (fecha_alerta AT TIME ZONE 'America/Argentina/Buenos_Aires')::date AS fecha,
           count(*)                                         AS alertas_precios,
           count(*) FILTER (WHERE severidad = 'critica')    AS alertas_precios_criticas
    FROM alertas_cambios_precios
    GROUP BY 1
), d AS (
    SELECT fecha FROM s UNION SELECT fecha FROM m UNION SELECT fecha FROM a
)
SELECT d.fecha,
       coalesce(s.ejecuciones_scraping, 0)      AS ejecuciones_scraping,
       coalesce(s.ejecuciones_fallidas, 0)      AS ejecuciones_fallidas,
       s.tasa_exito_promedio,
       coalesce(s.productos_procesados, 0)      AS productos_procesados,
       coalesce(s.productos_exitosos, 0)        AS productos_exitosos,
       coalesce(s.productos_fallidos, 0)        AS productos_fallidos,
       coalesce(m.movimientos, 0)               AS movimientos,
       coalesce(m.movimientos_entrada, 0)       AS movimientos_entrada,
       coalesce(m.movimientos_salida, 0)        AS movimientos_salida,
       coalesce(m.movimientos_ajuste, 0)        AS movimientos_ajuste,
       coalesce(a.alertas_precios, 0)           AS alertas_precios,
       coalesce(a.alertas_precios_criticas, 0)  AS alertas_precios_criticas,
       now()                                    AS actualizado_en
FROM d
LEFT JOIN s ON s.fecha = d.fecha
LEFT JOIN m ON m.fecha = d.fecha
LEFT JOIN a ON a.fecha = d.fecha;

-- Unique, so that REFRESH MATERIALIZED VIEW CONCURRENTLY is possible.
CREATE UNIQUE INDEX mv_estadisticas_diarias_fecha_idx ON mv_estadisticas_diarias (fecha);

-- ===========================================================================
-- Functions of the runbook, corrected
-- ===========================================================================

-- Runbook 7.1 with errata 7 and 17: text columns, no trailing LIMIT 1 (every
-- finding is returned), and a leak pattern that does not fire on dates, EAN-13
-- barcodes, SKUs or UUIDs: card-length digit runs (15-19 contiguous digits, or
-- the 4-4-4-4 and 4-6-5 groupings), JWTs, Supabase/Stripe-style secret keys
-- and password assignments. The suite's own detector (with Luhn and network
-- prefixes) is stricter; this one only has to be correct.
CREATE FUNCTION security_audit()
RETURNS TABLE (audit_type text, finding text, severity text, recommendation text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT 'USERS'::text,
           'Usuario activo sin rol asignado: ' || p.email,
           'media'::text,
           'Asignar rol apropiado al usuario'::text
    FROM personal p
    WHERE p.rol IS NULL
      AND p.activo;

    RETURN QUERY
    SELECT 'AUTHENTICATION'::text,
           'Intentos de login fallidos múltiples desde IP: ' || host(f.ip_address)
               || ' (' || count(*) || ' en 24 h)',
           'alta'::text,
           'Revisar y bloquear IP si es necesario'::text
    FROM failed_login_attempts f
    WHERE f.attempt_time > now() - interval '24 hours'
    GROUP BY f.ip_address
    HAVING count(*) > 5;

    RETURN QUERY
    SELECT 'DATA_LEAKAGE'::text,
           'Posible exposición de datos sensibles en logs: ' || count(*) || ' mensajes en 7 días',
           'critica'::text,
           'Revisar y limpiar logs, implementar masking'::text
    FROM logs_scraping l
    WHERE l."timestamp" > now() - interval '7 days'
      AND (   l.mensaje ~ '(^|[^0-9A-Za-z_-])([0-9]{15,19}|[0-9]{4}([ -][0-9]{4}){3}|[0-9]{4}[ -][0-9]{6}[ -][0-9]{5})($|[^0-9A-Za-z_-])'
           OR l.mensaje ~ 'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*'
           OR l.mensaje ~ '(sb_secret_|sb_publishable_|sk_live_|sk_test_)[A-Za-z0-9_-]{8,}'
           OR l.mensaje ~* '(password|passwd|contrase(ñ|n)a|secret|api[_-]?key|token)\s*[=:]\s*\S+')
    HAVING count(*) > 0;
END
$$;

-- Runbook 4.2: critically low stock compared on integers (stock_actual * 2 <=
-- stock_minimo) in the principal depósito; failed scraping runs in 24 h.
CREATE FUNCTION check_critical_alerts() RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    low_stock_count       integer;
    failed_scraping_count integer;
BEGIN
    SELECT count(*) INTO low_stock_count
    FROM stock_deposito
    WHERE deposito = 'principal'
      AND stock_actual * 2 <= stock_minimo;

    IF low_stock_count > 10 THEN
        INSERT INTO alertas_sistema (tipo, mensaje, severidad, fecha_creacion)
        VALUES ('STOCK_CRITICO',
                'Hay ' || low_stock_count || ' productos con stock críticamente bajo',
                'critica',
                now());
    END IF;

    SELECT count(*) INTO failed_scraping_count
    FROM estadisticas_scraping
    WHERE fecha_inicio > now() - interval '24 hours'
      AND tasa_exito < 80;

    IF failed_scraping_count > 3 THEN
        INSERT INTO alertas_sistema (tipo, mensaje, severidad, fecha_creacion)
        VALUES ('SCRAPING_FALLA',
                'Se detectaron ' || failed_scraping_count || ' fallos de scraping en 24h',
                'alta',
                now());
    END IF;
END
$$;

-- Runbook 7.2 with errata 16: audit_log has created_at, not changed_at.
CREATE FUNCTION revoke_user_access(user_email text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    target personal%ROWTYPE;
BEGIN
    SELECT * INTO target FROM personal WHERE email = user_email FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'revoke_user_access: no staff member has that e-mail address'
            USING ERRCODE = 'no_data_found';
    END IF;

    UPDATE personal
       SET activo = false,
           updated_at = now()
     WHERE id = target.id;

    INSERT INTO audit_log (created_at, event_type, table_name, user_id, old_data, new_data)
    VALUES (now(), 'REVOKE_ACCESS', 'personal', auth.uid(),
            jsonb_build_object('id', target.id, 'email', target.email, 'activo', target.activo),
            jsonb_build_object('id', target.id, 'email', target.email, 'activo', false));

    INSERT INTO security_logs (event_type, description, severity, "timestamp")
    VALUES ('ACCESS_REVOKED', 'Access revoked for user: ' || user_email, 'alta', now());
END
$$;

-- Supabase's default privileges would let anon and authenticated execute these.
REVOKE EXECUTE ON FUNCTION security_audit(), check_critical_alerts(), revoke_user_access(text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION security_audit(), check_critical_alerts(), revoke_user_access(text) TO service_role;
-- security_audit() only reads: the monitoring role may run it.
GRANT EXECUTE ON FUNCTION security_audit() TO ops_monitor;

COMMENT ON FUNCTION security_audit() IS 'Runbook 7.1 security audit, corrected (errata 7, 17).';
COMMENT ON FUNCTION check_critical_alerts() IS 'Runbook 4.2 critical alert check (pg_cron job critical-alerts-check).';
COMMENT ON FUNCTION revoke_user_access(text) IS 'Runbook 7.2: deactivates a staff member and audits it (errata 16).';
