"""Revocation reach across hosts: once a revoke has returned on host A, does host B accept
the token even once more?

Each trial uses a token of its own: called on host B until both of B's workers are likely to
have it cached (every call must succeed), revoked through host A's API by the tenant's full
admin on the tenant's host name, then called on host B at once. Recorded per trial: how long
the revoking request took (the writer waits there for every listener's acknowledgement), the
time from its return to the first refusal on B, and every call B accepted after the return.

Rotation-overlap reach (issue 28, item 5), on tokens of their own: each rotates itself on A
(the old secret keeps working for 24 hours), the old secret is warmed on B, then the new
secret's first call is made on A, which ends the old secret; B is called with the old secret
at once. Recorded the same way: how long that first call took (it writes and waits for every
listener, once), and every call with the old secret B accepted after it returned.
"""

import json
import time

from testbed.server import request
from web.invalidation import LEASE

from .timing import percentiles

ME = "/api/v1/me/"
TOKENS = "/api/v1/tokens/"
WARM_CALLS = 4  # new connections each, so both of B's sync workers usually see the token
AFTER_CALLS = 4  # calls on B after the revoke returned, the first one timed
ADMIN_ADDRESS = "192.0.2.1"


def trials(hosts, fixtures, *, trials):
    host_a, host_b = hosts
    found = {"accepted": 0, "errors": [], "revoke_ms": [], "first_refusal_ms": []}
    for number, (token_id, secret) in enumerate(fixtures.trials[:trials]):
        # An address per trial, so B's refusals never reach the failed-authentication limit.
        call_b = _caller(host_b, fixtures.host, secret, f"10.{number // 250}.{number % 250}.1")
        if (statuses := [call_b() for _ in range(WARM_CALLS)]) != [200] * WARM_CALLS:
            found["errors"].append(f"trial {number}: warm-up on B answered {statuses}")
            continue
        began = time.perf_counter()
        status = _call(host_a, "DELETE", f"{TOKENS}{token_id}/", fixtures.host, fixtures.admin)
        returned = time.perf_counter()
        if status != 204:
            found["errors"].append(f"trial {number}: revoke on A answered {status}")
            continue
        _record(found, call_b, began, returned)
    return _summed(found)


def rotation_trials(hosts, fixtures, *, trials):
    host_a, host_b = hosts
    found = {"accepted": 0, "errors": [], "revoke_ms": [], "first_refusal_ms": []}
    for number, (token_id, old) in enumerate(fixtures.rotations[:trials]):
        address = f"10.{100 + number // 250}.{number % 250}.1"
        status, body = _answer(host_a, "POST", f"{TOKENS}{token_id}/rotate/", fixtures.host, old)
        if status != 200:
            found["errors"].append(f"trial {number}: rotate on A answered {status}")
            continue
        new = json.loads(body)["secret"]
        call_b = _caller(host_b, fixtures.host, old, address)
        if (statuses := [call_b() for _ in range(WARM_CALLS)]) != [200] * WARM_CALLS:
            found["errors"].append(f"trial {number}: old secret warm-up on B answered {statuses}")
            continue
        began = time.perf_counter()
        status = _call(host_a, "GET", ME, fixtures.host, new, address)
        returned = time.perf_counter()
        if status != 200:
            found["errors"].append(f"trial {number}: the new secret's first call answered {status}")
            continue
        _record(found, call_b, began, returned)
    return _summed(found)


def _record(found, call_b, began, returned):
    """One trial's figures: how long the write took on A, and what B did after it returned."""
    found["revoke_ms"].append((returned - began) * 1000)
    accepted, refused_at = _after_revoke(call_b)
    found["accepted"] += accepted
    if refused_at is not None:
        found["first_refusal_ms"].append((refused_at - returned) * 1000)


def _summed(found):
    found["trials"] = len(found["revoke_ms"])
    found["revoke"] = percentiles(found["revoke_ms"])
    found["first_refusal"] = percentiles(found["first_refusal_ms"])
    return found


def _after_revoke(call_b):
    """(calls B accepted, when it first refused): AFTER_CALLS calls, and while B still
    accepts, more until it refuses or the listener's lease could have run out twice."""
    accepted, refused_at, calls = 0, None, 0
    deadline = time.perf_counter() + 2 * LEASE
    while calls < AFTER_CALLS or (refused_at is None and time.perf_counter() < deadline):
        status = call_b()
        calls += 1
        if status == 200:
            accepted += 1
        elif refused_at is None:
            refused_at = time.perf_counter()
    return accepted, refused_at


def _caller(host, host_name, secret, address):
    return lambda: _call(host, "GET", ME, host_name, secret, address)


def _call(host, method, path, host_name, secret, address=ADMIN_ADDRESS):
    return _answer(host, method, path, host_name, secret, address)[0]


def _answer(host, method, path, host_name, secret, address=ADMIN_ADDRESS):
    response, content = request(
        host.port,
        method,
        path,
        host=host_name,
        headers={"Authorization": f"Token {secret}", "X-Forwarded-For": address},
    )
    return response.status, content
