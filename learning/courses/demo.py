"""Demo courses, question bank and exams for `seed_demo`: two product courses (reviewed like content) with lessons
and a final exam each, and a compliance course whose final exam draws 30 questions from a bank of 100.
Idempotent: what exists (by slug or name) is left alone."""

from collections import Counter

from django.db import transaction

from cms.pages.models import HomePage, Product
from engage.core.demo import demo_seeder
from learning.courses.models import CompletionRule, CourseIndexPage, CoursePage, LessonPage
from learning.exams.models import Exam, ExamDraw
from learning.questions.models import CompetencyKind, Question, QuestionCategory, QuestionKind, QuestionVersion

COMPLIANCE_RULES = [
    ("向医生提供现金或购物卡", False), ("在学术会议上按标准提供工作餐", True),
    ("以处方量为条件赞助医生出国旅游", False),
    ("向医生介绍经批准的说明书内容", True), ("推广说明书以外的适应症", False), ("记录学术会议的签到与照片", True),
    ("替医生支付个人费用", False), ("在备案平台登记医药代表信息", True), ("承诺按处方量返利", False),
    ("在医院规定的时间和地点拜访医生", True),
]
TRUE_FALSE_TRUE = [{"key": "T", "text": "正确", "correct": True}, {"key": "F", "text": "错误", "correct": False}]
ANSWERS_TO_REQUESTS = ["按公司制度执行并留存记录", "拒绝并向合规部门报告", "私下处理", "请同事代办"]
TOPICS = ["反商业贿赂", "学术推广", "医药代表备案", "会议合规", "数据隐私"]
LESSONS = {
    "product": [("产品概述", "<p>{product}（{generic}）的作用机制、适应症与用法用量。</p>"),
                ("临床证据", "<p>关键临床研究的设计、终点与结果解读。</p>"),
                ("安全性与不良反应", "<p>常见不良反应、禁忌与药物相互作用，以及不良事件的上报流程。</p>")],
    "rules": [("合规基础", "<p>《医药代表备案管理办法（试行）》与反商业贿赂的基本要求。</p>"),
                   ("学术会议合规", "<p>会议的学术性、签到与证据留存、餐饮与礼品的标准。</p>")],
}


def _version(question, text, options=(), accepted=(), explanation=""):
    version = QuestionVersion.objects.create(question=question, number=1, text=text, options=list(options),
                                             accepted_answers=list(accepted), explanation=explanation)
    question.current_version = version
    question.save(update_fields=["current_version"])


def _choice(keys_right: set[str], texts: list[str]) -> list[dict]:
    return [{"key": key, "text": text, "correct": key in keys_right} for key, text in zip("ABCD", texts, strict=False)]


def _product_bank(product) -> tuple[QuestionCategory, int]:
    root, _ = QuestionCategory.objects.get_or_create(parent=None, name="产品知识", defaults={"kind": "product"})
    category, made = QuestionCategory.objects.get_or_create(
        parent=root, name=product.name, defaults={"kind": "product", "product": product,
                                                  "therapy_area": product.therapy_area})
    if not made:
        return category, 0
    generic = product.generic_name or product.name
    for i in range(15):
        difficulty = 1 + i % 3
        if i % 4 == 0:
            question = Question.objects.create(category=category, kind=QuestionKind.TRUE_FALSE, difficulty=difficulty)
            _version(question, f"{product.name}的通用名是{generic}。", options=TRUE_FALSE_TRUE,
                     explanation="见说明书。")
        elif i % 4 == 1:
            question = Question.objects.create(category=category, kind=QuestionKind.FILL_IN, difficulty=difficulty)
            _version(question, f"{product.name}的通用名是____。", accepted=[generic], explanation="见说明书。")
        elif i % 4 == 2:
            question = Question.objects.create(category=category, kind=QuestionKind.MULTIPLE, difficulty=difficulty)
            _version(question, f"关于{product.name}，以下哪些做法符合说明书？（第{i + 1}题）",
                     options=_choice({"A", "C"}, ["按说明书剂量用药", "超说明书推广", "关注禁忌症", "忽略不良反应"]),
                     explanation="推广只能基于经批准的说明书。")
        else:
            question = Question.objects.create(category=category, kind=QuestionKind.SINGLE, difficulty=difficulty)
            _version(question, f"{product.name}属于哪一治疗领域？（第{i + 1}题）",
                     options=_choice({"A"}, [product.therapy_area.name if product.therapy_area else "内科",
                                             "眼科", "皮肤科", "口腔科"]),
                     explanation="见产品资料。")
    return category, 15


