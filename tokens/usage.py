"""Bounded-write bookkeeping of token use: last use, daily counts of requests and refused
calls, client addresses; and the per-day charts read from them (tokens.charts).

No request writes counts or addresses. Last use is written when the stored one is older than
TOKEN_LAST_USED_RESOLUTION (so a new token turns Active on its first call); requests, refused
calls and addresses are counted in the process's memory (tokens.pending), and its background
thread writes them once per resolution, in a few statements per batch (TokenUsage per token
and day, TokenClientAddress, tokens.sightings). Counts still in memory when a worker is
killed are lost; the 30-day figure is a usage indicator, not billing.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, Sum
from django.utils import timezone

from web import invalidation

from . import charts, pending
from .models import Token, TokenClientAddress, TokenKind, TokenNetwork, TokenUsage


def resolution():
    return timedelta(seconds=settings.TOKEN_LAST_USED_RESOLUTION)


def record_use(token, client_ip=None, now=None):
    """Note one authenticated call with token. Writes last use when the stored one is older
    than the resolution (so the first call turns a token Active at once); counts the call
    and its address in memory, for this process's flusher to write (tokens.pending)."""
    now = now or timezone.now()
    if token.last_used_at is None or token.last_used_at <= now - resolution():
        _write_last_use(token, now)
    pending.add(token.pk, now, requests=1, address=client_ip)


def record_refusal(token, now=None):
    """Note one call refused although token was recognised (outside its networks, a
    deprovisioned owner, a write with a read-only token, an endpoint of another kind): counted
    like requests, in memory, written by this process's flusher."""
    pending.add(token.pk, now or timezone.now(), refused=1)


def _write_last_use(token, now):
    # Conditional, so that of several processes only one writes per resolution, and last use
    # never moves backwards. The cached copy is advanced either way, which is what keeps this
    # process from trying again until the resolution has passed.
    first_use = token.last_used_at is None
    updated = (
        Token.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - resolution()))
        .update(last_used_at=now)
    )
    token.last_used_at = now
    if updated and first_use:
        # Generated -> Active: the counts change, no cached token does.
        invalidation.announce(token.tenant_id, invalidation.COUNTS)


COUNTED_DAYS = 30
# How long day counts and client addresses are kept (sweeptokens prunes older ones): the
# charts show 30 days, and a quarter of history answers "did this token run last quarter?".
KEPT_DAYS = 90


def prune(now=None, dry_run=False):
    """Delete (or with dry_run, count) the day counts, client addresses and networks seen
    (tokens.sightings) older than KEPT_DAYS; return how many of each."""
    now = now or timezone.now()
    days = TokenUsage.objects.filter(day__lt=now.date() - timedelta(days=KEPT_DAYS))
    cutoff = now - timedelta(days=KEPT_DAYS)
    addresses = TokenClientAddress.objects.filter(last_seen_at__lt=cutoff)
    # A token's baseline is kept (else its next network would become the baseline unflagged),
    # and so is a flag nobody has reviewed yet.
    networks = TokenNetwork.objects.filter(last_seen_at__lt=cutoff, baseline=False).exclude(
        flagged_at__isnull=False, reviewed_at__isnull=True
    )
    if dry_run:
        return days.count(), addresses.count(), networks.count()
    return days.delete()[0], addresses.delete()[0], networks.delete()[0]


def _first_counted_day(now=None):
    return (now or timezone.now()).date() - timedelta(days=COUNTED_DAYS - 1)


def requests_last_30_days(token, now=None):
    since = _first_counted_day(now)
    total = token.usage_days.filter(day__gte=since).aggregate(total=Sum("requests"))["total"]
    return total or 0


def counts_catching_up(token, now=None):
    """Whether the token's last use is newer than the counts written so far: its last use is
    written on the call itself, its counts and addresses only when a process flushes them
    (tokens.pending), so for a while a used token can show no count for the day of its last use.
    Pages say the counts are catching up then, rather than "not used"."""
    last_used = token.last_used_at
    if last_used is None or last_used.date() < _first_counted_day(now):
        return False
    return not token.usage_days.filter(day__gte=last_used.date()).exists()


