"""Alembic environment: the database URL comes from the controller's settings, never from a file."""
from alembic import context
from sqlalchemy import create_engine

from controller_app import models  # pylint: disable=unused-import  # noqa: F401 (registers every table)
from controller_app.db import Base
from controller_app.settings import Settings

url = Settings.from_env().database_url
connectable = create_engine(url)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
