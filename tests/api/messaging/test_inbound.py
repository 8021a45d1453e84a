"""The e-mail channel of tickets: mail fetched from a real IMAP server (pymap) becomes a ticket or is
added to the ticket it answers; auto-replies are ignored; nothing is processed twice; a broken mail
fails alone. Mail to the customer goes through the outbox to a real SMTP server and threads back."""

from __future__ import annotations

import base64
import imaplib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kefu.core import storage
from kefu.customers.contacts.models import ContactRecord, ContactTicket
from kefu.customers.models import CustomerEmail
from kefu.messaging import inbound, inbound_fetch
from kefu.messaging.inbound_parse import parse, strip_quoted
from kefu.messaging.models import InboundEmail, Message
from kefu.notices.models import Notification
from kefu.org.models import DataScope
from kefu.settings import get_settings
from kefu.tickets import presets
from kefu.tickets import service as tickets
from kefu.tickets.models import FormTemplate, TemplateStatus, Ticket, TicketAttachment, TicketLog
from tests.api.messaging.conftest import errors_of

IMAP_USER, IMAP_PASSWORD = "demouser", "demopass"
CUSTOMER_ADDRESS = "Zhang.San@Example.com"  # as stored on the customer; mail comes in other cases
HANDLER = ["tickets.ticket.handle", "messaging.message.send"]


