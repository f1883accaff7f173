"""Who may do what: the roles a user holds, and the capabilities each role grants. The one place that names roles.

Roles are Django groups created by a migration (members/migrations/0002_roles.py). Code never asks for a role: it
asks for a capability (`can(user, Capability.VERIFY_DOCTORS)`), through each area's `access_<object>` and
`can_<verb>_<object>` selectors; services acting for a person check that person's capability themselves.
"""

from enum import StrEnum

from django.contrib.auth import get_user_model
from django.db.models import Case, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    DOCTOR = "doctor"
    REP = "rep"
    MARKETING = "marketing"
    MEDICAL_REVIEWER = "medical_reviewer"
    COMPLIANCE = "compliance"
    ADMIN = "admin"
    SALES_MANAGER = "sales_manager"  # leads a team of reps: sees their learning, not other teams'


STAFF_ROLES = frozenset({Role.MARKETING, Role.MEDICAL_REVIEWER, Role.COMPLIANCE, Role.ADMIN})
ROLE_LABELS = {
    Role.DOCTOR: _("Doctor"), Role.REP: _("Sales rep"), Role.MARKETING: _("Marketing"),
    Role.MEDICAL_REVIEWER: _("Medical reviewer"), Role.COMPLIANCE: _("Compliance"), Role.ADMIN: _("Administrator"),
    Role.SALES_MANAGER: _("Sales manager"),
}


class Capability(StrEnum):
    # platform
    USE_ADMIN = "use_admin"  # reach the Wagtail admin (staff)
    VIEW_AUDIT_TRAIL = "view_audit_trail"
    VIEW_OUTBOX = "view_outbox"  # the messaging outbox and inbox
    RESEND_MESSAGES = "resend_messages"  # the resend page shows the message: outbox readers only
    MANAGE_MESSAGE_CAP = "manage_message_cap"  # the per-doctor frequency cap on informational/promotional messages
    MANAGE_WECHAT = "manage_wechat"  # the Official Account's menu and keyword replies
    # content
    READ_ALL_CONTENT = "read_all_content"  # authors and reviewers read every page whatever its audience
    VIEW_CONTENT_REPORTS = "view_content_reports"  # the content dashboard, the forwarded-reads report
    APPROVE_MEDICAL = "approve_medical"  # the medical step of the review workflow
    APPROVE_COMPLIANCE = "approve_compliance"  # the compliance step of the review workflow
    # members
    VERIFY_DOCTORS = "verify_doctors"
    VIEW_CERTIFICATES = "view_certificates"
    VIEW_HOSPITALS = "view_hospitals"
    MANAGE_HOSPITALS = "manage_hospitals"
    DELETE_HOSPITALS = "delete_hospitals"
    MANAGE_TERRITORIES = "manage_territories"
    COVER_TERRITORY = "cover_territory"  # reps: hold territories and meeting quotas, see their doctors
    VIEW_SEGMENTS = "view_segments"  # segmentation matrix, cell lists, recompute, the doctor 360° view
    EDIT_INDICATORS = "edit_indicators"
    EDIT_SEGMENTATION_CONFIG = "edit_segmentation_config"
    EARN_POINTS = "earn_points"
    VIEW_REWARDS = "view_rewards"  # the rewards catalogue in the admin
    EDIT_REWARDS = "edit_rewards"
    APPROVE_REWARDS = "approve_rewards"
    RETIRE_REWARDS = "retire_rewards"
    ADJUST_POINTS = "adjust_points"
    VIEW_TRANSFERS_OF_VALUE = "view_transfers_of_value"  # redemptions, ledgers, accounts
    MANAGE_POINTS_SETTINGS = "manage_points_settings"
    MANAGE_POINTS_RULES = "manage_points_rules"
    # meetings
    VIEW_MEETINGS_ADMIN = "view_meetings_admin"  # meetings, speakers, check-in, photos, surveys, evidence
    AUTHOR_MEETINGS = "author_meetings"
    DELETE_MEETINGS = "delete_meetings"
    MANAGE_FREQUENCY_RULES = "manage_frequency_rules"
    MANAGE_MEETING_SETTINGS = "manage_meeting_settings"  # the academic-minutes floor reviewers are warned under
    MANAGE_REGISTRATIONS = "manage_registrations"  # approve, reject, invite, allocate quotas
    WORK_ON_SITE = "work_on_site"  # scan tickets, upload photos at any meeting (reps: where they hold a quota)
    MANAGE_CHECKINS = "manage_checkins"  # annul, watch the live counters, read the scan log
    BUILD_SURVEYS = "build_surveys"
    ANSWER_SURVEYS = "answer_surveys"
    MODERATE_LIVE = "moderate_live"  # enter every live room as a moderator: Q&A queue, chat moderation, polls
    MANAGE_LIVE_SESSIONS = "manage_live_sessions"  # stream provider, state, credit rule of a meeting's live session
    EDIT_BANNED_WORDS = "edit_banned_words"  # the words live chat refuses
    # patients (PIPL: sensitive personal information)
    TREAT_PATIENTS = "treat_patients"  # a verified doctor enrols their patients and adds medication plans
    VIEW_PROGRAMME_PATIENTS = "view_programme_patients"  # staff listed on a programme
    MANAGE_PROGRAMMES = "manage_programmes"
    REVIEW_ADVERSE_EVENTS = "review_adverse_events"  # the pharmacovigilance queue
    MANAGE_PV_TERMS = "manage_pv_terms"  # the adverse-event terms that open pharmacovigilance cases
    # rep learning: assignments, certificates, qualification, dashboards
    VIEW_TEAM_LEARNING = "view_team_learning"  # managers: their own team's progress, scores and certificates
    VIEW_LEARNING_REPORTS = "view_learning_reports"  # training staff: every rep's progress and the dashboards
    MANAGE_ASSIGNMENTS = "manage_assignments"  # curricula, assignments, product qualification requirements
    REVOKE_CERTIFICATES = "revoke_certificates"
    MANAGE_TEAMS = "manage_teams"
    # knowledge base and SCORM lessons (learning/knowledge, learning/scorm)
    READ_KNOWLEDGE_BASE = "read_knowledge_base"  # the reps' product knowledge base (staff read it too)
    ASK_MEDICAL = "ask_medical"  # a rep sends medical a question from any page
    ANSWER_MEDICAL_QUESTIONS = "answer_medical_questions"  # medical answers reps' questions in the admin
    MANAGE_SCORM_PACKAGES = "manage_scorm_packages"  # upload SCORM 1.2 packages as lessons
    # courses, question bank, exams (learning/courses, learning/questions, learning/exams)
    TAKE_COURSES = "take_courses"  # reps: take rep courses and their exams (never paid in points)
    TAKE_DOCTOR_COURSES = "take_doctor_courses"  # doctors: take courses for doctors, which may pay points
    MANAGE_LEARNING = "manage_learning"  # courses' exams, the question bank and its Excel import/export
    GRANT_EXAM_OVERRIDES = "grant_exam_overrides"  # extra time or attempts for one learner (audited)


