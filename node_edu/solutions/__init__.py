"""Reference answers to the lessons' exercises, one module per lesson (``lesson04``, ...).

Each is a plain function with the same name and signature as the stub in the lesson, so
``ne.checks.solution("04.running_cost")`` can show it and the course's tests can put
its source into the exercise cell and run the lesson with every answer filled in. A
solution uses only names its lesson has imported by then (``torch``, ``ne``, ``math``).
Cells after an exercise call these (or the library function they mirror), never the
student's version, so a lesson runs whatever the student wrote.
"""
