"""Reading one inbound e-mail (pure: bytes in, `Parsed` out; no database, no IMAP).

Mail from customers in China is often encoded loosely: GB2312-labelled text that uses GBK characters,
raw 8-bit GBK headers without RFC 2047, unknown or missing charsets. Every text is decoded with the
declared charset (GB2312 and GBK read as their superset GB18030), then UTF-8, then GB18030, and
never fails: a wrong guess costs some characters, not the mail.

The text is the message's inline text/plain parts, else its HTML parts turned into text. Files (parts
with a file name, and attached messages as .eml) are kept as attachments. `auto` says why a mail
must not become customer work: an auto-reply, a bounce, a mailing list, or kefu's own mail.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

import nh3

from kefu.tickets.formvalues import Invalid, clean_email

# Labels that mean a subset of GB18030 (mail clients label GBK text as GB2312 all the time).
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "euc-cn": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
}
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,290}>")
_SERIAL = re.compile(r"\[([A-Z][A-Z0-9]{0,9}-\d{8}-\d{4,})\]")
_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_LIST_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_DROP_HTML = re.compile(r"<(head|style|script|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BREAK_HTML = re.compile(r"<(?:br|hr|/?(?:p|div|li|tr|h[1-6]|blockquote|table|pre))\b[^>]*>", re.IGNORECASE)
# Where quoted history starts in a reply (Gmail, Outlook, Foxmail / QQ Mail, NetEase, Apple Mail).
_QUOTE_STARTS = (
    re.compile(r"^-{2,}\s*(original message|forwarded message|原始邮件|转发邮件|回复的原邮件)\s*-{2,}", re.I),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^on\b.{0,200}\bwrote:\s*$", re.I),
    re.compile(r"^在\s?.{0,200}(写道|wrote)\s*[:：]\s*$"),
    re.compile(r"^(from|发件人)\s*[:：].{0,300}$", re.I),
)
MAX_TEXT = 100_000


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Parsed:
    message_id: str  # the Message-ID, or a stable one made from the bytes when it has none
    from_name: str = ""
    from_address: str = ""  # a valid address, or "" when the mail has none
    subject: str = ""
    text: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    attachments: list[Attachment] = field(default_factory=list)
    auto: str = ""  # why the mail is not customer work (empty: it is)

    @property
    def thread(self) -> list[str]:
        """The Message-IDs this mail answers, the nearest first."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))

    @property
    def serials(self) -> list[str]:
        """Ticket serials quoted in brackets in the subject: "Re: [TS-20261122-000123] …"."""
        return list(dict.fromkeys(_SERIAL.findall(self.subject)))


def synthetic_id(raw: bytes) -> str:
    """A stable Message-ID for a mail without one: the same bytes give the same id."""
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"


def charset(name: str | None) -> str | None:
    """A codec for a declared charset (GB2312 / GBK as GB18030), or None when unknown."""
    label = (name or "").strip().strip('"').lower()
    if not label:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        codecs.lookup(label)
    except LookupError:
        return None
    return label


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Text of `data`: the declared charset, else UTF-8, else GB18030; never raises."""
    for candidate in dict.fromkeys([charset(declared), "utf-8", "gb18030"]):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace")


def header_text(raw: str | None) -> str:
    """A header's text: RFC 2047 words decoded with forgiving charsets, raw 8-bit bytes guessed."""
    if not raw:
        return ""
    value = str(raw)
    if any("\udc80" <= c <= "\udcff" for c in value):  # raw 8-bit bytes kept as surrogates
        value = decode_bytes(value.encode("utf-8", "surrogateescape"))
    value = re.sub(r"\r?\n[ \t]+", " ", value).replace("\r", "").replace("\n", " ")
    try:
        parts = decode_header(value)
    except Exception:  # a malformed encoded word: keep the header as it stands
        return value.strip()
    pieces = []
    for part, declared in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif declared is None:
            pieces.append(part.decode("raw-unicode-escape", errors="replace"))
        else:
            pieces.append(decode_bytes(part, declared))
    return "".join(pieces).strip()


def _raw_header(mail: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in mail.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def _has(mail: Message, name: str) -> bool:
    return _raw_header(mail, name) is not None


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MESSAGE_ID.findall(header_text(value))))


def html_to_text(markup: str) -> str:
    """The text of an HTML mail: one line per block, scripts, styles and the head left out."""
    markup = _BREAK_HTML.sub("\n", _DROP_HTML.sub("", markup))
    return tidy(html.unescape(nh3.clean(markup, tags=set())))


