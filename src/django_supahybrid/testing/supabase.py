"""Reproduce, on any PostgreSQL, the parts of Supabase that RLS and Realtime rely on.

For a project's own tests of its row level security policies::

    install_supabase_test_schema()            # roles, auth.uid(), auth.jwt(), grants
    with as_supabase_user({"sub": str(uid), "role": "authenticated"}):
        rows = list(Note.objects.all())        # only what the policies let this user see

``install_realtime_test_schema()`` adds a ``realtime.send()`` and ``realtime.messages``
shaped like Supabase's, so Broadcast publishing can be tested; remove it with
``uninstall_realtime_test_schema()``. Everything here is idempotent and safe to run
from several test processes at once (roles are shared by the whole server).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from django_supahybrid.realtime.transports import reset_detection

__all__ = [
    "AUTH_SCHEMA_SQL",
    "REALTIME_SCHEMA_SQL",
    "ROLES_SQL",
    "as_supabase_user",
    "install_realtime_test_schema",
    "install_supabase_test_schema",
    "uninstall_realtime_test_schema",
]

# CREATE ROLE has no IF NOT EXISTS; two sessions creating the same role at once make one
# of them fail with duplicate_object or unique_violation, both meaning "it exists".
ROLES_SQL = """
DO $roles$
DECLARE
  spec text[];
BEGIN
  FOREACH spec SLICE 1 IN ARRAY ARRAY[
    ARRAY['anon', 'NOLOGIN NOINHERIT'],
    ARRAY['authenticated', 'NOLOGIN NOINHERIT'],
    ARRAY['service_role', 'NOLOGIN NOINHERIT BYPASSRLS']
  ] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = spec[1]) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', spec[1], spec[2]);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END
$roles$;
"""

# The helpers as Supabase defines them: claims come from the transaction-local setting
# request.jwt.claims that PostgREST and Realtime set for each request.
AUTH_SCHEMA_SQL = (
    """
CREATE SCHEMA IF NOT EXISTS auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
"""
    + "".join(
        # auth.uid(), auth.role(), auth.email(): one claim each, with its own type.
        f"""
CREATE OR REPLACE FUNCTION auth.{name}() RETURNS {type_} LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.{claim}', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> '{claim}')
  )::{type_}
$$;
"""
        for name, claim, type_ in (
            ("uid", "sub", "uuid"),
            ("role", "role", "text"),
            ("email", "email", "text"),
        )
    )
    + """
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
  TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO anon, authenticated, service_role;
"""
)

REALTIME_SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS realtime;
GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role;
CREATE TABLE IF NOT EXISTS realtime.messages (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  extension text NOT NULL,
  payload jsonb,
  event text,
  private boolean DEFAULT false,
  updated_at timestamp NOT NULL DEFAULT now(),
  inserted_at timestamp NOT NULL DEFAULT now()
);
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON realtime.messages TO authenticated;
CREATE OR REPLACE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('realtime.topic', true), '')::text
$$;
CREATE OR REPLACE FUNCTION realtime.send(
  payload jsonb, event text, topic text, private boolean DEFAULT true
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM set_config('realtime.topic', topic, true);
    INSERT INTO realtime.messages (payload, event, topic, private, extension)
    VALUES (payload, event, topic, private, 'broadcast');
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'ErrorSendingBroadcastMessage: %', SQLERRM;
  END;
END;
$$;
"""


def _execute(script: str, using: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(script)


def install_supabase_test_schema(using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the ``anon``/``authenticated``/``service_role`` roles and the ``auth`` schema.

    Also grants those roles access to the tables of ``public``, as Supabase does.
    """
    _execute(ROLES_SQL, using)
    _execute(AUTH_SCHEMA_SQL, using)


def install_realtime_test_schema(using: str = DEFAULT_DB_ALIAS) -> None:
    """Create a ``realtime`` schema with ``send()``, ``topic()`` and ``messages``."""
    _execute(REALTIME_SCHEMA_SQL, using)
    reset_detection()


def uninstall_realtime_test_schema(using: str = DEFAULT_DB_ALIAS) -> None:
    """Drop what :func:`install_realtime_test_schema` created."""
    _execute("DROP SCHEMA IF EXISTS realtime CASCADE", using)
    reset_detection()


@contextlib.contextmanager
def as_supabase_user(
    claims: dict[str, Any], *, role: str = "authenticated", using: str = DEFAULT_DB_ALIAS
) -> Iterator[None]:
    """Run the block in a transaction as PostgREST runs a request for these claims.

    Sets ``request.jwt.claims`` and the role with transaction scope (``SET LOCAL``), so
    row level security applies to the queries inside; both end with the transaction,
    which is rolled back (nothing written inside persists).
    """
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT set_config('request.jwt.claims', %s, true), set_config('role', %s, true)",
                [json.dumps(claims), role],
            )
        yield
        transaction.set_rollback(True, using=using)
