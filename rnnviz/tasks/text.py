"""Reading a user's text for the character language model: UTF-8 only, size-limited, with plain errors.

Not the model or the task (language.py); this only turns bytes or a string into clean text, or says why not.
"""
from __future__ import annotations

MAX_TEXT_BYTES = 2_000_000  # 2 MB: far more than a small model reads in a live session
MIN_TEXT_CHARS = 100  # fewer cannot fill a batch of windows worth learning from
MAX_DISTINCT_CHARS = 5000  # an output layer beyond this no longer trains live on two cores

DEFAULT_TEXT = """\
The river keeps no calendar, yet it knows the seasons better than the town that sits on its bank. In spring
it runs brown and loud, carrying the hills down to the sea one cupful at a time. In summer it thins to a
clear thread between warm stones, and children walk across it without getting their knees wet. In autumn
the leaves ride on it like small boats, turning slowly at every bend, and in winter it goes quiet under a
skin of ice that sings when the sun comes up.

The ferryman has crossed it every morning for thirty years. He says the water is never the same twice, but
the crossing always is: forty strokes out, a pause in the middle where the current pulls, forty strokes back.
He counts without thinking, the way a clock counts, and he can tell from the sound of the oars whether the
river is rising or falling. When strangers ask him how deep it is, he answers that it depends on the day,
and on who is asking, and on what they mean to do when they reach the other side.

On market days the boat is full. There are baskets of apples and eggs, a goat that will not stand still, two
sisters who argue about the price of wool, and a student reading a book she holds very close to her face.
Nobody looks at the water. They look at each other, or at the far bank, or at the sky, which is the colour
of an old spoon. Only the ferryman watches the river, because the river is the only thing in the boat that
could change its mind.

In the evening the town lights its lamps one by one, and their reflections stretch across the water like
long yellow ribbons. The ferryman ties the boat, coils the rope, and walks home along the bank. Behind him
the river goes on talking to itself in the dark, repeating the same few words it has always known, never
quite finishing the sentence.
"""


def load_text(data: bytes | bytearray | str) -> str:
    """Clean text from an upload or a string: UTF-8 (a BOM is dropped), newlines as \\n, within the limits."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > MAX_TEXT_BYTES:
            raise ValueError(f"the text is {len(data) / 1e6:.1f} MB; the limit is {MAX_TEXT_BYTES / 1e6:g} MB, "
                             "so use a shorter excerpt")
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ValueError(f"the text is not UTF-8 (byte {e.start} is {data[e.start]:#04x}); "
                             "save it as UTF-8 and try again") from None
    elif isinstance(data, str):
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError as e:
            raise ValueError(f"the text is not valid Unicode (character {e.start} is a lone surrogate); "
                             "save it as UTF-8 and try again") from None
        if size > MAX_TEXT_BYTES:
            raise ValueError(f"the text is {size / 1e6:.1f} MB; the limit is {MAX_TEXT_BYTES / 1e6:g} MB, "
                             "so use a shorter excerpt")
        text = data.removeprefix("\ufeff")
    else:
        raise ValueError(f"text must be a string or UTF-8 bytes, not {type(data).__name__}")
    return check_text(text.replace("\r\n", "\n").replace("\r", "\n"))


def check_text(text: str) -> str:
    if not text.strip():
        raise ValueError(f"the text is empty; give at least {MIN_TEXT_CHARS} characters")
    if len(text) < MIN_TEXT_CHARS:
        raise ValueError(f"the text has only {len(text)} characters; give at least {MIN_TEXT_CHARS}")
    if "\x00" in text:
        raise ValueError("the text contains NUL characters, so it looks like a binary file; give plain text")
    distinct = len(set(text))
    if distinct > MAX_DISTINCT_CHARS:
        raise ValueError(f"the text has {distinct} distinct characters; a character model here allows at most "
                         f"{MAX_DISTINCT_CHARS}")
    return text
