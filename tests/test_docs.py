"""The docs cannot drift: every setting and check id has its entry, every snippet runs.

Every ```python block of ``docs/*.md`` is executed:

- a *settings* block (one that assigns UPPERCASE names and defines no class or function)
  runs as if appended to the ``settings.py`` of a new ``django-admin startproject``, and
  what it assigns is validated: ``SUPAHYBRID`` by the library's settings loader, dotted
  paths by importing them;
- any other block runs in the test project, in a child process so that the models it
  declares do not outlive it: the blocks of a page share one module of a throwaway app,
  in order, inside a transaction rolled back at the end. Tables are created for the
  models a page declares, querysets a block evaluates at top level are compiled to SQL,
  every import anywhere in the block must resolve and pyflakes must find no undefined
  name, so that function bodies are checked too;
- the blocks titled with a file path (``title="myapp/models.py"``) are the five-minute
  path of the installation page: they are replayed, with the page's commands, in a real
  new project that then answers an authenticated request.

A block that cannot run on its own is marked ``<!-- docs-test: skip (reason) -->`` on
the line before it; there must be few of them. Names a page takes from the reader's own
project without showing them are in ``PAGE_CONTEXT``.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from django_supahybrid.conf import SupaHybridSettings

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "django_supahybrid"
DOCS = ROOT / "docs"


def _headings(page: str) -> set[str]:
    text = (ROOT / "docs" / page).read_text()
    return set(re.findall(r"^###\s+`([^`]+)`", text, flags=re.MULTILINE))


def test_every_setting_is_documented() -> None:
    fields = {f.name for f in dataclasses.fields(SupaHybridSettings)}
    documented = _headings("settings.md")
    assert fields - documented == set(), "settings missing from docs/settings.md"
    assert documented - fields == set(), "docs/settings.md documents settings that do not exist"


def test_every_setting_entry_states_type_and_default() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    for field in dataclasses.fields(SupaHybridSettings):
        section = text.split(f"### `{field.name}`", 1)[1].split("\n### ", 1)[0]
        assert "**Type:**" in section, field.name
        assert "**Default:**" in section, field.name


def test_every_check_id_is_documented() -> None:
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r"supahybrid\.[EWI]\d{3}", path.read_text()))
    assert used, "no check ids found in the source"
    documented = _headings("checks.md")
    text = (ROOT / "docs" / "checks.md").read_text()
    retired = {
        heading
        for heading in documented
        if "**Retired**" in text.split(f"### `{heading}`", 1)[1].split("\n### ", 1)[0]
    }
    assert retired == {"supahybrid.W052"}
    assert used - documented == set(), "check ids missing from docs/checks.md"
    assert used & retired == set(), "a retired check id is emitted again"
    assert documented - used - retired == set(), "docs/checks.md documents ids never emitted"


def test_changelog_has_unreleased_section_and_is_included() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "\n## Unreleased\n" in changelog
    assert "CHANGELOG.md" in (ROOT / "docs" / "changelog.md").read_text()


# --- the snippets ----------------------------------------------------------------------

_SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->")
_MARKER = re.compile(r"<!--\s*docs-test:")
#: The most blocks the docs may mark as not runnable.
MAX_SKIPPED = 3

#: Example values for the environment variables the snippets read.
EXAMPLE_ENV = {
    "DATABASE_URL": "postgresql://postgres.abcdefghijklmnop:secret@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
    "DIRECT_DATABASE_URL": "postgresql://postgres:secret@db.abcdefghijklmnop.supabase.co:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SUPABASE_URL": "https://abcdefghijklmnop.supabase.co",
    "SUPABASE_JWT_SECRET": "an-example-secret-of-at-least-32-characters",
}

#: What the snippets of a page take from the reader's own project without showing it:
#: source run in the page's module before its first block, and the names it hands on.
PAGE_CONTEXT: dict[str, tuple[str, tuple[str, ...]]] = {
    "counters.md": (
        """
        from django.db import models

        class Campaign(models.Model):
            vote_count = models.PositiveIntegerField(default=0)
            pending_count = models.PositiveIntegerField(default=0)

        class Product(models.Model):
            category = models.CharField(max_length=20)
            stock = models.PositiveIntegerField(default=0)

        campaign = Campaign.objects.create(vote_count=41, pending_count=4)
        product = Product.objects.create(category="books", stock=1)
        c = "books"
        """,
        ("Campaign", "Product", "campaign", "product", "c"),
    ),
    "pagination.md": (
        """
        from rest_framework import serializers
        from tests.testapp.models import Campaign, Notification

        class CampaignSerializer(serializers.ModelSerializer):
            class Meta:
                model = Campaign
                fields = ["id", "name"]

        class NotificationSerializer(serializers.ModelSerializer):
            class Meta:
                model = Notification
                fields = ["id", "message"]
        """,
        ("Campaign", "Notification", "CampaignSerializer", "NotificationSerializer"),
    ),
    "realtime.md": (
        """
        from accounts.models import Organization

        org = Organization.objects.create(name="docs")
        titles = ["Welcome", "Your campaign starts today"]
        """,
        ("org", "titles"),
    ),
}


#: The organizations and memberships of the reader's project, as the guides assume them.
READER_ACCOUNTS = """
from django.conf import settings
from django.db import models


