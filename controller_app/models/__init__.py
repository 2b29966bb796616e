"""Every table of the controller; import from here."""
from .acme import AcmeAccount, AcmeChallenge, AutoCert
from .app import App, Collaborator
from .domain import Cert, Domain
from .key import Key
from .node import NodeAgentSeen, TaskReport
from .platform import Deployment, PlatformSetting, RouterAck, RoutingState
from .push import PushToken, RetiredRepository
from .release import Build, Config, Release
from .user import Token, User

__all__ = ["AcmeAccount", "AcmeChallenge", "App", "AutoCert", "Build", "Cert", "Collaborator", "Config",
           "Deployment", "Domain", "Key", "NodeAgentSeen", "PlatformSetting", "PushToken", "Release", "RetiredRepository", "RouterAck", "RoutingState",
           "TaskReport", "Token", "User"]
