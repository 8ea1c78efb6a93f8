"""change stamps: a `stamp` on every row the levels read reads, set by triggers on every
insert and update, so a reader can tell whether one SKU's levels changed (adapters/db/queries.py
`_fingerprint`)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMPED = ('stock_level', 'vendor_level', 'channel_safety_stock', 'reservation_line',
           'location', 'vendor_source')


def upgrade() -> None:
    for table in STAMPED:
        op.add_column(table, sa.Column('stamp', sa.BigInteger(), server_default='0',
                                       nullable=False))
    if op.get_bind().dialect.name == 'sqlite':
        _sqlite_triggers()
    else:
        _postgresql_triggers()


def _postgresql_triggers() -> None:
    # BEFORE ROW: an update's trigger runs once the row is locked, after the writer before it
    # committed, so a row's new stamp is always above its old one.
    op.execute('CREATE SEQUENCE change_stamp')
    op.execute(
        "CREATE FUNCTION set_change_stamp() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN NEW.stamp := nextval('change_stamp'); RETURN NEW; END $$")
    for table in STAMPED:
        op.execute(f'CREATE TRIGGER {table}_stamp BEFORE INSERT OR UPDATE ON {table}'
                   ' FOR EACH ROW EXECUTE FUNCTION set_change_stamp()')
    # A deletion lowers a sum of stamps, which a late commit of an insert stamped earlier
    # could make up for: the level it belonged to is stamped anew (stock_level rows are never
    # deleted). The only table of the levels read whose rows are deleted.
    op.execute(
        "CREATE FUNCTION stamp_level_of_deleted() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN UPDATE stock_level SET stamp = stamp"
        " WHERE sku = OLD.sku AND location_id = OLD.location_id; RETURN OLD; END $$")
    op.execute('CREATE TRIGGER channel_safety_stock_deleted AFTER DELETE'
               ' ON channel_safety_stock FOR EACH ROW EXECUTE FUNCTION stamp_level_of_deleted()')


def _sqlite_triggers() -> None:
    # SQLite's writers are serialized, so a counter in one row is a monotonic sequence. An
    # AFTER trigger cannot set NEW's columns: it updates the row. That update does not fire
    # the update trigger again (recursive_triggers is off; the WHEN keeps it so if it is on).
    op.execute('CREATE TABLE change_stamp (value INTEGER NOT NULL)')
    op.execute('INSERT INTO change_stamp (value) VALUES (0)')
    bump = ('UPDATE change_stamp SET value = value + 1;'
            ' UPDATE {table} SET stamp = (SELECT value FROM change_stamp)'
            ' WHERE rowid = NEW.rowid;')
    for table in STAMPED:
        op.execute(f'CREATE TRIGGER {table}_stamp_insert AFTER INSERT ON {table}'
                   f' BEGIN {bump.format(table=table)} END')
        op.execute(f'CREATE TRIGGER {table}_stamp_update AFTER UPDATE ON {table}'
                   f' WHEN NEW.stamp IS OLD.stamp BEGIN {bump.format(table=table)} END')
    op.execute('CREATE TRIGGER channel_safety_stock_deleted AFTER DELETE ON channel_safety_stock'
               ' BEGIN UPDATE stock_level SET stamp = stamp'
               ' WHERE sku = OLD.sku AND location_id = OLD.location_id; END')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TRIGGER channel_safety_stock_deleted')
        for table in STAMPED:
            op.execute(f'DROP TRIGGER {table}_stamp_insert')
            op.execute(f'DROP TRIGGER {table}_stamp_update')
        op.execute('DROP TABLE change_stamp')
    else:
        op.execute('DROP TRIGGER channel_safety_stock_deleted ON channel_safety_stock')
        op.execute('DROP FUNCTION stamp_level_of_deleted()')
        for table in STAMPED:
            op.execute(f'DROP TRIGGER {table}_stamp ON {table}')
        op.execute('DROP FUNCTION set_change_stamp()')
        op.execute('DROP SEQUENCE change_stamp')
    for table in STAMPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('stamp')
