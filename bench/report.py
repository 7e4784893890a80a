"""The printed tables and the PASS/FAIL verdict, from the merged JSON of every database."""

from . import fleet, retention

TARGET_OVERHEAD_SHARE = 0.10  # our auth overhead / DRF's
TARGET_INPROCESS_RATIO = 1.5  # authenticated / unauthenticated time
TARGET_HTTP_RATIO = 0.8  # authenticated / unauthenticated throughput
TARGET_PAGE_RATIO = 2.0  # largest tenant's page time / smallest tenant's
TARGET_AGENT_EVENTS_PER_SECOND = 5000  # one SIEM agent to a local receiver (issue 16)
TARGET_FEED_RATIO = 2.0  # SIEM feed page at the most events / at the fewest (issue 16)
TARGET_COLD_SHARE = 0.5  # our cache-miss overhead / DRF's
TARGET_REACH_TRIALS = 200  # revocation reach: trials, each must see no accepted call
RATE_TOLERANCE = 0.9  # a revocation load below 90 % of its rate does not test the target
SOAK_EVENTS_PER_TOKEN = 6  # tokens.sightings: 5 new networks a day one by one, then a summary
SOAK_RSS_GROWTH_MB = 64  # a worker's resident memory, first sample to last
HOSTS_PASSES = (
    ("inprocess", "hot path"),
    ("cold", "cold path (miss)"),
    ("inprocess_churn", "hot, revocations"),
)
KIND_LABELS = {"page": "tokens page (HTML)", "api": "GET /api/v1/tokens/"}


def _names(databases):
    return [name for name, result in databases.items() if "skipped" not in result]


def _route(variant):
    """A table row's first column: "(b)   our ApiTokenMiddleware"."""
    return f"  ({variant['key']}){'':<{4 - len(variant['key'])}}{variant['label']:<27}"


def _title(text):
    return [text, "-" * len(text)]


def _num(value, digits=0):
    return f"{value:,.{digits}f}"


def inprocess_table(databases):
    names = [n for n in _names(databases) if "inprocess" in databases[n]]
    if not names:
        return []
    first = databases[names[0]]["inprocess"]
    lines = _title(
        f"1. Auth overhead in-process (median of {first['rounds'] * first['requests_per_round']:,}"
        f" requests each, in {first['rounds']} interleaved rounds; 10,000 tokens per table)"
    )
    header = f"  {'route':<33}"
    for name in names:
        header += f"{name + ' µs/req':>17}{'x (a)':>7}{'queries':>9}{'writes':>8}"
    lines.append(header)
    for index, variant in enumerate(first["variants"]):
        line = _route(variant)
        for name in names:
            row = databases[name]["inprocess"]["variants"][index]
            line += (
                f"{_num(row['us_per_request'], 1):>17}{row['ratio_to_a']:>7.2f}"
                f"{row['queries_per_request']:>9.2f}{row['writes_per_request']:>8.2f}"
            )
        lines.append(line)
    for name in names:
        result = databases[name]["inprocess"]
        share = result["our_to_drf_overhead"]
        lines.append(
            f"  {name}: our overhead (b-a) {_num(result['our_overhead_us'], 1)} µs, DRF's (c-c0) "
            f"{_num(result['drf_overhead_us'], 1)} µs, knox's (d-c0) "
            f"{_num(result['knox_overhead_us'], 1)} µs; ours/DRF's = "
            + ("n/a" if share is None else f"{share:.2f}")
            + f"; one raw SELECT 1: {_num(result['select_1_us'], 1)} µs"
        )
        if databases[name].get("vendor") == "postgresql":
            lines.append(
                f"  {name}: the cache trusted through this process's invalidation listener, as on "
                "several hosts; section 6 repeats this with its lease confirmed, two hosts up"
            )
    return lines


