"""Auto-replies: matching cost per incoming text with 1,000 rules, and webhook throughput of text messages with
those rules present, against the bench's bare handler and the CRM without rules, in the same run.

Rules are generated like bench.generate's tables (a seeded row generator and a loader on bench.bulk): shop
keywords in every match mode, a third ignoring spaces, a fifth with hours, a regular expression in ten, and the
two fallbacks. Texts are customers' messages, one in ten holding a keyword some rule answers. Throughput reuses
bench.webhook's servers and load clients (each webhook: one text message of a new user; persisted = friends
stored); the CRM sends its answers to bench.line_standin. Goal: matching under 1 ms per text.

    python -m bench.auto_reply                           (1,000 rules; SQLite; concurrency 1 and 8)
    python -m bench.auto_reply --rules 1000 --databases sqlite,postgresql --concurrency 1,8,32
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bench import webhook
from bench.bulk import LoadResult, load_table
from bench.loadgen import message_webhooks
from bench.send import line_standin
from bench.servers import Gunicorn, fresh_database
from crm import migrate
from crm.auto_replies.matching import load_rules
from crm.auto_replies.models import AutoReplyRule, MatchMode, RuleKind
from crm.auto_replies.switch import bump_version
from crm.db import make_engine, session_scope
from crm.message_templates.models import MessageTemplate
from crm.sending.models import OutgoingReply
from crm.timeutil import utcnow

GOAL_MATCH_US = 1000.0
SHOP_WORDS = (
    "営業時間", "予約", "キャンセル", "クーポン", "ポイント", "駐車場", "メニュー", "ランチ", "テイクアウト", "配達",
    "支払い", "カード", "PayPay", "定休日", "アクセス", "住所", "電話", "料金", "カット", "カラー", "パーマ", "ネイル",
    "セール", "在庫", "サイズ", "返品", "交換", "送料", "ギフト", "ラッピング",
)  # fmt: skip
CHATTER = (
    "こんにちは", "ありがとうございます", "よろしくお願いします", "了解です", "明日行きます", "今日は混んでますか",
    "写真見ました", "またお願いします", "友達と行きたいです", "おすすめは何ですか", "😀", "👍 OK",
)  # fmt: skip
RULE_COLUMNS = (
    "name", "kind", "keywords", "match_mode", "ignore_spaces", "weekdays", "start_minute", "end_minute",
    "template_id", "actions", "enabled", "position", "continue_to_next", "quiet_minutes", "created_at", "updated_at",
)  # fmt: skip


# --- rules and texts -------------------------------------------------------------------------------


def generate_auto_reply_rules(engine: Engine, count: int, *, seed: int = 1) -> LoadResult:
    """Insert `count` keyword rules (answering with one template) and the two fallbacks; bump the version."""
    with session_scope(engine) as session:
        template = MessageTemplate(name="bench answer", messages=json.dumps([{"type": "text", "text": "ご案内"}]))
        session.add(template)
        session.flush()
        template_id = template.id
    rng = random.Random(f"auto_reply_rules:{seed}")
    result = load_table(
        engine, AutoReplyRule.__table__, RULE_COLUMNS, rule_rows(count, rng=rng, template_id=template_id)
    )
    with session_scope(engine) as session:
        bump_version(session)
    return result


def rule_rows(count: int, *, rng: random.Random, template_id: int) -> Iterator[tuple]:
    now = utcnow()
    for position in range(1, count + 1):
        yield _keyword_row(rng, position, template_id, now)
    for kind, hours in ((RuleKind.OUTSIDE_HOURS, (600, 1140)), (RuleKind.ANY_OTHER, (None, None))):
        yield ("fallback", kind, "[]", MatchMode.CONTAINS, False, "0123456", *hours, template_id, "[]", True,
               count + 1, False, 1440, now, now)  # fmt: skip


def _keyword_row(rng: random.Random, position: int, template_id: int, now) -> tuple:
    word = SHOP_WORDS[position % len(SHOP_WORDS)]
    keywords = [f"{word}{position}"] + [
        f"{rng.choice(SHOP_WORDS)}{rng.randrange(10_000)}" for _ in range(rng.randrange(3))
    ]
    roll = rng.random()
    mode = MatchMode.CONTAINS if roll < 0.55 else MatchMode.EXACT if roll < 0.8 else MatchMode.STARTS_WITH
    if roll >= 0.9:
        mode, keywords = MatchMode.REGEX, [f"{word}.*{position}$", rf"^{position}\d*{word}"]
    hours = (rng.choice((540, 600, 660)), rng.choice((1080, 1140, 120))) if rng.random() < 0.2 else (None, None)
    keywords_json, ignore_spaces = json.dumps(keywords, ensure_ascii=False), rng.random() < 0.3
    return (f"rule {position}", RuleKind.KEYWORD, keywords_json, mode, ignore_spaces, "0123456", *hours,
            template_id, "[]", True, position, False, 1440, now, now)  # fmt: skip


def customer_texts(count: int, *, rules: int, seed: int = 1) -> list[str]:
    """Messages as friends write them; one in ten names a keyword of some rule."""
    rng = random.Random(f"auto_reply_texts:{seed}")
    texts = []
    for _ in range(count):
        if rng.random() < 0.1:
            number = rng.randrange(1, rules + 1)
            keyword = f"{SHOP_WORDS[number % len(SHOP_WORDS)]}{number}"
            texts.append(keyword if rng.random() < 0.5 else f"{keyword}について教えてください")
        else:
            texts.append(
                f"{rng.choice(CHATTER)} {rng.choice(SHOP_WORDS)}は？" if rng.random() < 0.5 else rng.choice(CHATTER)
            )
    return texts


# --- matching cost ---------------------------------------------------------------------------------


def measure_matching(database_url: str, texts: list[str]) -> dict:
    """Compile the rules once, then time matching each text (microseconds)."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            started = time.perf_counter()
            rules = load_rules(session, 1)
            compile_ms = (time.perf_counter() - started) * 1000
    finally:
        engine.dispose()
    timings, answered = [], 0
    for text in texts:
        started = time.perf_counter_ns()
        found = rules.matching(text)
        timings.append((time.perf_counter_ns() - started) / 1000)
        answered += bool(found)
    return {
        "rules": len(rules.keyword_rules),
        "texts": len(texts),
        "answered": answered,
        "compile_ms": round(compile_ms, 1),
        "mean_us": round(statistics.fmean(timings), 1),
        "p50_us": round(statistics.median(timings), 1),
        "p99_us": round(statistics.quantiles(timings, n=100)[98], 1),
        "max_us": round(max(timings), 1),
    }


