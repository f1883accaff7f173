"""Chinese-aware text segmentation for the content search.

Why our own index rather than Wagtail's database search backend: that backend (PostgreSQL full-text search,
SQLite FTS) splits text on spaces and punctuation, so a Chinese sentence is one "word" and "血糖" never matches
"控制血糖的药物". Here jieba segments the text; every term with its weight is stored in one ordinary table
(cms.ContentSearchTerm), and a query is answered with an indexed `term IN (...)` lookup ranked by tf-idf in SQL.
It needs no database extension, so SQLite (the embedded default) and PostgreSQL give the same results and ranks.
"""

import math
import re
import threading
from collections import Counter

import jieba

MAX_QUERY_LENGTH = 200
MAX_QUERY_TERMS = 12
MAX_TERM_LENGTH = 64
# Terms of the trade jieba's general dictionary splits apart ("二甲双胍" -> 二甲/双/胍).
MEDICAL_TERMS = [
    "二甲双胍", "达格列净", "恩格列净", "卡格列净", "司美格鲁肽", "利拉鲁肽", "度拉糖肽", "西格列汀", "格列美脲",
    "胰岛素", "糖化血红蛋白", "糖尿病肾病", "抑制剂", "受体激动剂", "他汀", "阿托伐他汀", "瑞舒伐他汀",
    "依折麦布", "替格瑞洛", "氯吡格雷", "沙库巴曲缬沙坦", "心力衰竭", "心房颤动", "高血压", "冠心病",
    "免疫检查点", "帕博利珠单抗", "纳武利尤单抗", "奥希替尼", "非小细胞肺癌", "靶向治疗", "免疫治疗",
]


# Words too common to say anything about relevance.
STOP_TERMS = frozenset(
    "的 了 和 与 及 或 在 是 为 对 中 等 有 被 把 将 从 以 于 之 其 并 也 而 但 这 那 个 一 上 下 "
    "a an and or the of in on for to with by is are be as at".split()
)


_WORD = re.compile(r"\w", re.UNICODE)
_lock = threading.Lock()
_ready = False


def _tokenizer() -> jieba.Tokenizer:
    global _ready
    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(60)  # jieba prints its dictionary loading otherwise
                for word in MEDICAL_TERMS:
                    jieba.add_word(word, freq=20000)
                jieba.initialize()
                _ready = True
    return jieba.dt


def _keep(term: str) -> bool:
    return bool(term) and len(term) <= MAX_TERM_LENGTH and term not in STOP_TERMS and bool(_WORD.search(term))


def index_terms(parts: list[tuple[str, float]]) -> dict[str, float]:
    """Weighted terms of a page: jieba's search mode (whole words and their sub-words), 1 + log(tf) per field."""
    tokenizer = _tokenizer()
    weights: dict[str, float] = Counter()
    for text, field_weight in parts:
        if not text:
            continue
        counts = Counter(t.strip().lower() for t in tokenizer.cut_for_search(text))
        for term, count in counts.items():
            if _keep(term):
                weights[term] += field_weight * (1.0 + math.log(count))
    return dict(weights)


def query_terms(query: str | None) -> list[str]:
    """The terms a query must all match, in order, without duplicates. Empty for empty or absurd queries."""
    if not query or len(query) > MAX_QUERY_LENGTH:
        return []
    terms: list[str] = []
    for token in _tokenizer().cut(query):
        term = token.strip().lower()
        if _keep(term) and term not in terms:
            terms.append(term)
    return terms[:MAX_QUERY_TERMS]
