"""Offline stand-ins for Entra ID, Microsoft Graph, the Bot Connector and RingCentral."""