class Organization(models.Model):
    name = models.CharField(max_length=100)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
"""


@dataclasses.dataclass(frozen=True)
class Snippet:
    page: str
    line: int
    code: str
    title: str | None = None
    skip: str | None = None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def is_settings(self) -> bool:
        tree = ast.parse(self.code)
        if any(isinstance(node, ast.ClassDef | ast.FunctionDef) for node in tree.body):
            return False
        return any(name.isupper() for name in _assigned(tree))


def _assigned(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        names += [target.id for target in targets if isinstance(target, ast.Name)]
    return names


def _fences(page: Path) -> list[tuple[Any, str | None]]:
    """The fenced blocks of a page, each with the docs-test marker on the line before it."""
    found: list[tuple[Any, str | None]] = []
    previous = None
    for token in MarkdownIt("commonmark").parse(page.read_text()):
        if token.type == "fence":
            marker = (
                previous.content if previous is not None and previous.type == "html_block" else None
            )
            found.append((token, marker))
        previous = token
    return found


def _snippets() -> list[Snippet]:
    snippets = []
    for page in sorted(DOCS.glob("*.md")):
        for token, marker in _fences(page):
            language, _, attributes = token.info.partition(" ")
            if language not in ("python", "py"):
                continue
            title = re.search(r'title="([^"]+)"', attributes)
            skip = _SKIP.search(marker) if marker else None
            snippets.append(
                Snippet(
                    page=page.name,
                    line=token.map[0] + 1,
                    code=token.content,
                    title=title.group(1) if title else None,
                    skip=skip.group("reason") if skip else None,
                )
            )
    return snippets


SNIPPETS = _snippets()
_RUNNABLE = [s for s in SNIPPETS if s.skip is None and s.title is None]
SETTINGS_SNIPPETS = [s for s in _RUNNABLE if s.is_settings]
CODE_SNIPPETS = [s for s in _RUNNABLE if not s.is_settings]
FILE_SNIPPETS = [s for s in SNIPPETS if s.title is not None]


def test_snippets_are_found_and_few_are_skipped() -> None:
    assert len(SETTINGS_SNIPPETS) >= 10, "settings snippets not found"
    assert len(CODE_SNIPPETS) >= 20, "code snippets not found"
    skipped = [s for s in SNIPPETS if s.skip]
    assert len(skipped) <= MAX_SKIPPED, [f"{s.id}: {s.skip}" for s in skipped]


def test_every_docs_test_marker_is_well_formed_and_placed() -> None:
    markers = sum(len(_MARKER.findall(page.read_text())) for page in DOCS.glob("*.md"))
    placed = sum(1 for s in SNIPPETS if s.skip)
    assert markers == placed, "a docs-test marker is malformed or not right before a block"


#: The longest line of a Python block that the docs show whole at a 1280 px wide window.
MAX_LINE = 87


def test_python_snippets_fit_the_page_width() -> None:
    long = [
        f"{s.id}: {line}" for s in SNIPPETS for line in s.code.splitlines() if len(line) > MAX_LINE
    ]
    assert long == []


def test_file_snippets_belong_to_the_installation_page() -> None:
    assert {s.page for s in FILE_SNIPPETS} == {"installation.md"}


def _new_project_settings(tmp: Path) -> dict[str, Any]:
    """The settings module of a new ``django-admin startproject mysite``, executed."""
    from django.core.management import call_command

    call_command("startproject", "mysite", str(tmp))
    namespace: dict[str, Any] = {"__file__": str(tmp / "mysite" / "settings.py")}
    exec((tmp / "mysite" / "settings.py").read_text(), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def new_project_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _new_project_settings(tmp_path_factory.mktemp("startproject"))


def _import_path(path: str) -> None:
    """Import a dotted module or ``module.attribute`` path; raise when it does not exist."""
    from django.utils.module_loading import import_string

    try:
        importlib.import_module(path)
    except ImportError:
        import_string(path)


def _dotted_paths(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def _assert_valid_setting(name: str, value: Any) -> None:
    from django.test import override_settings

    from django_supahybrid.conf import app_settings

    if name == "SUPAHYBRID":
        with override_settings(SUPAHYBRID=value):
            app_settings()  # raises ImproperlyConfigured for an unknown key or a bad value
    elif name in ("INSTALLED_APPS", "MIDDLEWARE"):
        for path in _dotted_paths(value):
            _import_path(path)
    elif name == "REST_FRAMEWORK":
        for key, setting in value.items():
            if key.endswith(("_CLASS", "_CLASSES")):
                for path in _dotted_paths(setting):
                    _import_path(path)
    elif name in ("DATABASES", "CACHES"):
        assert "default" in value, f"{name} has no 'default' alias"
        for entry in value.values():
            _import_path(entry.get("ENGINE") or entry["BACKEND"])
    elif name == "LOGGING":
        assert value["version"] == 1
        for handler in value.get("handlers", {}).values():
            _import_path(handler["class"])


@pytest.mark.parametrize("snippet", SETTINGS_SNIPPETS, ids=lambda s: s.id)
def test_settings_snippet_runs_and_is_valid(
    snippet: Snippet, new_project_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    namespace = dict(new_project_settings)
    exec(compile(snippet.code, snippet.id, "exec"), namespace)  # noqa: S102
    for name in _assigned(ast.parse(snippet.code)):
        if name.isupper():
            _assert_valid_setting(name, namespace[name])


# --- code snippets, run in a child process ---------------------------------------------


def _undefined_and_unimportable(snippet: Snippet, known: set[str]) -> list[str]:
    """Names pyflakes finds undefined, and imports that do not resolve, anywhere in a block."""
    from pyflakes import checker, messages

    tree = ast.parse(snippet.code)
    found = checker.Checker(tree, filename=snippet.id, builtins=known)
    problems = [
        str(message) for message in found.messages if isinstance(message, messages.UndefinedName)
    ]
    for node in ast.walk(tree):
        try:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name):
                        importlib.import_module(f"{node.module}.{alias.name}")
        except ImportError as exc:
            problems.append(f"line {node.lineno}: {exc}")
    return problems


def _create_tables(label: str, created: set[str]) -> None:
    """Create the tables of the app's models, once each, when what they point to exists."""
    from django.apps import apps
    from django.db import connection

    for model in list(apps.all_models[label].values()):
        meta = model._meta
        if meta.db_table in created or meta.abstract or meta.proxy or not meta.managed:
            continue
        targets = [f.remote_field.model for f in meta.fields if f.remote_field]
        if any(
            isinstance(target, str)
            or (target._meta.app_label == label and target._meta.db_table not in created)
            for target in targets
            if target is not model
        ):
            continue  # created once the models it points to are
        with connection.schema_editor() as editor:
            editor.create_model(model)
        created.add(meta.db_table)
        created.update(f.remote_field.through._meta.db_table for f in meta.local_many_to_many)