def recent_addresses(token, limit=5):
    return list(token.client_addresses.order_by("-last_seen_at")[:limit])


def counted_days(now=None):
    """The last 30 days (UTC), oldest first: the days a usage chart has a bar for."""
    first = _first_counted_day(now)
    return [first + timedelta(days=i) for i in range(COUNTED_DAYS)]


def token_chart(token, now=None):
    """The token page's chart: its answered and refused calls on each of the last 30 days,
    zero on days without a call. One query."""
    days = counted_days(now)
    rows = token.usage_days.filter(day__gte=days[0]).values_list("day", "requests", "refused")
    by_day = {day: (requests, refused) for day, requests, refused in rows}
    requests = [by_day.get(day, (0, 0))[0] for day in days]
    refused = [by_day.get(day, (0, 0))[1] for day in days]
    extra = f"; {sum(refused):,} refused" if sum(refused) else ""
    series = [
        charts.Series("Answered", "tone-requests", requests),
        charts.Series("Refused", "tone-refused", refused),
    ]
    return charts.stacked_bars(days, series, subject="Calls", extra=extra)


TOP_TOKENS = 5
LISTED_TOKENS = 10
LISTED_NETWORKS = 20


@dataclass(frozen=True)
class TenantUsage:
    chart: charts.Chart
    requests: int  # answered calls in all, last 30 days
    busiest: list  # tokens annotated with requests_30 and refused_30, busiest first
    refusing: list  # the same, most refused calls first
    new_networks: list  # TokenNetwork rows flagged new: unreviewed ones, then recent reviews


def tenant_usage(tenant, now=None):
    """The API usage overview of a tenant's API tokens over the last 30 days: the answered
    calls chart (the busiest TOP_TOKENS tokens stacked, the rest as Other), the busiest tokens and
    those with refused calls, and the networks tokens were newly used from (unreviewed, or
    flagged in those days). Five queries at most, however many tokens and days."""
    days = counted_days(now)
    # Filtering on the relation before annotating sums only the rows of those days.
    per_token = (
        Token.objects.api()
        .filter(tenant=tenant, usage_days__day__gte=days[0])
        .annotate(requests_30=Sum("usage_days__requests"), refused_30=Sum("usage_days__refused"))
        .select_related("owner__service_account")
    )
    busiest = list(
        per_token.filter(requests_30__gt=0).order_by("-requests_30", "name", "pk")[:LISTED_TOKENS]
    )
    refusing = list(
        per_token.filter(refused_30__gt=0).order_by("-refused_30", "name", "pk")[:LISTED_TOKENS]
    )
    rows = TokenUsage.objects.filter(
        token__tenant=tenant, token__kind=TokenKind.API, day__gte=days[0]
    )
    totals = dict(rows.values("day").annotate(total=Sum("requests")).values_list("day", "total"))
    top = busiest[:TOP_TOKENS]
    by_token_day = {}
    if top:
        for token_id, day, requests in rows.filter(token__in=top).values_list(
            "token_id", "day", "requests"
        ):
            by_token_day[token_id, day] = requests
    series = [
        charts.Series(
            token.name, f"tone-{rank}", [by_token_day.get((token.pk, d), 0) for d in days]
        )
        for rank, token in enumerate(top, start=1)
    ]
    other = [totals.get(d, 0) - sum(each.values[i] for each in series) for i, d in enumerate(days)]
    if any(other) or not series:
        series.append(charts.Series("Other" if series else "Answered", "tone-other", other))
    new_networks = list(
        TokenNetwork.objects.filter(token__tenant=tenant, token__kind=TokenKind.API)
        .filter(
            Q(flagged_at__isnull=False, reviewed_at__isnull=True, token__revoked_at__isnull=True)
            | Q(flagged_at__date__gte=days[0])
        )
        .select_related("token__owner__service_account", "reviewed_by")
        .order_by(F("reviewed_at").desc(nulls_first=True), "-flagged_at", "pk")[:LISTED_NETWORKS]
    )
    return TenantUsage(
        chart=charts.stacked_bars(days, series, subject="Answered calls"),
        requests=sum(totals.values()),
        busiest=busiest,
        refusing=refusing,
        new_networks=new_networks,
    )
