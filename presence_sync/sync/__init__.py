"""Making sync happen: reconciler, dispatcher, provider budgets, jobs and the directory."""

from presence_sync.sync.budget import ProviderBudget
from presence_sync.sync.dispatcher import Dispatcher, DispatchResult, WriteTarget
from presence_sync.sync.reconciler import Reconciler, Submission, engine_settings
from presence_sync.sync.service import SyncService

__all__ = [
    "DispatchResult",
    "Dispatcher",
    "ProviderBudget",
    "Reconciler",
    "Submission",
    "SyncService",
    "WriteTarget",
    "engine_settings",
]
