"""Text that came from a user (a link, a file name, an upload's content, an error quoting either) shown inside
Markdown: escaped so that it stays text. No bold, links, images or raw HTML from user input reach the page."""
from __future__ import annotations

import re

MAX_ECHO = 80  # characters of a user's value a message repeats; the rest is cut with an ellipsis
MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'])")  # every ASCII character Markdown or HTML could read
# Streamlit's Markdown turns bare URLs and e-mail addresses into links after escapes are read (GFM's autolink
# literals: "http://", "www.", "name@host"), so a zero-width space goes where each would start a link
AUTOLINK = re.compile(r"(?i)(:)(?=//)|(www)(?=\.)|(@)")
ZERO_WIDTH_SPACE = "\u200b"


def plain(text: object, limit: int | None = None) -> str:
    """`text` escaped for st.markdown / st.error / st.caption (a backslash before each markup character, and a
    zero-width space inside what would become a link), and, with `limit`, cut to that many characters first.
    Newlines become spaces: a message stays one paragraph."""
    s = " ".join(str(text).split())
    if limit is not None and len(s) > limit:
        s = s[:limit - 1] + "…"
    s = AUTOLINK.sub(lambda m: m.group(0) + ZERO_WIDTH_SPACE, s)
    return MARKDOWN.sub(r"\\\1", s)
