"""Demo academic content for `manage.py seed_demo`: three therapy areas with articles, literature and videos.

Invented text, realistic in form. Idempotent: every page has a fixed slug under its therapy-area page; pages
that exist are left alone. Each page is published through the medical → compliance review workflow, approved by
the demo reviewers (demo_review_and_publish).
"""

import io
from dataclasses import dataclass

from django.core.files.images import ImageFile
from django.db import transaction
from PIL import Image, ImageDraw
from wagtail.images import get_image_model

from cms.pages.models import ArticlePage, Audience, HomePage, LiteraturePage, Product, TherapyAreaPage, VideoPage
from cms.review.services import content_approve, content_submit_for_review
from engage.core.demo import demo_seeder
from engage.core.roles import Role
from members.accounts.demo import DEMO_PASSWORD
from members.accounts.models import User
from members.hospitals.models import TherapyArea


@dataclass(frozen=True)
class AreaSpec:
    code: str
    slug: str
    intro: str
    product: tuple[str, str, str]
    articles: list[tuple[str, str, str]]  # (slug, title, lead sentence)
    sentences: list[str]
    literature: list[tuple[str, str, str, str, int, str]]  # (slug, title, journal, authors, year, doi)
    videos: list[tuple[str, str, str, str]]  # (slug, title, speaker, topic)
    tags: list[str]