def http_table(databases):
    names = [n for n in _names(databases) if "http" in databases[n]]
    if not names:
        return []
    first = databases[names[0]]["http"]
    lines = _title(
        f"2. Auth over HTTP (gunicorn, {first['workers']} workers, 127.0.0.1; "
        f"{first['load_generator']}; {first['rounds']} rounds x {first['seconds_per_run']:g} s; "
        "medians)"
    )
    header = f"  {'route':<33}"
    for name in names:
        header += f"{name + ' req/s':>17}{'x (a)':>7}{'CPU µs/req':>12}{'errors':>8}"
    lines.append(header)
    for index, variant in enumerate(first["variants"]):
        line = _route(variant)
        for name in names:
            row = databases[name]["http"]["variants"][index]
            cpu = row.get("worker_cpu_us_per_request")
            line += (
                f"{_num(row['requests_per_second']):>17}{row['ratio_to_a']:>7.2f}"
                f"{'n/a' if cpu is None else _num(cpu):>12}{row['failures']:>8}"
            )
        lines.append(line)
    lines.append(
        "  CPU µs/req: the gunicorn workers' CPU time per request (not PostgreSQL's), which "
        "other processes on the machine disturb less than req/s."
    )
    return lines


def pages_table(name, pages):
    sizes = pages["sizes"]
    lines = _title(
        f"3. Page scale on {name} (full admin; {pages['rounds']} interleaved rounds; median ms, "
        f"x the {sizes[0]:,}-token tenant, queries)"
    )
    header = f"  {'page':<22}{'list':<20}"
    for size in sizes:
        header += f"{f'{size:,} tokens':>24}"
    lines.append(header)
    rows = {(r["kind"], r["list"], r["tokens"]): r for r in pages["rows"]}
    lists = list(dict.fromkeys(r["list"] for r in pages["rows"]))
    for kind, label in KIND_LABELS.items():
        for listed in lists:
            line = f"  {label:<22}{listed:<20}"
            for size in sizes:
                row = rows[(kind, listed, size)]
                cell = f"{row['ms']:.1f} ms {row['ratio_to_smallest']:.1f}x {row['queries']}q"
                line += f"{cell:>24}"
            lines.append(line)
    return lines


def feed_table(name, feed):
    sizes = feed["sizes"]
    lines = _title(
        f"7. SIEM event feed on {name} (GET /api/v1/siem/events/?limit={feed['page']}; "
        f"{feed['rounds']} interleaved rounds; median ms, x the {sizes[0]:,}-event tenant)"
    )
    lines.append(
        f"  {'tenant':<20}{'cursor after':<22}{'ms':>9}{'x':>7}{'CPU ms':>9}{'queries':>9}"
    )
    for row in feed["rows"]:
        tenant = f"{row['events']:,} events"
        where = f"{row['position']} ({row['after']:,})"
        lines.append(
            f"  {tenant:<20}{where:<22}{row['ms']:>9.1f}"
            f"{row['ratio_to_smallest']:>7.2f}{row['cpu_ms']:>9.1f}{row['queries']:>9}"
        )
    lines.append(
        f"  query plan at {sizes[-1]:,} events: "
        + (
            "the (tenant, sequence) index read in order, no sort"
            if feed["index_used"]
            else "NOT the (tenant, sequence) index in order; see plans in the JSON"
        )
    )
    return lines


def agent_table(name, agent):
    lines = _title(f"8. SIEM agent on {name} (portal-siem-agent --once -> rsyslogd, CEF)")
    if "skipped" in agent:
        return [*lines, f"  skipped: {agent['skipped']}"]
    server_cpu = agent["server_cpu_seconds"]
    lines.append(
        f"  {agent['events']:,} events in {agent['seconds']:.2f} s = "
        f"{agent['events_per_second']:,.0f} events/s; agent CPU "
        f"{agent['agent_cpu_seconds']:.2f} s, portal workers' CPU "
        + ("n/a" if server_cpu is None else f"{server_cpu:.2f} s")
    )
    lines.append(
        f"  lost {agent['lost']}, duplicates {agent['duplicates']}, "
        f"in feed order: {'yes' if agent['in_order'] else 'NO'}"
    )
    return lines


