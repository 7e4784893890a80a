""" "Used from a new address": the networks each token is seen from (TokenNetwork), and the
alert when one is new.

A token's calls are grouped by network (web.networks.sighting_network: the /24 of an IPv4
address, the /64 of an IPv6 one). The first network a token is ever used from is its
baseline. A call from any other network not seen for the token in the past SIGHTING_WINDOW
days flags the token (until a full admin marks it reviewed) and is news: the token's first
EVENTS_PER_DAY new networks of a day (UTC) are audited one event each, so that they reach the
audit log, its CSV and API, and the SIEM feed; the flush that finds more writes one event
listing them (as many as the event's detail holds); any more that day are flagged without an
event. A client that calls from hundreds of networks (serverless, CI) so makes six events a
day, not hundreds.

Nothing here runs per request: tokens.pending hands over the addresses a process saw, in
batches, when it flushes. A batch costs a few statements however many tokens and networks it
holds: one UPDATE of the networks seen lately (the steady state: nothing else runs), then,
for the rest, one UPDATE of those back after a gap, one INSERT of baselines, one INSERT of
new networks, one upsert of the day's count of news per token, one read of the tokens with
news, and their events. Several processes on several hosts may flush the same token and
network at once; each decision is a statement whose outcome the database settles (a unique
constraint, or a conditional UPDATE of locked rows), so exactly one of them records the news,
and the day's count, incremented in one statement, tells each which events are its own.
"""

from collections import defaultdict
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from audit.models import Action, AuditEvent, Via
from audit.services import audit_token_event
from web.networks import sighting_network

from .models import Token, TokenNetwork, TokenUsage

# A network a token has not been used from for this long is news again when it comes back.
SIGHTING_WINDOW = timedelta(days=30)
# New networks of a token audited one by one each day; the next ones share one event.
EVENTS_PER_DAY = 5


def note_addresses(token_pk, addresses, day=None):
    """Record that the token was used from addresses ({address: when last seen}); returns the
    networks this call found new for it (see note)."""
    seen = [(token_pk, address, when) for address, when in addresses.items()]
    return [network for _pk, network in note(seen, day or timezone.now().date())]


def note(seen, day):
    """Record sightings, (token pk, address, when) triples, flushed on day; flag and audit
    each network that is new for its token. Returns the (token pk, network) pairs that this
    call found new, in order."""
    latest = {}  # (token pk, network) -> (when, address) of its latest sighting
    for token_pk, address, when in seen:
        network = sighting_network(address)
        key = (token_pk, network)
        if network is not None and (key not in latest or when > latest[key][0]):
            latest[key] = (when, address)
    if not latest:
        return []
    # Seen lately: only last seen moves, and never backwards (a late flush of older calls).
    left = set(latest) - _update(latest, set(latest), _LATELY, _LATER)
    # Back after a gap: whoever moves the stale row forward is the one to tell.
    news = _update(latest, left, _STALE, _AGAIN) if left else set()
    left -= news
    if left:
        # Never seen: a new token's earliest network is its baseline, any other is news.
        # Whoever inserts the row decides; the constraints turn the others' rows away.
        earliest = {}
        for token_pk, network in sorted(left, key=lambda key: latest[key][0]):
            earliest.setdefault(token_pk, (token_pk, network))
        left -= _insert(latest, set(earliest.values()), baseline=True)
        inserted = _insert(latest, left, baseline=False)
        news |= inserted
        # Another process inserted these in between: its sighting, its news.
        if left - inserted:
            _update(latest, left - inserted, _LATELY, _LATER)
    found = sorted(news, key=lambda key: (latest[key][0], key))
    if found:
        _audit(found, latest, day)
    return found


# The two UPDATEs: which rows (n: the network row, v: the sighting), and what they become.
_LATELY = "n.last_seen_at >= v.since"
_LATER = (
    "last_seen_at = CASE WHEN hit.seen > {t}.last_seen_at THEN hit.seen ELSE {t}.last_seen_at END"
)
_STALE = "n.last_seen_at < v.since"
_AGAIN = (
    "first_seen_at = hit.seen, last_seen_at = hit.seen, flagged_at = hit.seen, "
    "reviewed_at = NULL, reviewed_by_id = NULL"
)


def _update(latest, keys, condition, assignments):
    """One UPDATE of the network rows of keys that meet condition; returns the keys updated.
    On PostgreSQL the rows are locked first, in id order: two processes updating the same
    rows then wait for each other instead of deadlocking."""
    table = TokenNetwork._meta.db_table
    rows = sorted(keys)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    lock = " FOR UPDATE OF n" if connection.vendor == "postgresql" else ""
    params = []
    for token_pk, network in rows:
        when = latest[token_pk, network][0]
        params += [db_id(token_pk), network, db_time(when), db_time(when - SIGHTING_WINDOW)]
    sql = (
        f"WITH v (token_id, network, seen, since) AS (VALUES {values}), "  # noqa: S608
        f"hit AS (SELECT n.id, v.seen FROM {table} n JOIN v ON n.token_id = v.token_id "
        f"AND n.network = v.network WHERE {condition} ORDER BY n.id{lock}) "
        f"UPDATE {table} SET {assignments.format(t=table)} FROM hit WHERE {table}.id = hit.id "
        f"RETURNING {table}.token_id, {table}.network"
    )
    return _keys(_returned(sql, params))