AREAS = [
    AreaSpec(
        code="diabetes",
        slug="diabetes",
        intro="2型糖尿病的诊疗进展、血糖管理与并发症防治。",
        product=("糖稳宁", "达格列净片", "国药准字H20260001"),
        articles=[
            ("t2dm-guideline-2026", "2型糖尿病防治指南要点解读", "新版指南进一步强调以患者为中心的综合管理。"),
            ("metformin-first-line", "二甲双胍仍是一线治疗的基石", "二甲双胍降糖疗效确切，低血糖风险小。"),
            ("sglt2-heart-kidney", "SGLT2抑制剂的心肾获益", "SGLT2抑制剂在降糖之外带来心血管和肾脏保护。"),
            ("glp1-weight", "GLP-1受体激动剂与体重管理", "GLP-1受体激动剂兼顾血糖控制与体重下降。"),
            ("hba1c-targets", "糖化血红蛋白目标的个体化设定", "老年和合并症患者的糖化血红蛋白目标应适当放宽。"),
            ("cgm-practice", "持续葡萄糖监测在门诊中的应用", "持续葡萄糖监测让血糖波动一目了然。"),
            ("insulin-titration", "基础胰岛素起始与剂量调整", "基础胰岛素按空腹血糖每三天调整一次剂量。"),
            ("dkd-screening", "糖尿病肾病的早期筛查", "尿白蛋白肌酐比值是早期发现糖尿病肾病的关键指标。"),
            ("hypoglycemia", "低血糖的识别与处理", "反复低血糖会增加心血管事件和跌倒风险。"),
            ("lifestyle", "生活方式干预：饮食与运动处方", "医学营养治疗和规律运动是控制血糖的基础。"),
        ],
        sentences=[
            "对于新诊断的2型糖尿病患者，应尽早评估血糖、血压、血脂和体重。",
            "二甲双胍可与SGLT2抑制剂或GLP-1受体激动剂联合使用，以实现血糖达标。",
            "合并动脉粥样硬化性心血管疾病或心力衰竭的患者，优先选择具有心血管获益证据的药物。",
            "治疗过程中应定期监测糖化血红蛋白，一般每三个月一次，达标后可每半年一次。",
            "患者教育和自我血糖监测是长期管理不可缺少的组成部分。",
            "肾功能下降时需根据估算肾小球滤过率调整药物剂量。",
        ],
        literature=[
            ("lit-dapagliflozin-ckd", "达格列净在慢性肾脏病患者中的肾脏结局研究", "新英格兰医学杂志",
             "Heerspink HJL, Stefánsson BV, et al.", 2020, "10.1056/NEJMoa2024816"),
            ("lit-metformin-cv", "二甲双胍与2型糖尿病患者心血管结局的队列研究", "中华糖尿病杂志",
             "王磊, 陈静, 刘洋, 等", 2024, ""),
            ("lit-cgm-rct", "持续葡萄糖监测改善胰岛素治疗患者血糖控制的随机对照试验", "柳叶刀·糖尿病与内分泌",
             "李华, 张敏, 等", 2023, ""),
            ("lit-glp1-obesity", "司美格鲁肽对超重或肥胖成人体重的影响", "新英格兰医学杂志",
             "Wilding JPH, Batterham RL, et al.", 2021, "10.1056/NEJMoa2032183"),
        ],
        videos=[
            ("video-insulin-pen", "胰岛素笔的规范注射技术", "内分泌科 周主任", "胰岛素注射部位轮换与针头更换"),
            ("video-sglt2-case", "病例讨论：SGLT2抑制剂在老年糖尿病患者中的应用", "内分泌科 吴教授",
             "老年糖尿病患者的个体化降糖方案"),
        ],
        tags=["指南解读", "临床实践", "药物治疗"],
    ),
    AreaSpec(
        code="cardiovascular",
        slug="cardiovascular",
        intro="高血压、血脂异常、冠心病与心力衰竭的最新证据和实践。",
        product=("心安平", "沙库巴曲缬沙坦钠片", "国药准字H20260002"),
        articles=[
            ("hypertension-targets", "高血压降压目标值的新共识", "多数高血压患者的降压目标为130/80 mmHg以下。"),
            ("ldl-c-lowering", "LDL-C越低越好：强化降脂策略", "极高危患者的LDL-C目标值应低于1.4 mmol/L。"),
            ("hfref-quadruple", "射血分数降低的心力衰竭四联疗法", "四类药物联合使用显著降低心衰住院和死亡风险。"),
            ("af-anticoagulation", "心房颤动的抗凝治疗决策", "CHA2DS2-VASc评分指导房颤患者的抗凝决策。"),
            ("acs-dapt", "急性冠脉综合征后的双联抗血小板治疗", "替格瑞洛或氯吡格雷联合阿司匹林的疗程需个体化。"),
            ("statin-intolerance", "他汀不耐受患者的降脂选择", "依折麦布和PCSK9抑制剂为他汀不耐受患者提供了选择。"),
            ("home-bp", "家庭血压监测的规范方法", "家庭血压监测有助于发现白大衣高血压和隐匿性高血压。"),
            ("cardio-diabetes", "糖尿病合并心血管疾病的综合管理", "糖尿病患者是心血管疾病的高危人群。"),
            ("heart-failure-rehab", "心力衰竭患者的心脏康复", "运动康复改善心衰患者的生活质量和运动耐量。"),
            ("lipoprotein-a", "脂蛋白(a)：被忽视的心血管危险因素", "脂蛋白(a)水平主要由遗传决定，一生检测一次即可。"),
        ],
        sentences=[
            "心血管风险评估应综合考虑年龄、血压、血脂、血糖和吸烟史。",
            "沙库巴曲缬沙坦可进一步降低射血分数降低的心力衰竭患者的心血管死亡风险。",
            "他汀类药物是降低LDL-C的首选，未达标时可联合依折麦布。",
            "高血压患者应限制钠盐摄入，每日食盐不超过5克。",
            "随访时应评估药物依从性和不良反应，及时调整治疗方案。",
            "对于合并糖尿病的患者，SGLT2抑制剂同样带来心力衰竭住院风险的下降。",
        ],
        literature=[
            ("lit-paradigm-hf", "血管紧张素受体脑啡肽酶抑制剂与依那普利治疗心力衰竭的比较", "新英格兰医学杂志",
             "McMurray JJV, Packer M, et al.", 2014, "10.1056/NEJMoa1409077"),
            ("lit-china-bp", "中国成人高血压患病率、知晓率和控制率的全国调查", "中华心血管病杂志",
             "赵明, 孙丽, 等", 2023, ""),
            ("lit-ezetimibe", "依折麦布联合他汀对急性冠脉综合征患者的获益", "新英格兰医学杂志",
             "Cannon CP, Blazing MA, et al.", 2015, "10.1056/NEJMoa1410489"),
        ],
        videos=[
            ("video-ecg-basics", "心电图判读基础：房颤与房扑", "心内科 郑主任", "心电图上房颤与房扑的鉴别"),
            ("video-hf-titration", "心衰药物的剂量滴定实战", "心内科 冯教授", "心力衰竭药物逐步加量的节奏"),
        ],
        tags=["指南解读", "病例分享", "循证医学"],
    ),
    AreaSpec(
        code="oncology",
        slug="oncology",
        intro="肿瘤的精准诊断、靶向治疗与免疫治疗。",
        product=("瑞肺宁", "甲磺酸奥希替尼片", "国药准字H20260003"),
        articles=[
            ("nsclc-egfr", "EGFR突变非小细胞肺癌的一线治疗",
             "第三代EGFR-TKI已成为EGFR突变晚期非小细胞肺癌的一线标准。"),
            ("ici-irae", "免疫检查点抑制剂相关不良反应的管理", "免疫相关不良反应可累及皮肤、肠道、肝脏和内分泌器官。"),
            ("ngs-testing", "二代测序在肺癌诊疗中的价值", "二代测序可一次检测多个驱动基因。"),
            ("breast-her2", "HER2阳性乳腺癌的新辅助治疗", "新辅助治疗后达到病理完全缓解的患者预后更好。"),
            ("crc-screening", "结直肠癌筛查策略", "粪便免疫化学检测和结肠镜是主要的筛查手段。"),
            ("cancer-pain", "癌痛的规范化治疗", "按时、按阶梯、个体化给药是癌痛治疗的原则。"),
            ("liver-cancer", "晚期肝细胞癌的系统治疗进展", "免疫联合抗血管生成治疗改善了晚期肝癌患者的生存。"),
            ("mdt", "多学科诊疗模式在肿瘤中的实践", "多学科团队讨论有助于制定最佳治疗方案。"),
            ("nutrition", "肿瘤患者的营养支持", "营养不良会降低肿瘤患者对治疗的耐受性。"),
            ("survivorship", "肿瘤幸存者的长期随访", "长期随访关注复发监测、第二原发肿瘤和心理健康。"),
        ],
        sentences=[
            "治疗前应完善病理诊断和分子检测，明确驱动基因状态。",
            "奥希替尼可透过血脑屏障，对脑转移病灶有较好疗效。",
            "免疫治疗期间应定期监测甲状腺功能、肝功能和血糖。",
            "疗效评估通常每6至8周进行一次影像学检查。",
            "治疗决策需要兼顾疗效、安全性、患者意愿和经济负担。",
            "靶向治疗耐药后应再次活检，明确耐药机制。",
        ],
        literature=[
            ("lit-flaura", "奥希替尼与标准EGFR-TKI一线治疗EGFR突变晚期非小细胞肺癌的总生存", "新英格兰医学杂志",
             "Ramalingam SS, Vansteenkiste J, et al.", 2020, "10.1056/NEJMoa1913662"),
            ("lit-keynote-189", "帕博利珠单抗联合化疗治疗转移性非鳞状非小细胞肺癌", "新英格兰医学杂志",
             "Gandhi L, Rodríguez-Abreu D, et al.", 2018, "10.1056/NEJMoa1801005"),
            ("lit-china-cancer", "中国恶性肿瘤发病和死亡分析", "中华肿瘤杂志", "郑荣寿, 陈茹, 等", 2024, ""),
        ],
        videos=[
            ("video-irae-mdt", "多学科讨论：免疫相关肺炎的处理", "肿瘤科 林主任", "免疫检查点抑制剂相关肺炎的分级处理"),
        ],
        tags=["靶向治疗", "免疫治疗", "病例分享"],
    ),
]


