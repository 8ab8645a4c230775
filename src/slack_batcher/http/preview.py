"""Block Kit → HTML: how a Slack message will look, for the dashboard and ``preview``.

It renders the blocks slack-batcher and common integrations use (header, section with text,
fields and accessory, context, divider, image, actions, rich_text as plain text) and Slack's
mrkdwn (``*bold*``, ``_italic_``, ``~strike~``, ``` `code` ```, fenced blocks, ``<url|label>``
links, ``<@U1>`` / ``<#C1>`` / ``<!here>`` mentions, ``&amp;`` entities, ``> quotes``).

Safety: every piece of message text is HTML-escaped before any markup is added, the markup
added is a fixed set of tags, and only ``http``, ``https`` and ``mailto`` URLs become links or
images. Text from a message therefore cannot inject HTML or script into the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..formatting.message import SlackMessage

__all__ = ["EMOJI", "PREVIEW_CSS", "mrkdwn_to_html", "render_message", "render_page", "safe_url"]

_FENCE = re.compile(r"```(.*?)```", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_ANGLE = re.compile(r"<([^<>\n]*)>")
_EMPHASIS = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "s"),
)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_STASH_OPEN, _STASH_CLOSE = "\ue000", "\ue001"
_STASHED = re.compile("\ue000(\\d+)\ue001")
_EMOJI_CODE = re.compile(r":([a-z0-9_+\-]+):")
#: Shortcodes the built-in formatters use, and a few common ones; others stay as text.
EMOJI = {
    "bell": "🔔",
    "construction": "🚧",
    "gear": "⚙️",
    "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "large_green_circle": "🟢",
    "red_circle": "🔴",
    "rocket": "🚀",
    "rotating_light": "🚨",
    "spiral_note_pad": "🗒️",
    "ticket": "🎫",
    "twisted_rightwards_arrows": "🔀",
    "white_check_mark": "✅",
    "x": "❌",
    "warning": "⚠️",
    "tada": "🎉",
    "eyes": "👀",
    "memo": "📝",
    "bug": "🐛",
    "fire": "🔥",
    "speech_balloon": "💬",
    "hourglass_flowing_sand": "⏳",
}
_SPECIAL_MENTIONS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def _slack_unescape(text: str) -> str:
    """Undo Slack's three entities; the result is raw text (HTML-escape it before output)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(raw: str) -> str:
    """HTML for a run of plain mrkdwn text: escaped, emoji shortcodes, emphasis tags."""
    escaped = html.escape(_slack_unescape(raw), quote=False)
    escaped = _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)
    for pattern, tag in _EMPHASIS:
        escaped = pattern.sub(rf"<{tag}>\1</{tag}>", escaped)
    return escaped


def safe_url(url: str) -> str | None:
    """Return *url* (Slack entities undone) if it is http(s) or mailto, else None."""
    url = _slack_unescape(url.strip())
    if url.lower().startswith(_SAFE_SCHEMES) and not any(c in url for c in "\"'<> \n\t"):
        return url
    return None


