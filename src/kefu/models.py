"""Every table of kefu, imported in one place so that metadata (and Alembic) sees them all."""

from kefu.audit.models import AuditLog, ErrorLog
from kefu.callcenter.models import Agent, AgentStateSpan, Call, CallEvent, CallQueue, QueueMember
from kefu.core.search.models import SearchDictionaryState, SearchDocument, SearchWord
from kefu.customers.adapters.models import BusinessSystem
from kefu.customers.contacts.models import ContactRecord, ContactTicket
from kefu.customers.models import (
    Account,
    AttributeDefinition,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerNameKey,
    CustomerPhone,
    Subscriber,
    SubscriberAttribute,
    SubscriberKind,
)
from kefu.db import Base
from kefu.knowledge.models import (
    Article,
    ArticleVersion,
    KnowledgeAttachment,
    KnowledgeCategory,
    KnowledgeCategoryEditor,
    KnowledgeLog,
    KnowledgeSend,
    VersionAttachment,
)
from kefu.knowledge.qa.models import Question
from kefu.notices.announcement_models import Announcement, AnnouncementAttachment, AnnouncementRecipient
from kefu.notices.models import Notification
from kefu.org.calendar.models import HolidayOverride, RosterEntry, Shift, WorkingHoursSpan
from kefu.org.config.models import DictItem, DictType, ParameterHistory, SystemParameter
from kefu.org.models import ApiToken, Department, IpRule, Role, User, UserGroup, UserRole, UserSession
from kefu.tickets.models import (
    BusinessCategory,
    CallbackTask,
    CaseTemplate,
    FormTemplate,
    Ticket,
    TicketAttachment,
    TicketLog,
    TicketSerial,
    TicketTracking,
    TicketType,
    TicketUrge,
    TrackingRecord,
)
from kefu.workflow.models import FlowTemplate, FlowVersion
from kefu.workflow.runtime.models import FlowEvent, FlowInstance, FlowTask, FlowTaskCandidate

__all__ = [
    "Account",
    "Agent",
    "AgentStateSpan",
    "Announcement",
    "AnnouncementAttachment",
    "AnnouncementRecipient",
    "ApiToken",
    "Article",
    "ArticleVersion",
    "AttributeDefinition",
    "AuditLog",
    "Base",
    "BusinessCategory",
    "BusinessSystem",
    "Call",
    "CallEvent",
    "CallQueue",
    "CallbackTask",
    "CaseTemplate",
    "ContactRecord",
    "ContactTicket",
    "Customer",
    "CustomerAddress",
    "CustomerEmail",
    "CustomerNameKey",
    "CustomerPhone",
    "Department",
    "DictItem",
    "DictType",
    "ErrorLog",
    "FlowEvent",
    "FlowInstance",
    "FlowTask",
    "FlowTaskCandidate",
    "FlowTemplate",
    "FlowVersion",
    "FormTemplate",
    "HolidayOverride",
    "IpRule",
    "KnowledgeAttachment",
    "KnowledgeCategory",
    "KnowledgeCategoryEditor",
    "KnowledgeLog",
    "KnowledgeSend",
    "Notification",
    "ParameterHistory",
    "Question",
    "QueueMember",
    "Role",
    "RosterEntry",
    "SearchDictionaryState",
    "SearchDocument",
    "SearchWord",
    "Shift",
    "Subscriber",
    "SubscriberAttribute",
    "SubscriberKind",
    "SystemParameter",
    "Ticket",
    "TicketAttachment",
    "TicketLog",
    "TicketSerial",
    "TicketTracking",
    "TicketType",
    "TicketUrge",
    "TrackingRecord",
    "User",
    "UserGroup",
    "UserRole",
    "UserSession",
    "VersionAttachment",
    "WorkingHoursSpan",
]