def _agent_verdict(name, agent):
    ok = (
        agent["events_per_second"] >= TARGET_AGENT_EVENTS_PER_SECOND
        and agent["lost"] == 0
        and agent["duplicates"] == 0
        and agent["in_order"]
    )
    return _verdict(
        "PASS" if ok else "FAIL",
        f"[{name}] one SIEM agent delivers >= {TARGET_AGENT_EVENTS_PER_SECOND:,} events/s to "
        "rsyslog, none lost",
        f"{agent['events_per_second']:,.0f} events/s, lost {agent['lost']}, "
        f"duplicates {agent['duplicates']}",
    )


def _feed_verdict(name, feed):
    smallest, largest = feed["sizes"][0], feed["sizes"][-1]
    at_largest = [row for row in feed["rows"] if row["events"] == largest]
    worst = max(at_largest, key=lambda row: row["ratio_to_smallest"])
    query_counts = sorted({row["queries"] for row in feed["rows"]})
    ok = (
        worst["ratio_to_smallest"] <= TARGET_FEED_RATIO
        and len(query_counts) == 1
        and feed["index_used"]
    )
    return _verdict(
        "PASS" if ok else "FAIL",
        f"[{name}] SIEM feed page of {feed['page']:,} at {largest:,} events <= 2 x the "
        f"{smallest:,}-event time, same queries, indexed",
        f"worst {worst['ratio_to_smallest']:.2f} x (cursor at {worst['position']}); queries "
        + ("unchanged" if len(query_counts) == 1 else f"vary: {query_counts}")
        + ("; index used" if feed["index_used"] else "; index NOT used"),
    )


def burst_lines(databases):
    lines = []
    for name in _names(databases):
        burst = databases[name].get("burst")
        if burst:
            lines.append(
                f"4. Burst on {name}: {burst['calls']:,} calls to {burst['path']} with one token "
                f"in {burst['seconds']:.1f} s -> {burst['updates']} UPDATE, "
                f"{burst['writes']} writes, {burst['queries']:,} queries "
                f"(TOKEN_LAST_USED_RESOLUTION = {burst['resolution_seconds']} s)"
            )
    return lines


def hotspot_lines(databases, top=8):
    lines = []
    for name in _names(databases):
        hotspots = databases[name].get("hotspots")
        if not hotspots:
            continue
        lines += _title(
            f"Where our auth time goes on {name} (cProfile, (b) minus (a) per request; "
            f"{_num(hotspots['extra_us_per_request_under_profiler'])} µs extra under the profiler)"
        )
        lines.append(f"  {'cumulative µs':>13}  {'own µs':>7}  {'calls':>6}  function")
        for heading, table in (
            ("by cumulative time", "by_cumulative"),
            ("by own time", "by_own_time"),
        ):
            lines.append(f"  {heading}:")
            for row in hotspots[table][:top]:
                lines.append(
                    f"  {row['extra_cumulative_us']:>13.1f}  {row['extra_own_us']:>7.1f}  "
                    f"{row['extra_calls_per_request']:>6.1f}  {row['function']}"
                )
    return lines


def many_lines(databases):
    names = [n for n in _names(databases) if databases[n].get("many")]
    if not names:
        return []
    first = databases[names[0]]["many"]
    lines = _title(
        f"10. Many active tokens in-process: {first['tokens']:,} of ours and of DRF's, each call's "
        f"token drawn Zipf s={first['exponent']:g}; our cache holds {first['cache_entries']:,} "
        f"per process, no reloads by age (after {first['warm_calls']:,} calls to warm it)"
    )
    for name in names:
        many = databases[name]["many"]
        share, mean_share = _ratio(many, ""), _ratio(many, "mean_")
        lines += [
            f"  {name}: cache hit rate {many['hit_rate']:.1%} of {many['counted_calls']:,} calls "
            f"(the {many['cache_entries']:,} busiest tokens get {many['best_hit_rate']:.1%})",
            f"  {name}: auth overhead, median of {many['timed_requests']:,} requests: ours (b-a) "
            f"{_num(many['our_overhead_us'], 1)} µs, DRF's (c-c0) "
            f"{_num(many['drf_overhead_us'], 1)} µs, ours/DRF's = {_share(share)}; mean "
            f"(misses included): ours {_num(many['our_mean_overhead_us'], 1)} µs, DRF's "
            f"{_num(many['drf_mean_overhead_us'], 1)} µs, ours/DRF's = {_share(mean_share)}",
        ]
    return lines


