"""The labels the Swarm backend puts on services and containers: it finds its objects by these labels,
never by parsing names (see scheduler.py)."""

L_APP = "slipway.app"
L_RELEASE = "slipway.release"
L_DEPLOYMENT = "slipway.deployment"
L_TYPE = "slipway.type"
L_MANAGED = "slipway.managed"
L_ONEOFF = "slipway.oneoff"
L_SESSION_DEADLINE = "slipway.session-deadline"  # interactive one-offs: unix time after which any may remove it
L_SWARM_SERVICE = "com.docker.swarm.service.id"
