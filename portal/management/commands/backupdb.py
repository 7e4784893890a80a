import sqlite3
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection

from web.commands import PortalCommand


class Command(PortalCommand):
    help = (
        "Copy the SQLite database to a new file while the portal keeps serving (SQLite's "
        "online backup). PostgreSQL: use pg_dump, see docs/operations.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup file to write; an existing file is refused")

    def handle(self, *args, path, **options):
        if connection.vendor != "sqlite":
            raise CommandError(
                f"backupdb copies SQLite databases; back up {connection.vendor} with pg_dump "
                "(docs/operations.md)."
            )
        target = Path(path)
        if target.exists():
            raise CommandError(f"{target} already exists; name a new file.")
        # Written beside the target and renamed once complete and checked, so a crash or a
        # full disk never leaves a half backup under the name an operator will look for.
        partial = target.with_name(f".{target.name}.partial")
        try:
            self._copy(partial)
        except sqlite3.Error as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Backup failed: {error}.") from None
        partial.rename(target)
        size = target.stat().st_size
        self.stdout.write(f"Backed up the database to {target} ({size} bytes, integrity ok).")

    def _copy(self, partial):
        connection.ensure_connection()
        backup = sqlite3.connect(partial)
        try:
            # One step: a consistent snapshot, committed rows still in the WAL included.
            # Writers carry on meanwhile (WAL), this holds only a read transaction.
            connection.connection.backup(backup)
            (result,) = backup.execute("PRAGMA integrity_check").fetchone()
            if result != "ok":
                raise sqlite3.DatabaseError(f"integrity check of the copy says {result!r}")
        finally:
            backup.close()
