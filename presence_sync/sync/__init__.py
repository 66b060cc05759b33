"""Making sync happen: reconciler, dispatcher, provider budgets and the server wiring."""

from presence_sync.sync.budget import ProviderBudget
from presence_sync.sync.dispatcher import Dispatcher, DispatchResult, WriteTarget
from presence_sync.sync.reconciler import Reconciler, Submission, engine_settings
from presence_sync.sync.service import CLOCK, PROVIDERS, SYNC, SyncService, setup_sync

__all__ = [
    "CLOCK",
    "PROVIDERS",
    "SYNC",
    "DispatchResult",
    "Dispatcher",
    "ProviderBudget",
    "Reconciler",
    "Submission",
    "SyncService",
    "WriteTarget",
    "engine_settings",
    "setup_sync",
]
