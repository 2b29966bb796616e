"""What vulture cannot see being used; tests/codebase/test_dead_code.py reads it with the code (never imported).

The framework conventions (pydantic's `model_config`, FastAPI routes, validators, SQLAlchemy events, Ansible's
plugin entry points and documentation strings) are in pyproject.toml's [tool.vulture]; this file holds the rest,
each with its user."""
# pydantic response models: fields that the model declares for the API's schema, filled from the row by name
max_replicas_per_type  # api/routers/settings.py, LimitsIn / LimitsOut
max_replicas_per_app  # api/routers/settings.py, LimitsIn / LimitsOut
is_staff  # schemas/users.py: the Deis user body's field (render.py fills it from a dict)
# SQLAlchemy relationships that exist for their cascade (deleting an app or a user deletes these rows)
collaborators  # models/app.py
tokens  # models/user.py
# psycopg2 connection attribute, read by the driver
_.autocommit  # services/changes.py
# the log stream's live threads: tests/controller/test_logs_run.py checks that close() ended them all
_.threads  # scheduler/swarm/logs.py
# the pre-receive hook unpacks git's "old new ref" lines (builder agent, the push path's own rework)
old  # agents/slipway_agents/builder.py
# the node agents' reports: fields and columns filled by name (api/routers/nodereports.py's model_dump, the row dict
# of services/taskreports.py), read by the monitor and the dashboards to come
checked  # models/node.py TaskReport
memory_limit_bytes  # api/routers/nodereports.py TaskIn, models/node.py TaskReport
cpu_rate  # api/routers/nodereports.py TaskIn, models/node.py TaskReport (the autoscaler's figure)
reported  # models/node.py TaskReport
