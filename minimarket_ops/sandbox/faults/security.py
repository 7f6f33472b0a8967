"""Faults for the database security checks (checks/security/test_db_*.py).

Each breaks exactly one thing, so exactly its check fails. Supabase's default privileges
(00_supabase.sql) apply to what a fault creates in public: anon and authenticated get
every privilege on new tables, views and functions, as on a real project.
"""

from __future__ import annotations

import jwt

from minimarket_ops.sandbox.faults import Fault, register

# Planted in the logs by `secrets_in_logs`; the self-tests look for them in every output.
PLANTED_CARD = "4539 1488 0343 6467"  # Luhn-valid Visa, 4-4-4-4 as a payment log prints it
# A service-role-shaped JWT signed with a throwaway key: a planted value, never a real secret.
PLANTED_JWT = jwt.encode({"iss": "supabase", "ref": "sandboxfault", "role": "service_role",
                          "iat": 1700000000, "exp": 2000000000}, "minimarket-ops planted fault key", algorithm="HS256")
PLANTED_FAILED_LOGIN_IP = "203.0.113.66"
PRIVILEGED_ROLE = "reportes_bi"

register(
    Fault(
        "rls_disabled",
        "database",
        "row level security switched off on productos_faltantes (anon/authenticated keep their default grants)",
        "rls_on_exposed_tables",
        sql="ALTER TABLE public.productos_faltantes DISABLE ROW LEVEL SECURITY;",
    ),
    Fault(
        "permissive_write_policy",
        "database",
        "any logged-in user may insert into api_requests: a policy WITH CHECK (true) for authenticated",
        "rls_policies",
        sql="CREATE POLICY api_requests_insert_any ON public.api_requests FOR INSERT TO authenticated WITH CHECK (true);",
    ),
    Fault(
        "rls_without_policy",
        "database",
        "system_status keeps RLS on but loses its only policy (deny-all: the admins' reads break)",
        "rls_policies",
        sql="DROP POLICY system_status_select_admin ON public.system_status;",
    ),
    Fault(
        "anon_reads_personal",
        "database",
        "anon holds SELECT on personal and a policy lets it read every active staff row",
        "anon_reaches_sensitive_tables",
        sql="""
        GRANT SELECT ON public.personal TO anon;
        CREATE POLICY personal_select_anon ON public.personal FOR SELECT TO anon USING (activo);
        """,
    ),
    Fault(
        "definer_without_search_path",
        "database",
        "a SECURITY DEFINER function without a pinned search_path (executable by service_role only)",
        "definer_search_path",
        sql="""
        CREATE FUNCTION public.resumen_stock_bajo() RETURNS bigint
            LANGUAGE sql STABLE SECURITY DEFINER
        AS $$ SELECT count(*) FROM public.stock_deposito WHERE stock_actual <= stock_minimo $$;
        REVOKE EXECUTE ON FUNCTION public.resumen_stock_bajo() FROM PUBLIC, anon, authenticated;
        """,
    ),
    Fault(
        "definer_callable_by_anon",
        "database",
        "a SECURITY DEFINER function (search_path pinned) left executable by anon through the default grants",
        "definer_callable_by_anon",
        sql="""
        CREATE FUNCTION public.contar_personal_activo() RETURNS bigint
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = public, pg_temp
        AS $$ SELECT count(*) FROM public.personal WHERE activo $$;
        """,
    ),
    Fault(
        "view_without_security_invoker",
        "database",
        "a view over stock_deposito without security_invoker: it reads past RLS with its owner's rights",
        "views_bypass_rls",
        sql="""
        CREATE VIEW public.vista_stock_resumen AS
        SELECT producto_id, deposito, stock_actual, stock_minimo FROM public.stock_deposito;
        """,
    ),
    Fault(
        "extension_in_public",
        "database",
        "pg_trgm installed in schema public instead of extensions",
        "extensions_in_exposed_schemas",
        sql="CREATE EXTENSION pg_trgm WITH SCHEMA public;",
    ),
    Fault(
        "staff_without_role",
        "database",
        "an active staff member (Nicolás Sosa, ventas) loses their role",
        "staff_without_role",
        sql="UPDATE public.personal SET rol = NULL WHERE id = md5('personal-8')::uuid;",
    ),
    Fault(
        "inactive_staff_acting",
        "database",
        "a deactivated staff member (Rocío Acosta) changed a purchase price two hours ago",
        "inactive_staff_acting",
        sql="""
        INSERT INTO public.audit_log (created_at, event_type, table_name, user_id, old_data, new_data)
        VALUES (now() - interval '2 hours', 'UPDATE', 'precios_proveedor', md5('personal-11')::uuid,
                '{"precio_compra": 1180}', '{"precio_compra": 990}');
        """,
    ),
    Fault(
        "failed_login_burst",
        "database",
        f"8 failed logins from {PLANTED_FAILED_LOGIN_IP} in the last half hour",
        "failed_logins_by_ip",
        sql=f"""
        INSERT INTO public.failed_login_attempts (ip_address, email, attempt_time, user_agent)
        SELECT '{PLANTED_FAILED_LOGIN_IP}'::inet, 'mjgonzalez@minimarket-necochea.com.ar',
               now() - g * interval '3 minutes', 'python-requests/2.31'
          FROM generate_series(1, 8) g;
        """,
    ),
    Fault(
        "secrets_in_logs",
        "database",
        "a card number and a service-role JWT written into logs_scraping",
        "secrets_in_logs",
        sql=f"""
        INSERT INTO public.logs_scraping (job_id, nivel, mensaje, categoria, "timestamp")
        VALUES ('maxiconsumo-debug', 'error',
                'Pago rechazado al proveedor: tarjeta {PLANTED_CARD} vence 11/27, reintentar', NULL,
                now() - interval '3 hours'),
               ('maxiconsumo-debug', 'debug',
                'Llamando a /rest/v1/precios_proveedor con Authorization: Bearer {PLANTED_JWT}', NULL,
                now() - interval '2 hours');
        """,
    ),
    Fault(
        "privileged_login_role",
        "database",
        f"a login role {PRIVILEGED_ROLE} with BYPASSRLS (roles are cluster-wide: it outlives the database)",
        "privileged_login_roles",
        sql=f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{PRIVILEGED_ROLE}') THEN
                CREATE ROLE {PRIVILEGED_ROLE} LOGIN BYPASSRLS;
            END IF;
        END $$;
        """,
    ),
)
