"""Controller configuration, read once from environment variables."""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def _networks(text: str) -> tuple:
    """Comma- or space-separated addresses or CIDR networks (an address alone is a /32 or /128)."""
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in text.replace(",", " ").split())
    except ValueError as exc:
        raise RuntimeError(f"SLIPWAY_TRUSTED_PROXIES: {exc}") from None


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str
    platform_domain: str
    builder_key: str | None
    router_key: str | None
    scheduler: str  # "swarm" or "none"
    docker_url: str
    docker_tls_ca: str | None
    docker_tls_cert: str | None
    docker_tls_key: str | None
    node_address: str | None
    registration_mode: str  # admin_only (admins register users) | enabled (anyone) | disabled (nobody)
    deploy_timeout: float
    health_timeout: float
    default_memory: str
    router_ack_timeout: float
    router_alive_seconds: float
    monitor_interval: float
    drain_seconds: float
    login_attempts_per_minute: int  # failed logins per (client address, username)
    login_attempts_per_client_per_minute: int = 100  # failed logins per client address, any username
    # peers whose X-Forwarded-For / X-Real-IP name the real client (the routers); others are the client
    trusted_proxies: tuple = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
    password_min_length: int = 8
    # automatic TLS (ACME, RFC 8555); no directory = the feature is off
    acme_directory: str | None = None
    acme_ca_file: str | None = None
    acme_email: str | None = None
    acme_renew_days: float = 30.0
    acme_check_interval: float = 3600.0
    acme_timeout: float = 90.0
    # interactive one-off sessions (`slipway run` with a terminal)
    run_session_timeout: float = 3600.0
    # the platform registry (host:port as the builder pushes to it) and the credentials of its front's auth
    push_token_ttl: float = 900.0
    registry: str | None = None
    registry_shared_repos: tuple[str, ...] = ("slipway/stack",)
    registry_pull_password: str | None = None
    registry_gc_key: str | None = None
    registry_builder_password: str | None = None
    registry_ca_file: str | None = None
    registry_api: str | None = None  # the registry's base URL for the controller's own calls (image removal)
    # seconds a new database connection keeps trying while PostgreSQL refuses it (a restart takes one to a few);
    # a request answers 503 only after that
    database_restart_wait: float = 10.0
    builder_cleanup_key: str | None = None  # the builder cleanup's question (X-Slipway-Cleanup-Auth); none: refused
    node_key: str | None = None  # the node agents' reports (X-Slipway-Node-Auth); none: reports are refused
    metrics_key: str | None = None  # Prometheus' scrapes of /metrics (Authorization: Bearer); none: refused
    secret_key: str | None = None  # seals the secrets kept for apps (services/sealing.py)
    # the autoscaler (services/autoscale.py): seconds between passes, of load before a scale up, of quiet
    # before a scale down (0 interval: off)
    autoscale_interval: float = 5.0
    autoscale_up_window: float = 30.0
    autoscale_down_window: float = 300.0
    # seconds between two passes that deploy again the apps whose services are gone (services/revive.py; 0: off)
    revive_interval: float = 30.0
    # Prometheus's base URL, where the dashboard reads graphs and platform health (none: not shown)
    prometheus_url: str | None = None
    # dashboard sessions end this many seconds after sign-in, or after this many seconds without a request
    dashboard_session_lifetime: float = 12 * 3600.0
    dashboard_idle_timeout: float = 2 * 3600.0

    @classmethod
    def from_env(cls) -> "Settings":
        url = _env("SLIPWAY_DATABASE_URL")
        if not url:
            raise RuntimeError("SLIPWAY_DATABASE_URL is not set")
        mode = _env("SLIPWAY_REGISTRATION_MODE", "admin_only")
        if mode not in ("enabled", "disabled", "admin_only"):
            raise RuntimeError("SLIPWAY_REGISTRATION_MODE must be enabled, disabled or admin_only")
        return cls(
            database_url=url,
            platform_domain=_env("SLIPWAY_PLATFORM_DOMAIN", "slipway.local"),
            builder_key=_env("SLIPWAY_BUILDER_KEY"),
            router_key=_env("SLIPWAY_ROUTER_KEY"),
            scheduler=_env("SLIPWAY_SCHEDULER", "swarm"),
            docker_url=_env("SLIPWAY_DOCKER_URL", "unix:///var/run/docker.sock"),
            docker_tls_ca=_env("SLIPWAY_DOCKER_TLS_CA"),
            docker_tls_cert=_env("SLIPWAY_DOCKER_TLS_CERT"),
            docker_tls_key=_env("SLIPWAY_DOCKER_TLS_KEY"),
            node_address=_env("SLIPWAY_NODE_ADDRESS"),
            registration_mode=mode,
            deploy_timeout=float(_env("SLIPWAY_DEPLOY_TIMEOUT", "120")),
            health_timeout=float(_env("SLIPWAY_HEALTH_TIMEOUT", "60")),
            default_memory=_env("SLIPWAY_DEFAULT_MEMORY", "512M"),
            router_ack_timeout=float(_env("SLIPWAY_ROUTER_ACK_TIMEOUT", "10")),
            router_alive_seconds=float(_env("SLIPWAY_ROUTER_ALIVE_SECONDS", "90")),
            monitor_interval=float(_env("SLIPWAY_MONITOR_INTERVAL", "2")),
            drain_seconds=float(_env("SLIPWAY_DRAIN_SECONDS", "1")),
            login_attempts_per_minute=int(_env("SLIPWAY_LOGIN_ATTEMPTS_PER_MINUTE", "20")),
            login_attempts_per_client_per_minute=int(_env("SLIPWAY_LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE", "100")),
            trusted_proxies=_networks(_env("SLIPWAY_TRUSTED_PROXIES", "127.0.0.1,::1")),
            password_min_length=int(_env("SLIPWAY_PASSWORD_MIN_LENGTH", "8")),
            acme_directory=_env("SLIPWAY_ACME_DIRECTORY") or None,
            acme_ca_file=_env("SLIPWAY_ACME_CA_FILE") or None,
            acme_email=_env("SLIPWAY_ACME_EMAIL") or None,
            acme_renew_days=float(_env("SLIPWAY_ACME_RENEW_DAYS", "30")),
            acme_check_interval=float(_env("SLIPWAY_ACME_CHECK_INTERVAL", "3600")),
            acme_timeout=float(_env("SLIPWAY_ACME_TIMEOUT", "90")),
            run_session_timeout=float(_env("SLIPWAY_RUN_SESSION_TIMEOUT", "3600")),
            push_token_ttl=float(_env("SLIPWAY_PUSH_TOKEN_TTL", "900")),
            database_restart_wait=float(_env("SLIPWAY_DATABASE_RESTART_WAIT", "10")),
            registry=(_env("SLIPWAY_REGISTRY") or "").strip().lower() or None,
            registry_shared_repos=tuple(r.strip() for r in _env("SLIPWAY_REGISTRY_SHARED_REPOS", "slipway/stack")
                                        .split(",") if r.strip()),
            registry_pull_password=_env("SLIPWAY_REGISTRY_PULL_PASSWORD") or None,
            registry_gc_key=_env("SLIPWAY_REGISTRY_GC_KEY") or None,
            builder_cleanup_key=_env("SLIPWAY_BUILDER_CLEANUP_KEY") or None,
            registry_builder_password=_env("SLIPWAY_REGISTRY_BUILDER_PASSWORD") or None,
            registry_ca_file=_env("SLIPWAY_REGISTRY_CA_FILE") or None,
            registry_api=(_env("SLIPWAY_REGISTRY_API") or "").rstrip("/") or None,
            node_key=_env("SLIPWAY_NODE_KEY") or None,
            metrics_key=_env("SLIPWAY_METRICS_KEY") or None,
            secret_key=_env("SLIPWAY_SECRET_KEY") or None,
            autoscale_interval=float(_env("SLIPWAY_AUTOSCALE_INTERVAL", "5")),
            autoscale_up_window=float(_env("SLIPWAY_AUTOSCALE_UP_WINDOW", "30")),
            autoscale_down_window=float(_env("SLIPWAY_AUTOSCALE_DOWN_WINDOW", "300")),
            revive_interval=float(_env("SLIPWAY_REVIVE_INTERVAL", "30")),
            prometheus_url=(_env("SLIPWAY_PROMETHEUS_URL") or "").rstrip("/") or None,
            dashboard_session_lifetime=float(_env("SLIPWAY_DASHBOARD_SESSION_LIFETIME", str(12 * 3600))),
            dashboard_idle_timeout=float(_env("SLIPWAY_DASHBOARD_IDLE_TIMEOUT", str(2 * 3600))),
        )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