# --- a real IMAP server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def imap_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """pymap's in-memory server (its demo user), for the whole run; each test uses its own folder."""
    port = _free_port()
    output = (tmp_path_factory.mktemp("pymap") / "pymap.log").open("wb")
    command = [str(Path(sys.executable).parent / "pymap"), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen([*command, "--no-tls", "dict", "--demo-data"], stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pymap did not start (exit {server.poll()})") from None
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        output.close()


@dataclass
class Mailbox:
    port: int
    folder: str

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(IMAP_USER, IMAP_PASSWORD)
        assert client.select(inbound_fetch.mailbox_name(self.folder))[0] == "OK"
        return client

    def append(self, *mails: bytes) -> None:
        client = self.client()
        try:
            for raw in mails:
                status, _ = client.append(inbound_fetch.mailbox_name(self.folder), None, None, raw)
                assert status == "OK"
        finally:
            client.logout()

    def unseen(self) -> int:
        client = self.client()
        try:
            return len(inbound_fetch.unseen(client))
        finally:
            client.logout()

    def total(self) -> int:
        client = self.client()
        try:
            _status, data = client.uid("SEARCH", "ALL")
            return len(data[0].split())
        finally:
            client.logout()

    def mark_all_unread(self) -> None:
        client = self.client()
        try:
            _status, data = client.uid("SEARCH", "ALL")
            for uid in data[0].split():
                client.uid("STORE", uid.decode(), "-FLAGS.SILENT", r"(\Seen)")
        finally:
            client.logout()


@pytest.fixture
def mailbox(imap_port: int) -> Mailbox:
    folder = f"Kefu 工单 {uuid.uuid4().hex[:8]}"  # a space and Chinese: quoting and modified UTF-7
    client = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
    client.login(IMAP_USER, IMAP_PASSWORD)
    assert client.create(inbound_fetch.mailbox_name(folder))[0] == "OK"
    client.logout()
    return Mailbox(imap_port, folder)


# --- the desk: a ticket type for e-mail, a handler, the customer with an address ------------------------


@dataclass
class Desk:
    msg: Any
    session: Any
    mailbox: Mailbox
    ticket_type: Any
    handler: Any  # Login: handles the type's tickets and may send
    admin_actor: Any

    def configure(self, **extra: Any) -> None:
        values = {
            "implementation": "log",
            "from_address": "service@kefu.example.com",
            "imap_enabled": "true",
            "imap_host": "127.0.0.1",
            "imap_port": self.mailbox.port,
            "imap_security": "none",
            "imap_username": IMAP_USER,
            "imap_password": IMAP_PASSWORD,
            "imap_folder": self.mailbox.folder,
            "inbound_ticket_type_id": self.ticket_type.id,
            "timeout_seconds": 5,
        }
        self.msg.configure("email", **{**values, **extra})

    def email(self, ticket: Any, who: Any, body: dict[str, Any], *, expect: int = 201) -> Any:
        r = self.msg.client.post(f"/api/v1/tickets/{ticket.id}/email", json=body, headers=who.headers)
        assert r.status_code == expect, r.text
        return r.json()

    def fetch(self) -> inbound_fetch.Report:
        report = inbound_fetch.fetch()
        assert report is not None
        assert not report.error, report.error
        return report

    def tickets(self) -> list[Ticket]:
        self.session.expire_all()
        return list(self.session.scalars(select(Ticket).order_by(Ticket.id)))

    def received(self, message_id: str) -> InboundEmail:
        self.session.expire_all()
        row = self.session.scalars(select(InboundEmail).where(InboundEmail.message_id == message_id)).one()
        return row

    def log(self, ticket: Ticket, action: str = inbound.RECEIVED) -> list[TicketLog]:
        return list(
            self.session.scalars(
                select(TicketLog).where(TicketLog.ticket_id == ticket.id, TicketLog.action == action)
            )
        )


@pytest.fixture
def desk(msg: Any, session: Any, mailbox: Mailbox) -> Desk:
    from kefu.customers.models import Customer

    admin = msg.factory.user(admin=True)
    admin_actor = msg.factory.actor(admin)
    team = msg.factory.department("邮件客服组")
    handler = msg.factory.user(HANDLER, scope=DataScope.OWN, department=team)
    ticket_type = presets.standard_type(
        session, actor=admin_actor, code="EM", name="邮件工单", department_id=team.id
    )
    customer = session.get(Customer, msg.customer_id)
    customer.emails = [CustomerEmail(address=CUSTOMER_ADDRESS, is_primary=True)]
    session.flush()
    found = Desk(msg, session, mailbox, ticket_type, msg.factory.token_login(handler), admin_actor)
    found.configure()
    return found


# --- mails ------------------------------------------------------------------------------------------


def _b64(text: str, charset: str) -> str:
    return base64.b64encode(text.encode(charset)).decode()


def _word(text: str, charset: str = "gbk") -> str:
    return f"=?{charset.upper()}?B?{_b64(text, charset)}?="


def gbk_mail(message_id: str = "<m1@mail.example.com>", sender: str = "zhang.san@EXAMPLE.com") -> bytes:
    """What a Chinese mail client sends: GBK text labelled GB2312, GBK-encoded header words and file
    names, one file kept, one of a refused type, one too large."""
    body = "您好，我家宽带从昨晚起无法上网。\r\n联系人：王喆"  # 喆 is GBK, not GB2312
    lines = [
        f"From: {_word('张三')} <{sender}>",
        "To: service@kefu.example.com",
        f"Subject: {_word('宽带无法上网', 'gb2312')}",
        f"Message-ID: {message_id}",
        "Date: Sun, 22 Nov 2026 09:30:00 +0800",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
        "",
        "--b1",
        'Content-Type: text/plain; charset="gb2312"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(body, "gbk"),
        "--b1",
        f'Content-Type: application/pdf; name="{_word("发票.pdf")}"',
        f'Content-Disposition: attachment; filename="{_word("发票.pdf")}"',
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode(b"%PDF-1.4 invoice").decode(),
        "--b1",
        'Content-Type: application/octet-stream; name="setup.exe"',
        'Content-Disposition: attachment; filename="setup.exe"',
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode(b"MZ...").decode(),
        "--b1",
        'Content-Type: image/png; name="photo.png"',
        'Content-Disposition: attachment; filename="photo.png"',
        "Content-Transfer-Encoding: base64",
        "",
        base64.encodebytes(b"\x89PNG" + b"x" * 60_000).decode().strip(),
        "--b1--",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


def mail(
    *,
    subject: str,
    body: str,
    sender: str = "Zhang.San@example.com",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "service@kefu.example.com"
    m["Subject"] = subject
    if message_id is not None:
        m["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        m[name] = value
    m.set_content(body)
    return m.as_bytes()


# --- tests ------------------------------------------------------------------------------------------


def test_a_new_mail_registers_a_ticket_for_the_customer_with_its_files(desk, session, monkeypatch):
    monkeypatch.setattr(get_settings(), "attachment_max_bytes", 50_000)
    desk.mailbox.append(gbk_mail())
    report = desk.fetch()
    assert report.fetched == 1 and report.outcomes == {"created": 1}
    [ticket] = desk.tickets()
    assert ticket.channel == "email" and ticket.type_id == desk.ticket_type.id
    assert ticket.subject == "宽带无法上网"
    assert ticket.description == "您好，我家宽带从昨晚起无法上网。\n联系人：王喆"
    assert ticket.customer_id == desk.msg.customer_id and ticket.customer_name == "张三"
    assert ticket.customer_email == "zhang.san@example.com"
    assert ticket.creator_id is None  # registered by the system
    assert ticket.handler_id == desk.handler.user.id  # the flow dispatched it to the team
    files = session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)).all()
    assert [(f.filename, f.size) for f in files] == [("发票.pdf", 16)]
    assert storage.get_storage().open(files[0].storage_key).read() == b"%PDF-1.4 invoice"
    [entry] = desk.log(ticket)
    assert files[0].log_id == entry.id
    assert "setup.exe" in entry.comment and "photo.png" in entry.comment  # not kept, and said so
    row = desk.received("<m1@mail.example.com>")
    assert row.outcome.value == "created" and row.ticket_id == ticket.id
    assert row.from_address == "zhang.san@example.com" and row.subject == "宽带无法上网"
    contact = session.scalars(
        select(ContactRecord).join(ContactTicket).where(ContactTicket.ticket_id == ticket.id)
    ).one()
    assert (contact.channel, contact.direction, contact.customer_id) == (
        "email",
        "inbound",
        desk.msg.customer_id,
    )
    assert desk.mailbox.unseen() == 0  # processed mail is marked read


def test_a_reply_to_our_ticket_mail_is_added_to_the_ticket(desk, session, smtp):
    sink, port = smtp
    desk.configure(implementation="smtp", smtp_host="127.0.0.1", smtp_port=port)
    desk.mailbox.append(gbk_mail())
    desk.fetch()
    [ticket] = desk.tickets()
    answer = desk.email(ticket, desk.handler, {"body": "请重启光猫后再试。"})
    assert answer["status"] == "queued" and answer["reference"] == ticket.serial
    [sent] = sink.messages
    ours = session.get(Message, answer["id"])
    session.refresh(ours)
    assert ours.status.value == "sent" and sent["Message-ID"] == ours.provider_ref
    assert sent["To"].endswith("<zhang.san@example.com>")
    assert str(make_header(decode_header(sent["Subject"]))) == f"Re: [{ticket.serial}] 宽带无法上网"
    assert sent["In-Reply-To"] == "<m1@mail.example.com>"  # it answers the customer's mail
    assert desk.log(ticket, "email_sent")[0].comment == "请重启光猫后再试。"

    reply = mail(
        subject="Re: 你好",  # no serial: the headers alone find the ticket
        body="重启后可以上网了，谢谢！\n\n在 2026年11月22日 10:00，客服中心 写道：\n> 请重启光猫后再试。\n",
        sender="张三 <ZHANG.SAN@example.com>",
        message_id="<m2@mail.example.com>",
        headers={
            "In-Reply-To": ours.provider_ref,
            "References": f"<m1@mail.example.com> {ours.provider_ref}",
        },
    )
    desk.mailbox.append(reply)
    assert desk.fetch().outcomes == {"appended": 1}
    assert len(desk.tickets()) == 1
    entries = desk.log(ticket)
    assert [e.comment for e in entries][-1] == "重启后可以上网了，谢谢！"  # quoted history left out
    assert desk.received("<m2@mail.example.com>").ticket_id == ticket.id
    told = session.scalars(select(Notification).where(Notification.user_id == desk.handler.user.id)).all()
    assert any(ticket.serial in n.title and n.target_id == str(ticket.id) for n in told)
    contacts = session.scalars(
        select(ContactRecord).join(ContactTicket).where(ContactTicket.ticket_id == ticket.id)
    ).all()
    assert sorted(c.direction for c in contacts) == ["inbound", "inbound", "outbound"]
    # Our next mail answers the customer's latest one.
    desk.email(ticket, desk.handler, {"body": "好的。"})
    assert sink.messages[-1]["In-Reply-To"] == "<m2@mail.example.com>"
    assert ours.provider_ref in sink.messages[-1]["References"]


def test_the_serial_in_the_subject_finds_the_ticket_for_a_known_sender_only(desk, session):
    desk.mailbox.append(gbk_mail())
    desk.fetch()
    [ticket] = desk.tickets()
    desk.mailbox.append(
        mail(
            subject=f"补充 [{ticket.serial}] 宽带",
            body="补充：光猫型号 HG8245。",
            message_id="<m3@x.example.com>",
        ),
        mail(
            subject=f"Re: [{ticket.serial}] 宽带",
            body="我也断网了",
            sender="stranger@other.example.com",
            message_id="<m4@x.example.com>",
        ),
    )
    assert desk.fetch().outcomes == {"appended": 1, "created": 1}
    assert desk.log(ticket)[-1].comment == "补充：光猫型号 HG8245。"
    _first, second = desk.tickets()
    assert second.subject == "宽带" and second.customer_id is None  # the serial was not theirs
    assert second.customer_email == "stranger@other.example.com"


def test_a_mail_on_a_closed_ticket_registers_a_follow_up(desk, session):
    desk.mailbox.append(gbk_mail())
    desk.fetch()
    [old] = desk.tickets()
    tickets.cancel(session, actor=desk.admin_actor, ticket=old, expected_version=None, comment="客户撤回")
    session.flush()
    desk.mailbox.append(
        mail(
            subject=f"Re: [{old.serial}] 宽带无法上网",
            body="又断网了。",
            message_id="<m5@x.example.com>",
            headers={"In-Reply-To": "<m1@mail.example.com>"},
        )
    )
    assert desk.fetch().outcomes == {"created": 1}
    _old, new = desk.tickets()
    assert new.subject == "宽带无法上网" and new.customer_id == desk.msg.customer_id
    assert old.serial in new.description.splitlines()[0]
    assert new.description.endswith("又断网了。")
    assert new.serial in desk.log(old)[-1].comment


def test_auto_replies_bounces_and_our_own_mail_are_ignored(desk, session):
    desk.mailbox.append(
        mail(subject="自动回复：休假中", body="我正在休假。", headers={"Auto-Submitted": "auto-replied"}),
        mail(subject="Out of office", body="Away.", headers={"X-Autoreply": "yes"}),
        mail(subject="Newsletter", body="News.", headers={"Precedence": "bulk"}),
        mail(subject="Undelivered Mail", body="Failed.", sender="MAILER-DAEMON@mx.example.com"),
        mail(subject="Re: [TS-1]", body="Loop.", headers={"X-Kefu-Message": "12"}),
        mail(subject="Not auto", body="人工写的。", headers={"Auto-Submitted": "no"}),
    )
    report = desk.fetch()
    assert report.outcomes == {"ignored": 5, "created": 1}
    assert [t.subject for t in desk.tickets()] == ["Not auto"]
    reasons = session.scalars(select(InboundEmail.error).where(InboundEmail.outcome == "ignored")).all()
    assert any("auto-replied" in r for r in reasons) and any("MAILER-DAEMON" in r for r in reasons)
    assert desk.mailbox.unseen() == 0


def test_the_same_mail_is_processed_once(desk, session):
    same = mail(subject="重复", body="同一封。", message_id="<dup@x.example.com>")
    anonymous = mail(subject="无编号", body="没有 Message-ID。")
    desk.mailbox.append(same, same, anonymous, anonymous)
    report = desk.fetch()
    assert report.outcomes == {"created": 2} and report.duplicates == 2
    assert [t.subject for t in desk.tickets()] == ["重复", "无编号"]
    # Processed, then a crash before the mail was marked read: the next fetch only marks it.
    late = mail(subject="崩溃之后", body="已处理。", message_id="<late@x.example.com>")
    assert inbound.process(late).outcome.value == "created"
    desk.mailbox.append(late)
    report = desk.fetch()
    assert report.duplicates == 1 and not report.outcomes
    assert len(desk.tickets()) == 3 and desk.mailbox.unseen() == 0
    # Fetching everything again changes nothing.
    desk.mailbox.mark_all_unread()
    assert desk.fetch().duplicates == 5
    assert len(desk.tickets()) == 3
    assert session.scalar(select(func.count()).select_from(InboundEmail)) == 3


def test_a_broken_mail_is_recorded_failed_and_the_others_go_on(desk, session):
    broken = b"this is not an e-mail at all\r\n"
    desk.mailbox.append(broken, mail(subject="正常", body="正常的一封。", message_id="<ok@x.example.com>"))
    report = desk.fetch()
    assert report.outcomes == {"failed": 1, "created": 1}
    failed = session.scalars(select(InboundEmail).where(InboundEmail.outcome == "failed")).one()
    assert "sender" in failed.error and failed.ticket_id is None
    assert [t.subject for t in desk.tickets()] == ["正常"]
    assert desk.mailbox.unseen() == 0


def test_a_failed_mail_is_tried_again_once_marked_unread(desk, session):
    form = FormTemplate(
        code="email_form",
        name="邮件工单",
        status=TemplateStatus.ACTIVE,
        elements=[{"code": "account", "label": "账号", "type": "text", "required": True}],
    )
    session.add(form)
    session.flush()
    desk.ticket_type.form_template_id = form.id
    session.flush()
    desk.mailbox.append(mail(subject="需要账号", body="内容", message_id="<form@x.example.com>"))
    assert desk.fetch().outcomes == {"failed": 1}
    row = desk.received("<form@x.example.com>")
    assert row.outcome.value == "failed" and "fields.account" in row.error
    assert desk.tickets() == [] and desk.mailbox.unseen() == 0
    form.elements = [{"code": "account", "label": "账号", "type": "text", "default": "unknown"}]
    session.flush()
    desk.mailbox.mark_all_unread()
    assert desk.fetch().outcomes == {"created": 1}
    row = desk.received("<form@x.example.com>")
    assert row.outcome.value == "created" and row.error == ""
    assert desk.tickets()[0].fields == {"account": "unknown"}


def test_an_unreachable_or_refusing_mailbox_is_reported_and_changes_nothing(desk, session):
    desk.mailbox.append(mail(subject="等待", body="稍后处理。"))
    desk.configure(imap_port=_free_port())
    report = inbound_fetch.fetch()
    assert report is not None and "cannot log in" in report.error
    desk.configure(imap_password="wrong")
    assert "cannot log in" in inbound_fetch.fetch().error
    desk.configure(imap_password=IMAP_PASSWORD, imap_folder="No such folder")
    assert "select" in inbound_fetch.fetch().error
    assert desk.tickets() == [] and desk.mailbox.unseen() == 1
    desk.msg.configure("email", implementation="log", imap_enabled="")
    assert inbound_fetch.fetch() is None  # not enabled: nothing is fetched


def test_a_mail_too_large_to_fetch_is_registered_from_its_header(desk, session, monkeypatch):
    monkeypatch.setattr(inbound_fetch, "mail_limit", lambda: 2_000)
    desk.mailbox.append(mail(subject="大邮件", body="很长" * 2_000, message_id="<big@x.example.com>"))
    assert desk.fetch().outcomes == {"created": 1}
    [ticket] = desk.tickets()
    assert ticket.subject == "大邮件" and "很长" not in ticket.description
    assert "KB" in ticket.description  # the note says how large it was


# --- e-mail to the customer over the API --------------------------------------------------------------


def test_emailing_the_customer_needs_the_ticket_and_the_right_and_checks_the_input(desk, session, smtp):
    sink, port = smtp
    desk.mailbox.append(gbk_mail())
    desk.fetch()
    [ticket] = desk.tickets()
    factory = desk.msg.factory
    body = {"body": "您好。"}
    # Sending without the send right; sending on a ticket one cannot see; seeing it without acting on it.
    desk.email(ticket, factory.token_login(factory.user(["tickets.ticket.handle"])), body, expect=403)
    stranger = factory.token_login(factory.user(HANDLER, scope=DataScope.OWN))
    desk.email(ticket, stranger, body, expect=404)
    viewer = factory.token_login(factory.user(["tickets.ticket.view", "messaging.message.send"]))
    desk.email(ticket, viewer, body, expect=403)
    # Bad input names the field and leaves nothing behind.
    assert "body" in errors_of(desk.email(ticket, desk.handler, {"body": "  "}, expect=422))
    assert "to" in errors_of(desk.email(ticket, desk.handler, {"body": "x", "to": "nope"}, expect=422))
    desk.msg.configure("email", implementation="off")
    assert "channel" in errors_of(desk.email(ticket, desk.handler, body, expect=422))
    assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert desk.log(ticket, "email_sent") == []
    desk.configure(implementation="smtp", smtp_host="127.0.0.1", smtp_port=port)
    sent = desk.email(
        ticket, desk.handler, {"body": "附件已收到。", "subject": "发票", "to": "li@example.com"}
    )
    assert sent["recipient"] == "li@example.com" and sent["subject"] == f"[{ticket.serial}] 发票"
    assert sent["ticket_id"] == ticket.id and sent["customer_id"] == desk.msg.customer_id
    assert len(sink.messages) == 1


def test_a_ticket_without_an_address_asks_for_one(desk, session):
    ticket = tickets.register(
        session,
        actor=desk.admin_actor,
        ticket_type=desk.ticket_type,
        channel="phone",
        subject="电话登记",
        customer_name="李四",
    )
    session.flush()
    r = desk.email(ticket, desk.handler, {"body": "您好。"}, expect=422)
    assert "to" in errors_of(r)
    ok = desk.email(ticket, desk.handler, {"body": "您好。", "to": "li4@example.com"})
    assert ok["subject"] == f"Re: [{ticket.serial}] 电话登记"


# --- reading mail (pure) --------------------------------------------------------------------------------


def test_reading_loosely_encoded_mail():
    raw = (
        b"From: " + "李四".encode("gbk") + b" <Li.Si@Example.COM>\r\n"
        b"Subject: " + "投诉：宽带".encode("gbk") + b"\r\n"
        b"Message-ID: <\r\n"  # broken: a stable id is made from the bytes
        b"Content-Type: multipart/alternative; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/html; charset=unknown-8bit\r\n\r\n"
        + "<html><head><title>t</title><style>p{}</style></head><body><p>网络&amp;电视</p>"
        "<div>第二行<br>第三行</div><script>x()</script></body></html>".encode()
        + b"\r\n--x--\r\n"
    )
    parsed = parse(raw)
    assert (parsed.from_name, parsed.from_address) == ("李四", "Li.Si@example.com")
    assert parsed.subject == "投诉：宽带"
    assert parsed.text == "网络&电视\n\n第二行\n第三行"
    assert parsed.message_id == parse(raw).message_id and parsed.message_id.startswith("<")
    assert parse(raw + b" ").message_id != parsed.message_id


def test_quoted_history_is_left_out_of_a_reply():
    assert (
        strip_quoted("好的\n\n------------------ 原始邮件 ------------------\n发件人: 客服\n旧内容") == "好的"
    )
    assert strip_quoted("Thanks\n\nOn Sun, 22 Nov 2026, Service wrote:\n> old") == "Thanks"
    assert strip_quoted("> 全部是引用\n> 还是引用") == "> 全部是引用\n> 还是引用"  # nothing left: keep all


def test_folder_names_are_quoted_in_modified_utf7():
    assert inbound_fetch.mailbox_name("INBOX") == '"INBOX"'
    assert inbound_fetch.mailbox_name('工单 & "x"') == '"&XeVTVQ- &- \\"x\\""'