def tidy(text: str) -> str:
    """Line ends unified, trailing blanks and runs of empty lines removed."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    joined = re.sub(r"\n{3,}", "\n\n", "\n".join(lines).replace("\xa0", " "))
    return joined.strip()[:MAX_TEXT]


def strip_quoted(text: str) -> str:
    """A reply without the history it quotes (from the first quote marker on, and "> " lines).
    The whole text when that would leave nothing."""
    kept: list[str] = []
    for line in text.split("\n"):
        bare = line.strip()
        if any(pattern.match(bare) for pattern in _QUOTE_STARTS) and any(k.strip() for k in kept):
            break
        if bare.startswith(">"):
            continue
        kept.append(line)
    result = tidy("\n".join(kept))
    return result or text


def _leaves(mail: Message) -> list[Message]:
    """The message's leaf parts in order; an attached message counts as one leaf (kept as .eml)."""
    if mail.get_content_maintype() == "message" and mail.get_content_subtype() == "rfc822":
        return [mail]
    if not mail.is_multipart():
        return [mail]
    found: list[Message] = []
    payload = mail.get_payload()
    for part in payload if isinstance(payload, list) else []:
        if isinstance(part, Message):
            found.extend(_leaves(part))
    return found


def _filename(part: Message) -> str:
    for raw in (part.get_param("filename", header="content-disposition"), part.get_param("name")):
        if raw:
            if isinstance(raw, tuple):  # RFC 2231: (charset, language, value)
                value = raw[2]
                data = value.encode("latin-1", "replace") if isinstance(value, str) else bytes(value)
                return header_text(decode_bytes(data, raw[0]))
            return header_text(str(raw))
    return ""


def _disposition(part: Message) -> str:
    value = _raw_header(part, "Content-Disposition") or ""
    return value.split(";")[0].strip().lower()


def _payload_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    return decode_bytes(data, declared)


def _attachment(part: Message, name: str) -> Attachment | None:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        message = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(message, Message):
            return None
        subject = header_text(_raw_header(message, "Subject")) or "message"
        return Attachment(name or f"{subject[:80]}.eml", "message/rfc822", message.as_bytes())
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return None
    return Attachment(name or "attachment", part.get_content_type(), data)


def _auto(mail: Message, address: str) -> str:
    """Why the mail is not from a person writing to us (empty: it is)."""
    submitted = header_text(_raw_header(mail, "Auto-Submitted")).lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {submitted}"
    if _has(mail, "X-Kefu-Message"):
        return "sent by kefu itself (X-Kefu-Message)"
    precedence = header_text(_raw_header(mail, "Precedence")).lower()
    if precedence in _LIST_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _has(mail, name):
            return f"{name} header"
    if address.partition("@")[0].lower() in _DAEMONS:
        return f"from {address}"
    if mail.get_content_type() == "multipart/report":
        return "delivery report (multipart/report)"
    return ""


def parse(raw: bytes) -> Parsed:
    """Read a mail as fetched; never raises on malformed content (what cannot be read is left out)."""
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    ids = _ids(_raw_header(mail, "Message-ID"))
    parsed = Parsed(message_id=ids[0] if ids else synthetic_id(raw))
    parsed.subject = header_text(_raw_header(mail, "Subject"))
    found = getaddresses([header_text(_raw_header(mail, "From"))])
    name, address = found[0] if found else ("", "")
    try:
        parsed.from_address = clean_email(address)
    except Invalid:
        parsed.from_address = ""
    parsed.from_name = name.strip()[:100]
    parsed.in_reply_to = _ids(_raw_header(mail, "In-Reply-To"))
    parsed.references = _ids(_raw_header(mail, "References"))[-50:]
    parsed.auto = _auto(mail, parsed.from_address)
    plain: list[str] = []
    markup: list[str] = []
    for part in _leaves(mail):
        name = _filename(part)
        kind = part.get_content_type()
        if not name and _disposition(part) != "attachment" and kind in ("text/plain", "text/html"):
            (plain if kind == "text/plain" else markup).append(_payload_text(part))
            continue
        if name or kind == "message/rfc822" or _disposition(part) == "attachment":
            found_file = _attachment(part, name)
            if found_file is not None:
                parsed.attachments.append(found_file)
    if any(p.strip() for p in plain):
        parsed.text = tidy("\n\n".join(p for p in plain if p.strip()))
    else:
        parsed.text = tidy("\n\n".join(html_to_text(m) for m in markup))
    return parsed
