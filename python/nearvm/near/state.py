"""Chain state in SQLite: accounts, contract code, contract key/value storage, validators.

One database file (or ``:memory:``). Every state change of a call happens inside one ``BEGIN
IMMEDIATE`` transaction that is committed only when the call succeeded: a failed call, an
exception or a process killed in the middle of a call leaves the file as it was (SQLite's journal
rolls an uncommitted transaction back the next time the file is opened).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass

from .errors import NearUsageError

__all__ = ["Account", "ChainState"]

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS near_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS near_accounts (
    account_id TEXT PRIMARY KEY, balance TEXT NOT NULL, locked TEXT NOT NULL,
    code_hash BLOB, storage_usage INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS near_code (code_hash BLOB PRIMARY KEY, code BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS near_data (
    account_id TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (account_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS near_validators (account_id TEXT PRIMARY KEY, stake TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Account:
    account_id: str
    balance: int
    locked: int
    code_hash: bytes | None
    storage_usage: int


class ChainState:
    """The SQLite-backed state. Not shared between threads; one writer at a time per file."""

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = os.fspath(path)
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(_SCHEMA)
            row = self.conn.execute("SELECT value FROM near_meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as e:
            raise NearUsageError(f"{self.path}: not a usable nearvm NEAR state database ({e})") from None
        if row is None:
            self.conn.execute("INSERT INTO near_meta VALUES ('schema', ?), ('block_height', '0')", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise NearUsageError(f"{self.path}: state schema {row[0]!r}, this nearvm reads {SCHEMA_VERSION!r}")

    def close(self) -> None:
        self.conn.close()

    def begin(self, *, write: bool) -> None:
        """Start a transaction: a write one takes the file's write lock until commit/rollback."""
        self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # ---- accounts and code -------------------------------------------------------------------
    def account(self, account_id: str) -> Account | None:
        row = self.conn.execute("SELECT balance, locked, code_hash, storage_usage FROM near_accounts "
                                "WHERE account_id = ?", (account_id,)).fetchone()
        if row is None:
            return None
        return Account(account_id, int(row[0]), int(row[1]), None if row[2] is None else bytes(row[2]), int(row[3]))

    def put_account(self, acc: Account) -> None:
        self.conn.execute("INSERT OR REPLACE INTO near_accounts VALUES (?, ?, ?, ?, ?)",
                          (acc.account_id, str(acc.balance), str(acc.locked), acc.code_hash, acc.storage_usage))

    def code(self, code_hash: bytes) -> bytes | None:
        row = self.conn.execute("SELECT code FROM near_code WHERE code_hash = ?", (code_hash,)).fetchone()
        return None if row is None else bytes(row[0])

    def put_code(self, code: bytes) -> bytes:
        h = hashlib.sha256(code).digest()
        self.conn.execute("INSERT OR IGNORE INTO near_code VALUES (?, ?)", (h, code))
        return h

    # ---- contract storage ----------------------------------------------------------------------
    def get(self, account_id: str, key: bytes) -> bytes | None:
        row = self.conn.execute("SELECT value FROM near_data WHERE account_id = ? AND key = ?",
                                (account_id, key)).fetchone()
        return None if row is None else bytes(row[0])

    def set(self, account_id: str, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM near_data WHERE account_id = ? AND key = ?", (account_id, key))
        else:
            self.conn.execute("INSERT OR REPLACE INTO near_data VALUES (?, ?, ?)", (account_id, key, value))

    def items(self, account_id: str) -> dict[bytes, bytes]:
        rows = self.conn.execute("SELECT key, value FROM near_data WHERE account_id = ? ORDER BY key",
                                 (account_id,)).fetchall()
        return {bytes(k): bytes(v) for k, v in rows}

    # ---- chain -----------------------------------------------------------------------------------
    @property
    def block_height(self) -> int:
        row = self.conn.execute("SELECT value FROM near_meta WHERE key = 'block_height'").fetchone()
        return int(row[0])

    def set_block_height(self, height: int) -> None:
        self.conn.execute("UPDATE near_meta SET value = ? WHERE key = 'block_height'", (str(height),))

    def validators(self) -> dict[str, int]:
        return {a: int(s) for a, s in self.conn.execute("SELECT account_id, stake FROM near_validators").fetchall()}

    def set_validator(self, account_id: str, stake: int) -> None:
        if stake:
            self.conn.execute("INSERT OR REPLACE INTO near_validators VALUES (?, ?)", (account_id, str(stake)))
        else:
            self.conn.execute("DELETE FROM near_validators WHERE account_id = ?", (account_id,))
