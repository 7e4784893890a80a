"""Django's PostgreSQL backend with one thing added: a statement run at the end of every
transaction that announced a cache invalidation, just before it commits
(web.invalidation.before_commit). Django has no pre-commit hook; the invalidation's mark must
be taken there, after every other lock the transaction takes, so that marks are taken in the
order their writes commit. settings.py names this backend for postgres:// URLs."""

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def _commit(self):
        if self.connection is not None:
            from web import invalidation  # the backend loads before the apps

            invalidation.before_commit(self)
        return super()._commit()

    def _rollback(self):
        from web import invalidation

        invalidation.forget_pending(self)
        return super()._rollback()
