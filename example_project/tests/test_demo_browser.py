"""The live demo page (``/demo/``) and the API docs (``/api/docs/``) in headless Chromium.

Self-contained: the example runs as a real server process (``manage.py migrate``,
``seed_demo``, ``runserver``) on its own database, ``<DATABASE_URL's name>_demo``, created
here and dropped at the end, so a development database is never touched. The browser is
Debian's ``chromium`` driven through ``chromium-driver`` by selenium, with every host name
but loopback unresolvable, so nothing can come from the network.

Set ``DEMO_SCREENSHOTS=docs/screenshots`` to save a screenshot of each state (the PNGs
shown in docs/example.md).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from selenium.webdriver.remote.webelement import WebElement

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent
INSTALL_HINT = "install Debian's browser and driver: apt-get install -y chromium chromium-driver"
SCREENSHOTS = os.environ.get("DEMO_SCREENSHOTS")
VIEWPORT = (1000, 720)
JWT_SECRET = "demo-browser-test-jwt-secret-with-at-least-32-characters"

ADMIN_1 = "org1-user1@demo.example.com"  # seed_demo: admin of Demo Organization 1
VOLUNTEER_1 = "org1-user3@demo.example.com"  # volunteer of the same organization
ADMIN_2 = "org2-user1@demo.example.com"  # admin of Demo Organization 2


def _devservices() -> Any:
    """``devservices``, which finds (or starts) PostgreSQL and Redis for development."""
    for folder in (EXAMPLE, EXAMPLE.parent / "scripts"):
        if (folder / "devservices.py").exists() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    import devservices

    return devservices


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the database and the server ------------------------------------------------------


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of its own: ``<name>_demo`` on the server of ``DATABASE_URL``."""
    base = os.environ.get("DATABASE_URL") or _devservices().postgres_url(probe=True)
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/') or 'postgres'}_demo"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    # The maintenance database: DATABASE_URL's own may not exist yet (Django's test runner
    # only ever creates test_<name>).
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(create)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(drop)


class ExampleServer:
    """The example under ``manage.py runserver`` on a fixed loopback port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="demo-server-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
                cwd=EXAMPLE,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base}/api/health/", timeout=5).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the example never answered:\n{self.output()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def mint(self, email: str, lifetime: int = 3600) -> str:
        """A development token from ``POST /demo/token/``, as the page gets one."""
        status, body = self.post_token({"email": email, "lifetime": lifetime})
        assert status == 200, body
        token: str = body["access_token"]
        return token

    def post_token(self, payload: Any) -> tuple[int, Any]:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.base}/demo/", timeout=10).close()  # sets the CSRF cookie
        csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        request = urllib.request.Request(
            f"{self.base}/demo/token/",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        )
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)


def _server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL") or _devservices().redis_url(probe=True),
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="1",
        # Closed streams are noticed (and their LISTEN connections closed) within 2 s.
        NOTIFICATION_STREAM_KEEPALIVE="2",
        # One secret for both servers of the debug-off test (the debug one mints).
        SUPABASE_JWT_SECRET=JWT_SECRET,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[ExampleServer]:
    example = ExampleServer(_server_env(database_url))
    example.manage("migrate", "--no-input")
    example.manage("seed_demo")
    example.start()
    try:
        yield example
    finally:
        example.stop()
    assert "Traceback" not in example.output(), example.output()


# --- the browser ----------------------------------------------------------------------


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail(f"chromium or chromedriver not found: {INSTALL_HINT}")
    return browser, driver


@pytest.fixture(scope="module")
def browsers() -> Iterator[Callable[[], webdriver.Chrome]]:
    """Open separate headless Chromium sessions; all are closed at the end."""
    browser, driver = _chromium()
    opened: list[webdriver.Chrome] = []

    def open_browser() -> webdriver.Chrome:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for argument in (
            "--headless=new",
            "--no-sandbox",  # needed as root (containers, CI)
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            # Offline: no host name resolves, so only 127.0.0.1 can be reached.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        chrome = webdriver.Chrome(options=options, service=Service(driver))
        width, height = VIEWPORT
        chrome.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        opened.append(chrome)
        return chrome

    try:
        yield open_browser
    finally:
        for chrome in opened:
            with contextlib.suppress(Exception):
                chrome.quit()


def _screenshot(browser: webdriver.Chrome, name: str) -> None:
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(folder / f"demo-{name}.png"))


def _wait(
    browser: webdriver.Chrome,
    condition: Callable[[], Any],
    what: str,
    timeout: float = 10.0,
    poll: float = 0.05,
) -> Any:
    try:
        wait = WebDriverWait(
            browser,
            timeout,
            poll_frequency=poll,
            ignored_exceptions=[StaleElementReferenceException],
        )
        return wait.until(lambda _: condition())
    except TimeoutException:
        notice = browser.find_element(By.ID, "notice").text if _has(browser, "notice") else ""
        raise AssertionError(f"timed out waiting for {what} (notice: {notice!r})") from None


def _has(browser: webdriver.Chrome, element_id: str) -> bool:
    return bool(browser.find_elements(By.ID, element_id))


def _text(browser: webdriver.Chrome, element_id: str) -> str:
    text: str = browser.find_element(By.ID, element_id).text
    return text


def _notice(browser: webdriver.Chrome) -> tuple[str | None, str]:
    box = browser.find_element(By.ID, "notice")
    return box.get_attribute("data-kind"), box.text


def _stream_state(browser: webdriver.Chrome) -> str | None:
    state: str | None = browser.find_element(By.ID, "stream-status").get_attribute("data-state")
    return state


def _sign_in(
    browser: webdriver.Chrome, server: ExampleServer, email: str, lifetime: int = 3600
) -> None:
    browser.get(f"{server.base}/demo/")
    Select(browser.find_element(By.ID, "user-picker")).select_by_value(email)
    field = browser.find_element(By.ID, "token-lifetime")
    field.clear()
    field.send_keys(str(lifetime))
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser, lambda: _text(browser, "profile-email") == email, f"{email}'s profile")
    _wait(browser, lambda: _stream_state(browser) == "live", "the stream to open")


def _campaign_rows(browser: webdriver.Chrome) -> list[WebElement]:
    return browser.find_elements(By.CSS_SELECTOR, "#campaign-rows tr")


def _texts(browser: webdriver.Chrome, selector: str) -> list[str]:
    """The text of every element ``selector`` matches, read at once (lists re-render)."""
    texts: list[str] = browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)",
        selector,
    )
    return texts


def _campaign_names(browser: webdriver.Chrome) -> list[str]:
    return _texts(browser, "#campaign-rows .name")


def _notification_titles(browser: webdriver.Chrome) -> list[str]:
    return _texts(browser, "#notification-list li .title")


def _api(server: ExampleServer, token: str, path: str) -> Any:
    request = urllib.request.Request(
        f"{server.base}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _post(server: ExampleServer, token: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{server.base}{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _console_errors(browser: webdriver.Chrome) -> list[dict[str, Any]]:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


# --- the scenarios --------------------------------------------------------------------


def test_token_endpoint_answers_bad_input_with_4xx(server: ExampleServer) -> None:
    assert server.post_token({"email": "nobody@example.com"}) == (
        404,
        {"detail": "No user with a Supabase identity has this email.", "code": "unknown_user"},
    )
    for payload in (
        [ADMIN_1],
        {},
        {"email": ADMIN_1, "lifetime": "1"},
        {"email": ADMIN_1, "lifetime": 10**6},
    ):
        status, body = server.post_token(payload)
        assert status == 400, (payload, body)
        assert body["detail"]
    token = server.mint(ADMIN_1, lifetime=600)
    assert _api(server, token, "/api/auth/profile/")["email"] == ADMIN_1


def test_new_campaign_reaches_the_other_member_live(
    server: ExampleServer, browsers: Callable[[], webdriver.Chrome]
) -> None:
    admin, volunteer, other = browsers(), browsers(), browsers()
    _sign_in(admin, server, ADMIN_1)
    _screenshot(admin, "signed-in")
    assert _text(admin, "profile-role") == "admin"
    assert _text(admin, "profile-org") == "Demo Organization 1"
    assert "Welcome to Demo Organization 1" in _notification_titles(admin)
    _sign_in(volunteer, server, VOLUNTEER_1)
    assert volunteer.find_element(By.ID, "create-denied").is_displayed()
    assert not volunteer.find_element(By.ID, "create-submit").is_enabled()
    _sign_in(other, server, ADMIN_2)
    before_other = _notification_titles(other)

    name = f"Door-to-door {uuid.uuid4().hex[:6]}"
    admin.find_element(By.ID, "new-name").send_keys(name)
    Select(admin.find_element(By.ID, "new-status")).select_by_value("active")
    admin.find_element(By.ID, "new-description").send_keys("Every street of Harbour.")
    admin.find_element(By.ID, "create-submit").click()

    # The other member: a notification, without reload, within 3 seconds.
    title = f"New campaign: {name}"
    _wait(volunteer, lambda: title in _notification_titles(volunteer), "the live notification", 3)
    _wait(admin, lambda: _campaign_names(admin)[:1] == [name], "the new campaign on page 1")
    assert _notice(admin) == (
        "created",
        f'Created "{name}". The other members of your organization are notified.',
    )
    first = admin.find_element(By.CSS_SELECTOR, "#campaign-rows tr")
    assert first.find_element(By.CLASS_NAME, "status").text == "active"
    assert first.find_element(By.CLASS_NAME, "votes").text == "0"
    _screenshot(admin, "created")
    # The notification also reloaded the volunteer's page of campaigns.
    _wait(volunteer, lambda: _campaign_names(volunteer)[:1] == [name], "the list to reload")
    item = volunteer.find_element(By.CSS_SELECTOR, "#notification-list li")
    assert item.find_element(By.CLASS_NAME, "title").text == title  # newest on top
    assert "live" in (item.get_attribute("class") or "")
    unread = int(_text(volunteer, "unread-count"))
    _screenshot(volunteer, "live-notification")

    # Mark as read.
    item.find_element(By.CLASS_NAME, "mark-read").click()
    _wait(
        volunteer,
        lambda: _texts(volunteer, "#notification-list li.read .title")[:1] == [title],
        "the notification to show as read",
    )
    assert int(_text(volunteer, "unread-count")) == unread - 1
    token = server.mint(VOLUNTEER_1)
    feed = _api(server, token, "/api/notifications/")["results"]
    assert [(n["title"], n["is_read"]) for n in feed if n["title"] == title] == [(title, True)]

    # Another organization's member: nothing, neither live nor in the campaign list. Their
    # stream is open: anything sent to it would have arrived with the volunteer's.
    assert _stream_state(other) == "live"
    time.sleep(1)
    assert _notification_titles(other) == before_other
    other.find_element(By.ID, "refresh").click()
    theirs = _api(server, server.mint(ADMIN_2), "/api/campaigns/?page_size=5")["results"]
    expected = [campaign["name"] for campaign in theirs]
    _wait(other, lambda: _campaign_names(other) == expected, "the other organization's page")
    assert name not in expected
    _screenshot(other, "other-organization")
    # The creator is not told about their own campaign.
    assert title not in _notification_titles(admin)
    for browser in (admin, volunteer, other):
        assert _console_errors(browser) == []


def test_vote_shows_the_new_count(
    server: ExampleServer, browsers: Callable[[], webdriver.Chrome]
) -> None:
    browser = browsers()
    _sign_in(browser, server, VOLUNTEER_1)  # every role may vote
    row = _campaign_rows(browser)[1]
    campaign_id = row.get_attribute("data-id")
    name = row.find_element(By.CLASS_NAME, "name").text
    shown = int(row.find_element(By.CLASS_NAME, "votes").text)

    def votes() -> int:
        return int(row.find_element(By.CLASS_NAME, "votes").text)

    row.find_element(By.CLASS_NAME, "vote").click()
    _wait(browser, lambda: votes() == shown + 1, "the count after one vote")
    # Someone else votes meanwhile: the page shows the count /vote/ answers, theirs included.
    _post(server, server.mint(ADMIN_1), f"/api/campaigns/{campaign_id}/vote/")
    row.find_element(By.CLASS_NAME, "vote").click()
    _wait(browser, lambda: votes() == shown + 3, "the count after three votes")
    assert _notice(browser) == ("voted", f'One vote for "{name}": it now has {shown + 3}.')
    _screenshot(browser, "vote")
    token = server.mint(VOLUNTEER_1)
    assert _api(server, token, f"/api/campaigns/{campaign_id}/")["vote_count"] == shown + 3


def test_pagination(server: ExampleServer, browsers: Callable[[], webdriver.Chrome]) -> None:
    browser = browsers()
    _sign_in(browser, server, ADMIN_2)
    expected = _api(server, server.mint(ADMIN_2), "/api/campaigns/?page_size=100")
    count = expected["count"]
    pages = -(-count // 5)
    assert pages >= 2
    prev, nxt = browser.find_element(By.ID, "prev-page"), browser.find_element(By.ID, "next-page")
    seen: list[str] = []
    for page in range(1, pages + 1):
        info = f"page {page} of {pages} ({count} campaigns)"
        _wait(browser, lambda info=info: _text(browser, "page-info") == info, info)
        seen += _campaign_names(browser)
        assert prev.is_enabled() == (page > 1)
        assert nxt.is_enabled() == (page < pages)
        if page == 2:
            _screenshot(browser, "page-2")
        if page < pages:
            nxt.click()
    assert seen == [campaign["name"] for campaign in expected["results"]]
    prev.click()
    _wait(browser, lambda: _text(browser, "page-info").startswith(f"page {pages - 1} of"), "back")


def test_expired_token_shows_a_message(
    server: ExampleServer, browsers: Callable[[], webdriver.Chrome]
) -> None:
    browser = browsers()
    # A token that lives one second (the API allows a few seconds of clock leeway).
    _sign_in(browser, server, ADMIN_1, lifetime=1)
    assert _notice(browser)[0] is None

    def refused() -> bool:
        if _notice(browser)[0] == "expired":
            return True
        browser.find_element(By.ID, "refresh").click()
        return False

    _wait(browser, refused, "the token to expire", timeout=40, poll=1)
    assert _notice(browser)[1] == (
        "Your access token has expired or was refused: Token has expired. "
        "Pick a user and sign in again."
    )
    assert _stream_state(browser) == "closed"
    _screenshot(browser, "token-expired")

    # A token that has expired already: the message at once, and nothing else shown.
    browser.get(f"{server.base}/demo/")
    lifetime = browser.find_element(By.ID, "token-lifetime")
    lifetime.clear()
    lifetime.send_keys("-60")
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser, lambda: _notice(browser)[0] == "expired", "the message for an expired token")
    assert not browser.find_element(By.ID, "app").is_displayed()

    # Signing in again works.
    _sign_in(browser, server, ADMIN_1)
    assert _notice(browser)[0] is None


def test_stream_drop_shows_a_message_and_reconnects(
    server: ExampleServer, browsers: Callable[[], webdriver.Chrome]
) -> None:
    volunteer = browsers()
    _sign_in(volunteer, server, VOLUNTEER_1)
    server.stop()
    try:
        _wait(volunteer, lambda: _notice(volunteer)[0] == "stream-dropped", "the drop message")
        assert _stream_state(volunteer) == "reconnecting"
        assert _notice(volunteer)[1] == (
            "The notification stream dropped; reconnecting every 3 s..."
        )
        _screenshot(volunteer, "stream-dropped")
    finally:
        server.start()
    _wait(
        volunteer,
        lambda: _notice(volunteer)[0] == "stream-reconnected",
        "the reconnected message",
        timeout=15,
    )
    assert _stream_state(volunteer) == "live"
    assert _notice(volunteer)[1] == "Reconnected: notifications are live again."
    _screenshot(volunteer, "stream-reconnected")

    # Live again: a campaign created now reaches the page.
    name = f"After the restart {uuid.uuid4().hex[:6]}"
    assert _post(server, server.mint(ADMIN_1), "/api/campaigns/", {"name": name})["name"] == name
    title = f"New campaign: {name}"
    _wait(volunteer, lambda: title in _notification_titles(volunteer), "a notification", 3)


def test_api_docs_offline_authorize_and_try_it_out(
    server: ExampleServer, browsers: Callable[[], webdriver.Chrome]
) -> None:
    browser = browsers()
    browser.get(f"{server.base}/api/docs/")
    _wait(
        browser,
        lambda: browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"),
        "Swagger UI to render",
        timeout=20,
    )
    assert "Campaigns API" in browser.find_element(By.CSS_SELECTOR, ".info .title").text
    # Everything the page loaded came from the server itself.
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources
    assert all(url.startswith(f"{server.base}/") for url in resources), resources

    token = server.mint(ADMIN_1)
    browser.find_element(By.CSS_SELECTOR, ".scheme-container button.authorize").click()
    dialog = _wait(
        browser, lambda: browser.find_elements(By.CSS_SELECTOR, ".modal-ux"), "the dialog"
    )[0]
    assert "supabaseAccessToken" in dialog.text
    assert "http, Bearer" in dialog.text
    dialog.find_element(By.CSS_SELECTOR, "input").send_keys(token)
    dialog.find_element(By.CSS_SELECTOR, "button.modal-btn.auth.authorize").click()
    _wait(browser, lambda: "Authorized" in dialog.text, "the token to be accepted")
    dialog.find_element(By.CSS_SELECTOR, "button.btn-done").click()

    operation = browser.find_element(By.ID, "operations-campaigns-campaigns_list")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    _wait(browser, lambda: operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"), "try it out")
    operation.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    operation.find_element(By.CSS_SELECTOR, "button.execute").click()
    status = _wait(
        browser,
        lambda: operation.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
        ),
        "the response",
        timeout=20,
    )[0]
    assert status.text.strip() == "200"
    body = operation.find_element(
        By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description pre"
    )
    answered = json.loads(body.text)
    expected = _api(server, token, "/api/campaigns/")
    assert [c["id"] for c in answered["results"]] == [c["id"] for c in expected["results"]]
    assert {c["organization"] for c in answered["results"]} == {
        _api(server, token, "/api/auth/profile/")["organization"]["id"]
    }
    curl = operation.find_element(By.CSS_SELECTOR, ".curl-command").text
    assert "Authorization: Bearer" in curl
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'start'})",
        operation.find_element(By.CSS_SELECTOR, ".responses-wrapper"),
    )
    _screenshot(browser, "api-docs")
    assert _console_errors(browser) == []


def test_without_debug_no_token_endpoint_and_no_user_picker(
    server: ExampleServer, database_url: str, browsers: Callable[[], webdriver.Chrome]
) -> None:
    production = ExampleServer(
        _server_env(
            database_url,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="demo-browser-test-secret-key-long-enough-for-the-checks",
            ALLOWED_HOSTS="127.0.0.1",
        )
    )
    production.start()
    try:
        for method, path in (("GET", "/"), ("POST", "/demo/token/")):
            request = urllib.request.Request(
                f"{production.base}{path}", method=method, data=b"{}" if method == "POST" else None
            )
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(request, timeout=10)
            error.value.close()
            assert error.value.code == 404, path
        browser = browsers()
        browser.get(f"{production.base}/demo/")
        assert browser.find_elements(By.ID, "user-picker") == []
        assert browser.find_elements(By.ID, "sign-in") == []
        assert ADMIN_1 not in browser.page_source
        # The page still works with a token from elsewhere (here, the debug server).
        browser.find_element(By.ID, "token-input").send_keys(server.mint(ADMIN_2))
        browser.find_element(By.ID, "use-token").click()
        _wait(browser, lambda: _text(browser, "profile-email") == ADMIN_2, "the profile")
        _wait(browser, lambda: _stream_state(browser) == "live", "the stream")
    finally:
        production.stop()
    assert "Traceback" not in production.output(), production.output()
