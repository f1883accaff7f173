"""The knowledge-base search: Chinese queries through the content search's segmentation, only live entries, only
for reps and staff; filters by product and kind; odd queries find nothing instead of failing."""

import pytest

from engage.core.errors import DomainError
from learning.knowledge.selectors import KnowledgeFilter, access_knowledge_entry, knowledge_search
from tests.factories import make_doctor, user_with_role
from tests.learning.knowledge.builders import make_entry, product

pytestmark = pytest.mark.django_db


def _search(user, **params):
    return knowledge_search(user=user, knowledge_filter=KnowledgeFilter.from_query(params))


@pytest.fixture
def entries():
    other = product("心安", "沙库巴曲缬沙坦钠片")
    return {
        "hypo": make_entry(title="达格列净会引起低血糖吗？", body="<p>单药治疗时低血糖风险低。</p>"),
        "renal": make_entry(title="肾功能不全患者如何使用", body="<p>eGFR低于25时不建议起始治疗。</p>",
                            kind="indication", summary="看eGFR"),
        "heart": make_entry(title="医生说价格太贵怎么办", body="<p>从心力衰竭住院减少谈起。</p>", kind="objection",
                            product_=other, summary="价值沟通"),
        "draft": make_entry(title="未审核的低血糖条目", publish=False),
    }


def test_a_chinese_query_finds_entries_by_words_inside_sentences(entries):
    rep = user_with_role("rep")
    listing = _search(rep, q="低血糖")
    assert [item.pk for item in listing.items] == [entries["hypo"].pk]  # the draft is not found


def test_every_term_must_match(entries):
    rep = user_with_role("rep")
    assert [i.pk for i in _search(rep, q="心力衰竭 价格").items] == [entries["heart"].pk]
    assert _search(rep, q="心力衰竭 低血糖").items == []


def test_filters_by_product_and_kind(entries):
    rep = user_with_role("rep")
    heart_product = entries["heart"].product_id
    assert [i.pk for i in _search(rep, product=str(heart_product)).items] == [entries["heart"].pk]
    assert [i.pk for i in _search(rep, kind="indication").items] == [entries["renal"].pk]
    assert {p.name for p in _search(rep).products} == {"糖稳宁", "心安"}


@pytest.mark.parametrize("q", ["!!!", "😀😀", "x" * 300, "的"])
def test_odd_queries_find_nothing(entries, q):
    assert _search(user_with_role("rep"), q=q).items == []


def test_doctors_find_nothing_and_may_not_open_an_entry(entries):
    doctor = make_doctor()
    assert _search(doctor).items == [] and _search(doctor, q="低血糖").items == []
    with pytest.raises(DomainError) as caught:
        access_knowledge_entry(user=doctor, knowledge_entry_id=entries["hypo"].pk)
    assert caught.value.code == "knowledge_not_allowed"


def test_staff_read_the_knowledge_base(entries):
    assert len(_search(user_with_role("compliance")).items) == 3
    with pytest.raises(DomainError) as caught:
        access_knowledge_entry(user=user_with_role("rep"), knowledge_entry_id=entries["draft"].pk)
    assert caught.value.code == "knowledge_entry_not_found"
