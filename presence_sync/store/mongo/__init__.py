"""The store on MongoDB, Azure Cosmos DB for MongoDB or FerretDB (PyMongo's async API)."""

from presence_sync.store.mongo.database import Conditions
from presence_sync.store.mongo.store import MongoStore

__all__ = ["Conditions", "MongoStore"]
