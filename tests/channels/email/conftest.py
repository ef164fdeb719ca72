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
ssl = no
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
    port = 0
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
    _seq: int = field(default=0)

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


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if not Path(DOVECOT).exists():
        pytest.fail(
            f"{DOVECOT} is missing: the email tests need a real IMAP server. "
            "Install it with `apt-get install -y dovecot-imapd` (.ci/run does this)."
        )
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    os.chmod(root, 0o755)
    port = free_port()
    (root / "dovecot.conf").write_text(_CONF.format(tmp=root, port=port, uid=MAIL_UID))
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
    server = Dovecot(root=root, port=port, proc=proc)
    try:
        _wait_port(port, proc, time.monotonic() + 10, root / "dovecot.log")
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

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reject:
            return self.reject.pop(0)
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
