"""The system dictionaries every deployment starts with: default data, read by `dictionary.seed_defaults`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeedType:
    code: str
    name: str
    description: str
    items: tuple[tuple[str, str, str], ...]  # (code, label, English label)


DEFAULTS: tuple[SeedType, ...] = (
    SeedType(
        "channel",
        "受理渠道",
        "客户联系客服中心的方式",
        (
            ("phone", "电话", "Phone"),
            ("letter", "信函", "Letter"),
            ("visit", "来访", "Walk-in visit"),
            ("email", "邮件", "Email"),
            ("sms", "短信", "SMS"),
            ("web", "网站", "Website"),
            ("fax", "传真", "Fax"),
            ("wechat", "微信", "WeChat"),
        ),
    ),
    SeedType(
        "urgency",
        "紧急程度",
        "工单的紧急程度",
        (
            ("normal", "一般", "Normal"),
            ("urgent", "紧急", "Urgent"),
            ("critical", "特急", "Critical"),
        ),
    ),
    SeedType(
        "case_nature",
        "案例性质",
        "客户诉求的性质",
        (
            ("inquiry", "咨询", "Inquiry"),
            ("complaint", "投诉", "Complaint"),
            ("suggestion", "建议", "Suggestion"),
            ("fault", "故障", "Fault"),
            ("service_request", "业务办理", "Service request"),
            ("praise", "表扬", "Praise"),
        ),
    ),
    SeedType(
        "satisfaction",
        "满意度",
        "回访时客户的满意程度",
        (
            ("very_satisfied", "非常满意", "Very satisfied"),
            ("satisfied", "满意", "Satisfied"),
            ("neutral", "一般", "Neutral"),
            ("dissatisfied", "不满意", "Dissatisfied"),
            ("very_dissatisfied", "非常不满意", "Very dissatisfied"),
        ),
    ),
    SeedType(
        "close_reason",
        "结案原因",
        "工单结案时选择的原因",
        (
            ("resolved", "已解决", "Resolved"),
            ("unresolvable", "无法解决", "Cannot be resolved"),
            ("withdrawn", "客户撤销", "Withdrawn by customer"),
            ("duplicate", "重复工单", "Duplicate ticket"),
            ("invalid", "无效工单", "Invalid ticket"),
        ),
    ),
    SeedType(
        "customer_tier",
        "客户等级",
        "客户的服务等级",
        (
            ("regular", "普通", "Regular"),
            ("silver", "银卡", "Silver"),
            ("gold", "金卡", "Gold"),
            ("vip", "VIP", "VIP"),
        ),
    ),
    SeedType(
        "not_reached_reason",
        "未接通原因",
        "外呼或回访未能联系到客户的原因",
        (
            ("no_answer", "无人接听", "No answer"),
            ("powered_off", "关机", "Phone switched off"),
            ("invalid_number", "空号", "Number not in service"),
            ("rejected", "拒接", "Call rejected"),
            ("busy", "忙音", "Line busy"),
        ),
    ),
    SeedType(
        "not_ready_reason",
        "示忙原因",
        "座席未就绪（示忙）时选择的原因",
        (
            ("break", "小休", "Short break"),
            ("meal", "就餐", "Meal"),
            ("training", "培训", "Training"),
            ("meeting", "会议", "Meeting"),
            ("after_call", "话后整理", "After-call work"),
            ("outbound", "外呼任务", "Outbound work"),
            ("no_answer", "振铃未接", "Did not answer a call"),
            ("other", "其他", "Other"),
        ),
    ),
    SeedType(
        "acceptance_kind",
        "受理业务种类",
        "业务受理申请单的业务种类（开通或变更业务）",
        (
            ("pre_accept", "预受理", "Pre-acceptance"),
            ("install", "报装", "Installation"),
            ("activate", "开通", "Activation"),
            ("change", "业务变更", "Service change"),
            ("suspend", "报停", "Suspension"),
            ("restore", "开信号（恢复）", "Restoration"),
            ("relocate", "拆迁（移机）", "Relocation"),
            ("rename", "更名", "Change of holder"),
            ("private_tap", "私接", "Unauthorised connection"),
            ("disconnect", "下网（拆机）", "Disconnection"),
        ),
    ),
)
