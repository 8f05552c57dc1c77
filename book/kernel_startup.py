"""Run at the start of every kernel that executes a lesson for the book (IPython's startup
folder, through IPYTHONDIR; book/build.py sets it up). Not part of the course otherwise.

A tqdm progress bar in a notebook is a widget: a web page, with no kernel, would show it as
it was first drawn, at 0%. Here a bar is one line of text on stdout, written when it ends
(none for a bar made with leave=False), which the page shows as it ended.
"""

import sys

import tqdm.auto
import tqdm.std


class _TextBar(tqdm.std.tqdm):
    def __init__(self, *args, file=None, **kwargs):
        self._ended = False
        super().__init__(*args, file=file or sys.stdout, **kwargs)

    def display(self, *args, **kwargs):
        return super().display(*args, **kwargs) if self._ended else True

    def close(self):
        self._ended = True
        super().close()


tqdm.auto.tqdm = _TextBar
tqdm.auto.trange = lambda *args, **kwargs: _TextBar(range(*args), **kwargs)