def _ratio(many, kind):
    drf = many[f"drf_{kind}overhead_us"]
    return many[f"our_{kind}overhead_us"] / drf if drf > 0 else None


def _hosts_results(databases):
    return [
        (name, databases[name]["hosts"])
        for name in _names(databases)
        if "skipped" not in databases[name].get("hosts", {"skipped": True})
    ]


def hosts_lines(databases):
    lines = []
    for name, hosts in _hosts_results(databases):
        lines += _title(
            f"6. Several hosts on {name}: invalidation listener per process, trusted "
            f"({hosts['listeners']} live listeners with both hosts up); "
            f"{hosts['revocations_per_second']} revocations/s in another tenant where stated"
        )
        lines += _hosts_inprocess(hosts)
        lines += [""] + _hosts_http(hosts)
        lines += [""] + _hosts_reach(hosts)
    return lines


def _hosts_inprocess(hosts):
    first = hosts["inprocess"]
    lines = [
        f"  In-process (median of {first['rounds'] * first['requests_per_round']:,} requests "
        "each, interleaved; cold: this process's token cache emptied before every request of "
        "every route)"
    ]
    header = f"  {'route':<33}"
    for _, title in HOSTS_PASSES:
        header += f"{title + ' µs':>20}{'x (a)':>7}{'q':>5}"
    lines.append(header)
    for index, variant in enumerate(first["variants"]):
        line = _route(variant)
        for key, _ in HOSTS_PASSES:
            row = hosts[key]["variants"][index]
            line += (
                f"{_num(row['us_per_request'], 1):>20}{row['ratio_to_a']:>7.2f}"
                f"{row['queries_per_request']:>5.1f}"
            )
        lines.append(line)
    for key, title in HOSTS_PASSES:
        result = hosts[key]
        lines.append(
            f"  {title}: ours {_num(result['our_overhead_us'], 1)} µs, DRF's "
            f"{_num(result['drf_overhead_us'], 1)} µs; ours/DRF's = "
            + _share(result["our_to_drf_overhead"])
        )
    lines.append("  " + _revocations(hosts["inprocess_churn"]["revocations"]))
    return lines


def _hosts_http(hosts):
    first = hosts["http"]
    lines = [
        f"  Over HTTP: {first['hosts']} gunicorns x {first['workers_per_host']} workers, loaded "
        f"at the same time ({first['load_generator']}); {first['rounds']} rounds x "
        f"{first['seconds_per_run']:g} s; req/s summed over both hosts, medians"
    ]
    header = f"  {'route':<33}"
    for title in ("quiet", "revocations"):
        header += f"{title + ' req/s':>20}{'x (a)':>7}{'CPU µs/req':>12}{'errors':>8}"
    lines.append(header)
    for index, variant in enumerate(first["variants"]):
        line = _route(variant)
        for key in ("http", "http_churn"):
            row = hosts[key]["variants"][index]
            cpu = row.get("worker_cpu_us_per_request")
            line += (
                f"{_num(row['requests_per_second']):>20}{row['ratio_to_a']:>7.2f}"
                f"{'n/a' if cpu is None else _num(cpu):>12}{row['failures']:>8}"
            )
        lines.append(line)
    lines.append("  " + _revocations(hosts["http_churn"]["revocations"]))
    return lines


