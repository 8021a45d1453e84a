"""Search: documents, the domain dictionary and the full-text index

The index DDL is frozen here as it was when this migration was written (from
`kefu.core.search.ddl`): SQLite gets two FTS5 virtual tables, PostgreSQL a table with two tsvector
columns and GIN indexes. The domain dictionary starts with words of the seed industries.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kefu.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "title, keywords, body, tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts_title USING fts5("
    "title, keywords, tokenize = 'unicode61 remove_diacritics 0')",
]
SQLITE_DROP = ["DROP TABLE IF EXISTS search_fts_title", "DROP TABLE IF EXISTS search_fts"]
POSTGRES_CREATE = [
    """CREATE TABLE IF NOT EXISTS search_fts (
    doc_id integer PRIMARY KEY REFERENCES search_document (id) ON DELETE CASCADE,
    kind varchar(40) NOT NULL,
    ref_id integer NOT NULL,
    tsv tsvector NOT NULL,
    title_tsv tsvector NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS search_fts_tsv ON search_fts USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS search_fts_title_tsv ON search_fts USING gin (title_tsv)",
]
POSTGRES_DROP = ["DROP TABLE IF EXISTS search_fts"]

# (word, part of speech) — kept whole by the segmenter; jieba suggests each word's frequency.
SEED_WORDS = [
    # cable TV
    ("机顶盒", "n"), ("高清机顶盒", "n"), ("智能卡", "n"), ("智能卡配对", "vn"), ("数字电视", "n"),
    ("互动电视", "n"), ("节目包", "n"), ("频道搜索", "vn"), ("分配器", "n"), ("副机", "n"),
    ("马赛克", "n"), ("无信号", "v"), ("授权过期", "v"), ("宽带电视", "n"),
    # telecom: mobile and broadband
    ("宽带", "n"), ("家庭宽带", "n"), ("光猫", "n"), ("光纤", "n"), ("光信号", "n"), ("路由器", "n"),
    ("宽带提速", "vn"), ("宽带续费", "vn"), ("无法上网", "v"), ("网速慢", "v"), ("掉线", "v"),
    ("欠费停机", "v"), ("停机保号", "vn"), ("复机", "v"), ("补换卡", "vn"), ("携号转网", "vn"),
    ("流量套餐", "n"), ("5G套餐", "n"), ("套餐变更", "vn"), ("障碍申告", "vn"), ("装维", "vn"),
    ("割接", "vn"), ("基站", "n"), ("固话", "n"), ("来电显示", "n"), ("国际漫游", "n"),
    # maritime satellite
    ("海事卫星", "n"), ("海事卫星电话", "n"), ("卫星终端", "n"), ("铱星电话", "n"), ("船载站", "n"),
    ("海事卫星编码", "n"), ("登网", "v"), ("天线方位角", "n"), ("入网", "v"),
    # water
    ("水表", "n"), ("智能水表", "n"), ("远传水表", "n"), ("IC卡水表", "n"), ("二次供水", "n"),
    ("计划停水", "vn"), ("水压低", "v"), ("水质浑浊", "v"), ("阶梯水价", "n"), ("抄表", "vn"),
    ("抄表员", "n"), ("管网", "n"), ("爆管", "v"), ("违章用水", "vn"), ("水费", "n"),
    # securities
    ("证券账户", "n"), ("资金账户", "n"), ("股东卡", "n"), ("融资融券", "n"), ("转托管", "vn"),
    ("银证转账", "vn"), ("风险测评", "vn"), ("指定交易", "vn"), ("创业板", "n"), ("密码重置", "vn"),
    ("基金定投", "n"), ("委托失败", "v"), ("视频见证", "vn"),
    # service in general
    ("销户", "v"), ("过户", "v"), ("报装", "vn"), ("报停", "v"), ("移机", "v"), ("开户", "v"),
    ("欠费", "v"), ("催缴", "v"), ("回访", "v"), ("工单编号", "n"), ("免打扰", "vn"),
    ("黑名单", "n"), ("营业厅", "n"), ("网上营业厅", "n"), ("自助终端", "n"), ("服务密码", "n"),
]  # fmt: skip

_UTC_NOW = "2026-11-23 00:00:00"


def upgrade() -> None:
    op.create_table(
        "search_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("indexed_at", kefu.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_document")),
        sa.UniqueConstraint("kind", "ref_id", name="uq_search_document_kind_ref"),
    )
    op.create_table(
        "search_word",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=40), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=True),
        sa.Column("pos", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", kefu.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kefu.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_search_word_created_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_word")),
        sa.UniqueConstraint("word", name=op.f("uq_search_word_word")),
    )
    state = op.create_table(
        "search_dictionary_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("changed_at", kefu.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_dictionary_state")),
    )
    from datetime import UTC, datetime

    now = datetime.fromisoformat(_UTC_NOW).replace(tzinfo=UTC)
    words = sa.table(
        "search_word",
        sa.column("word", sa.String),
        sa.column("pos", sa.String),
        sa.column("enabled", sa.Boolean),
        sa.column("note", sa.String),
        sa.column("created_at", kefu.db.UTCDateTime(timezone=True)),
        sa.column("updated_at", kefu.db.UTCDateTime(timezone=True)),
    )
    op.bulk_insert(
        words,
        [
            {"word": w, "pos": p, "enabled": True, "note": "", "created_at": now, "updated_at": now}
            for w, p in SEED_WORDS
        ],
    )
    op.bulk_insert(state, [{"id": 1, "version": "seed-0009", "changed_at": now}])
    create = SQLITE_CREATE if op.get_context().dialect.name == "sqlite" else POSTGRES_CREATE
    for sql in create:
        op.execute(sql)


def downgrade() -> None:
    drop = SQLITE_DROP if op.get_context().dialect.name == "sqlite" else POSTGRES_DROP
    for sql in drop:
        op.execute(sql)
    op.drop_table("search_dictionary_state")
    op.drop_table("search_word")
    op.drop_table("search_document")
