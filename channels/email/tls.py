"""TLS contexts for IMAP and SMTP: certificates are verified unless `verify: false`.

`ca_file` adds a private CA (a company CA, or a test CA) to the trusted roots; without it
the system's roots are used. `verify: false` turns verification off entirely (hostname
and chain) and logs a warning each time a context is made: it is for a lab server with a
self-signed certificate, never for a mail provider.
"""

from __future__ import annotations

import logging
import ssl

log = logging.getLogger(__name__)


def client_context(*, verify: bool = True, ca_file: str = "", what: str = "") -> ssl.SSLContext:
    """A client context: system roots (plus `ca_file`), hostname checked, TLS 1.2+."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        log.warning("%s: TLS certificate verification is off (verify: false)", what or "email")
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