def _hosts_reach(hosts):
    reach = hosts["reach"]
    lines = [
        f"  Revocation reach: {reach['trials']} trials (token warmed on B, DELETE on A with the "
        f"tenant admin's token, then B called at once): {reach['accepted']} calls accepted on B "
        "after the revoke returned",
        "  revoking request on A (the writer waits for every listener's acknowledgement): "
        + _spread(reach["revoke"]),
        "  revoke returned on A -> first refusal received from B: "
        + _spread(reach["first_refusal"]),
    ]
    for error in reach["errors"][:5]:
        lines.append(f"  error: {error}")
    overlap = hosts.get("overlap_reach")
    if overlap:
        lines += [
            f"  Rotation-overlap reach: {overlap['trials']} trials (token rotated itself on A, "
            f"old secret warmed on B, the new secret's first call on A, then B called with the "
            f"old secret at once): {overlap['accepted']} calls accepted on B after that first "
            "call returned",
            "  the new secret's first call on A (one write, every listener's acknowledgement): "
            + _spread(overlap["revoke"]),
            "  first call returned on A -> first refusal of the old secret from B: "
            + _spread(overlap["first_refusal"]),
        ]
        for error in overlap["errors"][:5]:
            lines.append(f"  error: {error}")
    return lines


def _spread(stats):
    if not stats["n"]:
        return "no samples"
    return f"p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, max {stats['max']:.1f} ms"


def _revocations(summary):
    if not summary.get("revocations"):
        return "revoking process: no revocations recorded"
    return (
        f"revoking process: {summary['revocations']} revocations in {summary['seconds']:.1f} s "
        f"({summary['per_second']:.1f}/s{', ran out of tokens' if summary['ran_out'] else ''}); "
        "each took " + _spread(summary["revoke"])
    )


def _share(share):
    return "n/a" if share is None else f"{share:.2f}"


def _rate_ok(result):
    summary = result["revocations"]
    return summary.get("per_second", 0) >= RATE_TOLERANCE * summary.get("rate_wanted", 1)


def _hosts_verdicts(name, hosts):
    label = f"[{name}, several hosts]"
    hot, cold, churn = hosts["inprocess"], hosts["cold"], hosts["inprocess_churn"]
    found = [
        _share_verdict(
            hot,
            TARGET_OVERHEAD_SHARE,
            f"{label} our auth overhead <= 1/10 of DRF's (in-process, listener trusted)",
        ),
        _http_verdict(
            hosts["http"], f"{label} HTTP throughput with our auth >= 0.8 x without (two hosts)"
        ),
        _share_verdict(
            cold, TARGET_COLD_SHARE, f"{label} cold path (cache miss) overhead <= 0.5 x DRF's"
        ),
    ]
    rate = hosts["revocations_per_second"]
    for verdict, result in (
        (
            _share_verdict(
                churn,
                TARGET_OVERHEAD_SHARE,
                f"{label} with {rate} revocations/s elsewhere: our auth overhead <= 1/10 of DRF's",
            ),
            churn,
        ),
        (
            _http_verdict(
                hosts["http_churn"],
                f"{label} with {rate} revocations/s elsewhere: HTTP with our auth >= 0.8 x without",
            ),
            hosts["http_churn"],
        ),
    ):
        if not _rate_ok(result):
            verdict["result"] = "INVALID"
            verdict["measured"] += "; " + _revocations(result["revocations"])
        found.append(verdict)
    found.append(_reach_verdict(label, hosts["reach"]))
    if "overlap_reach" in hosts:
        found.append(
            _reach_verdict(
                label,
                hosts["overlap_reach"],
                "rotation-overlap reach: 0 calls accepted with the old secret on host B after "
                "the new secret's first call returned on A",
                "first call",
            )
        )
    return found


def _share_verdict(result, target, text):
    share = result["our_to_drf_overhead"]
    return _verdict(
        "PASS" if share is not None and share <= target else "FAIL",
        text,
        f"ours {_num(result['our_overhead_us'], 1)} µs vs DRF's "
        f"{_num(result['drf_overhead_us'], 1)} µs = {_share(share)}",
    )