_STAFF = STAFF_ROLES
CAPABILITY_ROLES: dict[Capability, frozenset[Role]] = {
    Capability.USE_ADMIN: _STAFF,
    Capability.VIEW_AUDIT_TRAIL: frozenset({Role.COMPLIANCE, Role.ADMIN}),
    Capability.VIEW_OUTBOX: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.RESEND_MESSAGES: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_MESSAGE_CAP: frozenset({Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_WECHAT: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.READ_ALL_CONTENT: _STAFF,
    Capability.VIEW_CONTENT_REPORTS: _STAFF,
    Capability.APPROVE_MEDICAL: frozenset({Role.MEDICAL_REVIEWER}),
    Capability.APPROVE_COMPLIANCE: frozenset({Role.COMPLIANCE}),
    Capability.VERIFY_DOCTORS: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.VIEW_CERTIFICATES: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.VIEW_HOSPITALS: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_HOSPITALS: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.DELETE_HOSPITALS: frozenset({Role.ADMIN}),
    Capability.MANAGE_TERRITORIES: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.COVER_TERRITORY: frozenset({Role.REP}),
    Capability.VIEW_SEGMENTS: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.EDIT_INDICATORS: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.EDIT_SEGMENTATION_CONFIG: frozenset({Role.ADMIN}),
    Capability.EARN_POINTS: frozenset({Role.DOCTOR}),
    Capability.VIEW_REWARDS: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.EDIT_REWARDS: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.APPROVE_REWARDS: frozenset({Role.COMPLIANCE}),
    Capability.RETIRE_REWARDS: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.ADJUST_POINTS: frozenset({Role.ADMIN}),
    Capability.VIEW_TRANSFERS_OF_VALUE: frozenset({Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_POINTS_SETTINGS: frozenset({Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_POINTS_RULES: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.VIEW_MEETINGS_ADMIN: _STAFF,
    Capability.AUTHOR_MEETINGS: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.DELETE_MEETINGS: frozenset({Role.ADMIN}),
    Capability.MANAGE_FREQUENCY_RULES: frozenset({Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_MEETING_SETTINGS: frozenset({Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_REGISTRATIONS: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.WORK_ON_SITE: _STAFF,
    Capability.MANAGE_CHECKINS: _STAFF,
    Capability.BUILD_SURVEYS: frozenset({Role.MARKETING, Role.MEDICAL_REVIEWER, Role.ADMIN}),
    Capability.ANSWER_SURVEYS: frozenset({Role.DOCTOR}),
    Capability.MODERATE_LIVE: frozenset({Role.MARKETING, Role.MEDICAL_REVIEWER, Role.ADMIN}),
    Capability.MANAGE_LIVE_SESSIONS: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.EDIT_BANNED_WORDS: frozenset({Role.MEDICAL_REVIEWER, Role.ADMIN}),
    Capability.TREAT_PATIENTS: frozenset({Role.DOCTOR}),
    Capability.VIEW_PROGRAMME_PATIENTS: _STAFF,
    Capability.MANAGE_PROGRAMMES: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.REVIEW_ADVERSE_EVENTS: frozenset({Role.MEDICAL_REVIEWER, Role.ADMIN}),
    Capability.MANAGE_PV_TERMS: frozenset({Role.MEDICAL_REVIEWER, Role.ADMIN}),
    Capability.VIEW_TEAM_LEARNING: frozenset({Role.SALES_MANAGER}),
    Capability.VIEW_LEARNING_REPORTS: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_ASSIGNMENTS: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.REVOKE_CERTIFICATES: frozenset({Role.COMPLIANCE, Role.ADMIN}),
    Capability.MANAGE_TEAMS: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.READ_KNOWLEDGE_BASE: frozenset({Role.REP}) | _STAFF,
    Capability.ASK_MEDICAL: frozenset({Role.REP}),
    Capability.ANSWER_MEDICAL_QUESTIONS: frozenset({Role.MEDICAL_REVIEWER, Role.ADMIN}),
    Capability.MANAGE_SCORM_PACKAGES: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.TAKE_COURSES: frozenset({Role.REP}),
    Capability.TAKE_DOCTOR_COURSES: frozenset({Role.DOCTOR}),
    Capability.MANAGE_LEARNING: frozenset({Role.MARKETING, Role.ADMIN}),
    Capability.GRANT_EXAM_OVERRIDES: frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
}

# Separation of duties: whoever holds one of these roles never gets the capability, whatever else they hold.
# Sales reps promote products, so they never see patients (PIPL) even when they are also doctors.
CAPABILITY_EXCLUDED_ROLES: dict[Capability, frozenset[Role]] = {
    Capability.TREAT_PATIENTS: frozenset({Role.REP}),
    Capability.VIEW_PROGRAMME_PATIENTS: frozenset({Role.REP}),
}

# Separation of duties: a superuser holds these only through the role's group, like anyone else (a signature
# on a review is a person's, never the platform administrator's by default).
MEMBERSHIP_ONLY_CAPABILITIES = frozenset({Capability.APPROVE_MEDICAL, Capability.APPROVE_COMPLIANCE})

_CACHE_ATTR = "_engage_roles"


def _member_roles(user) -> frozenset[Role]:
    """The roles whose groups `user` belongs to. Cached on the user object for the request."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in Role if role.value in names)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def roles_of(user) -> frozenset[Role]:
    """The roles of `user`; a superuser holds every role."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    return frozenset(Role) if user.is_superuser else _member_roles(user)


def can(user, capability: Capability) -> bool:
    """True when `user` holds a role granting `capability` and none excluded from it (superusers hold all but
    MEMBERSHIP_ONLY_CAPABILITIES)."""
    roles = roles_of(user)
    if not roles:
        return False
    implied = user.is_superuser and capability not in MEMBERSHIP_ONLY_CAPABILITIES
    if not implied:
        roles = _member_roles(user)
        if roles & CAPABILITY_EXCLUDED_ROLES.get(capability, frozenset()):
            return False
    return bool(roles & CAPABILITY_ROLES[capability])


def capability_holders(capability: Capability, *, superusers: bool = True):
    """Active users who hold `capability` (exclusions applied), for permission policies; pickers of people who
    do the work (reps for a territory or a quota) leave superusers out, and so does every
    MEMBERSHIP_ONLY_CAPABILITIES capability."""
    names = {role.value for role in CAPABILITY_ROLES[capability]}
    excluded = {role.value for role in CAPABILITY_EXCLUDED_ROLES.get(capability, ())}
    superusers = superusers and capability not in MEMBERSHIP_ONLY_CAPABILITIES
    holders = Q(groups__name__in=names) | Q(is_superuser=True) if superusers else Q(groups__name__in=names)
    users = get_user_model().objects.filter(is_active=True).filter(holders)
    if excluded:
        users = users.exclude(Q(groups__name__in=excluded) & Q(is_superuser=False))
    return users.distinct()


def has_role(user, *roles: Role) -> bool:
    """True when the user holds at least one of `roles`: for granting roles and for tests; code asks `can`."""
    return bool(roles_of(user) & set(roles))


def is_staff_member(user) -> bool:
    """Staff roles are the ones that reach the Wagtail admin."""
    return can(user, Capability.USE_ADMIN)


def forget_roles(user) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def roles_mask_expression(now=None):
    """The user's roles as a bit mask (bit i: the i-th Role), read with the user row (engage.core.preload): one
    subquery over their groups, the same on SQLite and PostgreSQL."""
    membership = get_user_model().groups.through.objects.filter(user_id=OuterRef("pk"))
    bits = Case(*[When(group__name=role.value, then=Value(1 << bit)) for bit, role in enumerate(Role)],
                default=Value(0))
    return Coalesce(Subquery(membership.values("user_id").annotate(mask=Sum(bits)).values("mask")), Value(0))


def remember_roles_mask(user, mask: int) -> None:
    setattr(user, _CACHE_ATTR, frozenset(role for bit, role in enumerate(Role) if mask & (1 << bit)))
