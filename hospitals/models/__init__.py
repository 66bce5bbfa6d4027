"""Treating centres, what is shared with them, and how they are told.

- ``centres``: hospitals, their international-department contacts, required records, API credentials
- ``referrals``: a case sent to a centre, its status history and appointment slots proposed by the centre
- ``packets``: immutable, versioned snapshots of what a centre was sent

Webhooks (endpoints, events, deliveries) are the ``webhooks`` app's.
"""

from .centres import ApiCredential, Hospital, HospitalContact, RequiredRecord
from .packets import PacketImmutable, PacketVersion, PacketView
from .referrals import AppointmentSlot, Referral, ReferralEvent, ReferralQuerySet

__all__ = [
    "ApiCredential",
    "AppointmentSlot",
    "Hospital",
    "HospitalContact",
    "PacketImmutable",
    "PacketVersion",
    "PacketView",
    "Referral",
    "ReferralEvent",
    "ReferralQuerySet",
    "RequiredRecord",
]