def _http_verdict(http, text):
    ours = _row(http, "b")
    ratio = ours["ratio_to_a"]
    errors = sum(row["failures"] for row in http["variants"])
    return _verdict(
        "INVALID" if errors else ("PASS" if ratio >= TARGET_HTTP_RATIO else "FAIL"),
        text,
        f"{ratio:.2f} x ({_num(ours['requests_per_second'])} vs "
        f"{_num(_row(http, 'a')['requests_per_second'])} req/s)"
        + (f"; {errors} failed requests" if errors else ""),
    )


def _reach_verdict(
    label,
    reach,
    target="revocation reach: 0 calls accepted on host B after a revoke returned on A",
    write="revoke",
):
    result = "FAIL" if reach["accepted"] else "PASS"
    notes = []
    if reach["errors"]:
        notes.append(f"{len(reach['errors'])} trials failed to run")
    if reach["trials"] < TARGET_REACH_TRIALS:
        notes.append(f"fewer than the {TARGET_REACH_TRIALS} trials the target asks")
    if notes and not reach["accepted"]:
        result = "INVALID"
    return _verdict(
        result,
        f"{label} {target}",
        f"{reach['accepted']} accepted in {reach['trials']} trials; {write} "
        + _spread(reach["revoke"])
        + "; to first refusal on B "
        + _spread(reach["first_refusal"])
        + "".join(f"; {note}" for note in notes),
    )


def soak_lines(name, soak):
    lines = _title(
        f"9. Usage soak on {name}: gunicorn, {soak['workers']} workers; {soak['tokens']} tokens "
        f"in {soak['tenants']} tenants called by {soak['clients']} clients from "
        f"{soak['networks']} /24s of 127/8; one revocation a second"
    )
    statuses = ", ".join(f"{status}: {count:,}" for status, count in soak["statuses"].items())
    lines += [
        f"  {soak['calls']:,} calls in {soak['seconds']:.0f} s = "
        f"{soak['calls_per_second']:,.0f}/s ({statuses})",
        f"  5xx {soak['server_errors']}, failed connections {soak['failed_connections']}, "
        f"worker boots after the start {soak['worker_boots_after_start']}, WORKER TIMEOUT "
        f"{soak['worker_timeouts']}, ERROR lines {soak['log_errors']}",
        f"  {soak['revocations']} revocations ({soak['revocations_per_second']:.2f}/s, "
        f"{soak['revoke_failures']} failed); calls accepted after a revocation returned: "
        f"{soak['accepted_after_revocation']}",
        f"  requests answered {soak['requests_answered']:,}, counted in the database "
        f"{soak['requests_counted']:,} (lost {soak['counts_lost']:,}; "
        f"{soak.get('requests_counted_before_stop', 0):,} written before gunicorn stopped); "
        "networks recorded "
        f"{soak['networks_recorded']:,}, flagged {soak['networks_flagged']:,}; new-network "
        f"events {soak['new_network_events']:,}, at most {soak['most_events_for_one_token']} "
        "for one token",
        "  workers' RSS, MB: "
        + "; ".join(
            f"{seconds} s " + "/".join(f"{mb:.0f}" for mb in sample.values() if mb is not None)
            for seconds, sample in soak["rss_mb"]
        ),
    ]
    return lines


def _rss_growth(soak):
    """The most any worker's resident memory grew between its first and last sample."""
    first, last = {}, {}
    for _seconds, sample in soak["rss_mb"]:
        for pid, mb in sample.items():
            if mb is not None:
                first.setdefault(pid, mb)
                last[pid] = mb
    return max((last[pid] - first[pid] for pid in last), default=0.0)


