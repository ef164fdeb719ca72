"""Fixtures: a real dovecot IMAP server and a real aiosmtpd SMTP sink on 127.0.0.1.

Dovecot config per /work/shared/platform-notes.md section 1 (Dovecot 2.3). When dovecot is
not installed the fixture FAILS (it must never silently skip under CI): install it with
`apt-get install -y dovecot-imapd` (.ci/run does).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

DOVECOT = "/usr/sbin/dovecot"
MAIL_UID = 65534
SAMPLES = Path(__file__).parent / "samples"
AUTO_DIR = Path(__file__).parent / "auto"

_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={tmp}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], deadline: float, log: Path) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with {proc.returncode}: {_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)  # polling a port with a deadline, not waiting blindly
    raise RuntimeError(f"dovecot did not listen on {port}: {_tail(log)}")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"


@dataclass
class Dovecot:
    """A running dovecot with user alice/secret; `deliver` drops mail into the Maildir."""

    root: Path
    port: int
    proc: subprocess.Popen[bytes]
    user: str = "alice"
    password: str = "secret"
    imaps_port: int = 0  # implicit TLS; 0 unless started with a certificate
    _seq: int = field(default=0)

    def log(self) -> str:
        """The whole log (a check for a line must not miss one that scrolled out of a tail)."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def logged(self, needle: str, within: float = 5.0) -> str:
        """The log once it holds `needle`: dovecot's log process writes a line a little
        after the event it records, so a check right after a login could miss it.
        Polling the file with a deadline (it has no event to wait on)."""
        deadline = time.monotonic() + within
        while needle not in (text := self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not in dovecot's log: {_tail(self.root / 'dovecot.log')}")
            await asyncio.sleep(0.01)
        return text

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user / "Maildir"

    def deliver(self, raw: bytes) -> Path:
        """Deliver like an MDA: write to tmp/, rename into new/ (atomic, as maildir wants)."""
        self._seq += 1
        name = f"{time.time():.6f}.{os.getpid()}_{self._seq}.test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, MAIL_UID, MAIL_UID)
        final = self.maildir / "new" / name
        tmp.rename(final)
        return final

    def drop_connections(self) -> int:
        """Kill this server's own imap session processes: clients see the connection drop."""
        killed = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().split(") ", 1)
                comm = fields[0].split("(", 1)[1]
                ppid = int(fields[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and comm == "imap":
                os.kill(int(stat.parent.name), signal.SIGKILL)
                killed += 1
        return killed

    def restart(self) -> None:
        """Stop and start the server on the same port and data (a dropped connection)."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc = _spawn(self.root)
        _wait_port(self.port, self.proc, time.monotonic() + 10, self.root / "dovecot.log")


def _spawn(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")])


@dataclass(frozen=True)
class LocalCA:
    """A private CA and a server certificate it signed for 127.0.0.1 and localhost."""

    ca: Path
    cert: Path
    key: Path
    untrusted_cert: Path  # self-signed, same names: what verification must refuse
    untrusted_key: Path

    def server_context(self, *, trusted: bool = True) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if trusted:
            context.load_cert_chain(self.cert, self.key)
        else:
            context.load_cert_chain(self.untrusted_cert, self.untrusted_key)
        return context


_EXT = ("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    """Made with the `openssl` CLI (EC P-256: fast); valid for two days."""
    d = tmp_path_factory.mktemp("ca")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Inquiry Router Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", *key, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=d)
    (d / "ext.cnf").write_text(_EXT)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    _openssl("req", "-x509", *key, "-keyout", "self.key", "-out", "self.pem", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             cwd=d)
    for name in ("server.key", "self.key"):
        os.chmod(d / name, 0o644)  # dovecot reads the key as root; tidy either way
    return LocalCA(d / "ca.pem", d / "server.pem", d / "server.key", d / "self.pem", d / "self.key")


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from _dovecot(None)


@pytest.fixture
def dovecot_tls(local_ca: LocalCA) -> Iterator[Dovecot]:
    """dovecot with `ssl = required`: STARTTLS on `port`, implicit TLS on `imaps_port`."""
    yield from _dovecot(local_ca)


def _dovecot(ca: LocalCA | None) -> Iterator[Dovecot]:
    if not Path(DOVECOT).exists():
        pytest.fail(
            f"{DOVECOT} is missing: the email tests need a real IMAP server. "
            "Install it with `apt-get install -y dovecot-imapd` (.ci/run does this)."
        )
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    os.chmod(root, 0o755)
    port = free_port()
    imaps_port = free_port() if ca is not None else 0
    tls = (f"ssl = required\nssl_cert = <{ca.cert}\nssl_key = <{ca.key}"
           if ca is not None else "ssl = no")
    (root / "dovecot.conf").write_text(
        _CONF.format(tmp=root, port=port, uid=MAIL_UID, ssl=tls, imaps_port=imaps_port))
    (root / "users").write_text("alice:{PLAIN}secret\n")
    maildir = root / "mail" / "alice" / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for path in (
        root / "mail",
        root / "mail" / "alice",
        maildir,
        *(maildir / s for s in ("cur", "new", "tmp")),
    ):
        os.chown(path, MAIL_UID, MAIL_UID)
    proc = _spawn(root)
    server = Dovecot(root=root, port=port, proc=proc, imaps_port=imaps_port)
    try:
        _wait_port(port, proc, time.monotonic() + 10, root / "dovecot.log")
        if imaps_port:
            _wait_port(imaps_port, proc, time.monotonic() + 10, root / "dovecot.log")
        yield server
    finally:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class SmtpSink:
    """Collects delivered envelopes; `reject` makes the next DATA answer with that reply."""

    port: int = 0
    messages: list[Envelope] = field(default_factory=list)
    reject: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    tls: list[bool] = field(default_factory=list)  # per message: did it come over TLS?

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reject:
            return self.reject.pop(0)
        self.tls.append(server.transport.get_extra_info("ssl_object") is not None)
        self.messages.append(envelope)
        self.arrived.set()
        return "250 OK"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Envelope]:
        async def _until() -> None:
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(_until(), timeout)
        return self.messages


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


async def _tls_sink(context: ssl.SSLContext, *, implicit: bool) -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    loop = asyncio.get_running_loop()
    if implicit:  # TLS from the first byte (port 465 style)
        server = await loop.create_server(lambda: SMTP(sink, hostname="sink.test"),
                                          "127.0.0.1", 0, ssl=context)
    else:  # STARTTLS, and no mail without it
        server = await loop.create_server(
            lambda: SMTP(sink, hostname="sink.test", tls_context=context, require_starttls=True),
            "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def smtp_starttls_sink(local_ca: LocalCA) -> AsyncIterator[SmtpSink]:
    async for sink in _tls_sink(local_ca.server_context(), implicit=False):
        yield sink


@pytest.fixture
async def smtp_tls_sink(local_ca: LocalCA) -> AsyncIterator[SmtpSink]:
    async for sink in _tls_sink(local_ca.server_context(), implicit=True):
        yield sink


@pytest.fixture
async def smtp_untrusted_sink(local_ca: LocalCA) -> AsyncIterator[SmtpSink]:
    """STARTTLS with a self-signed certificate that no configured CA vouches for."""
    async for sink in _tls_sink(local_ca.server_context(trusted=False), implicit=False):
        yield sink
