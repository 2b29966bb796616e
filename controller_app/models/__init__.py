"""Every table of the controller; import from here."""
from .app import App, Collaborator
from .domain import Cert, Domain
from .key import Key
from .platform import Deployment, PlatformSetting, RouterAck, RoutingState
from .release import Build, Config, Release
from .user import Token, User

__all__ = ["App", "Build", "Cert", "Collaborator", "Config", "Deployment", "Domain", "Key", "PlatformSetting",
           "Release", "RouterAck", "RoutingState", "Token", "User"]