def _soak_verdict(name, soak):
    failures = {
        "5xx": soak["server_errors"],
        "failed connections": soak["failed_connections"],
        "worker restarts": soak["worker_boots_after_start"],
        "WORKER TIMEOUT": soak["worker_timeouts"],
        "accepted after a revocation": soak["accepted_after_revocation"],
        "counts lost": soak["counts_lost"],
    }
    growth = _rss_growth(soak)
    ok = (
        not any(failures.values())
        and soak["most_events_for_one_token"] <= SOAK_EVENTS_PER_TOKEN
        and growth <= SOAK_RSS_GROWTH_MB
    )
    result = "PASS" if ok else "FAIL"
    if ok and soak["revocations_per_second"] < RATE_TOLERANCE * soak["revocations_wanted"]:
        result = "INVALID"
    return _verdict(
        result,
        f"[{name}] usage soak: no 5xx, no worker restart, 0 calls after a revocation, no "
        f"count lost, <= {SOAK_EVENTS_PER_TOKEN} new-network events per token, RSS growth "
        f"<= {SOAK_RSS_GROWTH_MB} MB",
        ", ".join(f"{label} {count}" for label, count in failures.items())
        + f", at most {soak['most_events_for_one_token']} events for one token, RSS +"
        f"{growth:.0f} MB, {soak['calls_per_second']:,.0f} calls/s",
    )


def _verdict(result, target, measured):
    return {"result": result, "target": target, "measured": measured}


def verdicts(databases):
    found = []
    for name in _names(databases):
        result = databases[name]
        inprocess, http, burst = result.get("inprocess"), result.get("http"), result.get("burst")
        if inprocess:
            share = inprocess["our_to_drf_overhead"]
            found.append(
                _verdict(
                    "PASS" if share is not None and share <= TARGET_OVERHEAD_SHARE else "FAIL",
                    f"[{name}] our auth overhead <= 1/10 of DRF's (in-process)",
                    f"ours {_num(inprocess['our_overhead_us'], 1)} µs vs DRF's "
                    f"{_num(inprocess['drf_overhead_us'], 1)} µs = "
                    + ("n/a" if share is None else f"{share:.2f}"),
                )
            )
            ratio = _row(inprocess, "b")["ratio_to_a"]
            found.append(
                _verdict(
                    "PASS" if ratio <= TARGET_INPROCESS_RATIO else "FAIL",
                    f"[{name}] authenticated <= 1.5 x unauthenticated (in-process)",
                    f"{ratio:.2f} x",
                )
            )
        if http:
            ours = _row(http, "b")
            ratio = ours["ratio_to_a"]
            errors = sum(row["failures"] for row in http["variants"])
            found.append(
                _verdict(
                    "INVALID" if errors else ("PASS" if ratio >= TARGET_HTTP_RATIO else "FAIL"),
                    f"[{name}] HTTP throughput with our auth >= 0.8 x without",
                    f"{ratio:.2f} x ({_num(ours['requests_per_second'])} vs "
                    f"{_num(_row(http, 'a')['requests_per_second'])} req/s)"
                    + (f"; {errors} failed requests" if errors else ""),
                )
            )
        if inprocess or burst:
            found.append(_writes_verdict(name, inprocess, burst))
        if result.get("pages"):
            found += _page_verdicts(name, result["pages"])
        if result.get("feed"):
            found.append(_feed_verdict(name, result["feed"]))
        if "skipped" not in result.get("agent", {"skipped": True}):
            found.append(_agent_verdict(name, result["agent"]))
        if "skipped" not in result.get("hosts", {"skipped": True}):
            found += _hosts_verdicts(name, result["hosts"])
        if result.get("fleet"):
            found += fleet.verdicts(name, result["fleet"])
        if result.get("retention"):
            found += retention.verdicts(name, result["retention"])
        if "skipped" not in result.get("soak", {"skipped": True}):
            found.append(_soak_verdict(name, result["soak"]))
    return found


def _row(section, key):
    return next(row for row in section["variants"] if row["key"] == key)


