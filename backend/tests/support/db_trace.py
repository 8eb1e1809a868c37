"""What the database driver itself ran, for tests that count statements and round trips."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event


class QueryLog(list[str]):
    """The statements every connection `engine` makes from now on runs, in order, as its
    driver ran them: asyncpg's query loggers (called a loop iteration after the query) or
    sqlite3's trace callback (the inline connection's, app/core/sqlite_inline.py). Connections
    already in the pool are not followed: dispose of the engine first. `stop()` ends it."""

    def __init__(self, engine: Any) -> None:
        super().__init__()
        self._engine = engine
        event.listen(engine.sync_engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        driver = dbapi_conn.driver_connection
        if hasattr(driver, "add_query_logger"):  # asyncpg
            driver.add_query_logger(lambda logged: self.append(logged.query))
        else:
            driver._conn.set_trace_callback(self.append)

    def stop(self) -> None:
        event.remove(self._engine.sync_engine, "connect", self._on_connect)
