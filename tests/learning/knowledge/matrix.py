"""The knowledge base's and SCORM lessons' objects for the role × surface matrix (not a test module): called by
tests/engage/core/test_role_matrix.py while it builds its world."""

import io
import uuid


def knowledge_scorm_world(*, users, patcher, tmp) -> dict:
    from django.core.files.storage import storages

    from engage.core.storage import PrivateFileSystemStorage
    from learning.knowledge.services import question_ask
    from learning.scorm.exporters import scorm_sample_package
    from learning.scorm.services import scorm_package_upload
    from tests.learning.exam_builders import make_course
    from tests.learning.knowledge.builders import knowledge_index, make_entry

    storages["private"]  # load the handler's cache, then point the private storage at tmp
    patcher.setitem(storages._storages, "private", PrivateFileSystemStorage(location=tmp / "private-scorm"))
    index = knowledge_index()
    entry = make_entry()
    question, _created = question_ask(actor=users["rep"], question="矩阵测试问题", client_token=uuid.uuid4())
    lesson = make_course(lessons=1).get_children().first()
    package = scorm_package_upload(actor=users["admin"], upload=io.BytesIO(scorm_sample_package()),
                                   lesson_id=lesson.pk)
    return {"knowledge_index_url": index.url, "knowledge_entry_url": entry.url, "knowledge_question": question.pk,
            "scorm_package": package.pk}