def _writes_verdict(name, inprocess, burst):
    parts, ok = [], True
    if inprocess:
        writes = _row(inprocess, "b")["writes_per_request"]
        parts.append(f"{writes:g} writes/request in steady state")
        ok &= writes == 0
    if burst:
        parts.append(f"{burst['calls']:,} calls -> {burst['updates']} UPDATE")
        ok &= burst["updates"] == 1
        if burst["seconds"] > burst["resolution_seconds"]:
            parts.append("(burst outlasted the resolution: not conclusive)")
    return _verdict(
        "PASS" if ok else "FAIL",
        f"[{name}] zero writes per steady-state request (1,000 calls -> one UPDATE)",
        "; ".join(parts),
    )


def _page_verdicts(name, pages):
    smallest, largest = pages["sizes"][0], pages["sizes"][-1]
    rows = {(r["kind"], r["list"], r["tokens"]): r for r in pages["rows"]}
    found = []
    for kind, label in KIND_LABELS.items():
        lists = sorted({r["list"] for r in pages["rows"] if r["kind"] == kind})
        worst = max(lists, key=lambda s: rows[(kind, s, largest)]["ratio_to_smallest"])
        ratio = rows[(kind, worst, largest)]["ratio_to_smallest"]
        query_changes = [
            f"{s}: {rows[(kind, s, smallest)]['queries']} -> {rows[(kind, s, largest)]['queries']}"
            for s in lists
            if rows[(kind, s, smallest)]["queries"] != rows[(kind, s, largest)]["queries"]
        ]
        ok = ratio <= TARGET_PAGE_RATIO and not query_changes
        found.append(
            _verdict(
                "PASS" if ok else "FAIL",
                f"[{name}] {label} at {largest:,} tokens <= 2 x {smallest:,}-token time, "
                "same queries",
                f"worst {ratio:.1f} x ({worst}); queries "
                + ("; ".join(query_changes) if query_changes else "unchanged"),
            )
        )
    return found


def render(report):
    meta, databases = report["meta"], report["databases"]
    lines = [
        f"Portal benchmark ({meta['mode']}) - {meta['started']} - commit {meta['commit']}",
        f"Machine: {meta['machine']}",
    ]
    before, after = meta["load_average"]
    if max(before, after) > meta["cpus"] / 2:
        lines.append(
            f"Load average {before} at start, {after} at end on {meta['cpus']} CPUs: other "
            "processes competed for the CPU, so absolute times are inflated; the side-by-side "
            "ratios are the figures to trust."
        )
    lines.append("")
    for name, result in databases.items():
        if "skipped" in result:
            lines.append(f"{name}: skipped ({result['skipped']})")
        elif "skipped" in result.get("hosts", {}):
            lines.append(f"{name}, several hosts: skipped ({result['hosts']['skipped']})")
        if "skipped" in result.get("soak", {}):
            lines.append(f"{name}, usage soak: skipped ({result['soak']['skipped']})")
    sections = [inprocess_table(databases), http_table(databases)]
    for name in _names(databases):
        if databases[name].get("pages"):
            sections.append(pages_table(name, databases[name]["pages"]))
        if databases[name].get("feed"):
            sections.append(feed_table(name, databases[name]["feed"]))
        if databases[name].get("agent"):
            sections.append(agent_table(name, databases[name]["agent"]))
        if databases[name].get("fleet"):
            sections.append(fleet.report_lines(name, databases[name]["fleet"]))
        if databases[name].get("retention"):
            sections.append(retention.report_lines(name, databases[name]["retention"]))
        if "skipped" not in databases[name].get("soak", {"skipped": True}):
            sections.append(soak_lines(name, databases[name]["soak"]))
    sections += [burst_lines(databases), hotspot_lines(databases), hosts_lines(databases)]
    sections.append(many_lines(databases))
    for section in sections:
        if section:
            lines += [*section, ""]
    lines += _title("Verdict")
    for verdict in report["verdicts"]:
        lines.append(f"  {verdict['result']:<7} {verdict['target']}: {verdict['measured']}")
    lines += ["", f"Wall time: {meta['wall_seconds']:.0f} s"]
    return "\n".join(lines)