def _run(code: str, name: str, namespace: dict[str, Any], tables: Any) -> None:
    """Run code statement by statement, creating tables after each class statement.

    A queryset an expression statement evaluates is compiled to SQL, so that its lookups
    and relations are checked even though it is never iterated.
    """
    from django.db.models import QuerySet

    for statement in ast.parse(code).body:
        if isinstance(statement, ast.Expr):
            value = eval(compile(ast.Expression(statement.value), name, "eval"), namespace)  # noqa: S307
            if isinstance(value, QuerySet):
                str(value.query)
        else:
            module = ast.Module(body=[statement], type_ignores=[])
            exec(compile(module, name, "exec"), namespace)  # noqa: S102
        if isinstance(statement, ast.ClassDef):
            tables()


def _page_supahybrid(page: str) -> dict[str, Any]:
    """The ``SUPAHYBRID`` a page's settings blocks build, merged in order."""
    merged: dict[str, Any] = {}
    for snippet in SETTINGS_SNIPPETS:
        namespace: dict[str, Any] = {}
        if snippet.page == page and "SUPAHYBRID" in _assigned(ast.parse(snippet.code)):
            exec(compile(snippet.code, snippet.id, "exec"), namespace)  # noqa: S102
            merged.update(namespace["SUPAHYBRID"])
    return merged


