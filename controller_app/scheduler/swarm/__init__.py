"""The Docker Swarm backend of the scheduler: `SwarmScheduler` (scheduler.py), made of parts that share one base
class, SwarmEngine (engine.py): nodes (nodes.py), node and service events (events.py), logs (logs.py) and one-off
containers (runs.py)."""
from .scheduler import SwarmScheduler

__all__ = ["SwarmScheduler"]
