"""Voided code batches keep the officer's reason

Revision ID: 0002_identity
Revises: 0001_initial_schema
Create Date: 2026-11-29 19:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_identity'
down_revision = '0001_initial_schema'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('code_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('code_batches', schema=None) as batch_op:
        batch_op.drop_column('void_reason')