def _run_code_snippets(workdir: Path) -> dict[str, str | None]:
    """In a fresh process: run every code block, page by page; return the problems by id."""
    import types
    import warnings

    workdir.mkdir(parents=True, exist_ok=True)
    pages = sorted({s.page for s in CODE_SNIPPETS})
    packages = {page: "docs_" + page.removesuffix(".md") for page in pages}
    for package in (*packages.values(), "accounts"):
        (workdir / package).mkdir()
        (workdir / package / "__init__.py").write_text("")
    # The reader's own "accounts" app, which the guides' models point to.
    (workdir / "accounts" / "models.py").write_text(READER_ACCOUNTS)
    sys.path.insert(0, str(workdir))

    import django
    from django.conf import settings

    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "accounts", *packages.values()]
    django.setup()
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.test import RequestFactory

    from django_supahybrid import conf

    os.environ.update(EXAMPLE_ENV)  # the settings are loaded: only the snippets read these
    warnings.filterwarnings("ignore", "Model .* was already registered", RuntimeWarning)
    results: dict[str, str | None] = {}
    with transaction.atomic():  # rolled back at the end: tables included
        _create_tables("accounts", set())
        user = User.objects.create_user("docs-reader", email="reader@example.com")
        request = RequestFactory().get("/")
        request.user = user
        for page, package in packages.items():
            module = types.ModuleType(f"{package}.models")
            module.__package__ = package
            sys.modules[module.__name__] = module
            namespace = module.__dict__
            namespace.update(user=user, request=request)
            settings.SUPAHYBRID = _page_supahybrid(page)
            conf.reload()
            created: set[str] = set()

            def tables(package: str = package, created: set[str] = created) -> None:
                _create_tables(package, created)

            source, names = PAGE_CONTEXT.get(page, ("", ()))
            context: dict[str, Any] = {"__name__": module.__name__}
            _run(textwrap.dedent(source), f"{page} context", context, tables)
            namespace.update({name: context[name] for name in names})
            for snippet in (s for s in CODE_SNIPPETS if s.page == page):
                try:
                    with transaction.atomic():
                        _run(snippet.code, snippet.id, namespace, tables)
                except Exception:
                    results[snippet.id] = traceback.format_exc(limit=-4)
                    continue
                problems = _undefined_and_unimportable(snippet, set(namespace))
                results[snippet.id] = "\n".join(problems) or None
        transaction.set_rollback(True)
    return results


def _child_main() -> None:
    results = _run_code_snippets(Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(results))


@pytest.fixture(scope="module")
def code_results(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str | None]:
    from tests.support import pgtools

    workdir = tmp_path_factory.mktemp("snippets")
    out = workdir / "results.json"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": pgtools.url(),  # the test database
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from tests.test_docs import _child_main; _child_main()",
         str(workdir / "packages"), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())  # type: ignore[no-any-return]


# django_db: the test database must exist (migrated) for the child process to use it.
@pytest.mark.django_db
@pytest.mark.parametrize("snippet", CODE_SNIPPETS, ids=lambda s: s.id)
def test_code_snippet_runs(snippet: Snippet, code_results: dict[str, str | None]) -> None:
    assert snippet.id in code_results
    assert code_results[snippet.id] is None, code_results[snippet.id]


# --- the five-minute path of the installation page -------------------------------------


def _section(page: Path, heading: str) -> list[Any]:
    """The tokens of a page's ``## heading`` section."""
    tokens = MarkdownIt("commonmark").parse(page.read_text())
    inside, found = False, []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            inside = tokens[index + 1].content == heading
        elif inside:
            found.append(token)
    return found


