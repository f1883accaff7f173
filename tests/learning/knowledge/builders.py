"""Builders for the knowledge-base tests (not a test module)."""

import itertools

from cms.pages.models import HomePage, Product
from learning.knowledge.models import KnowledgeEntryPage, KnowledgeIndexPage, KnowledgeKind
from tests.cms.factories import approve_and_publish

_counter = itertools.count()


def knowledge_index() -> KnowledgeIndexPage:
    existing = KnowledgeIndexPage.objects.first()
    if existing is not None:
        return existing
    index = KnowledgeIndexPage(title="知识库", slug="knowledge")
    HomePage.objects.get().add_child(instance=index)
    index.save_revision().publish()
    return index


def product(name: str = "糖稳宁", generic: str = "达格列净片") -> Product:
    return Product.objects.get_or_create(name=name, defaults={"generic_name": generic})[0]


def make_entry(*, title="达格列净会引起低血糖吗？", body="<p>单药治疗时低血糖风险低。</p>", kind=KnowledgeKind.FAQ,
               product_=None, summary="单药低血糖风险低", publish=True) -> KnowledgeEntryPage:
    entry = KnowledgeEntryPage(title=title, slug=f"entry-{next(_counter)}", product=product_ or product(), kind=kind,
                               summary=summary, body=body)
    knowledge_index().add_child(instance=entry)
    if publish:
        return approve_and_publish(entry)
    return entry
