"""replenishment: reorder rules, replenishment requests (one OPEN per SKU and location), the
webhook outbox, and a unit cost per SKU for ABC classification

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('body', sa.String(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('rejections', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('PENDING', 'DELIVERED', 'FAILED')", name=op.f('ck_outbox_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['next_attempt_at'], unique=False, sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))

    op.create_table('reorder_rule',
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('location_id', sa.String(length=200), nullable=False),
    sa.Column('reorder_point', sa.Integer(), nullable=False),
    sa.Column('target_level', sa.Integer(), nullable=False),
    sa.Column('fixed_quantity', sa.Integer(), nullable=True),
    sa.Column('supplier', sa.String(length=200), nullable=True),
    sa.Column('source_location_id', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('fixed_quantity IS NULL OR fixed_quantity > 0', name=op.f('ck_reorder_rule_fixed_positive')),
    sa.CheckConstraint('reorder_point >= 0', name=op.f('ck_reorder_rule_reorder_point_not_negative')),
    sa.CheckConstraint('target_level > reorder_point', name=op.f('ck_reorder_rule_target_above_point')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_reorder_rule_location_id_location')),
    sa.ForeignKeyConstraint(['sku'], ['sku.sku'], name=op.f('fk_reorder_rule_sku_sku')),
    sa.ForeignKeyConstraint(['source_location_id'], ['location.id'], name=op.f('fk_reorder_rule_source_location_id_location')),
    sa.PrimaryKeyConstraint('sku', 'location_id', name=op.f('pk_reorder_rule'))
    )
    op.create_table('replenishment_request',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('location_id', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reorder_point', sa.Integer(), nullable=False),
    sa.Column('target_level', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=True),
    sa.Column('source_location_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.CheckConstraint("status IN ('OPEN', 'FULFILLED', 'CANCELLED')", name=op.f('ck_replenishment_request_status_known')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_replenishment_request_quantity_positive')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_replenishment_request_location_id_location')),
    sa.ForeignKeyConstraint(['sku'], ['sku.sku'], name=op.f('fk_replenishment_request_sku_sku')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replenishment_request'))
    )
    with op.batch_alter_table('replenishment_request', schema=None) as batch_op:
        batch_op.create_index('ix_replenishment_request_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index('uq_replenishment_request_open', ['sku', 'location_id'], unique=True, sqlite_where=sa.text("status = 'OPEN'"), postgresql_where=sa.text("status = 'OPEN'"))

    with op.batch_alter_table('sku', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_cost', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sku', schema=None) as batch_op:
        batch_op.drop_column('unit_cost')

    with op.batch_alter_table('replenishment_request', schema=None) as batch_op:
        batch_op.drop_index('uq_replenishment_request_open', sqlite_where=sa.text("status = 'OPEN'"), postgresql_where=sa.text("status = 'OPEN'"))
        batch_op.drop_index('ix_replenishment_request_status_created_at')

    op.drop_table('replenishment_request')
    op.drop_table('reorder_rule')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending', sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))

    op.drop_table('outbox')