def _angle(inner: str) -> str:
    """HTML for a ``<…>`` token: a link, a user / channel mention or a special mention."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f'<span class="sb-mention">@{_text(label or target[1:])}</span>'
    if target.startswith("#"):
        return f'<span class="sb-mention">#{_text(label or target[1:])}</span>'
    if target.startswith("!"):
        name = target[1:].split("^")[0]
        shown = _SPECIAL_MENTIONS.get(name, label or name)
        return f'<span class="sb-mention">{html.escape(shown, quote=False)}</span>'
    url = safe_url(target)
    shown = _text(label) if label else html.escape(_slack_unescape(target), quote=False)
    if url is None:
        return shown
    href = html.escape(url, quote=True)
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{shown}</a>'


def _inline(raw: str) -> str:
    """HTML for one line: code spans and ``<…>`` tokens are set aside, then emphasis applies.

    Setting them aside lets ``*<url|label>*`` (a bold link) render, and keeps mrkdwn inside
    code literal. The placeholders use private-use characters removed from the input first.
    """
    raw = raw.replace(_STASH_OPEN, "\ufffd").replace(_STASH_CLOSE, "\ufffd")
    stashed: list[str] = []

    def stash(fragment: str) -> str:
        stashed.append(fragment)
        return f"{_STASH_OPEN}{len(stashed) - 1}{_STASH_CLOSE}"

    raw = _INLINE_CODE.sub(
        lambda m: stash(f"<code>{html.escape(_slack_unescape(m.group(1)), quote=False)}</code>"),
        raw,
    )
    raw = _ANGLE.sub(lambda m: stash(_angle(m.group(1))), raw)
    return _STASHED.sub(lambda m: stashed[int(m.group(1))], _text(raw))


def _quotes_and_breaks(raw: str) -> str:
    lines: list[str] = []
    for line in raw.split("\n"):
        for marker in ("&gt; ", "> "):
            if line.startswith(marker):
                lines.append(f'<span class="sb-quote">{_inline(line[len(marker) :])}</span>')
                break
        else:
            lines.append(_inline(line))
    return "<br>".join(lines)


def mrkdwn_to_html(text: str) -> str:
    """Render Slack mrkdwn *text* as safe HTML (see the module docstring for the syntax)."""
    parts: list[str] = []
    position = 0
    for match in _FENCE.finditer(text):
        parts.append(_quotes_and_breaks(text[position : match.start()]))
        code = html.escape(_slack_unescape(match.group(1).strip("\n")), quote=False)
        parts.append(f"<pre>{code}</pre>")
        position = match.end()
    parts.append(_quotes_and_breaks(text[position:]))
    return "".join(parts)


def _text_object(obj: object) -> str:
    """HTML for a Block Kit text object (``plain_text`` escaped, ``mrkdwn`` rendered)."""
    if isinstance(obj, str):
        return html.escape(obj, quote=False)
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_html(text)
    return html.escape(text, quote=False).replace("\n", "<br>")


def _image(url: object, alt: object, css: str) -> str:
    safe = safe_url(url) if isinstance(url, str) else None
    label = html.escape(str(alt or "image"), quote=True)
    if safe is None:
        return f'<span class="{css} sb-missing">[{label}]</span>'
    return f'<img class="{css}" src="{html.escape(safe, quote=True)}" alt="{label}">'


def _element(element: object) -> str:
    """HTML for a context or actions element, or a section accessory."""
    if not isinstance(element, Mapping):
        return ""
    kind = element.get("type")
    if kind == "image":
        return _image(element.get("image_url"), element.get("alt_text"), "sb-icon")
    if kind == "button":
        label = _text_object(element.get("text"))
        url = safe_url(str(element.get("url", "")))
        if url is None:
            return f'<span class="sb-button">{label}</span>'
        href = html.escape(url, quote=True)
        return f'<a class="sb-button" href="{href}" rel="noopener noreferrer">{label}</a>'
    if kind in ("mrkdwn", "plain_text"):
        return f"<span>{_text_object(element)}</span>"
    return f'<span class="sb-unknown">[{html.escape(str(kind), quote=False)}]</span>'


def _rich_text(block: Mapping[str, Any]) -> str:
    """Plain rendering of a rich_text block: the text of every element, escaped."""
    pieces: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, Mapping):
            if isinstance(node.get("text"), str):
                pieces.append(node["text"])
            elif node.get("type") == "link" and isinstance(node.get("url"), str):
                pieces.append(node["url"])
            for child in node.get("elements", []) or []:
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(block.get("elements", []))
    return html.escape("".join(pieces), quote=False).replace("\n", "<br>")


def _block(block: object) -> str:
    if not isinstance(block, Mapping):
        return ""
    kind = block.get("type")
    if kind == "header":
        return f'<div class="sb-header">{_text_object(block.get("text"))}</div>'
    if kind == "section":
        body = f'<div class="sb-text">{_text_object(block.get("text"))}</div>'
        fields = block.get("fields") or []
        if fields:
            cells = "".join(f'<div class="sb-field">{_text_object(f)}</div>' for f in fields)
            body += f'<div class="sb-fields">{cells}</div>'
        accessory = block.get("accessory")
        side = f'<div class="sb-accessory">{_element(accessory)}</div>' if accessory else ""
        return f'<div class="sb-section"><div class="sb-main">{body}</div>{side}</div>'
    if kind == "context":
        items = "".join(_element(e) for e in block.get("elements") or [])
        return f'<div class="sb-context">{items}</div>'
    if kind == "divider":
        return '<hr class="sb-divider">'
    if kind == "image":
        title = _text_object(block.get("title")) if block.get("title") else ""
        picture = _image(block.get("image_url"), block.get("alt_text"), "sb-image")
        return f'<div class="sb-image-block">{title}{picture}</div>'
    if kind == "actions":
        items = "".join(_element(e) for e in block.get("elements") or [])
        return f'<div class="sb-actions">{items}</div>'
    if kind == "rich_text":
        return f'<div class="sb-text">{_rich_text(block)}</div>'
    return f'<div class="sb-unknown">[{html.escape(str(kind), quote=False)} block]</div>'


def _as_payload(message: SlackMessage | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(message, SlackMessage):
        return message.to_dict()
    return dict(message)


def render_message(
    message: SlackMessage | Mapping[str, Any], *, sender: str = "slack-batcher"
) -> str:
    """Return an HTML fragment showing *message* (a SlackMessage or a chat.postMessage payload).

    Continuation pages of a SlackMessage are shown below it as thread replies.
    """
    payload = _as_payload(message)
    blocks = payload.get("blocks") or []
    if blocks:
        body = "".join(_block(b) for b in blocks)
    else:
        body = f'<div class="sb-text">{mrkdwn_to_html(str(payload.get("text", "")))}</div>'
    fallback = html.escape(str(payload.get("text", "")), quote=True)
    name = html.escape(sender, quote=False)
    out = (
        f'<div class="sb-message" title="{fallback}">'
        f'<div class="sb-avatar">SB</div><div class="sb-content">'
        f'<div class="sb-sender">{name} <span class="sb-app">APP</span></div>{body}</div></div>'
    )
    replies = payload.get("continuations") or []
    if replies:
        thread = "".join(render_message(page, sender=sender) for page in replies)
        out += f'<div class="sb-thread">{thread}</div>'
    return out


PREVIEW_CSS = """
.sb-message{display:flex;gap:8px;padding:8px 12px;font:15px/1.46 -apple-system,"Segoe UI",
Roboto,Helvetica,Arial,sans-serif;color:#1d1c1d;background:#fff}
.sb-avatar{flex:none;width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;
font-weight:700;display:flex;align-items:center;justify-content:center;font-size:13px}
.sb-content{min-width:0;flex:1}
.sb-sender{font-weight:900}.sb-app{font-size:10px;background:#ddd;border-radius:2px;
padding:0 3px;color:#555;font-weight:700}
.sb-header{font-size:18px;font-weight:900;margin:4px 0}
.sb-section{display:flex;gap:8px;margin:4px 0}.sb-main{flex:1;min-width:0}
.sb-text{white-space:normal;overflow-wrap:anywhere}
.sb-fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin-top:4px}
.sb-context{display:flex;gap:6px;align-items:center;font-size:13px;color:#616061;margin:4px 0}
.sb-icon{width:16px;height:16px;border-radius:3px}.sb-image{max-width:360px;border-radius:6px}
.sb-divider{border:0;border-top:1px solid #ddd;margin:8px 0}
.sb-actions{display:flex;gap:8px;margin:6px 0}
.sb-button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:2px 10px;
font-size:13px;font-weight:700;color:#1d1c1d;text-decoration:none}
.sb-message a{color:#1264a3;text-decoration:none}
.sb-mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
.sb-message code{font:12px Menlo,Consolas,monospace;background:#f6f6f6;border:1px solid #ddd;
border-radius:3px;padding:0 3px;color:#e01e5a}
.sb-message pre{font:12px Menlo,Consolas,monospace;background:#f6f6f6;border:1px solid #ddd;
border-radius:4px;padding:8px;white-space:pre-wrap;margin:4px 0}
.sb-quote{display:inline-block;border-left:4px solid #ddd;padding-left:8px}
.sb-thread{margin-left:44px;border-left:2px solid #e8e8e8}
.sb-unknown,.sb-missing{color:#999;font-style:italic}
"""


def render_page(
    sections: Iterable[tuple[str, Iterable[SlackMessage | Mapping[str, Any]]]],
    *,
    title: str = "Slack preview",
) -> str:
    """Return a standalone HTML page: one titled section (a channel, say) per entry."""
    body: list[str] = []
    for heading, messages in sections:
        rendered = "".join(f'<div class="sb-post">{render_message(m)}</div>' for m in messages)
        body.append(
            f'<section class="sb-channel"><h2>{html.escape(heading, quote=False)}</h2>'
            f"{rendered}</section>"
        )
    safe_title = html.escape(title, quote=False)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{safe_title}</title><style>{PREVIEW_CSS}"
        "body{margin:0;background:#f8f8f8;font-family:sans-serif}"
        "h1{padding:16px 24px;margin:0;background:#3f0e40;color:#fff;font-size:20px}"
        ".sb-channel{max-width:820px;margin:16px auto;background:#fff;border:1px solid #ddd;"
        "border-radius:8px}.sb-channel h2{margin:0;padding:10px 16px;font-size:16px;"
        "border-bottom:1px solid #eee}.sb-post{border-bottom:1px solid #f0f0f0}"
        f"</style></head><body><h1>{safe_title}</h1>{''.join(body)}</body></html>\n"
    )
