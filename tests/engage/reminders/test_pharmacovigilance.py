"""Pharmacovigilance: every inbound text from a patient or caregiver is read for adverse reactions before anything
else it means; the term list is medical staff's to edit; each case carries the words, patient, programme,
medication and its review deadline. The phrasing fixture below prints the detection rate (pytest -s)."""

from datetime import UTC, datetime, timedelta
from importlib import import_module

import pytest
from django.apps import apps

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.messaging.services import inbound_receive
from engage.reminders import services
from engage.reminders.models import (
    AdverseEventTerm,
    PharmacovigilanceCase,
    Programme,
    ProgrammeConsentText,
    ReportedValue,
)

NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
_ids = iter(range(10**6))

# Real-world phrasings: (text, the terms it must open a case with; empty: it must open none).
POSITIVE = [
    ("血糖 3.2 头晕 心慌", {"头晕", "心慌"}),
    ("皮疹，呼吸困难", {"皮疹", "呼吸困难"}),
    ("吃了药以后起疹子了", {"皮疹"}),
    ("身上出疹子，很痒", {"皮疹", "瘙痒"}),
    ("晚上喘不上气", {"呼吸困难"}),
    ("有点眩晕", {"头晕"}),
    ("头 晕", {"头晕"}),  # a space inside the word
    ("呼吸\u3000困难", {"呼吸困难"}),  # a full-width space
    ("头晕！！", {"头晕"}),
    ("拉肚子两天了", {"腹泻"}),
    ("这两天老是恶心想吐", {"恶心"}),
    ("最近心跳很快，手抖，出冷汗", {"心慌", "出冷汗"}),
    ("昨晚低血糖了", {"低血糖"}),
    ("血糖低，头昏", {"低血糖", "头晕"}),
    ("孩子住院了", {"住院"}),
    ("脚肿了", {"水肿"}),
    ("眼睛发黄", {"黄疸"}),
    ("胸口疼得厉害", {"胸痛"}),
    ("吃药后胃疼", {"腹痛"}),
    ("肚子痛 拉稀", {"腹痛", "腹泻"}),
    ("起了好多红疹", {"皮疹"}),
    ("浑身无力", {"乏力"}),
    ("看东西眼花", {"视物模糊"}),
    ("不知道为什么一直头晕", {"头晕"}),  # 不 here denies nothing
    ("会不会是药引起的皮疹", {"皮疹"}),  # a question about a rash is still a rash
    ("会不会头晕", {"头晕"}),
    ("不再头晕了，但之前晕过去一次", {"头晕", "晕倒"}),  # a resolved reaction still happened
    ("有没有可能是药的副作用？头疼", {"不良反应", "头痛"}),
    ("ＲＡＳＨ on my arms", {"rash"}),  # full-width letters
    ("ｄｉｚｚｙ", {"dizziness"}),
    ("I feel dizzy after the morning pill", {"dizziness"}),
    ("Got a rash after the new pill", {"rash"}),
    ("side effects: nausea and headache", {"adverse event", "nausea", "headache"}),
    ("can't breathe properly at night", {"shortness of breath"}),
    ("My mum fainted this morning", {"fainting"}),
    ("no longer dizzy but had hives yesterday", {"dizziness", "rash"}),
    ("Itching all over since Monday", {"itching"}),
    ("threw up twice", {"vomiting"}),
    ("low blood sugar again, 2.9", {"hypoglycaemia"}),
    ("I was hospitalised last week", {"hospital"}),
    ("palpitations at night", {"palpitations"}),
    ("Allergic reaction to the tablets?", {"allergy"}),
    ("头晕vomiting", {"头晕", "vomiting"}),
]
NEGATIVE = [
    "谢谢提醒",
    "好的，已经吃了",
    "血糖 6.5",
    "BG 140 mg/dL",
    "1",
    "TD",
    "这周感觉很好",
    "请问在哪里买药",
    "心情不错，血糖控制得很好",
    "没有头晕",
    "今天没有任何不良反应",
    "无皮疹，无瘙痒",  # "痒" inside a denied "瘙痒" is denied too
    "没出现过敏",
    "未见明显不良反应",
    "从来没有过低血糖",
    "what time is my next dose?",
    "switch my reminder to 8am",  # "itch" inside a word
    "my phone screen crashed",  # "rash" inside a word
    "she works in hospitality",
    "no dizziness today",
    "I don't feel dizzy at all",
    "No side effects so far",
    "without any rash",
    "Not nauseous at all",
]
PHRASINGS = [(text, terms) for text, terms in POSITIVE] + [(text, set()) for text in NEGATIVE]


