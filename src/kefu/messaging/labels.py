"""How messaging's states, kinds and variables are called on pages and in exports (msgids)."""

from __future__ import annotations

from kefu.core.i18n import lazy
from kefu.messaging.models import (
    BlacklistLevel,
    Channel,
    DndMode,
    Implementation,
    MessageStatus,
    Security,
    SkipReason,
    Source,
    TemplateKind,
)

CHANNEL_LABELS = {Channel.SMS: lazy("SMS"), Channel.EMAIL: lazy("Email")}
STATUS_LABELS = {
    MessageStatus.QUEUED: lazy("Queued"),
    MessageStatus.SENT: lazy("Sent"),
    MessageStatus.FAILED: lazy("Failed"),
    MessageStatus.SKIPPED: lazy("Not sent"),
    MessageStatus.CANCELLED: lazy("Cancelled"),
}
STATUS_COLOURS = {
    MessageStatus.QUEUED: "text-bg-info",
    MessageStatus.SENT: "text-bg-success",
    MessageStatus.FAILED: "text-bg-danger",
    MessageStatus.SKIPPED: "text-bg-warning",
    MessageStatus.CANCELLED: "text-bg-secondary",
}
SOURCE_LABELS = {
    Source.MANUAL: lazy("Sent by hand"),
    Source.KNOWLEDGE: lazy("Knowledge"),
    Source.BATCH: lazy("Proactive service"),
    Source.CAMPAIGN: lazy("Outbound campaign"),
    Source.TICKET: lazy("Ticket"),
    Source.STAFF: lazy("To staff"),
}
SKIP_LABELS = {
    SkipReason.DND: lazy("Do not disturb"),
    SkipReason.NO_ADDRESS: lazy("No mobile number or email address"),
    SkipReason.INVALID: lazy("Address cannot be delivered to"),
    SkipReason.DUPLICATE: lazy("Already in the batch"),
}
KIND_LABELS = {
    TemplateKind.GENERAL: lazy("General message"),
    TemplateKind.KNOWLEDGE: lazy("Knowledge"),
    TemplateKind.FEE_NOTICE: lazy("Fee notice"),
    TemplateKind.PAYMENT_REMINDER: lazy("Payment reminder"),
    TemplateKind.SERVICE_NOTICE: lazy("Service notice"),
    TemplateKind.CALLBACK: lazy("Service callback"),
    TemplateKind.PROMOTION: lazy("Promotion"),
    TemplateKind.TICKET: lazy("Ticket"),
}
IMPLEMENTATION_LABELS = {
    Implementation.OFF: lazy("Off"),
    Implementation.LOG: lazy("Log only (demonstration)"),
    Implementation.HTTP: lazy("HTTP SMS gateway"),
    Implementation.SMTP: lazy("SMTP server"),
}
SECURITY_LABELS = {
    Security.NONE: lazy("None"),
    Security.STARTTLS: lazy("STARTTLS"),
    Security.SSL: lazy("SSL/TLS"),
}
DND_MODE_LABELS = {DndMode.REFUSE: lazy("Refuse"), DndMode.WARN: lazy("Warn")}
LEVEL_LABELS = {BlacklistLevel.BLOCK: lazy("Block the call"), BlacklistLevel.FLAG: lazy("Warn the agent")}
# What each template variable means, shown on the editor's chips and the send form.
VARIABLE_LABELS = {
    "customer.name": lazy("Customer name"),
    "customer.code": lazy("Customer code"),
    "customer.tier": lazy("Customer tier"),
    "recipient": lazy("Recipient"),
    "today": lazy("Today's date"),
    "agent.name": lazy("Agent name"),
    "agent.number": lazy("Agent number"),
    "article.number": lazy("Article number"),
    "article.title": lazy("Article title"),
    "article.summary": lazy("Article summary"),
    "article.text": lazy("Article text"),
    "ticket.serial": lazy("Ticket number"),
    "ticket.subject": lazy("Ticket subject"),
    "ticket.status": lazy("Ticket status"),
    "amount": lazy("Amount"),
    "due_date": lazy("Due date"),
    "period": lazy("Billing period"),
    "account_no": lazy("Account number"),
    "service_number": lazy("Service number"),
    "area": lazy("Area"),
    "start_time": lazy("Start time"),
    "end_time": lazy("End time"),
    "content": lazy("Content"),
    "link": lazy("Link"),
}
