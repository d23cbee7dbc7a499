"""Text shown exactly as it was written inside Gradio's Markdown (the Chatbot bubbles, `gr.Markdown`).

Gradio renders chat bubbles as GitHub-flavoured Markdown: two `~` in one answer («배송은 2~5일, 제주는
5~10일») become a strikethrough and the customer reads «25일 … 510일»; `*`, `_`, a leading `1.` or `#`,
`|` rows, `<b>` and `$$` change the text too. The bubbles still need Markdown for what *we* add (the
agent's name in bold, the sources line, images), so `Chatbot(render_markdown=False)` is no way out: it
would show our own markup raw. Instead every piece of text a person or the bot wrote goes through
`literal()`, which backslash-escapes what Markdown would read as markup (CommonMark: any escaped ASCII
punctuation is shown as itself). Line breaks stay (the Chatbot turns single newlines into breaks).
"""

from __future__ import annotations

import re

# Markup anywhere in a line: emphasis, strikethrough, code, links/images, HTML and entities, tables, maths.
_INLINE = re.compile(r"([\\`*_~\[\]<>&|$])")
# Markup only at the start of a line: headings, quotes, list items, rules, setext underlines, numbered lists.
_LINE_START = re.compile(r"^([ \t]*)([#>+\-=])", re.M)
_NUMBERED = re.compile(r"^([ \t]*\d+)([.)])", re.M)
_INDENT = re.compile(r"^[ \t]+", re.M)


def literal(text: object) -> str:
    """`text` escaped so that Gradio's Markdown shows it character for character."""
    out = _INLINE.sub(r"\\\1", "" if text is None else str(text))
    out = _NUMBERED.sub(r"\1\\\2", out)
    out = _LINE_START.sub(r"\1\\\2", out)
    # four leading spaces would make a code block: indentation is kept as no-break spaces
    return _INDENT.sub(lambda m: "\u00a0" * len(m.group().expandtabs(4)), out)