def test_the_fixture_is_big_enough():
    assert len(PHRASINGS) >= 40 and len(POSITIVE) >= 20 and len(NEGATIVE) >= 20


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "terms"), PHRASINGS, ids=[t for t, _ in PHRASINGS])
def test_each_phrasing(pv_terms, text, terms):
    assert set(services.pv_keywords_in(text)) == terms


@pytest.mark.django_db
def test_detection_rate_over_the_fixture(pv_terms, capsys):
    detected = [t for t, terms in POSITIVE if set(services.pv_keywords_in(t)) >= terms]
    flagged = [t for t in NEGATIVE if services.pv_keywords_in(t)]
    with capsys.disabled():
        print(f"\nPV detection: {len(detected)}/{len(POSITIVE)} adverse-event phrasings detected "
              f"({len(detected) / len(POSITIVE):.0%}); {len(flagged)}/{len(NEGATIVE)} other messages flagged "
              f"({len(flagged) / len(NEGATIVE):.0%})")
    assert len(detected) == len(POSITIVE), sorted(set(t for t, _ in POSITIVE) - set(detected))
    assert flagged == []


# --- Every inbound text, before its other meaning ---------------------------------------------------------


def reply(sender, text, *, at=NOW, channel="sms"):
    row, _created = inbound_receive(channel=channel, sender=sender, text=text, kind="text",
                                    provider_id=f"PV{next(_ids)}", received_at=at)
    return row.reply


@pytest.fixture
def patient(make_patient, recorded_deliveries):
    return make_patient(caregiver=True)


@pytest.mark.django_db
def test_glucose_with_symptoms_is_a_value_and_a_case(patient):
    answer = reply(patient.mobile, "血糖 3.2 头晕 心慌")
    assert str(ReportedValue.objects.get(patient=patient).value) == "3.2"
    case = PharmacovigilanceCase.objects.get()
    assert case.patient == patient and set(case.matched_keywords) == {"头晕", "心慌"}
    assert "3.2" in answer and "120" in answer  # both answered: the value recorded, and the safety advice


@pytest.mark.django_db
def test_caregiver_symptoms_open_a_case_for_their_patient(patient):
    caregiver = patient.caregiver
    answer = reply(caregiver.mobile, "皮疹，呼吸困难")
    case = PharmacovigilanceCase.objects.get()
    assert (case.patient, case.reporter, case.text) == (patient, "caregiver", "皮疹，呼吸困难")
    assert case.serious  # 呼吸困难 is a possibly serious term
    assert "120" in answer and "TD" not in answer  # the safety advice, not only thanks


@pytest.mark.django_db
def test_caregiver_chat_without_symptoms_opens_no_case(patient):
    assert "TD" in reply(patient.caregiver.mobile, "谢谢")
    assert PharmacovigilanceCase.objects.count() == 0


@pytest.mark.django_db
def test_denied_symptom_opens_no_case(patient):
    answer = reply(patient.mobile, "今天没有头晕")
    assert PharmacovigilanceCase.objects.count() == 0
    assert "/reminders/p/" in answer


@pytest.mark.django_db
def test_case_carries_words_patient_programme_medication_and_review_deadline(patient, make_plan, settings):
    make_plan(patient, drug="二甲双胍")
    received = NOW - timedelta(minutes=3)  # the provider's receipt time, not when we got round to it
    reply(patient.mobile, "吃药后 起疹子", at=received)
    case = PharmacovigilanceCase.objects.get()
    assert (case.text, case.patient, case.programme) == ("吃药后 起疹子", patient, patient.programme)
    assert (case.medication, case.plan.drug) == ("二甲双胍", "二甲双胍")
    assert case.received_at == received and case.review_due_at == received + timedelta(hours=24)
    assert AuditEntry.objects.filter(action="reminders.pv_case_open", object_id=str(case.pk)).exists()
    settings.REMINDERS_PV_REVIEW_WINDOW = timedelta(hours=4)
    reply(patient.mobile, "头晕", at=received)
    assert PharmacovigilanceCase.objects.latest("pk").review_due_at == received + timedelta(hours=4)


@pytest.mark.django_db
def test_case_medication_is_the_drug_the_message_names(patient, make_plan):
    make_plan(patient, drug="二甲双胍")
    acarbose = make_plan(patient, drug="阿卡波糖")
    reply(patient.mobile, "吃了阿卡波糖以后肚子疼")
    case = PharmacovigilanceCase.objects.get()
    assert (case.plan, case.medication) == (acarbose, "阿卡波糖")
    reply(patient.mobile, "头晕")  # names neither: both, and no single plan
    case = PharmacovigilanceCase.objects.latest("pk")
    assert case.plan is None and case.medication == "二甲双胍、阿卡波糖"