# --- webhook throughput ----------------------------------------------------------------------------


def measure_throughput(args, folder: Path, texts: list[str]) -> tuple[list[webhook.Measurement], dict]:
    """The bare handler, then per database the CRM without rules and with them, on message webhooks."""
    make_requests = partial(message_webhooks, texts=texts)
    measurements, replies = [], {}
    for settings in args.gunicorn:
        with Gunicorn(webhook.BARE_APP, settings, env=webhook.server_env(None), log_path=folder / "bare.log") as server:
            measurements += webhook.measure_server(
                server, target="bare", database="-", args=args, folder=folder, count=None, make_requests=make_requests
            )
    with line_standin() as api_base:
        for database in args.databases:
            with fresh_database(database, folder) as db:
                migrate.upgrade(db.url)
                count = webhook.RowCounter(db.url)
                for target in ("crm", "rules"):
                    if target == "rules":
                        generate_auto_reply_rules(make_engine(db.url), args.rules)
                    env = webhook.server_env(db.url) | {"LINE_API_BASE": api_base}
                    for settings in args.gunicorn:
                        with Gunicorn(webhook.CRM_APP, settings, env=env, log_path=folder / "crm.log") as server:
                            measurements += webhook.measure_server(
                                server, target=target, database=database, args=args, folder=folder, count=count,
                                db_pid=db.server_pid, make_requests=make_requests,
                            )  # fmt: skip
                with count.engine.connect() as connection:
                    replies[database] = connection.execute(
                        select(func.count()).select_from(OutgoingReply.__table__)
                    ).scalar_one()
                count.engine.dispose()
    return measurements, replies


def throughput_table(measurements: list[webhook.Measurement]) -> str:
    bare = {(m.settings, m.load.concurrency): m for m in measurements if m.target == "bare"}
    header = (
        f"{'target':6} {'database':10} {'gunicorn':10} {'conc':>4} {'persisted/s':>11} {'x bare':>6} "
        f"{'p50/p95/p99 ms':>17} {'CPU ms/ev':>9}"
    )
    lines = [header, "-" * len(header)]
    for m in measurements:
        floor = bare.get((m.settings, m.load.concurrency))
        ratio = m.rate / floor.rate if floor and floor.rate else float("nan")
        percentiles = "/".join(f"{m.load.percentile(p):.1f}" for p in (50, 95, 99))
        lines.append(
            f"{m.target:6} {m.database:10} {m.settings:10} {m.load.concurrency:>4} {m.rate:>11.1f} {ratio:>6.2f} "
            f"{percentiles:>17} {m.cpu_ms_per_event:>9.2f}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.auto_reply", description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000, help="keyword rules (default 1000)")
    parser.add_argument("--texts", type=int, default=20_000, help="texts timed for matching (default 20000)")
    parser.add_argument("--matching-only", action="store_true", help="skip the webhook throughput")
    own, rest = parser.parse_known_args(argv)
    defaults = ["--databases", "sqlite", "--concurrency", "1,8", "--requests", "1500", "--warmup", "150"]
    args = webhook.parse_args(defaults + rest)
    for key, value in vars(own).items():
        setattr(args, key, value)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    texts = customer_texts(args.texts, rules=args.rules)
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        with fresh_database("sqlite", Path(folder)) as db:
            migrate.upgrade(db.url)
            loaded = generate_auto_reply_rules(make_engine(db.url), args.rules)
            print(f"{loaded.rows} rules stored in {loaded.seconds:.2f} s", flush=True)
            figures = measure_matching(db.url, texts)
        met = "met" if figures["p99_us"] < GOAL_MATCH_US else "no"
        print(
            f"\nmatching, {figures['rules']} keyword rules, {figures['texts']} texts ({figures['answered']} matched): "
            f"mean {figures['mean_us']} µs, p50 {figures['p50_us']} µs, p99 {figures['p99_us']} µs, "
            f"max {figures['max_us']} µs (compiling the rules: {figures['compile_ms']} ms); "
            f"goal p99 < {GOAL_MATCH_US:.0f} µs: {met}",
            flush=True,
        )
        if not args.matching_only:
            print(f"\nwebhook throughput, text messages of new users ({webhook.CLIENTS[args.client]}):", flush=True)
            measurements, replies = measure_throughput(args, Path(folder) / "", texts)
            print("\n" + throughput_table(measurements))
            print(f"auto-replies queued (with rules): {replies}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
