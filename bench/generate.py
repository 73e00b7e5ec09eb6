"""The one benchmark data generator: realistic friends, tags and link tokens (this module, and the CLI), and
custom field values, survey answers, clicks, notes and purchases (bench.generate_extras), loaded with bench.bulk.

Each table has a row generator and a loader (`generate_<table>`) built on `bulk.load_table`; loaders only
cover friends added since their last run, reading friend ids in keyset batches (memory stays bounded).

    python -m bench.generate --database-url URL --friends 1000000 [--tags-per-friend 10] [--segment-data]
        [--purchases 10000000] [--messages 3000000]

Chat messages and the inbox's conversations come from bench.generate_talk.
"""

from __future__ import annotations

import argparse
import base64
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bench.bulk import LoadResult, analyze, friend_ids, index_dropped, last_friend_id, load_table, row_count, utc
from crm import migrate
from crm.db import make_engine
from crm.friends.models import Friend, FriendStatus
from crm.tags.models import FriendTag, Tag, TagFolder
from crm.timeutil import utcnow

HISTORY_SECONDS = timedelta(days=730).total_seconds()
BLOCKED_SHARE = 0.10
PROFILE_FETCHED_SHARE = 0.97

FAMILY_NAMES = (
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
)
# (kanji, hiragana, katakana, romaji) of common given names.
GIVEN_NAMES = (
    ("花子", "はなこ", "ハナコ", "Hanako"),
    ("太郎", "たろう", "タロウ", "Taro"),
    ("陽菜", "ひな", "ヒナ", "Hina"),
    ("蓮", "れん", "レン", "Ren"),
    ("結衣", "ゆい", "ユイ", "Yui"),
    ("大翔", "ひろと", "ヒロト", "Hiroto"),
    ("さくら", "さくら", "サクラ", "Sakura"),
    ("翔太", "しょうた", "ショウタ", "Shota"),
    ("美咲", "みさき", "ミサキ", "Misaki"),
    ("健太", "けんた", "ケンタ", "Kenta"),
    ("優子", "ゆうこ", "ユウコ", "Yuko"),
    ("拓也", "たくや", "タクヤ", "Takuya"),
    ("愛", "あい", "アイ", "Ai"),
    ("誠", "まこと", "マコト", "Makoto"),
    ("由美", "ゆみ", "ユミ", "Yumi"),
    ("直樹", "なおき", "ナオキ", "Naoki"),
    ("葵", "あおい", "アオイ", "Aoi"),
    ("湊", "みなと", "ミナト", "Minato"),
    ("真由美", "まゆみ", "マユミ", "Mayumi"),
    ("恵", "めぐみ", "メグミ", "Megumi"),
)
EMOJI = ("🌸", "✨", "🍀", "☀️", "🐶", "🐱", "🎵", "💐", "⚽", "🍙")
STATUS_MESSAGES = (
    "よろしくお願いします",
    "毎日がんばる！",
    "ありがとう",
    "旅行好き✈️",
    "猫と暮らしています",
    "今日も元気に",
    "一期一会",
    "Life is good",
    "ダイエット中",
    "子育て奮闘中",
)
# Weighted pools: rng.choice over a pool is the fastest weighted draw.
LANGUAGES = ("ja",) * 92 + ("en",) * 4 + ("zh-TW",) * 2 + ("th",) + ("ko",)
HEX = "0123456789abcdef"


# --- friends ---------------------------------------------------------------------------------------

FRIEND_COLUMNS = (
    "line_user_id",
    "display_name",
    "picture_url",
    "language",
    "status_message",
    "status",
    "follow_count",
    "first_followed_at",
    "last_followed_at",
    "blocked_at",
    "last_interaction_at",
    "profile_fetched_at",
    "profile_fetch_due_at",
    "profile_fetch_attempts",
    "created_at",
)


def generate_friends(engine: Engine, count: int, *, seed: int = 1, now: datetime | None = None) -> LoadResult:
    """Insert `count` realistic friends; repeat calls append new, distinct friends."""
    table = Friend.__table__
    rng = random.Random(f"friends:{seed}:{row_count(engine, table)}")
    result = load_table(engine, table, FRIEND_COLUMNS, friend_rows(count, rng=rng, now=now or utcnow()))
    analyze(engine, table)
    return result


