"""Reproduce, on any PostgreSQL, the parts of Supabase that RLS and Realtime rely on.

For a project's own tests of its row level security policies:

```python
install_supabase_test_schema()            # roles, auth.uid(), auth.jwt(), grants
with as_supabase_user({"sub": str(uid), "role": "authenticated"}):
    rows = list(Note.objects.all())        # only what the policies let this user see
```

What it builds follows Supabase's own schema (supabase/postgres init scripts, supabase/auth
and supabase/realtime migrations):

- the API roles ``anon``, ``authenticated`` and ``service_role`` (BYPASSRLS), and Supabase's
  administrative roles ``supabase_admin``, ``supabase_auth_admin`` and
  ``supabase_realtime_admin`` (NOLOGIN here), which own Supabase's objects;
- default privileges in ``public`` granting everything on the tables, sequences and
  functions the current role creates to the three API roles, as on Supabase; objects that
  role created earlier get what those defaults would have given them, unless their
  privileges were already changed (by a lock-down migration, say);
- the ``auth`` helpers (``auth.uid()``, ``auth.jwt()``, ``auth.role()``, ``auth.email()``)
  and ``auth.sessions``: owned by ``supabase_auth_admin``, row level security on and no
  policy, so a role without BYPASSRLS that does not own it sees no session at all.

``install_realtime_test_schema()`` adds ``realtime.messages``, partitioned by UTC day on
``inserted_at`` with partitions from yesterday to today + 3, and ``realtime.send()``, which
adds an ``id`` to the payload and turns any error into a ``WARNING`` as Supabase's does;
remove it with ``uninstall_realtime_test_schema()``. `supabase_test_database` makes a
throwaway database shaped like a new Supabase project and runs ``migrate`` into it.

Everything here is idempotent and safe to run from several test processes at once (roles
are shared by the whole server). It needs a superuser, as the owners it sets are other
roles.
"""

# Fixed DDL scripts; the only interpolated names are this module's own constants.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.utils import load_backend

from django_supahybrid.realtime.transports import reset_detection

__all__ = [
    "AUTH_SCHEMA_SQL",
    "REALTIME_SCHEMA_SQL",
    "ROLES_SQL",
    "as_supabase_user",
    "install_realtime_test_schema",
    "install_supabase_test_schema",
    "supabase_test_database",
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
    ARRAY['service_role', 'NOLOGIN NOINHERIT BYPASSRLS'],
    ARRAY['supabase_admin', 'NOLOGIN'],
    ARRAY['supabase_auth_admin', 'NOLOGIN NOINHERIT'],
    ARRAY['supabase_realtime_admin', 'NOLOGIN NOINHERIT']
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
CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
ALTER FUNCTION auth.jwt() OWNER TO supabase_auth_admin;
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
ALTER FUNCTION auth.{name}() OWNER TO supabase_auth_admin;
"""
        for name, claim, type_ in (
            ("uid", "sub", "uuid"),
            ("role", "role", "text"),
            ("email", "email", "text"),
        )
    )
    + """
-- Supabase Auth's sessions (the columns of GoTrue's table), locked as migration
-- 20240612123726 leaves them: RLS on, no policy, SELECT for the database's main role.
CREATE TABLE IF NOT EXISTS auth.sessions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  created_at timestamptz,
  updated_at timestamptz,
  factor_id uuid,
  aal text,
  not_after timestamptz,
  refreshed_at timestamp,
  user_agent text,
  ip inet,
  tag text
);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON auth.sessions (user_id);
ALTER TABLE auth.sessions OWNER TO supabase_auth_admin;
ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON auth.sessions TO CURRENT_USER WITH GRANT OPTION;

-- public as Supabase's init scripts leave it for the role that runs migrations.
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
-- What this role created before: what those defaults would have given it, unless its
-- privileges were changed since (relacl is NULL only for untouched objects).
DO $grants$
DECLARE
  item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relacl IS NULL
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
  LOOP
    EXECUTE format('GRANT ALL ON %s %s TO anon, authenticated, service_role',
      CASE item.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, item.name);
  END LOOP;
