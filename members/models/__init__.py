"""Members: users, doctors, hospitals, consents, territories, segmentation, engagement and points."""

from .consents import Consent, ConsentKind, PolicyVersion
from .engagement import EngagementEvent, EngagementKind
from .hospitals import Department, Hospital, HospitalImport, TherapyArea
from .points import PointsAccount, PointsRule, PointsSettings, PointsTransaction, Redemption, Reward
from .profiles import DoctorProfile, VerificationDecision
from .segments import (
    BIG_FIVE_CITIES,
    DoctorIndicators,
    DoctorSegment,
    KolTier,
    Potential,
    SegmentationConfig,
    SegmentChange,
    Support,
)
from .territories import Territory
from .users import EngageUserManager, User

__all__ = [
    "BIG_FIVE_CITIES", "Consent", "ConsentKind", "Department", "DoctorIndicators", "DoctorProfile", "DoctorSegment",
    "EngageUserManager", "EngagementEvent", "EngagementKind", "Hospital", "HospitalImport", "KolTier",
    "PointsAccount", "PointsRule", "PointsSettings", "PointsTransaction", "PolicyVersion", "Potential", "Redemption",
    "Reward", "SegmentChange", "SegmentationConfig", "Support", "Territory", "TherapyArea", "User",
    "VerificationDecision",
]