def _five_minute_steps() -> list[tuple[str, str, str]]:
    """The path, in the page's order: files to append to, commands to run, output shown.

    ``("file", path, code)`` for a block titled with a file path, ``("run", command, "")``
    for a ``django-admin`` or ``python manage.py`` line (but ``runserver``), and
    ``("output", command, text)`` for what the page shows a command answer.
    """
    steps: list[tuple[str, str, str]] = []
    for token in _section(DOCS / "installation.md", "Configure in five minutes"):
        if token.type != "fence":
            continue
        title = re.search(r'title="([^"]+)"', token.info)
        if token.info.startswith("python") and title:
            steps.append(("file", title.group(1), token.content))
        elif token.info.startswith("console"):
            lines = token.content.splitlines()
            for number, line in enumerate(lines):
                if line.startswith(("django-admin ", "python manage.py ")):
                    if "runserver" not in line:
                        steps.append(("run", line, ""))
                elif line.startswith("curl ") and number + 1 < len(lines):
                    steps.append(("output", line, "\n".join(lines[number + 1 :])))
    return steps


def test_installation_page_shows_the_version_in_the_code() -> None:
    from django_supahybrid import __version__

    text = (DOCS / "installation.md").read_text()
    assert f"The version is `{__version__}`." in text
    wheels = set(re.findall(r"dist/(django_supahybrid-\S+?\.whl)", text))
    assert wheels == {f"django_supahybrid-{__version__}-py3-none-any.whl"}


_FIVE_MINUTE_CHECK = """
import json, uuid
from django.contrib.auth import get_user_model
from django.test import Client
from django_supahybrid.testing import make_claims, mint_token
from myapp.models import Campaign, Organization, Profile

mine = Organization.objects.create(name="mine")
theirs = Organization.objects.create(name="theirs")
Campaign.objects.create(organization=mine, name="ours")
Campaign.objects.create(organization=theirs, name="not ours")
sub = uuid.uuid4()
bearer = {"HTTP_AUTHORIZATION": "Bearer " + mint_token(make_claims(sub))}
client = Client(HTTP_HOST="localhost")
answers = {"anonymous": client.get("/api/campaigns/").status_code}
answers["new user"] = client.get("/api/campaigns/", **bearer).json()
user = get_user_model().objects.get(username=str(sub))
Profile.objects.create(user=user, organization=mine)
page = client.get("/api/campaigns/", **bearer).json()
answers["member"] = [row["name"] for row in page["results"]]
created = client.post("/api/campaigns/", {"name": "new"}, content_type="application/json", **bearer)
answers["created"] = [created.status_code, Campaign.objects.get(name="new").organization.name]
print(json.dumps(answers))
"""


def test_five_minute_path_gives_an_authenticated_scoped_endpoint(tmp_path: Path) -> None:
    """Replay the installation page in a new project, then call the endpoint it builds."""
    import psycopg
    from django.conf import settings

    from tests.support import pgtools

    steps = _five_minute_steps()
    commands = [step[1] for step in steps if step[0] == "run"]
    assert commands[:2] == ["django-admin startproject mysite .", "python manage.py startapp myapp"]
    assert {"python manage.py migrate", "python manage.py check"} <= set(commands)
    files = [step[1] for step in steps if step[0] == "file"]
    assert files == [s.title for s in FILE_SNIPPETS], "every titled block is part of the path"

    database = f"{pgtools.server()['name']}_five_minutes"
    with psycopg.connect(pgtools.url(name="postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"} | {
        "DATABASE_URL": pgtools.url(name=database),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "SUPABASE_URL": "http://127.0.0.1:54321",
        "SUPABASE_JWT_SECRET": EXAMPLE_ENV["SUPABASE_JWT_SECRET"],
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done.stdout

    try:
        expected = None
        for kind, what, text in steps:
            if kind == "file":
                path = tmp_path / what
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a") as file:
                    file.write("\n\n" + text)
            elif kind == "run":
                words = what.split()
                output = run(
                    *(["-m", "django", *words[1:]] if words[0] == "django-admin" else words[1:])
                )
                if words[2:] == ["check"]:
                    assert "System check identified no issues" in output, output
            else:
                expected = json.loads(text)
        answers = json.loads(run("manage.py", "shell", "-c", _FIVE_MINUTE_CHECK).splitlines()[-1])
    finally:
        with psycopg.connect(pgtools.url(name="postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert answers["anonymous"] == 401
    assert answers["new user"] == expected  # what the page shows a first request answer
    assert answers["member"] == ["ours"]
    assert answers["created"] == [201, "mine"]
