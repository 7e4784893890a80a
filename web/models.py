from django.db import models


class RateLimitCount(models.Model):
    """Events counted in one fixed window for one client (web.ratelimit's database store).

    In the database, not in process memory, so every worker and host counts against the same
    row. The client key is stored as a digest: no e-mail address or IP lands in this table.
    """

    scope = models.CharField(max_length=40)
    digest = models.CharField(max_length=64)
    window_start = models.BigIntegerField()  # Unix seconds
    window_end = models.BigIntegerField(db_index=True)  # the sweep deletes rows past this
    count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "portal_ratelimitcount"  # created by the portal app, which held it first
        constraints = [
            # The conflict target of the counting upsert (web.ratelimit.DatabaseStore).
            models.UniqueConstraint(
                fields=["scope", "digest", "window_start"], name="ratelimit_one_row_per_window"
            )
        ]

    def __str__(self):
        return f"{self.scope} {self.digest[:8]} @{self.window_start}: {self.count}"


class CacheListener(models.Model):
    """A process hearing cache invalidations on PostgreSQL (web.invalidation): writers wait
    until every live one has acknowledged their mark."""

    host = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    backend_pid = models.PositiveIntegerField()  # its PostgreSQL session, to skip dead ones
    acked = models.BigIntegerField()  # the newest mark heard, of writers that mark after commit
    lease_until = models.DateTimeField()
    # A listener that also acknowledges the marks writers take just before their commit, in
    # commit order (0.1.0's do not: a writer then also marks after its commit for them).
    ordered = models.BooleanField(db_default=False)
    acked_ordered = models.BigIntegerField(db_default=0)

    class Meta:
        db_table = "tokens_cachelistener"  # created by the tokens app, which held it first

    def __str__(self):
        return f"{self.host}:{self.pid}"
