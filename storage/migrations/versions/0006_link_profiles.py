"""link requests: the chat profile of whoever asked for the link

The page after Google compares the chat profile's email with the Google account and names the
chat account before anything is linked (a forwarded link must not hand over a library).

Revision ID: 0006_link_profiles
Revises: 0005_hardening
Create Date: 2026-12-02 07:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_link_profiles"
down_revision = "0005_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("link_requests") as batch:
        batch.add_column(sa.Column("chat_email", sa.String(320), nullable=True))
        batch.add_column(sa.Column("chat_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("tenant_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("reply_to", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("link_requests") as batch:
        for column in ("reply_to", "tenant_name", "chat_name", "chat_email"):
            batch.drop_column(column)
