"""routing policy: per-location knobs, per-channel safety stock, daily shipment counts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('location_policy',
    sa.Column('location_id', sa.String(length=200), nullable=False),
    sa.Column('daily_shipment_capacity', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('handling_cost', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('daily_shipment_capacity IS NULL OR daily_shipment_capacity >= 0', name=op.f('ck_location_policy_capacity_not_negative')),
    sa.CheckConstraint('priority >= 0', name=op.f('ck_location_policy_priority_not_negative')),
    sa.CheckConstraint('handling_cost >= 0', name=op.f('ck_location_policy_handling_cost_not_negative')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_policy_location_id_location')),
    sa.PrimaryKeyConstraint('location_id', name=op.f('pk_location_policy'))
    )
    op.create_table('channel_safety_stock',
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('location_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_channel_safety_stock_quantity_not_negative')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_channel_safety_stock_location_id_location')),
    sa.ForeignKeyConstraint(['sku'], ['sku.sku'], name=op.f('fk_channel_safety_stock_sku_sku')),
    sa.PrimaryKeyConstraint('sku', 'location_id', 'channel', name=op.f('pk_channel_safety_stock'))
    )
    op.create_table('shipment_count',
    sa.Column('location_id', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('shipments', sa.Integer(), nullable=False),
    sa.CheckConstraint('shipments >= 0', name=op.f('ck_shipment_count_shipments_not_negative')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_shipment_count_location_id_location')),
    sa.PrimaryKeyConstraint('location_id', 'day', name=op.f('pk_shipment_count'))
    )
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.create_index('ix_location_latitude_longitude', ['latitude', 'longitude'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_index('ix_location_latitude_longitude')
    op.drop_table('shipment_count')
    op.drop_table('channel_safety_stock')
    op.drop_table('location_policy')
