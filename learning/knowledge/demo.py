"""Demo knowledge base for `manage.py seed_demo`: per demo product an FAQ, an objection, indications and a
compliance rule, each through the medical → compliance review; and one answered question to medical.

Invented text, realistic in form. Idempotent: fixed slugs; entries that exist are left alone.
"""

import uuid

from django.db import transaction

from cms.pages.demo import demo_review_and_publish
from cms.pages.models import HomePage, Product
from engage.core.demo import demo_seeder
from learning.knowledge.models import KnowledgeEntryPage, KnowledgeIndexPage, KnowledgeKind, KnowledgeQuestion
from learning.knowledge.services import question_answer, question_ask
from members.accounts.models import User

ENTRIES = {
    "糖稳宁": [
        ("faq", KnowledgeKind.FAQ, "糖稳宁会引起低血糖吗？",
         "单药治疗时低血糖风险低；与胰岛素或磺脲类合用时需考虑减量。",
         "<p>达格列净通过抑制SGLT2增加尿糖排泄，作用不依赖胰岛素，单药治疗低血糖发生率与安慰剂相近。</p>"
         "<p>与胰岛素或胰岛素促泌剂合用时，低血糖风险增加，应考虑降低后者剂量。</p>"),
        ("objection", KnowledgeKind.OBJECTION, "医生担心泌尿生殖道感染",
         "说明发生率、预防措施与停药指征，不夸大、不回避。",
         "<p>先认可医生的关注，再介绍说明书中的发生率和卫生宣教要点；出现症状时按说明书处理。</p>"),
        ("indication", KnowledgeKind.INDICATION, "糖稳宁的适应症", "以说明书为准：2型糖尿病成人患者的血糖控制等。",
         "<p>仅按国家药品监督管理局批准的说明书介绍适应症；超说明书问题转交医学部回答。</p>"),
        ("rule", KnowledgeKind.COMPLIANCE, "可以给医生发送未经审批的资料吗？",
         "不可以：只分享经审批、在有效期内的资料。",
         "<p>代表只能使用经医学和合规审核、带有审批编号且未过期的资料。医生索取超说明书信息时，通过“问医学部”转交。</p>"),
    ],
    "心安平": [
        ("faq", KnowledgeKind.FAQ, "心安平起始剂量如何选择？", "按说明书，根据患者既往用药和耐受情况选择起始剂量。",
         "<p>从ACEI转换时需间隔36小时；起始剂量与滴定按说明书执行。</p>"),
        ("objection", KnowledgeKind.OBJECTION, "医生说价格太贵", "从心力衰竭住院风险降低和医保报销情况谈起。",
         "<p>以循证数据说明临床获益，介绍当地医保政策，不作价格承诺，不提供任何不当利益。</p>"),
        ("rule", KnowledgeKind.COMPLIANCE, "学术会议可以安排医生家属参加吗？",
         "不可以：会议仅邀请符合条件的医疗卫生专业人士。",
         "<p>不得承担家属的任何费用；会议须有学术内容并留存证据。</p>"),
    ],
    "瑞肺宁": [
        ("faq", KnowledgeKind.FAQ, "瑞肺宁用药前需要做基因检测吗？", "需要：适用于EGFR突变阳性的非小细胞肺癌患者。",
         "<p>用药前须经经验证的检测方法确认EGFR突变状态。</p>"),
        ("indication", KnowledgeKind.INDICATION, "瑞肺宁的适应症", "以说明书为准，仅介绍已获批适应症。",
         "<p>超说明书使用的问题一律转交医学部。</p>"),
        ("objection", KnowledgeKind.OBJECTION, "医生担心间质性肺病",
         "介绍发生率、监测与处理方式，鼓励按说明书监测。",
         "<p>出现急性呼吸道症状时应暂停用药并评估；具体问题转交医学部。</p>"),
    ],
}


@transaction.atomic
@demo_seeder(order=35)
def seed_knowledge_base() -> dict[str, int]:
    """Creates the knowledge base page, the missing entries and one answered question; returns what it created."""
    created = {"knowledge entries": 0, "questions to medical": 0}
    home = HomePage.objects.first()
    if home is None:
        return created
    index = KnowledgeIndexPage.objects.first()
    if index is None:
        index = KnowledgeIndexPage(title="产品知识库", slug="knowledge",
                                   intro="<p>常见问题、异议处理、适应症与合规要求。找不到答案？点页面底部的“问医学部”。</p>")
        home.add_child(instance=index)
        index.save_revision().publish()
    for number, (name, entries) in enumerate(ENTRIES.items(), 1):
        product = Product.objects.filter(name=name).first()
        if product is None:
            continue
        for slug, kind, title, summary, body in entries:
            slug = f"p{number}-{slug}"
            if index.get_children().filter(slug=slug).exists():
                continue
            entry = KnowledgeEntryPage(title=title, slug=slug, product=product, kind=kind, summary=summary,
                                       body=body)
            index.add_child(instance=entry)
            demo_review_and_publish(entry)
            created["knowledge entries"] += 1
    created["questions to medical"] += _demo_question()
    return created


def _demo_question() -> int:
    """Two questions of the first demo rep: one waiting for medical, one answered (the rep's inbox has it)."""
    rep = User.objects.filter(username="demo-rep-01").first()
    medical = User.objects.filter(username="demo-reviewer").first()
    if rep is None or KnowledgeQuestion.objects.filter(asker=rep).exists():
        return 0
    product = Product.objects.filter(name="糖稳宁").first()
    product_id = product.pk if product else None
    question_ask(actor=rep, question="医生问：糖稳宁能用于1型糖尿病吗？", product_id=product_id,
                 asked_from="/knowledge/", client_token=uuid.uuid4())
    answered, _created = question_ask(actor=rep, question="eGFR 30的患者可以继续用药吗？", product_id=product_id,
                                      asked_from="/knowledge/", client_token=uuid.uuid4())
    if medical is not None:
        question_answer(actor=medical, question_id=answered.pk,
                        answer="请以说明书中肾功能相关用法为准；具体病例请医生参考说明书并结合临床判断。")
    return 2
