"""Voters and code batches may name a ward, for turnout by ward

Revision ID: 0003_turnout_wards
Revises: 0002_identity
Create Date: 2026-11-29 20:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_turnout_wards'
down_revision = '0002_identity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('voters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ward_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_voters_ward_id_wards'), 'wards', ['ward_id'], ['id'], ondelete='SET NULL'
        )
    with op.batch_alter_table('code_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ward_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_code_batches_ward_id_wards'), 'wards', ['ward_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('code_batches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_code_batches_ward_id_wards'), type_='foreignkey')
        batch_op.drop_column('ward_id')
    with op.batch_alter_table('voters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_voters_ward_id_wards'), type_='foreignkey')
        batch_op.drop_column('ward_id')
