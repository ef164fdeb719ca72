"""Storage: the `Store` interface and its backends."""

from __future__ import annotations

from pathlib import Path

from router.store.base import Store, Tx, parse_ts, ts, utcnow

__all__ = ["Store", "Tx", "open_store", "parse_ts", "ts", "utcnow"]


def open_store(url: str, *, base_dir: Path | None = None) -> Store:
    """The backend for a storage URL (not yet opened)."""
    if url.startswith("sqlite:///"):
        from router.store.sqlite import SqliteStore

        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return SqliteStore(path)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from router.store.postgres import PostgresStore
        except ImportError:
            from router.domain.errors import StoreError

            raise StoreError("the PostgreSQL backend is not available in this build") from None
        return PostgresStore(url)
    from router.domain.errors import StoreError

    raise StoreError(f"unsupported storage url scheme: {url.split(':', 1)[0]}")
