"""`SqlTx`: the whole `Tx` interface in SQL written once, for every SQL backend.

A backend subclasses it and supplies the statement primitives of `SqlBase`; see
`router.store.sqlite_tx.SqliteTx` and `router.store.postgres_tx.PgTx`.
"""

from __future__ import annotations

from router.store.sql_agents import SqlAgents
from router.store.sql_audit import SqlAudit  # issue 29
from router.store.sql_channel_state import SqlChannelState  # issue 25
from router.store.sql_collab import SqlCollab  # issue 24
from router.store.sql_console import SqlConsole
from router.store.sql_conversations import SqlConversations
from router.store.sql_crm import SqlCrm  # issue 27
from router.store.sql_faq import SqlFaq  # issue 20
from router.store.sql_macros import SqlMacros  # issue 24
from router.store.sql_outbox import SqlOutbox
from router.store.sql_privacy import SqlPrivacy  # issue 13
from router.store.sql_reports import SqlReports  # issue 13
from router.store.sql_search import SqlSearch  # issue 24
from router.store.sql_two_factor import SqlTwoFactor  # issue 29


# SqlSearch comes first: its insert_message indexes what SqlConversations' stores
class SqlTx(SqlSearch, SqlConversations, SqlOutbox, SqlAgents, SqlConsole, SqlReports,
            SqlPrivacy, SqlFaq, SqlAudit, SqlTwoFactor, SqlMacros, SqlCollab, SqlCrm,
            SqlChannelState):
    """Inbox, contacts, conversations, messages, events, outbox, metrics, agents, console,
    reports, privacy, FAQ suggestions, the audit log, two-factor sign-in, macros,
    search and saved views, attachments and agents' settings, CRM sync, channels' state."""
