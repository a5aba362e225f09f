"""library counts: each owner's ready images and bytes, so listings and quotas count nothing

Revision ID: 0008_library_counts
Revises: 0007_audit
Create Date: 2026-12-03 09:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_library_counts"
down_revision = "0007_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_counts",
        sa.Column(
            "owner_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
    )
    # Start from what the catalog holds; from here on every change keeps the counts in step.
    op.execute(
        "INSERT INTO library_counts (owner_id, images, bytes)"
        " SELECT owner_id, count(*), coalesce(sum(size), 0) FROM images"
        " WHERE status = 'ready' GROUP BY owner_id"
    )


def downgrade() -> None:
    op.drop_table("library_counts")
