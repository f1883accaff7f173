"""Members: users, doctors, hospitals, consents, territories, segmentation, engagement and points."""

from members.accounts.models import EngageUserManager, User
from members.consents.models import Consent, ConsentKind, PolicyVersion
from members.engagement.models import EngagementEvent, EngagementKind
from members.hospitals.models import Department, Hospital, HospitalImport, Territory, TherapyArea
from members.points.models import PointsAccount, PointsRule, PointsSettings, PointsTransaction, Redemption, Reward
from members.profiles.models import DoctorProfile, VerificationDecision
from members.segments.models import (
    BIG_FIVE_CITIES,
    DoctorIndicators,
    DoctorSegment,
    KolTier,
    Potential,
    SegmentationConfig,
    SegmentChange,
    Support,
)
from members.teams.models import Team, TeamMembership
from members.wechat.models import KeywordReply, MenuButton, WeChatFollower

__all__ = [
    "BIG_FIVE_CITIES", "Consent", "ConsentKind", "Department", "DoctorIndicators", "DoctorProfile", "DoctorSegment",
    "EngageUserManager", "EngagementEvent", "EngagementKind", "Hospital", "HospitalImport", "KeywordReply", "KolTier",
    "MenuButton",
    "PointsAccount", "PointsRule", "PointsSettings", "PointsTransaction", "PolicyVersion", "Potential", "Redemption",
    "Reward", "SegmentChange", "SegmentationConfig", "Support", "Team", "TeamMembership", "Territory", "TherapyArea",
    "User", "VerificationDecision", "WeChatFollower",
]