@pytest.mark.django_db
def test_same_message_twice_is_one_case(patient):
    inbound_receive(channel="sms", sender=patient.mobile, text="头晕", kind="text", provider_id="SMdup",
                    received_at=NOW)
    inbound_receive(channel="sms", sender=patient.mobile, text="头晕", kind="text", provider_id="SMdup",
                    received_at=NOW)
    assert PharmacovigilanceCase.objects.count() == 1


@pytest.mark.django_db
def test_a_number_on_two_programmes_opens_a_case_for_each(patient, make_patient, programme):
    other = Programme.objects.create(name="另一个项目", sponsor="某制药")
    ProgrammeConsentText.objects.create(programme=other, version="1.0", text="参加", health_info_text="健康信息")
    second = make_patient(mobile=patient.mobile, prog=other)
    reply(patient.mobile, "rash")
    assert set(PharmacovigilanceCase.objects.values_list("patient_id", "programme_id")) == {
        (patient.pk, programme.pk), (second.pk, other.pk)}


# --- The term list ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_medical_staff_add_a_term_in_the_admin_and_it_is_detected(client, role_user, patient):
    client.force_login(role_user("medical_reviewer"))
    response = client.post("/admin/pv_terms/new/", {"term": "耳鸣", "language": "zh-hans", "synonyms": "耳朵嗡嗡响",
                                                    "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    term = AdverseEventTerm.objects.get(term="耳鸣")
    assert AuditEntry.objects.filter(action="reminders.pv_term_save", object_id=str(term.pk)).exists()
    reply(patient.mobile, "这两天耳朵 嗡嗡响")
    assert PharmacovigilanceCase.objects.get().matched_keywords == ["耳鸣"]
    # Retired by unticking "active": no longer detected.
    response = client.post(f"/admin/pv_terms/edit/{term.pk}/", {"term": "耳鸣", "language": "zh-hans",
                                                                "synonyms": "耳朵嗡嗡响"})
    assert response.status_code == 302
    reply(patient.mobile, "耳鸣")
    assert PharmacovigilanceCase.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["marketing", "compliance"])
def test_other_staff_cannot_edit_terms(client, role_user, role):
    client.force_login(role_user(role))
    response = client.post("/admin/pv_terms/new/", {"term": "耳鸣", "language": "zh-hans"})
    assert response.status_code == 302 and not response["Location"].startswith("/admin/pv_terms/")
    assert not AdverseEventTerm.objects.filter(term="耳鸣").exists()
    with pytest.raises(DomainError) as exc:
        services.pv_term_save(term=None, data=services.PvTermInput(term="耳鸣", language="zh-hans"),
                              actor=role_user(role))
    assert exc.value.code == "not_allowed"


@pytest.mark.django_db
@pytest.mark.parametrize(("term", "synonyms", "language", "code"), [
    ("  ", "", "zh-hans", "invalid_term"),
    ("耳鸣", "。。", "zh-hans", "invalid_term"),  # a synonym of punctuation only would match nothing useful
    ("耳鸣", "耳 鸣", "zh-hans", "duplicate_phrase"),  # the same word again once spaces are ignored
    ("耳鸣", "起疹子", "zh-hans", "duplicate_phrase"),  # already a synonym of 皮疹
    ("ＲＡＳＨ", "", "en", "duplicate_phrase"),  # full-width "rash", already a term
    ("耳鸣", "", "fr", "invalid_language"),
])
def test_bad_terms_are_refused(pv_terms, role_user, term, synonyms, language, code):
    before = AdverseEventTerm.objects.count()
    with pytest.raises(DomainError) as exc:
        services.pv_term_save(term=None, data=services.PvTermInput(term=term, language=language,
                                                                  synonyms=synonyms),
                              actor=role_user("medical_reviewer"))
    assert exc.value.code == code
    assert AdverseEventTerm.objects.count() == before


@pytest.mark.django_db
def test_a_fresh_database_has_the_default_terms():
    """Migration 0003 seeds the defaults (run here again on an empty table: a transactional test may flush it)."""
    AdverseEventTerm.objects.all().delete()
    import_module("engage.reminders.migrations.0003_pv_terms_quiet_hours").seed_terms(apps, None)
    terms = {t.term: t for t in AdverseEventTerm.objects.all()}
    assert {"皮疹", "呼吸困难", "头晕", "rash", "dizziness"} <= set(terms)
    assert {"起疹子", "出疹子"} <= set(terms["皮疹"].phrases())
    assert "眩晕" in terms["头晕"].phrases() and "喘不上气" in terms["呼吸困难"].phrases()
    assert all(t.is_active for t in terms.values())
