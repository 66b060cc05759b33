"""Microsoft Graph and Entra ID: the client, its tokens and the values it returns."""

from presence_sync.graph.auth import (
    APP_TOKEN,
    AuthCodeFlow,
    EntraError,
    GraphToken,
    GraphTokenProvider,
    SignedInAccount,
)
from presence_sync.graph.budget import BudgetSnapshot, GraphBudget
from presence_sync.graph.client import GraphClient
from presence_sync.graph.errors import (
    GraphConflictError,
    GraphPermissionError,
    GraphRefusedError,
    GraphRequestError,
)
from presence_sync.graph.models import (
    DeltaPage,
    DirectoryRole,
    GraphUser,
    InstalledApp,
    Presence,
    Subscription,
)

__all__ = [
    "APP_TOKEN",
    "AuthCodeFlow",
    "BudgetSnapshot",
    "DeltaPage",
    "DirectoryRole",
    "EntraError",
    "GraphBudget",
    "GraphClient",
    "GraphConflictError",
    "GraphPermissionError",
    "GraphRefusedError",
    "GraphRequestError",
    "GraphToken",
    "GraphTokenProvider",
    "GraphUser",
    "InstalledApp",
    "Presence",
    "SignedInAccount",
    "Subscription",
]
