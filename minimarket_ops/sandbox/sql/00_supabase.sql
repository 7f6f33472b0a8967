-- 00_supabase.sql: what a Supabase database has around the Mini Market schema.
--
-- Idempotent: roles are cluster-wide, so they are created only when missing and
-- this file can run again in a second database of the same cluster. Everything
-- else here (schemas, functions, extensions, default privileges) is per database.
-- Run as the cluster's superuser (postgres), in one transaction.

-- ---------------------------------------------------------------------------
-- Roles
-- ---------------------------------------------------------------------------
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticator') THEN
        CREATE ROLE authenticator LOGIN NOINHERIT;
    END IF;
    -- The check suite's least-privilege monitoring role. No password here: the
    -- loader sets one (ALTER ROLE ops_monitor PASSWORD ...).
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'ops_monitor') THEN
        CREATE ROLE ops_monitor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS;
    END IF;
END
$roles$;

-- Attributes are re-asserted so that a role that existed with other attributes
-- ends up as this file describes.
ALTER ROLE service_role BYPASSRLS;
ALTER ROLE ops_monitor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS;

-- Memberships, granted only when missing (re-granting would raise NOTICEs).
DO $members$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT * FROM (VALUES ('anon', 'authenticator'), ('authenticated', 'authenticator'),
                              ('service_role', 'authenticator'), ('pg_read_all_stats', 'ops_monitor'),
                              ('pg_read_all_settings', 'ops_monitor')) AS v(granted, member)
    LOOP
        IF NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_auth_members m
            JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
            JOIN pg_catalog.pg_roles u ON u.oid = m.member
            WHERE r.rolname = g.granted AND u.rolname = g.member
        ) THEN
            EXECUTE format('GRANT %I TO %I', g.granted, g.member);
        END IF;
    END LOOP;
END
$members$;

-- Role settings hold through poolers and for every session of the role.
ALTER ROLE ops_monitor SET default_transaction_read_only = on;
ALTER ROLE ops_monitor SET statement_timeout = '30s';
ALTER ROLE ops_monitor SET lock_timeout = '5s';
ALTER ROLE ops_monitor SET idle_in_transaction_session_timeout = '60s';

-- ---------------------------------------------------------------------------
-- Schemas auth and extensions
-- ---------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS extensions;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, ops_monitor;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role, ops_monitor;

-- Supabase's request-claim helpers (PostgREST sets request.jwt.claims, older
-- versions request.jwt.claim.<name>). Each returns NULL outside a request.
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
    )::uuid
$$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
    )::text
$$;

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

GRANT EXECUTE ON FUNCTION auth.uid(), auth.role(), auth.jwt()
    TO anon, authenticated, service_role, ops_monitor;

-- ---------------------------------------------------------------------------
-- Extensions (never in public)
-- ---------------------------------------------------------------------------
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;

-- ---------------------------------------------------------------------------
-- Supabase's default privileges on schema public: the API roles get every
-- privilege on new tables, sequences and functions, so row level security and
-- its policies are what protect the data, exactly as on a Supabase project.
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;

-- The monitoring role reads, and only reads.
GRANT USAGE ON SCHEMA public TO ops_monitor;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ops_monitor;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public
    GRANT SELECT ON TABLES TO ops_monitor;
