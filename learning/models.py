# Courses, question banks, exams and certificates arrive with the e-learning issue.
