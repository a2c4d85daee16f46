"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}
# True when the code of the revision before still runs on this schema, and this one's reads what that code writes
# (new tables, nullable or defaulted columns, indexes): instances of the previous release then stay ready while
# this one migrates. Anything else (a drop, a rename, a column the old code leaves empty that this one needs) is
# False, and upgrading across it needs downtime (README, "Upgrading and rolling back").
EXPAND_ONLY = False


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