def friend_rows(count: int, *, rng: random.Random, now: datetime) -> Iterator[tuple]:
    """Yield `count` friend rows in FRIEND_COLUMNS order, followed over the two years before `now`."""
    now_ts = now.timestamp()
    for _ in range(count):
        yield _friend_row(rng, now_ts)


def _friend_row(rng: random.Random, now: float) -> tuple:
    """One friend as LINE and the CRM would have left it."""
    blocked, follow_count, first, last, blocked_at, interaction = _follow_history(rng, now)
    fetched = rng.random() < PROFILE_FETCHED_SHARE
    name, picture, language, message = _profile(rng) if fetched else (None, None, None, None)
    pending = not fetched and not blocked
    return (
        line_user_id(rng),
        name,
        picture,
        language,
        message,
        FriendStatus.BLOCKED if blocked else FriendStatus.FOLLOWING,
        follow_count,
        utc(first),
        utc(last),
        utc(blocked_at),
        utc(interaction),
        utc(last + rng.uniform(0.2, 5.0)) if fetched else None,
        utc(now - rng.uniform(0, 3600)) if pending else None,
        rng.randint(0, 3) if pending else 0,
        utc(first + rng.uniform(0.01, 1.0)),
    )


def _follow_history(rng: random.Random, now: float) -> tuple:
    """Blocked?, follow count and the follow, block and interaction times (epoch seconds) of one friend."""
    first = now - HISTORY_SECONDS * rng.random() ** 1.4  # more friends joined recently
    follow_count = 1 if rng.random() < 0.85 else rng.choice((2, 2, 2, 3))
    last = first if follow_count == 1 else rng.uniform(first, now)
    blocked = rng.random() < BLOCKED_SHARE
    if blocked:
        blocked_at = rng.uniform(last, now)
    elif follow_count > 1:
        blocked_at = rng.uniform(first, last)  # blocked once, then followed again
    else:
        blocked_at = None
    end = blocked_at if blocked else now
    interaction = last if rng.random() < 0.4 else rng.uniform(last, end)
    return blocked, follow_count, first, last, blocked_at, interaction


def _profile(rng: random.Random) -> tuple:
    """Display name, picture URL, language and status message as LINE's profile API gives them."""
    picture = None
    if rng.random() < 0.88:
        picture = "https://profile.line-scdn.net/0h" + "".join(rng.choices(HEX, k=48))
    message = rng.choice(STATUS_MESSAGES) if rng.random() < 0.3 else None
    return display_name(rng), picture, rng.choice(LANGUAGES), message


def display_name(rng: random.Random) -> str:
    """A Japanese-ish LINE display name: kanji, kana, romaji, sometimes an emoji."""
    family = rng.choice(FAMILY_NAMES)
    kanji, hiragana, katakana, romaji = rng.choice(GIVEN_NAMES)
    style = rng.random()
    if style < 0.40:
        return f"{family} {kanji}" if rng.random() < 0.5 else family + kanji
    if style < 0.60:
        return hiragana if rng.random() < 0.7 else hiragana + "ちゃん"
    if style < 0.70:
        return katakana
    if style < 0.85:
        return romaji if rng.random() < 0.5 else f"{romaji} {family[0]}."
    return kanji + rng.choice(EMOJI)


def line_user_id(rng: random.Random) -> str:
    """A LINE user id: "U" and 32 hex digits."""
    return f"U{rng.getrandbits(128):032x}"


# --- tags --------------------------------------------------------------------------------------------

