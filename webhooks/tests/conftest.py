"""Webhooks are tested in the centres' world: a hospital with referrals, packets and API keys."""

from hospitals.tests.conftest import _hospital_settings, packet_world, pkuph_key, ruijin_key, world

__all__ = ["_hospital_settings", "packet_world", "pkuph_key", "ruijin_key", "world"]
