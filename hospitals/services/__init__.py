"""Workflows of the hospitals app. Other apps call these, never write our rows directly."""
