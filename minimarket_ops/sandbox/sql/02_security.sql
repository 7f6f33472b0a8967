-- 02_security.sql: row level security and policies, as on a healthy Supabase project.
--
-- Supabase's default privileges (00_supabase.sql) give anon and authenticated
-- every privilege on the tables of public; RLS and these policies are what
-- protect them:
--   * every table of public has RLS enabled and at least one policy;
--   * authenticated may read the catalogue tables (USING (true): the default
--     "permissive policy allow list" of the security checks);
--   * the sensitive tables are readable by active admins only (personal: also
--     one's own row), through the SECURITY DEFINER helper public.is_admin(),
--     which avoids a policy on personal that recurses into personal;
--   * anon has no policy anywhere, so it reaches nothing despite its grants;
--   * service_role and ops_monitor bypass RLS (BYPASSRLS).
-- Run after 01_schema.sql, as postgres, in one transaction.

-- ---------------------------------------------------------------------------
-- Helper: is the caller (auth.uid()) an active admin?
-- ---------------------------------------------------------------------------
CREATE FUNCTION public.is_admin() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
        FROM public.personal p
        WHERE p.id = auth.uid()
          AND p.rol = 'admin'
          AND p.activo
    )
$$;

REVOKE EXECUTE ON FUNCTION public.is_admin() FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.is_admin() TO authenticated;
COMMENT ON FUNCTION public.is_admin() IS 'RLS helper: true when auth.uid() is an active admin in personal.';

-- ---------------------------------------------------------------------------
-- RLS on every table of public
-- ---------------------------------------------------------------------------
ALTER TABLE public.categorias              ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.productos               ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.proveedores             ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.stock_deposito          ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.precios_proveedor       ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.comparacion_precios     ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.movimientos_deposito    ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tareas_pendientes       ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.notificaciones_tareas   ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.productos_faltantes     ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.alertas_cambios_precios ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.estadisticas_scraping   ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.personal                ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log               ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.failed_login_attempts   ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.security_logs           ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.configuracion_proveedor ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.alertas_sistema         ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.system_status           ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.api_requests            ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.logs_scraping           ENABLE ROW LEVEL SECURITY;

-- ---------------------------------------------------------------------------
-- Catalogue: readable by any authenticated user
-- ---------------------------------------------------------------------------
CREATE POLICY categorias_select_authenticated ON public.categorias
    FOR SELECT TO authenticated USING (true);
CREATE POLICY productos_select_authenticated ON public.productos
    FOR SELECT TO authenticated USING (true);
CREATE POLICY proveedores_select_authenticated ON public.proveedores
    FOR SELECT TO authenticated USING (true);
CREATE POLICY stock_deposito_select_authenticated ON public.stock_deposito
    FOR SELECT TO authenticated USING (true);
CREATE POLICY precios_proveedor_select_authenticated ON public.precios_proveedor
    FOR SELECT TO authenticated USING (true);
CREATE POLICY comparacion_precios_select_authenticated ON public.comparacion_precios
    FOR SELECT TO authenticated USING (true);
CREATE POLICY movimientos_deposito_select_authenticated ON public.movimientos_deposito
    FOR SELECT TO authenticated USING (true);
CREATE POLICY tareas_pendientes_select_authenticated ON public.tareas_pendientes
    FOR SELECT TO authenticated USING (true);
CREATE POLICY notificaciones_tareas_select_authenticated ON public.notificaciones_tareas
    FOR SELECT TO authenticated USING (true);
CREATE POLICY productos_faltantes_select_authenticated ON public.productos_faltantes
    FOR SELECT TO authenticated USING (true);
CREATE POLICY alertas_cambios_precios_select_authenticated ON public.alertas_cambios_precios
    FOR SELECT TO authenticated USING (true);
CREATE POLICY estadisticas_scraping_select_authenticated ON public.estadisticas_scraping
    FOR SELECT TO authenticated USING (true);

-- ---------------------------------------------------------------------------
-- Sensitive tables: active admins only (personal: also one's own row).
-- (SELECT ...) makes the planner evaluate the helper once per statement.
-- ---------------------------------------------------------------------------
CREATE POLICY personal_select_own_or_admin ON public.personal
    FOR SELECT TO authenticated
    USING (id = (SELECT auth.uid()) OR (SELECT public.is_admin()));
CREATE POLICY audit_log_select_admin ON public.audit_log
    FOR SELECT TO authenticated USING ((SELECT public.is_admin()));
CREATE POLICY failed_login_attempts_select_admin ON public.failed_login_attempts
    FOR SELECT TO authenticated USING ((SELECT public.is_admin()));
CREATE POLICY security_logs_select_admin ON public.security_logs
    FOR SELECT TO authenticated USING ((SELECT public.is_admin()));
CREATE POLICY configuracion_proveedor_select_admin ON public.configuracion_proveedor
    FOR SELECT TO authenticated USING ((SELECT public.is_admin()));
CREATE POLICY alertas_sistema_select_admin ON public.alertas_sistema
    FOR SELECT TO authenticated USING ((SELECT public.is_admin()));
CREATE POLICY system_status_select_admin ON public.system_status
    FOR SELECT TO authenticated USING ((SELECT public.is_admin()));
CREATE POLICY api_requests_select_admin ON public.api_requests
    FOR SELECT TO authenticated USING ((SELECT public.is_admin()));
CREATE POLICY logs_scraping_select_admin ON public.logs_scraping
    FOR SELECT TO authenticated USING ((SELECT public.is_admin()));

-- ---------------------------------------------------------------------------
-- Materialized views have no RLS: keep them away from anon.
-- ---------------------------------------------------------------------------
REVOKE ALL ON public.mv_estadisticas_diarias FROM anon;

-- The monitoring role reads everything in public (also granted by default
-- privileges; repeated here so the state does not depend on their order).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ops_monitor;

-- ---------------------------------------------------------------------------
-- Self-check: fail the load if any table of public lacks RLS or a policy, if
-- an extension lives in public, or if a SECURITY DEFINER function of public
-- has no pinned search_path or is executable by anon.
-- ---------------------------------------------------------------------------
DO $selfcheck$
DECLARE
    bad text;
BEGIN
    SELECT string_agg(c.relname, ', ') INTO bad
    FROM pg_catalog.pg_class c
    WHERE c.relnamespace = 'public'::regnamespace
      AND c.relkind IN ('r', 'p')
      AND (NOT c.relrowsecurity
           OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy pol WHERE pol.polrelid = c.oid));
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION '02_security.sql: tables without RLS or without a policy: %', bad;
    END IF;

    SELECT string_agg(e.extname, ', ') INTO bad
    FROM pg_catalog.pg_extension e
    WHERE e.extnamespace = 'public'::regnamespace;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION '02_security.sql: extensions in public: %', bad;
    END IF;

    SELECT string_agg(p.oid::regprocedure::text, ', ') INTO bad
    FROM pg_catalog.pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND p.prosecdef
      AND (NOT coalesce(EXISTS (SELECT 1 FROM unnest(p.proconfig) cfg WHERE cfg LIKE 'search_path=%'), false)
           OR has_function_privilege('anon', p.oid, 'EXECUTE'));
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION '02_security.sql: unsafe SECURITY DEFINER functions: %', bad;
    END IF;
END
$selfcheck$;
