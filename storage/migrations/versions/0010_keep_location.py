"""accounts: each person's own choice of keeping location metadata (NULL: the instance's default)

Revision ID: 0010_keep_location
Revises: 0009_unreplied_index
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_keep_location"
down_revision = "0009_unreplied_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("keep_location", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("keep_location")
