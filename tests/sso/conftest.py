"""A real OpenID provider on 127.0.0.1 for the console's single sign-on (issue 29).

`tests/sso/provider/provider.js` runs panva's `oidc-provider` (installed with `npm ci`
from the committed package-lock.json the first time, or when the lock changes). One
provider and one service per test module: the provider prints its issuer, the service
starts with it in `console.auth.sso`, then the provider learns the service's redirect URI
and the test users (POST /__test/setup). Without node the tests skip locally and fail
under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from router.config import load_config
from router.service import Service
from tests.conftest import write_config
from tests.web.conftest import browser  # noqa: F401  (Chromium, launched once per session)

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
START_TIMEOUT = 30.0
CLIENT_ID = "inquiry-router-console"
SECRET_ENV = "TEST_OIDC_CLIENT_SECRET"
PROVIDER_KEY = "test"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def _missing(message: str) -> None:
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _missing("node and npm are needed for the single sign-on tests (a real OpenID "
                 "provider): install Node.js 20 or later")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    major = int(re.match(r"v(\d+)", version.strip()).group(1))  # type: ignore[union-attr]
    if major < 20:
        _missing(f"oidc-provider needs Node.js 20 or later; {node} is {version.strip()}")
    return node


def _npm_ci() -> None:
    """`npm ci` from the lock file when node_modules is missing or older than the lock."""
    lock, installed = PROVIDER_DIR / "package-lock.json", PROVIDER_DIR / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                          cwd=PROVIDER_DIR, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"npm ci in {PROVIDER_DIR} failed:\n{done.stdout}\n{done.stderr}")


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen[str]
    client_secret: str = field(default_factory=lambda: os.urandom(24).hex())

    def post(self, path: str, body: dict[str, Any]) -> None:
        req = urllib.request.Request(self.issuer + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200

    def set_up(self, redirect_uri: str, users: dict[str, dict[str, Any]]) -> None:
        self.post("/__test/setup", {"clients": [{
            "client_id": CLIENT_ID, "client_secret": self.client_secret,
            "redirect_uris": [redirect_uri]}], "users": users})

    def tamper_next_id_token(self, **change: Any) -> None:
        """The next ID token is re-signed by the provider with these claims changed
        (`aud`, or `exp`/`iat` as seconds from now)."""
        self.post("/__test/tamper", change)


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[OidcProvider]:
    node = _node()
    _npm_ci()
    proc = subprocess.Popen([node, "provider.js"], cwd=PROVIDER_DIR, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if not line:
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"the OpenID provider did not start: {err}")
        yield OidcProvider(json.loads(line)["issuer"], proc)
    finally:
        if proc.stdin:
            proc.stdin.close()  # the script exits when its stdin closes
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def sso_config(provider: OidcProvider, extra: str = "") -> str:
    """`console.auth` with the test provider as `test`, passwords off, roles mapped."""
    return f"""
service: {{name: Exempel AB}}
queues: {{general: {{}}}}
agents:
  alice: {{name: Alice Admin, email: alice@example.com, role: admin}}
console:
  auth:
    passwords: false
    sso:
      {PROVIDER_KEY}:
        label: Test IdP
        issuer: {provider.issuer}
        client_id: {CLIENT_ID}
        client_secret: ${{{SECRET_ENV}}}
        scopes: [openid, email, profile, groups]
        roles_claim: groups
        roles: {{admin: [support-admins], agent: [support]}}
        create_agents: true
{extra}"""


async def start_sso_service(tmp: Path, provider: OidcProvider, extra: str = "") -> Service:
    env = {**os.environ, SECRET_ENV: provider.client_secret}
    config = load_config(write_config(tmp, sso_config(provider, extra)), env)
    service = Service(config)
    await service.start(port=0)
    return service


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def sso_service(oidc_provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
                      ) -> AsyncIterator[Service]:
    service = await start_sso_service(tmp_path_factory.mktemp("sso"), oidc_provider)
    oidc_provider.set_up(f"http://127.0.0.1:{service.port}/console/sso/{PROVIDER_KEY}/callback",
                         USERS)
    yield service
    if not service.state["stopping"]:
        await service.stop()


def _user(password: str, email: str, groups: list[str], **claims: Any) -> dict[str, Any]:
    return {"password": password, "claims": {"email": email, "email_verified": True,
                                              "groups": groups, **claims}}


PASSWORD = "provider-password-123"
USERS = {
    "alice": _user(PASSWORD, "Alice@Example.com", ["support-admins"], name="Alice Admin",
                   preferred_username="alice"),
    "bob": _user(PASSWORD, "bob@example.com", ["support-admins"], name="Bob B"),
    "carl": _user(PASSWORD, "carl.nilsson@example.com", ["support"], name="Carl Nilsson",
                  preferred_username="carl.nilsson@example.com"),
    "eve": _user(PASSWORD, "eve@example.com", ["marketing"], name="Eve"),
    "dave": _user(PASSWORD, "dave@example.com", ["support"], name="Dave"),
    "unverified": {"password": PASSWORD, "claims": {"email": "u@example.com",
                                                    "email_verified": False, "groups": ["support"]}},
}


async def http_sign_in(base: str, login: str, password: str = PASSWORD, *,
                       hold: bool = False) -> tuple[str, aiohttp.CookieJar]:
    """The whole flow without a browser: start, the provider's form, and the callback,
    or with `hold` not the callback. Returns the URL it ends on (with `hold`: the
    callback URL with its unredeemed code) and the cookies (the flow cookie included)."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{base}/console/sso/{PROVIDER_KEY}/start") as resp:
            assert resp.status == 200, resp.status
            url = str(resp.url)
            assert "/interaction/" in url, url
        post: dict[str, Any] = {"data": {"login": login, "password": password}}
        url = url.rstrip("/") + "/login"
        while True:  # follow redirects by hand, to stop before our callback
            if hold and url.startswith(f"{base}/console/sso/"):
                return url, jar
            method = http.post if post else http.get
            async with method(url, allow_redirects=False, **post) as resp:
                await resp.read()
                post = {}
                if resp.status not in (302, 303):
                    return str(resp.url), jar
                url = str(resp.url.join(URL(resp.headers["Location"])))
