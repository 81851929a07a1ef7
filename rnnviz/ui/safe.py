"""Text that came from a user (a link, a file name, an upload's content, an error quoting either) shown inside
Markdown: escaped so that it stays text. No bold, links, images or raw HTML from user input reach the page."""
from __future__ import annotations

import re

MAX_ECHO = 80  # characters of a user's value a message repeats; the rest is cut with an ellipsis
MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'])")  # every ASCII character Markdown or HTML could read


def plain(text: object, limit: int | None = None) -> str:
    """`text` escaped for st.markdown / st.error / st.caption (a backslash before each markup character), and,
    with `limit`, cut to that many characters first. Newlines become spaces: a message stays one paragraph."""
    s = " ".join(str(text).split())
    if limit is not None and len(s) > limit:
        s = s[:limit - 1] + "…"
    return MARKDOWN.sub(r"\\\1", s)
