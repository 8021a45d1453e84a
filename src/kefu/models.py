"""Every table of kefu, imported in one place so that metadata (and Alembic) sees them all."""

from kefu.audit.models import AuditLog, ErrorLog
from kefu.db import Base
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
    "ApiToken",
    "AuditLog",
    "Base",
    "BusinessCategory",
    "CallbackTask",
    "CaseTemplate",
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
    "Notification",
    "ParameterHistory",
    "Role",
    "RosterEntry",
    "Shift",
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
    "WorkingHoursSpan",
]
