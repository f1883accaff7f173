"""Labels for what people read in the audit trail: each action code (hospital_import.upload) and object type
(members.hospitalimport) has a name in the reader's language. Areas add labels for new actions with
`register_action_labels`; a code without a label is shown as it is (and the admin wording test fails on it)."""

from django.apps import apps
from django.utils.translation import pgettext_lazy

_ACTION_LABELS: dict = {
    "account.close": pgettext_lazy("audit action", "Account closed"),
    "api_token.create": pgettext_lazy("audit action", "API token created"),
    "consent.give": pgettext_lazy("audit action", "Consent given"),
    "consent.withdraw": pgettext_lazy("audit action", "Consent withdrawn"),
    "content.approve_refused": pgettext_lazy("audit action", "Approval refused"),
    "content.expired_unpublished": pgettext_lazy("audit action", "Expired content unpublished"),
    "content.expiry_warning": pgettext_lazy("audit action", "Expiry warning sent"),
    "demo.seed": pgettext_lazy("audit action", "Demo data created"),
    "event.checkin": pgettext_lazy("audit action", "Checked in"),
    "event.checkin.annul": pgettext_lazy("audit action", "Check-in annulled"),
    "events.evidence_pack_download": pgettext_lazy("audit action", "Evidence pack downloaded"),
    "events.photo_upload": pgettext_lazy("audit action", "Photo uploaded"),
    "events.quota.allocated": pgettext_lazy("audit action", "Quota allocated"),
    "events.quota.capacity_conflict": pgettext_lazy("audit action", "Quota capacity conflict"),
    "events.quota.open_resized": pgettext_lazy("audit action", "Open quota resized"),
    "events.quota.removed": pgettext_lazy("audit action", "Quota removed"),
    "events.quota.resized": pgettext_lazy("audit action", "Quota resized"),
    "events.registration.approved": pgettext_lazy("audit action", "Registration approved"),
    "events.registration.cancelled": pgettext_lazy("audit action", "Registration cancelled"),
    "events.registration.created": pgettext_lazy("audit action", "Registered"),
    "events.registration.promoted": pgettext_lazy("audit action", "Moved up from the waiting list"),
    "events.registration.promotion_blocked": pgettext_lazy("audit action", "Waiting-list move blocked"),
    "events.registration.rejected": pgettext_lazy("audit action", "Registration rejected"),
    "events.signin_sheet_download": pgettext_lazy("audit action", "Sign-in sheet downloaded"),
    "events.survey_create": pgettext_lazy("audit action", "Survey created"),
    "events.survey_remind": pgettext_lazy("audit action", "Survey reminder sent"),
    "events.survey_results_export": pgettext_lazy("audit action", "Survey results exported"),
    "hospital.approve": pgettext_lazy("audit action", "Hospital approved"),
    "hospital.create": pgettext_lazy("audit action", "Hospital created"),
    "hospital.merge": pgettext_lazy("audit action", "Hospitals merged"),
    "hospital.propose": pgettext_lazy("audit action", "Hospital proposed"),
    "hospital.reject": pgettext_lazy("audit action", "Hospital proposal rejected"),
    "hospital.update": pgettext_lazy("audit action", "Hospital updated"),
    "hospital_import.done": pgettext_lazy("audit action", "Hospital import finished"),
    "hospital_import.start": pgettext_lazy("audit action", "Hospital import started"),
    "hospital_import.upload": pgettext_lazy("audit action", "Hospital file uploaded"),
    "member.update": pgettext_lazy("audit action", "Member updated"),
    "messaging.message_resend": pgettext_lazy("audit action", "Message resent"),
    "points.adjust": pgettext_lazy("audit action", "Points adjusted"),
    "points.award": pgettext_lazy("audit action", "Points awarded"),
    "points.award_reverse": pgettext_lazy("audit action", "Points award reversed"),
    "points.expire": pgettext_lazy("audit action", "Points expired"),
    "points.redeem": pgettext_lazy("audit action", "Points redeemed"),
    "points_rule.save": pgettext_lazy("audit action", "Points rule saved"),
    "points_settings.update": pgettext_lazy("audit action", "Points settings updated"),
    "privacy.export": pgettext_lazy("audit action", "Personal data exported"),
    "profile.speaker": pgettext_lazy("audit action", "Speaker status changed"),
    "profile.submit": pgettext_lazy("audit action", "Verification submitted"),
    "reminders.caregiver_opt_out": pgettext_lazy("audit action", "Caregiver opted out"),
    "reminders.consent_withdraw": pgettext_lazy("audit action", "Patient consent withdrawn"),
    "reminders.dose_confirm": pgettext_lazy("audit action", "Dose confirmed"),
    "reminders.follow_up_plan_create": pgettext_lazy("audit action", "Check-up plan created"),
    "reminders.follow_up_plan_update": pgettext_lazy("audit action", "Check-up plan updated"),
    "reminders.patient_enrol": pgettext_lazy("audit action", "Patient enrolled"),
    "reminders.patient_opt_in": pgettext_lazy("audit action", "Patient opted in"),
    "reminders.patient_opt_out": pgettext_lazy("audit action", "Patient opted out"),
    "reminders.plan_create": pgettext_lazy("audit action", "Medication plan created"),
    "reminders.plan_pause": pgettext_lazy("audit action", "Medication plan paused"),
    "reminders.plan_resume": pgettext_lazy("audit action", "Medication plan resumed"),
    "reminders.plan_stop": pgettext_lazy("audit action", "Medication plan stopped"),
    "reminders.plan_update": pgettext_lazy("audit action", "Medication plan updated"),
    "reminders.pv_case_open": pgettext_lazy("audit action", "Adverse event case opened"),
    "reminders.pv_case_review": pgettext_lazy("audit action", "Adverse event case reviewed"),
    "reminders.pv_term_save": pgettext_lazy("audit action", "Adverse event term saved"),
    "reward.approve": pgettext_lazy("audit action", "Reward approved"),
    "reward.create": pgettext_lazy("audit action", "Reward created"),
    "reward.retire": pgettext_lazy("audit action", "Reward retired"),
    "reward.update": pgettext_lazy("audit action", "Reward updated"),
    "role.grant": pgettext_lazy("audit action", "Role granted"),
    "segments.config_update": pgettext_lazy("audit action", "Segmentation settings updated"),
    "segments.indicators_save": pgettext_lazy("audit action", "Indicators saved"),
    "segments.recompute": pgettext_lazy("audit action", "Segments recomputed"),
    "segments.recompute_requested": pgettext_lazy("audit action", "Segment recomputation requested"),
    "territory.create": pgettext_lazy("audit action", "Territory created"),
    "profile.update": pgettext_lazy("audit action", "Profile updated"),
    "territory.update": pgettext_lazy("audit action", "Territory updated"),
    "events.survey_update": pgettext_lazy("audit action", "Survey updated"),
    "verification.verified": pgettext_lazy("audit action", "Doctor verified"),
    "verification.rejected": pgettext_lazy("audit action", "Verification rejected"),
    "verification.needs_info": pgettext_lazy("audit action", "More information requested"),
    "verification.pending": pgettext_lazy("audit action", "Verification reopened"),
    "content.approve.medical": pgettext_lazy("audit action", "Medical approval"),
    "content.approve.compliance": pgettext_lazy("audit action", "Compliance approval"),
    # live sessions, rep invitations, e-learning, WeChat and the message cap
    "events.live_attendance_export": pgettext_lazy("audit action", "Live attendance exported"),
    "events.live_chat_delete": pgettext_lazy("audit action", "Live chat message deleted"),
    "events.live_poll_create": pgettext_lazy("audit action", "Live poll created"),
    "events.live_poll_open": pgettext_lazy("audit action", "Live poll opened"),
    "events.live_poll_close": pgettext_lazy("audit action", "Live poll closed"),
    "events.live_poll_results": pgettext_lazy("audit action", "Live poll results shown"),
    "events.live_question_approve": pgettext_lazy("audit action", "Live question approved"),
    "events.live_question_dismiss": pgettext_lazy("audit action", "Live question dismissed"),
    "events.live_question_answered": pgettext_lazy("audit action", "Live question answered"),
    "events.live_question_pin": pgettext_lazy("audit action", "Live question pinned"),
    "events.live_question_unpin": pgettext_lazy("audit action", "Live question unpinned"),
    "events.live_mute": pgettext_lazy("audit action", "Viewer muted"),
    "events.live_ban": pgettext_lazy("audit action", "Viewer banned"),
    "events.live_mute_lift": pgettext_lazy("audit action", "Viewer unmuted"),
    "events.live_ban_lift": pgettext_lazy("audit action", "Viewer ban lifted"),
    "events.live_replay_store": pgettext_lazy("audit action", "Live replay stored"),
    "events.live_session_save": pgettext_lazy("audit action", "Live session saved"),
    "events.live_state_set": pgettext_lazy("audit action", "Live state changed"),
    "events.rep_invitation.sent": pgettext_lazy("audit action", "Rep invitation sent"),
    "knowledge.question_answer": pgettext_lazy("audit action", "Medical question answered"),
    "knowledge.question_ask": pgettext_lazy("audit action", "Medical question asked"),
    "knowledge.question_publish": pgettext_lazy("audit action", "Answer published to the knowledge base"),
    "learning.assignment.created": pgettext_lazy("audit action", "Learning assigned"),
    "learning.assignment.recertification": pgettext_lazy("audit action", "Recertification assigned"),
    "learning.attempt_auto_submit": pgettext_lazy("audit action", "Exam submitted at the deadline"),
    "learning.category_create": pgettext_lazy("audit action", "Question category created"),
    "learning.certificate.issued": pgettext_lazy("audit action", "Certificate issued"),
    "learning.certificate.revoked": pgettext_lazy("audit action", "Certificate revoked"),
    "learning.course_complete": pgettext_lazy("audit action", "Course completed"),
    "learning.course_expired_unpublished": pgettext_lazy("audit action", "Expired course unpublished"),
    "learning.course_expiry_warning": pgettext_lazy("audit action", "Course expiry warning sent"),
    "learning.curriculum.created": pgettext_lazy("audit action", "Curriculum created"),
    "learning.exam_override": pgettext_lazy("audit action", "Exam override granted"),
    "learning.product_requirement.set": pgettext_lazy("audit action", "Product qualification requirement set"),
    "learning.question_create": pgettext_lazy("audit action", "Question created"),
    "learning.question_update": pgettext_lazy("audit action", "Question updated"),
    "learning.questions_import": pgettext_lazy("audit action", "Questions imported"),
    "members.team.created": pgettext_lazy("audit action", "Team created"),
    "members.team.member_set": pgettext_lazy("audit action", "Team membership changed"),
    "members.wechat_bind": pgettext_lazy("audit action", "WeChat bound"),
    "members.wechat_unbind": pgettext_lazy("audit action", "WeChat unbound"),
    "members.wechat_menu_publish": pgettext_lazy("audit action", "WeChat menu published"),
    "messaging.frequency_cap_set": pgettext_lazy("audit action", "Message frequency cap set"),
    "scorm.completed": pgettext_lazy("audit action", "SCORM lesson completed"),
    "scorm.package_upload": pgettext_lazy("audit action", "SCORM package uploaded"),
}


def register_action_labels(labels: dict) -> None:
    """Adds labels (code -> lazy translated text) for an area's audit actions."""
    _ACTION_LABELS.update(labels)


def action_label(code: str) -> str:
    label = _ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def object_type_label(object_type: str) -> str:
    """The model's verbose name for "app_label.model" (what audit_log stores), or the text as it is."""
    if "." not in object_type:
        return object_type
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return str(model._meta.verbose_name)