def _insert(latest, keys, *, baseline):
    """One INSERT of the network rows of keys, doing nothing where a row exists (or, for a
    baseline, where the token has one); returns the keys inserted."""
    if not keys:
        return set()
    table = TokenNetwork._meta.db_table
    rows = sorted(keys)  # one order in every process: concurrent inserts never deadlock
    columns = "token_id, network, first_seen_at, last_seen_at, baseline, flagged_at"
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    params = []
    for token_pk, network in rows:
        when = db_time(latest[token_pk, network][0])
        params += [db_id(token_pk), network, when, when, baseline, None if baseline else when]
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608
        "ON CONFLICT DO NOTHING RETURNING token_id, network"
    )
    return _keys(_returned(sql, params))


def _returned(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _keys(rows):
    to_pk = Token._meta.pk.to_python  # SQLite hands back the UUID's hex
    return {(to_pk(token_id), network) for token_id, network in rows}


def db_id(token_pk):
    """A token's key as this database's statements take it (also tokens.pending's)."""
    return Token._meta.pk.get_db_prep_value(token_pk, connection)


def db_time(when):
    """A time as this database's statements take it (also tokens.pending's)."""
    return connection.ops.adapt_datetimefield_value(when)


def _audit(found, latest, day):
    """Audit the news found: each token's first EVENTS_PER_DAY of the day one event each,
    then one event listing the rest of this flush when it is the one that passes that
    number, then nothing more that day. The day's count of news per token, incremented in
    one statement, says where this flush's news stand among the day's. The tokens with
    events are read once for all of them."""
    by_token = defaultdict(list)
    for token_pk, network in found:
        by_token[token_pk].append((network, latest[token_pk, network][1]))
    events = {}  # token pk -> (news audited one by one, networks listed in one event)
    for token_pk, count in _count_news(by_token, day).items():
        news = by_token[token_pk]
        before = count - len(news)
        one_by_one = max(0, EVENTS_PER_DAY - before)
        listed = [network for network, _address in news[one_by_one:]]
        if one_by_one or (listed and before <= EVENTS_PER_DAY):
            events[token_pk] = (news[:one_by_one], listed)
    tokens = Token.objects.select_related("tenant", "owner").in_bulk(list(events))
    for token_pk, (singles, listed) in events.items():
        token = tokens.get(token_pk)
        if token is None:  # deleted meanwhile
            continue
        for network, address in singles:
            audit_token_event(
                token,
                Action.TOKEN_NEW_NETWORK,
                via=Via.API,
                client_ip=address,
                detail=f"First call from {network} in {SIGHTING_WINDOW.days} days "
                f"(from {address}); flagged until a full admin marks it reviewed.",
            )
        if listed:
            audit_token_event(token, Action.TOKEN_NEW_NETWORK, via=Via.API, detail=_summary(listed))


def _count_news(by_token, day):
    """Add each token's news to its count for the day; returns {token pk: the day's count}."""
    table = TokenUsage._meta.db_table
    rows = sorted(by_token)
    values = ", ".join(["(%s, %s, 0, 0, %s)"] * len(rows))
    params = [value for pk in rows for value in (db_id(pk), day, len(by_token[pk]))]
    sql = (
        f"INSERT INTO {table} (token_id, day, requests, refused, new_networks) "  # noqa: S608
        f"VALUES {values} ON CONFLICT (token_id, day) DO UPDATE SET "
        f"new_networks = {table}.new_networks + excluded.new_networks "
        "RETURNING token_id, new_networks"
    )
    to_pk = Token._meta.pk.to_python
    return {to_pk(token_id): count for token_id, count in _returned(sql, params)}


def _summary(networks):
    """The event for the news past the day's EVENTS_PER_DAY: as many networks as the
    detail holds, and how many more."""
    room = AuditEvent._meta.get_field("detail").max_length
    head = (
        f"{len(networks)} more new networks today, past the {EVENTS_PER_DAY} audited one by one: "
    )
    tail = "; flagged until a full admin marks them reviewed, more today without an event."
    listed = []
    for network in networks:
        more = len(networks) - len(listed) - 1
        text = ", ".join([*listed, network]) + (f" and {more} more" if more else "")
        if len(head) + len(text) + len(tail) > room:
            break
        listed.append(network)
    more = len(networks) - len(listed)
    return head + ", ".join(listed) + (f" and {more} more" if more else "") + tail


def unreviewed(token):
    """The token's new networks awaiting review, newest first."""
    return list(token.networks_seen.unreviewed().order_by("-flagged_at", "network"))


def mark_reviewed(token, by, client_ip=None, now=None):
    """A full admin has looked at the token's new networks: its flag goes. Audited; returns
    how many networks were marked."""
    now = now or timezone.now()
    networks = sorted(token.networks_seen.unreviewed().values_list("network", flat=True))
    if not networks:
        return 0
    marked = token.networks_seen.unreviewed().update(reviewed_at=now, reviewed_by=by)
    if marked:
        audit_token_event(
            token,
            Action.TOKEN_NEW_NETWORK_REVIEWED,
            actor=by,
            client_ip=client_ip,
            detail=f"Marked reviewed: {', '.join(networks)}.",
        )
    return marked
