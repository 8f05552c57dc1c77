"""The course's book: a static, executed site of the lessons (``make book``; see build.py)."""
