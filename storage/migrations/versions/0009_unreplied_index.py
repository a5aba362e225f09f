"""ingest jobs: a partial index of unreplied jobs, for the straggler sweep

Revision ID: 0009_unreplied_index
Revises: 0008_library_counts
Create Date: 2026-12-03 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_unreplied_index"
down_revision = "0008_library_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_ingest_jobs_unreplied",
        "ingest_jobs",
        ["updated_at"],
        postgresql_where=sa.text("replied_at IS NULL"),
        sqlite_where=sa.text("replied_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_ingest_jobs_unreplied", table_name="ingest_jobs")
