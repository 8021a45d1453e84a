"""Every table of kefu, imported in one place so that metadata (and Alembic) sees them all."""

from kefu.audit.models import AuditLog, ErrorLog
from kefu.db import Base
from kefu.notices.models import Notification
from kefu.org.calendar.models import HolidayOverride, RosterEntry, Shift, WorkingHoursSpan
from kefu.org.config.models import DictItem, DictType, ParameterHistory, SystemParameter
from kefu.org.models import ApiToken, Department, IpRule, Role, User, UserGroup, UserRole, UserSession
from kefu.workflow.models import FlowTemplate, FlowVersion
from kefu.workflow.runtime.models import FlowEvent, FlowInstance, FlowTask, FlowTaskCandidate

__all__ = [
    "ApiToken",
    "AuditLog",
    "Base",
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
    "HolidayOverride",
    "IpRule",
    "Notification",
    "ParameterHistory",
    "Role",
    "RosterEntry",
    "Shift",
    "SystemParameter",
    "User",
    "UserGroup",
    "UserRole",
    "UserSession",
    "WorkingHoursSpan",
]
