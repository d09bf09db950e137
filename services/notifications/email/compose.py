"""The e-mail of one inbox item. Pure.

It says exactly what the inbox item says (title, kind, a link to the record; nothing from a
支援会議 beyond "there is an item"), so a mailbox never holds more than its owner may read in
tsunagu. The subject is Japanese: the standard library's SMTP policy encodes it (RFC 2047,
UTF-8 encoded-words) and the bodies (plain text and HTML alternatives) as UTF-8.
"""

from __future__ import annotations

import html
import uuid
from email.message import EmailMessage
from email.utils import format_datetime

from ..domain import Message

SUBJECT_PREFIX = "【つなぐ】"


def compose(msg: Message, email_id: uuid.UUID, sender: str, to: str, base_url: str) -> EmailMessage:
    link = base_url.rstrip("/") + msg.link
    mail = EmailMessage()
    mail["Subject"] = SUBJECT_PREFIX + msg.title
    mail["From"] = sender
    mail["To"] = to
    mail["Date"] = format_datetime(msg.created_at)
    # The same id on a resend after a crash: a mail client shows it once.
    mail["Message-ID"] = f"<{email_id}@tsunagu>"
    text = f"{msg.title}\n\n{msg.body}\n\n種類: {msg.kind}\n{link}\n\n" \
           "このメールはつなぐから自動送信されています。詳細はつなぐでご確認ください。\n"
    mail.set_content(text, charset="utf-8")
    mail.add_alternative(
        f"<html><body><p><strong>{html.escape(msg.title)}</strong></p><p>{html.escape(msg.body)}</p>"
        f"<p>種類: {html.escape(msg.kind)}</p><p><a href=\"{html.escape(link)}\">つなぐで開く</a></p>"
        "<p>このメールはつなぐから自動送信されています。</p></body></html>", subtype="html", charset="utf-8")
    return mail