def _compliance_bank() -> tuple[QuestionCategory, int]:
    root, made = QuestionCategory.objects.get_or_create(parent=None, name="合规",
                                                        defaults={"kind": CompetencyKind.COMPLIANCE})
    if not made:
        return root, 0
    created = 0
    for t, topic in enumerate(TOPICS):
        sub = QuestionCategory.objects.create(parent=root, name=topic, kind=CompetencyKind.COMPLIANCE)
        for i in range(20):
            rule, allowed = COMPLIANCE_RULES[(t * 20 + i) % len(COMPLIANCE_RULES)]
            n = t * 20 + i + 1
            if i % 2 == 0:
                question = Question.objects.create(category=sub, kind=QuestionKind.TRUE_FALSE, difficulty=1 + i % 3)
                _version(question, f"（{topic}·{n}）医药代表可以{rule}。",
                         options=[{"key": "T", "text": "正确", "correct": allowed},
                                  {"key": "F", "text": "错误", "correct": not allowed}],
                         explanation="允许。" if allowed else "禁止：违反反商业贿赂与推广合规要求。")
            else:
                question = Question.objects.create(category=sub, kind=QuestionKind.SINGLE, difficulty=1 + i % 3)
                _version(question, f"（{topic}·{n}）遇到“{rule}”的要求，医药代表应当：",
                         options=_choice({"A"} if allowed else {"B"}, ANSWERS_TO_REQUESTS),
                         explanation="按制度执行并留存证据。" if allowed else "应拒绝并报告合规部门。")
            created += 1
    return root, created


def _course(index, *, slug, title, summary, product=None, exam=None, lessons=(), minutes=45) -> bool:
    from cms.pages.demo import demo_review_and_publish  # cms's demo takes pages through the review workflow

    if index.get_children().filter(slug=slug).exists():
        return False
    course = CoursePage(title=title, slug=slug, summary=summary, product=product, final_exam=exam,
                        therapy_area=product.therapy_area if product else None, estimated_minutes=minutes,
                        completion_rule=CompletionRule.LESSONS_AND_EXAM)
    index.add_child(instance=course)
    pages = [course]
    for n, (lesson_title, body) in enumerate(lessons, start=1):
        lesson = LessonPage(title=lesson_title, slug=f"lesson-{n}", estimated_minutes=15, body=[
            ("rich_text", body),
            ("knowledge_check", {"question": f"本课“{lesson_title}”的要点是否只能基于经批准的资料？",
                                 "choices": [{"text": "是", "correct": True}, {"text": "否", "correct": False}],
                                 "explanation": "推广与培训只能基于经批准的资料。"}),
        ])
        course.add_child(instance=lesson)
        pages.append(lesson)
    for page in pages:
        if product is not None:
            demo_review_and_publish(page)
        else:
            page.save_revision().publish()
    return True


@transaction.atomic
@demo_seeder(order=110)
def seed_learning() -> Counter:
    """The course index, the question bank, the exams and the three demo courses."""
    created = Counter()
    home = HomePage.objects.first()
    if home is None:
        return created
    index = CourseIndexPage.objects.first()
    if index is None:
        index = CourseIndexPage(title="学习中心", slug="courses", intro="<p>产品与合规培训课程。</p>")
        home.add_child(instance=index)
        index.save_revision().publish()
        created["course index"] += 1
    for product in Product.objects.select_related("therapy_area").order_by("pk")[:2]:
        category, made = _product_bank(product)
        created["questions"] += made
        exam = Exam.objects.filter(title=f"{product.name}产品知识考试").first()
        if exam is None:
            exam = Exam.objects.create(title=f"{product.name}产品知识考试", time_limit_minutes=20, pass_mark_percent=80,
                                       attempts_allowed=3, delay_minutes=10)
            ExamDraw.objects.create(exam=exam, category=category, count=10)
            created["exams"] += 1
        generic = product.generic_name or product.name
        created["courses"] += _course(
            index, slug=f"product-{product.pk}", title=f"{product.name}产品培训", product=product, exam=exam,
            summary=f"{product.name}（{generic}）的适应症、证据与安全性。",
            lessons=[(t, b.format(product=product.name, generic=generic)) for t, b in LESSONS["product"]])
    compliance, made = _compliance_bank()
    created["questions"] += made
    exam = Exam.objects.filter(title="年度合规考试").first()
    if exam is None:
        exam = Exam.objects.create(title="年度合规考试", time_limit_minutes=30, pass_mark_percent=80,
                                   attempts_allowed=3, delay_minutes=60, review_mode="after_submit")
        ExamDraw.objects.create(exam=exam, category=compliance, count=30, include_subcategories=True)
        created["exams"] += 1
    created["courses"] += _course(index, slug="rep-rules", title="医药代表合规培训", exam=exam, minutes=60,
                                  summary="反商业贿赂、学术会议合规与医药代表备案。", lessons=LESSONS["rules"])
    return created
