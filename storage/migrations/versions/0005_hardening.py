"""accounts: an opaque folder name per account, and a sessions generation

Object names (and so share and preview URLs) use `users/<storage_id>/` instead of the Google
sub for new objects; rows keep the names of objects already stored. The sessions generation is
bumped on sign-out, unlink and library deletion, which ends every older web session.

Revision ID: 0005_hardening
Revises: 0002
Create Date: 2026-12-02 01:40:00
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005_hardening"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("storage_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("sessions_generation", sa.Integer(), nullable=False, server_default="0"))
        batch.create_unique_constraint("uq_accounts_storage_id", ["storage_id"])
    accounts = sa.table("accounts", sa.column("id", sa.Integer), sa.column("storage_id", sa.String))
    connection = op.get_bind()
    for (account_id,) in connection.execute(sa.select(accounts.c.id)).all():
        connection.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(storage_id="o" + secrets.token_hex(12))
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("uq_accounts_storage_id", type_="unique")
        batch.drop_column("sessions_generation")
        batch.drop_column("storage_id")
