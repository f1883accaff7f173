"""The e-learning API under /api/v1/learning/: mounts each area's router."""

from ninja import Router

router = Router(tags=["learning"])
router.add_router("", "learning.courses.api.router")
router.add_router("", "learning.exams.api.router")
router.add_router("", "learning.assignments.api.router")
router.add_router("", "learning.certificates.api.router")
