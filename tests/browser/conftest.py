"""Browser tests: the real product (python -m miniprogram_api, its own SQLite file and
WeChat sandbox on free ports) driven by Debian's headless chromium through Playwright.

They run in the SQLite pass of `./dev test` (the product they start has its own
database either way). Without chromium or a built web/dist they skip with a message,
except under CI=true where that is a failure. Screenshots of the key pages are written
to tests/browser/screenshots/ (kept as CI artifacts)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# The back-office is shot and driven at a laptop's size, in Chinese.
DESKTOP = {"viewport": {"width": 1440, "height": 900}, "locale": "zh-CN"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def product() -> Iterator[dict[str, Any]]:
    """The whole product with its demo tenant, as `./dev run` starts it, but for the bot
    (no page needs it; its start was two seconds of CPU a worker)."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("browser tests run in the SQLite pass (the product they start has its own database)")
    if not Path(CHROMIUM).is_file():
        _unavailable(f"{CHROMIUM} is missing (./dev test installs chromium as root)")
    if not (ROOT / "web" / "dist" / "admin" / "index.html").is_file():
        _unavailable("web/dist is not built (./dev test builds it)")
    port, sandbox_port = free_ports(2)
    workdir = Path(tempfile.mkdtemp(prefix="siyu-browser-"))
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir}/product.sqlite", "PUBLIC_BASE_URL": base,
           "WECHAT_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}", "WECHAT_MODE": "sandbox"}
    for key in ("REDIS_URL", "TEST_DATABASE_URL", "SIYU_ENV"):
        env.pop(key, None)
    log = open(workdir / "product.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "miniprogram_api", "--port", str(port), "--no-bot"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code < 500:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("the product did not start:\n" + (workdir / "product.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {"base": base, "workdir": workdir, "env": env}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        _unavailable(f"{CHROMIUM} is missing")
    with sync_playwright() as pw:  # Playwright gives each launch a fresh, empty profile
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot under tests/browser/screenshots/."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture()
def console_errors() -> list[str]:
    return []


def watch(page: Any, errors: list[str]) -> None:
    """Collect the page's JavaScript errors and CSP violations (a test asserts none), and
    count its API calls in flight (what `settle` waits on)."""
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error"
            and "Failed to load resource" not in msg.text else None)
    pending = _PENDING[id(page)] = [0]

    def started(req: Any) -> None:
        if "/api/v1/" in req.url:
            pending[0] += 1

    def ended(req: Any) -> None:
        if "/api/v1/" in req.url:
            pending[0] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    page.on("close", lambda _: _PENDING.pop(id(page), None))


# A watched page's API calls in flight, by id(page).
_PENDING: dict[int, list[int]] = {}


def settle(page: Any, *, timeout: float = 15) -> None:
    """Until the page has had no API call running and no loading mask showing for 0.15 s.

    Playwright's "networkidle" waits a fixed half second of silence; over the hundred-odd
    pages the browser tests open that was about a minute of each run. Pages not
    `watch`ed fall back to it."""
    pending = _PENDING.get(id(page))
    if pending is None:
        page.wait_for_load_state("networkidle")
        return
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        busy = pending[0] > 0 or page.evaluate(
            "() => [...document.querySelectorAll('.el-loading-mask')].some(m => m.offsetParent !== null)")
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.15:  # a page's second request follows its first
            return
        page.wait_for_timeout(30)
    raise AssertionError(f"{page.url} never settled ({pending[0]} API calls running)")


def run_in_product(product: dict[str, Any], code: str) -> str:
    """Run Python against the product's own database (what its scheduler would do
    later, e.g. a job with a `now` in the future); returns its stdout."""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=product["env"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


class Api:
    """A small JSON client for arranging what the browser then works on."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.headers: dict[str, str] = {}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        r = requests.request(method, f"{self.base}/api/v1{path}", json=body, headers=self.headers, timeout=20)
        assert r.status_code < 300, (path, r.status_code, r.text)
        return r.json() if r.content else None

    def staff(self, username: str = "boss", password: str = "demo1234") -> Api:
        self.headers = {"Authorization": "Bearer " + self.call(
            "POST", "/admin/login", {"tenant": "demo", "username": username, "password": password})["token"]}
        return self

    def member(self, code: str) -> Api:
        self.headers = {"Authorization": "Bearer " + self.call(
            "POST", "/mp/login", {"tenant": "demo", "code": code})["token"]}
        return self


def log_in(browser: Any, base: str, errors: list[str], username: str = "boss", supplier: bool = False) -> Any:
    """A new desktop page logged in to /admin/ as one of the demo logins (the 供应商 tab
    for a supplier), its console and API errors collected in `errors`."""
    page = browser.new_context(**DESKTOP).new_page()
    watch(page, errors)
    page.goto(f"{base}/admin/")
    if supplier:
        page.get_by_role("tab", name="供应商").click()
    page.get_by_label("商户标识").fill("demo")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("demo1234")
    page.keyboard.press("Enter")  # the form submits on Enter
    page.locator("li.el-menu-item").first.wait_for()
    return page