def _rich(paragraphs: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _article_body(spec: AreaSpec, index: int, lead: str) -> list[tuple[str, object]]:
    s = spec.sentences
    body: list[tuple[str, object]] = [
        ("rich_text", _rich([lead + s[index % len(s)], s[(index + 1) % len(s)] + s[(index + 2) % len(s)]])),
        ("heading", {"text": "临床要点", "level": "h2"}),
        ("callout", {"kind": "key_point", "title": "要点", "text": _rich([s[(index + 3) % len(s)]])}),
        ("rich_text", _rich([s[(index + 4) % len(s)], s[(index + 5) % len(s)]])),
    ]
    if index % 3 == 0:
        body.append(("table", {
            "first_row_is_table_header": True, "first_col_is_header": False, "table_caption": "推荐意见汇总",
            "data": [["推荐", "证据等级"], ["综合评估后个体化治疗", "A"], ["定期随访与监测", "B"]],
        }))
    if index % 4 == 1:
        body.append(("quote", {"text": "规范诊疗，从每一次随访做起。", "attribution": "编辑部"}))
    body.append(("references", {"heading": "参考文献", "references": [
        {"citation": f"中华医学会. {spec.intro[:8]}诊疗指南（2025年版）. 中华医学杂志. 2025;105(1):1-20.",
         "doi": "", "pmid": ""},
        {"citation": "Example A, et al. A randomised trial. N Engl J Med. 2024;390:100-110.",
         "doi": "10.1056/NEJMoa2400000", "pmid": "38000000"},
    ]}))
    return body


def _demo_reviewer(username: str, role: str, name: str):
    """The demo reviewer log-in of `role` (seed_demo creates it; made here when seeding content alone)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group


    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create(username=username, password=make_password(DEMO_PASSWORD), display_name=name,
                                   email=f"{username}@demo.engage.local")
    user.groups.add(Group.objects.get(name=role))
    return user


def _publish(parent, page, *, expires_in_days: int | None = None) -> bool:
    """Adds `page` under `parent` and takes it through the review workflow (medical, then compliance approval
    by the demo reviewers, with their password), which publishes it; skipped if its slug is there already."""
    import datetime

    from django.utils import timezone

    if parent.get_children().filter(slug=page.slug).exists():
        return False
    parent.add_child(instance=page)
    expires_on = timezone.localdate() + datetime.timedelta(days=expires_in_days) if expires_in_days else None
    demo_review_and_publish(page, expires_on=expires_on)
    return True


def demo_review_and_publish(page, *, expires_on=None) -> None:
    """Saves a revision of `page` (content or meeting page, already in the tree) and takes it through the
    review workflow: medical, then compliance approval by the demo reviewers with their password; the final
    approval publishes it."""
    page.save_revision()
    content_submit_for_review(page=page, user=None)
    for username, role, name in (("demo-reviewer", Role.MEDICAL_REVIEWER, "医学审核演示账号"),
                                 ("demo-compliance", Role.COMPLIANCE, "合规演示账号")):
        content_approve(task_state=page.current_workflow_state.current_task_state,
                        reviewer=_demo_reviewer(username, role, name), password=DEMO_PASSWORD,
                        expires_on=expires_on if role == Role.COMPLIANCE else None)


COVER_COLOURS = [((7, 122, 64), (16, 174, 255)), ((87, 107, 149), (250, 157, 59)), ((198, 40, 40), (250, 157, 59)),
                 ((6, 96, 160), (7, 193, 96))]


def _area_cover(spec: "AreaSpec", index: int):
    """A 480×320 gradient cover for an area's demo content (so the phone cards show one), made once per area."""
    model = get_image_model()
    title = f"demo-cover-{spec.code}"
    existing = model.objects.filter(title=title).first()
    if existing is not None:
        return existing
    start, end = COVER_COLOURS[index % len(COVER_COLOURS)]
    picture = Image.new("RGB", (480, 320))
    draw = ImageDraw.Draw(picture)
    for x in range(480):
        share = x / 479
        draw.line([(x, 0), (x, 319)], fill=tuple(round(a + (b - a) * share) for a, b in zip(start, end, strict=True)))
    for r in (150, 110, 70):
        draw.ellipse([330 - r, 230 - r, 330 + r, 230 + r], outline=(255, 255, 255), width=3)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return model.objects.create(title=title, file=ImageFile(io.BytesIO(out.getvalue()), name=f"{title}.png"))


@transaction.atomic
@demo_seeder(order=30)
def seed_content() -> dict[str, int]:
    """Creates the missing demo products, therapy-area pages and content pages; returns what it created."""
    created = {"products": 0, "areas": 0, "articles": 0, "literature": 0, "videos": 0}
    home = HomePage.objects.first()
    if home is None:
        return created
    for number, spec in enumerate(AREAS):
        area = TherapyArea.objects.filter(code=spec.code).first()
        if area is None:
            continue
        name, generic, approval = spec.product
        product, made = Product.objects.get_or_create(
            name=name, defaults={"generic_name": generic, "therapy_area": area, "approval_number": approval}
        )
        created["products"] += made
        index = TherapyAreaPage.objects.filter(therapy_area=area).first()
        if index is None:
            index = TherapyAreaPage(title=area.name, slug=spec.slug, therapy_area=area, intro=f"<p>{spec.intro}</p>")
            home.add_child(instance=index)
            index.save_revision().publish()
            created["areas"] += 1
        index = index.specific
        for i, (slug, title, lead) in enumerate(spec.articles):
            # Mostly for verified HCPs; one public, one for registered members and one for KOLs per area.
            audience = {0: Audience.PUBLIC, 5: Audience.REGISTERED, 9: Audience.KOL}.get(i, Audience.VERIFIED)
            page = ArticlePage(title=title, slug=slug, summary=lead, audience=audience,
                               body=_article_body(spec, i, lead), cover_image=_area_cover(spec, number))
            page.therapy_areas.set([area])
            page.tags.add(spec.tags[i % len(spec.tags)])
            page.products.set([product] if i % 2 == 0 else [])
            # A few approvals run out soon, so the content dashboard and expiry warnings have something to show.
            created["articles"] += _publish(index, page, expires_in_days=20 if i in (2, 7) else None)
        for slug, title, journal, authors, year, doi in spec.literature:
            abstract = _rich([f"目的：{title}。", "方法：多中心、随机、对照设计。" + spec.sentences[0],
                              "结论：" + spec.sentences[1]])
            page = LiteraturePage(title=title, slug=slug, summary=f"{journal}，{year}", journal=journal,
                                  authors=authors, year=year, doi=doi, abstract=abstract)
            page.therapy_areas.set([area])
            created["literature"] += _publish(index, page)
        for slug, title, speaker, topic in spec.videos:
            page = VideoPage(
                title=title, slug=slug, summary=f"{speaker}讲解{topic}。",
                stream_url=f"https://media.example.cn/engage/{slug}/index.m3u8",
                transcript=f"各位同道好，我是{speaker}。今天和大家分享{topic}。" + "".join(spec.sentences[:3]),
                chapters=[("chapter", {"start": "0:00", "title": "引言"}),
                          ("chapter", {"start": "2:30", "title": topic}),
                          ("chapter", {"start": "12:00", "title": "总结与答疑"})],
            )
            page.therapy_areas.set([area])
            created["videos"] += _publish(index, page)
    return created
