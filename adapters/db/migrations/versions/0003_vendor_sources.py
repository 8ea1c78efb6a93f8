"""vendor sources: where reported levels come from, and when each was last vouched for

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vendor_source',
    sa.Column('location_id', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=True),
    sa.Column('auth_header', sa.String(length=200), nullable=True),
    sa.Column('auth_value', sa.String(length=1000), nullable=True),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('poll_interval_s', sa.Float(), nullable=False),
    sa.Column('max_age_s', sa.Float(), nullable=False),
    sa.Column('deadline_ms', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("mode IN ('PUSH', 'PULL')", name=op.f('ck_vendor_source_mode_known')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_vendor_source_location_id_location')),
    sa.PrimaryKeyConstraint('location_id', name=op.f('pk_vendor_source'))
    )
    op.create_table('vendor_level',
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('location_id', sa.String(length=200), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_vendor_level_location_id_location')),
    sa.PrimaryKeyConstraint('sku', 'location_id', name=op.f('pk_vendor_level'))
    )


def downgrade() -> None:
    op.drop_table('vendor_level')
    op.drop_table('vendor_source')