TAG_FOLDERS = {
    "流入経路": ("QRコード", "Instagram", "店頭POP", "チラシ", "Web広告", "友だち紹介", "イベント"),
    "属性": ("男性", "女性", "10代", "20代", "30代", "40代", "50代以上", "学生", "会社員", "主婦"),
    "興味": (
        "スキンケア",
        "ヘアケア",
        "ネイル",
        "メイク",
        "ダイエット",
        "ファッション",
        "グルメ",
        "旅行",
        "アウトドア",
        "ペット",
    ),
    "購買": ("購入あり", "リピーター", "VIP", "クーポン利用", "EC会員", "休眠", "初回購入", "高単価"),
    "アンケート": ("アンケート回答済", "満足", "不満", "要フォロー", "キャンペーン応募"),
    "配信": (
        "配信停止希望",
        "セール通知希望",
        "新商品通知希望",
        "誕生月特典",
        "予約あり",
        "来店済",
        "キャンセル歴",
        "問い合わせあり",
        "当選者",
        "テスト",
    ),
}
TAG_COLORS = ("#06c755", "#0969da", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#4d2d00", "#1a7f37")
RARE_TAG_SHARES = (0.01, 0.005, 0.002, 0.001, 0.0002)  # the last tags: small segments (winners, test group)
TAG_LINK_COLUMNS = ("friend_id", "tag_id", "added_at", "added_by")
TAG_ADDED_BY = "system:bench"


def generate_tags(engine: Engine, *, per_friend: float = 10, seed: int = 1, now: datetime | None = None) -> LoadResult:
    """Create ~50 bench tags in folders, then give each friend not yet tagged ~per_friend of them.

    Tag popularity falls geometrically with a rare tail (from ~75% of friends down to 0.02%), and each
    tag's friend_count is increased by the links added.
    """
    tag_ids = _ensure_bench_tags(engine)
    shares = list(zip(tag_ids, tag_shares(len(tag_ids), per_friend), strict=False))
    counts: Counter = Counter()
    untagged = friend_ids(engine, after=last_friend_id(engine, FriendTag.friend_id))
    rows = tag_link_rows(untagged, shares, rng=random.Random(f"tags:{seed}"), now=now or utcnow(), counts=counts)
    with index_dropped(engine, FriendTag.__table__, "ix_friend_tag_tag_friend"):
        result = load_table(engine, FriendTag.__table__, TAG_LINK_COLUMNS, rows)
    with engine.begin() as connection:
        for tag_id, added in counts.items():
            connection.execute(update(Tag).where(Tag.id == tag_id).values(friend_count=Tag.friend_count + added))
    analyze(engine, FriendTag.__table__)
    analyze(engine, Tag.__table__)
    return result


def tag_shares(tag_count: int, per_friend: float) -> list[float]:
    """The share of friends carrying each tag: a geometric head scaled to per_friend tags, then the rare tail."""
    rare = list(RARE_TAG_SHARES[: max(0, tag_count - 1)])
    head = [0.925**rank for rank in range(tag_count - len(rare))]
    scale = (per_friend - sum(rare)) / sum(head)
    return [min(0.95, share * scale) for share in head] + rare


def tag_link_rows(
    ids: Iterable[int], shares: Sequence[tuple[int, float]], *, rng: random.Random, now: datetime, counts: Counter
) -> Iterator[tuple]:
    """Yield friend_tag rows in primary-key order; each tag is on a friend with its share's probability."""
    ordered = sorted(shares)
    now_ts, span = now.timestamp(), timedelta(days=365).total_seconds()
    for friend_id in ids:
        chosen = [tag_id for tag_id, share in ordered if rng.random() < share]
        counts.update(chosen)
        added_at = utc(now_ts - span * rng.random())
        for tag_id in chosen:
            yield friend_id, tag_id, added_at, TAG_ADDED_BY


def _ensure_bench_tags(engine: Engine) -> list[int]:
    """Create the bench folders and tags that are missing; return the ids of all bench tags."""
    with engine.begin() as connection:
        for position, (folder_name, tag_names) in enumerate(TAG_FOLDERS.items()):
            folder_id = connection.execute(select(TagFolder.id).where(TagFolder.name == folder_name)).scalar()
            if folder_id is None:
                folder_id = connection.execute(
                    TagFolder.__table__.insert().values(name=folder_name, position=position).returning(TagFolder.id)
                ).scalar_one()
            for index, name in enumerate(tag_names):
                if connection.execute(select(Tag.id).where(Tag.name == name)).scalar() is None:
                    connection.execute(
                        Tag.__table__.insert().values(
                            name=name,
                            folder_id=folder_id,
                            color=TAG_COLORS[index % len(TAG_COLORS)],
                            friend_count=0,
                            created_at=utcnow(),
                        )
                    )
        names = [name for tag_names in TAG_FOLDERS.values() for name in tag_names]
        return list(connection.execute(select(Tag.id).where(Tag.name.in_(names)).order_by(Tag.id)).scalars())


# --- tracked links ----------------------------------------------------------------------------------

LINK_TOKEN_COLUMNS = ("token", "link_id", "friend_id")


def generate_link_tokens(
    engine: Engine,
    *,
    destination: str = "https://shop.example.jp/sale?utm_source=line",
    broadcast_id: int | None = 1,
    seed: int = 1,
    tag_id: int | None = None,
) -> tuple[LoadResult, list[str]]:
    """Create one tracked link (as a broadcast would; adding `tag_id` on a friend's click when given) and a token
    for every friend; return the tokens (the redirect benchmark requests them all, so they are held in memory).

    Tokens have the service's shape (16 random bytes, base64url) but come from a seeded generator.
    """
    from crm.tracking.models import LinkToken, TrackedLink

    with engine.begin() as connection:
        link_id = connection.execute(
            TrackedLink.__table__.insert()
            .values(
                destination=destination,
                source=f"broadcast:{broadcast_id}",
                broadcast_id=broadcast_id,
                tag_id=tag_id,
                created_at=utcnow(),
            )
            .returning(TrackedLink.__table__.c.id)
        ).scalar_one()
        ids = list(connection.execute(select(Friend.id).order_by(Friend.id)).scalars())
    rng = random.Random(f"links:{seed}:{link_id}")
    tokens = [base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode() for _ in ids]
    rows = ((token, link_id, friend_id) for token, friend_id in zip(tokens, ids, strict=False))
    result = load_table(engine, LinkToken.__table__, LINK_TOKEN_COLUMNS, rows)
    analyze(engine, LinkToken.__table__)
    return result, tokens


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: migrate the database, then generate data and print rows/s."""
    from bench.generate_extras import generate_purchases, generate_segment_data
    from bench.generate_talk import generate_messages

    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="SQLAlchemy URL, e.g. sqlite:////tmp/bench.sqlite3")
    parser.add_argument("--friends", type=int, default=10_000, help="friends to add (default 10,000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--tags-per-friend",
        type=float,
        default=0,
        help="then put ~N of ~50 bench tags on each untagged friend (default 0: no tags)",
    )
    parser.add_argument(
        "--segment-data",
        action="store_true",
        help="then add custom field values, survey answers and clicks for new friends",
    )
    parser.add_argument(
        "--note-share",
        type=float,
        default=0.0,
        help="with --segment-data: share of new friends given staff notes (default 0)",
    )
    parser.add_argument(
        "--comment-share",
        type=float,
        default=0.0,
        help="with --segment-data: share of survey responses with a free-text answer (default 0)",
    )
    parser.add_argument(
        "--purchases", type=int, default=0, help="then add N purchases (conversions in yen) over the friends"
    )
    parser.add_argument(
        "--messages", type=int, default=0, help="then add N chat messages (skewed over the friends) and conversations"
    )
    args = parser.parse_args(argv)
    migrate.upgrade(args.database_url)
    engine = make_engine(args.database_url)
    try:
        print(generate_friends(engine, args.friends, seed=args.seed), flush=True)
        if args.tags_per_friend:
            print(generate_tags(engine, per_friend=args.tags_per_friend, seed=args.seed), flush=True)
        if args.segment_data:
            generate_segment_data(engine, seed=args.seed, note_share=args.note_share, comment_share=args.comment_share)
        if args.purchases:
            print(generate_purchases(engine, args.purchases, seed=args.seed), flush=True)
        if args.messages:
            for result in generate_messages(engine, args.messages, seed=args.seed):
                print(result, flush=True)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
