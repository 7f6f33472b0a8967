"""Database access for checks: a read-only, time-bounded psycopg 3 pool and small helpers.

Every statement runs in its own short READ ONLY transaction whose timeouts are set with
SET LOCAL, so they hold through Supavisor's transaction mode too (where session settings
do not persist); automatic prepared statements are off for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from minimarket_ops.config import DatabaseSettings
from minimarket_ops.finding import NotRun
from minimarket_ops.masking import Redactor

Query = str | sql.Composable


class DatabaseUnreachable(Exception):
    pass


class Database:
    def __init__(self, conninfo: str, settings: DatabaseSettings, redact: Redactor, pooler_mode: str = "direct"):
        self._conninfo = conninfo
        self._settings = settings
        self._redact = redact
        self._pooler_mode = pooler_mode
        self._pool: ConnectionPool | None = None
        self.server_version_num: int | None = None

    # -- connection -------------------------------------------------------------------
    def _kwargs(self) -> dict[str, Any]:
        s = self._settings
        kwargs: dict[str, Any] = {
            "connect_timeout": s.connect_timeout_s,
            "application_name": s.application_name,
            "prepare_threshold": None,
            "autocommit": True,
            # A link that dies silently (a pooler or NAT dropping it mid-query) would otherwise
            # hold the check for the OS's TCP timeout: keepalives notice it in about 25 s.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": int(s.statement_timeout_ms) + 10_000,
        }
        if self._pooler_mode != "transaction":
            # Session-level defaults too, where they persist (the role carries them in production).
            kwargs["options"] = (
                "-c default_transaction_read_only=on"
                f" -c statement_timeout={s.statement_timeout_ms}"
                f" -c lock_timeout={s.lock_timeout_ms}"
                f" -c idle_in_transaction_session_timeout={s.idle_in_transaction_session_timeout_ms}"
            )
        return kwargs

    def _configure(self, conn: psycopg.Connection) -> None:
        conn.read_only = True  # every BEGIN is BEGIN READ ONLY

    def open(self) -> None:
        """Connect once, directly, so an unreachable database gives one clear reason."""
        try:
            with psycopg.connect(self._conninfo, **self._kwargs()) as conn:
                self.server_version_num = conn.info.server_version
        except psycopg.Error as exc:
            raise DatabaseUnreachable(self._redact(_first_line(exc))) from None
        self._pool = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self._settings.pool_max_size,
            kwargs=self._kwargs(),
            configure=self._configure,
            timeout=self._settings.connect_timeout_s + 5,
            open=False,
            name="minimarket-ops",
        )
        try:
            self._pool.open(wait=True, timeout=self._settings.connect_timeout_s + 5)
        except PoolTimeout as exc:  # the pool closes itself; report it like a failed connect
            self._pool = None
            raise DatabaseUnreachable(self._redact(f"connection pool did not fill: {_first_line(exc)}")) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        if self._pool is None:
            raise NotRun("database not connected")
        s = self._settings
        try:
            with self._pool.connection() as conn:
                with conn.transaction():
                    conn.execute(
                        f"SET LOCAL statement_timeout = {int(s.statement_timeout_ms)};"
                        f" SET LOCAL lock_timeout = {int(s.lock_timeout_ms)};"
                        " SET LOCAL idle_in_transaction_session_timeout ="
                        f" {int(s.idle_in_transaction_session_timeout_ms)}"
                    )
                    yield conn
        except PoolTimeout:
            raise NotRun("database: no connection available within the connect timeout") from None

    # -- helpers ----------------------------------------------------------------------
    def scalar(self, query: Query, params: Sequence | Mapping | None = None) -> Any:
        with self.transaction() as conn:
            row = conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    def row(self, query: Query, params: Sequence | Mapping | None = None) -> dict[str, Any] | None:
        with self.transaction() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(query, params).fetchone()

    def rows(self, query: Query, params: Sequence | Mapping | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """At most `limit` rows; the query itself should LIMIT too (never pull a table)."""
        with self.transaction() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(query, params).fetchmany(limit)

    def sample(self, query: Query, params: Sequence | Mapping | None = None, limit: int = 10) -> tuple[int, list[dict[str, Any]]]:
        """(total, up to `limit` rows) from a query that selects `count(*) OVER () AS total`
        and LIMITs itself: the count and the sample in one pass."""
        rows = self.rows(query, params, limit)
        total = rows[0]["total"] if rows else 0
        return total, [{k: v for k, v in r.items() if k != "total"} for r in rows]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# Exceptions that mean "could not measure", mapped to the reason the check was not run.
def not_run_reason(exc: BaseException, settings: DatabaseSettings | None = None) -> str | None:
    errors = psycopg.errors
    if isinstance(exc, NotRun):
        return exc.reason
    if isinstance(exc, errors.QueryCanceled):
        ms = f" after {settings.statement_timeout_ms} ms" if settings else ""
        return f"statement timeout{ms}"
    if isinstance(exc, errors.LockNotAvailable):
        ms = f" after {settings.lock_timeout_ms} ms" if settings else ""
        return f"lock timeout{ms}"
    if isinstance(exc, (errors.UndefinedTable, errors.UndefinedColumn, errors.UndefinedFunction)):
        return f"schema drift: {_first_line(exc)}"
    if isinstance(exc, errors.InsufficientPrivilege):
        return f"permission denied: {_first_line(exc)}"
    if isinstance(exc, psycopg.OperationalError):  # PoolTimeout is one too
        return f"database connection lost: {_first_line(exc)}"
    return None