END
$grants$;
"""
)

REALTIME_SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS realtime AUTHORIZATION supabase_admin;
GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role, supabase_realtime_admin;
CREATE TABLE IF NOT EXISTS realtime.messages (
  topic text NOT NULL,
  extension text NOT NULL,
  payload jsonb,
  event text,
  private boolean DEFAULT false,
  updated_at timestamp without time zone NOT NULL DEFAULT now(),
  inserted_at timestamp without time zone NOT NULL DEFAULT now(),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  PRIMARY KEY (id, inserted_at)
) PARTITION BY RANGE (inserted_at);
ALTER TABLE realtime.messages OWNER TO supabase_realtime_admin;
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE ON realtime.messages TO anon, authenticated, service_role;
-- One partition per UTC day, from yesterday to today + 3, as the Realtime server makes them.
DO $partitions$
DECLARE
  day date;
BEGIN
  FOR day IN
    SELECT d::date FROM generate_series(
      (now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 3,
      interval '1 day') AS d
  LOOP
    BEGIN
      EXECUTE format(
        'CREATE TABLE IF NOT EXISTS realtime.%I PARTITION OF realtime.messages '
        'FOR VALUES FROM (%L) TO (%L)',
        'messages_' || to_char(day, 'YYYY_MM_DD'), day, day + 1);
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
      NULL;  -- another session made it
    END;
    EXECUTE format('ALTER TABLE realtime.%I OWNER TO supabase_realtime_admin',
      'messages_' || to_char(day, 'YYYY_MM_DD'));
  END LOOP;
END
$partitions$;
CREATE OR REPLACE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('realtime.topic', true), '')::text
$$;
ALTER FUNCTION realtime.topic() OWNER TO supabase_realtime_admin;
-- Like Supabase's: the payload gets the message's id, and any error is only a WARNING.
CREATE OR REPLACE FUNCTION realtime.send(
  payload jsonb, event text, topic text, private boolean DEFAULT true
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  generated_id uuid;
  final_payload jsonb;
BEGIN
  BEGIN
    generated_id := gen_random_uuid();
    IF payload ? 'id' THEN
      final_payload := payload;
    ELSE
      final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    END IF;
    PERFORM set_config('realtime.topic', topic, true);
    INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
    VALUES (generated_id, final_payload, event, topic, private, 'broadcast');
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'ErrorSendingBroadcastMessage: %', SQLERRM;
  END;
END;
$$;
ALTER FUNCTION realtime.send(jsonb, text, text, boolean) OWNER TO supabase_realtime_admin;
"""


def _execute(script: str, using: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(script)


def install_supabase_test_schema(using: str = DEFAULT_DB_ALIAS) -> None:
    """Create Supabase's roles, the ``auth`` schema and ``public``'s default privileges.

    See the module's description for what exactly, and why.
    """
    from django_supahybrid.tenancy.wall import forget_supabase_shape

    _execute(ROLES_SQL, using)
    _execute(AUTH_SCHEMA_SQL, using)
    forget_supabase_shape()  # the tenant wall now applies here


def install_realtime_test_schema(using: str = DEFAULT_DB_ALIAS) -> None:
    """Create a ``realtime`` schema with ``send()``, ``topic()`` and ``messages``.

    Run it again on a later day to add that day's partitions.
    """
    _execute(REALTIME_SCHEMA_SQL, using)
    reset_detection()


def uninstall_realtime_test_schema(using: str = DEFAULT_DB_ALIAS) -> None:
    """Drop what `install_realtime_test_schema` created."""
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


@contextlib.contextmanager
def supabase_test_database(using: str = DEFAULT_DB_ALIAS) -> Iterator[str]:
    """A throwaway database shaped like a new Supabase project, migrated; yields its alias.

    Created on the server of ``using``, with `install_supabase_test_schema` run
    *before* ``migrate``, so that every table gets the privileges Supabase would give it
    and the project's migrations (lock-downs included) run as they would on Supabase.
    Dropped afterwards. The alias exists in the calling thread only; pass it as ``using``
    (``Model.objects.using(alias)``). Needs a transactional test
    (``django_db(transaction=True)``): a database cannot be created inside a transaction.
    """
    source = connections[using]
    if source.in_atomic_block:
        raise RuntimeError(
            "supabase_test_database() cannot create a database inside a transaction: mark "
            "the test with pytest.mark.django_db(transaction=True)."
        )
    suffix = uuid.uuid4().hex[:8]
    name = f"{source.settings_dict['NAME'][:40]}_supabase_{suffix}"
    alias = f"supabase_{suffix}"
    with source.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {source.ops.quote_name(name)}")
    # A connection of this thread only, outside settings.DATABASES: Django's test cases
    # let such connections be made, and no other test sees the alias.
    settings_dict = {**source.settings_dict, "NAME": name}
    connections[alias] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    try:
        install_supabase_test_schema(alias)
        call_command("migrate", database=alias, run_syncdb=True, verbosity=0)
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]
        with source.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {source.ops.quote_name(name)} WITH (FORCE)")
