""" "Used from a new address": the networks each token is seen from (TokenNetwork), and the
alert when one is new.

A token's calls are grouped by network (web.networks.sighting_network: the /24 of an IPv4
address, the /64 of an IPv6 one). The first network a token is ever used from is its
baseline. A call from any other network not seen for the token in the past SIGHTING_WINDOW
days flags the token (until a full admin marks it reviewed) and is audited once, so that it
reaches the audit log, its CSV and API, and the SIEM feed.

Nothing here runs per request: tokens.usage hands over the addresses a process saw when it
flushes a token's counts, at most once per resolution. Several processes on several hosts
may flush the same token and network at once; each decision below is one statement whose
outcome the database settles (a unique constraint, or a conditional UPDATE), so exactly one
of them records the news.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from audit.models import Action, Via
from audit.services import audit_token_event
from web.networks import sighting_network

from .models import Token, TokenNetwork

# A network a token has not been used from for this long is news again when it comes back.
SIGHTING_WINDOW = timedelta(days=30)


def note_addresses(token_pk, addresses):
    """Record that the token was used from addresses ({address: when last seen}); flag and
    audit each network that is new for it. Returns the networks flagged by this call."""
    latest = {}
    for address, seen in addresses.items():
        network = sighting_network(address)
        if network is not None and (network not in latest or seen > latest[network][0]):
            latest[network] = (seen, address)
    flagged = []
    # Earliest first: of a new token's first networks, the one seen first is its baseline.
    for network, (seen, address) in sorted(latest.items(), key=lambda item: item[1]):
        if _note(token_pk, network, seen):
            flagged.append((network, address))
    if flagged:
        _audit(token_pk, flagged)
    return [network for network, _address in flagged]


def _note(token_pk, network, seen):
    """Whether this sighting makes network new for the token (this process is the one to say
    so). One UPDATE in the steady state."""
    rows = TokenNetwork.objects.filter(token_id=token_pk, network=network)
    # Seen lately: only last seen moves, and never backwards (a late flush of older calls).
    later = Greatest(F("last_seen_at"), Value(seen))
    if rows.filter(last_seen_at__gte=seen - SIGHTING_WINDOW).update(last_seen_at=later):
        return False
    # Back after a gap: whoever moves the stale row forward is the one to tell.
    if rows.filter(last_seen_at__lt=seen - SIGHTING_WINDOW).update(
        first_seen_at=seen, last_seen_at=seen, flagged_at=seen, reviewed_at=None, reviewed_by=None
    ):
        return True
    # Never seen: the first network of the token is its baseline, any later one is news.
    # Whoever inserts the row decides; the constraints refuse the others.
    for baseline in (True, False):
        try:
            with transaction.atomic():
                TokenNetwork.objects.create(
                    token_id=token_pk,
                    network=network,
                    first_seen_at=seen,
                    last_seen_at=seen,
                    baseline=baseline,
                    flagged_at=None if baseline else seen,
                )
        except IntegrityError:
            continue  # another baseline, or another process wrote this network first
        return not baseline
    # Another process inserted this network in between: its sighting, its news.
    rows.update(last_seen_at=later)
    return False


def _audit(token_pk, flagged):
    """One audit event per (network, address) flagged, the token read once for them all."""
    token = Token.objects.select_related("tenant", "owner").filter(pk=token_pk).first()
    if token is None:  # deleted meanwhile
        return
    for network, address in flagged:
        audit_token_event(
            token,
            Action.TOKEN_NEW_NETWORK,
            via=Via.API,
            client_ip=address,
            detail=f"First call from {network} in {SIGHTING_WINDOW.days} days "
            f"(from {address}); flagged until a full admin marks it reviewed.",
        )


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
