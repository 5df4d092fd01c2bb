"""Alembic environment: uses the engine handed over in ``config.attributes`` (see ``upgrade``),
or ``SENTIO_DB`` / the default library path when run from the ``alembic`` command line."""
from __future__ import annotations

from alembic import context

from sentio_desktop.db import Base, make_engine
from sentio_desktop.settings import default_db_path

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(default_db_path())
    with engine.connect() as connection:
        # render_as_batch: SQLite cannot ALTER most things; batch mode copies tables instead.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=f"sqlite:///{default_db_path()}", target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
