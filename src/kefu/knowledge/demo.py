"""Demo knowledge base: the business-attribute dictionary, a category tree (cable TV, broadband, water
supply, mobile) with its maintaining department, published articles an operator's agents really look
up, and a few questions — one of them a frequent question.

Everything goes through the services the screens use: the knowledge editor writes and submits, the
administrator reviews (automatic publishing; one category publishes by hand). Idempotent: nothing
happens when a knowledge category exists already.

`ROLE_PERMISSIONS` and `GROUP_FUNCTIONS` say what the demo roles need; `kefu.demo` grants them.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.permissions import Actor, build_actor
from kefu.knowledge import articles, categories, lifecycle
from kefu.knowledge.content import ATTRIBUTE_DICTIONARY
from kefu.knowledge.models import KnowledgeCategory, PublishMode
from kefu.knowledge.qa import service as qa
from kefu.org.config import dictionary
from kefu.org.config.models import DictType
from kefu.org.models import Department, User
from kefu.tickets.setup import service as ticket_setup

GROUP_FUNCTIONS = ["knowledge.article", "knowledge.categories", "knowledge.qa"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "agent": ["knowledge.article.view", "knowledge.article.send", "knowledge.qa.ask"],
    "leader": [
        "knowledge.article.view",
        "knowledge.article.send",
        "knowledge.article.review",
        "knowledge.qa.ask",
    ],
    "backoffice": ["knowledge.article.view", "knowledge.qa.ask"],
    "kb_editor": [
        *("knowledge.article.view", "knowledge.article.edit", "knowledge.article.publish"),
        *("knowledge.categories.edit", "knowledge.qa.ask", "knowledge.qa.answer"),
    ],
}

ATTRIBUTES = [
    ("troubleshooting", "故障处理", "Troubleshooting"),
    ("procedure", "办理流程", "Procedure"),
    ("tariff", "资费", "Tariff"),
    ("policy", "政策口径", "Policy"),
    ("notice", "通知公告", "Notice"),
]

CATEGORIES = [
    # key, name, parent key, publish mode
    ("catv", "有线电视", None, PublishMode.AUTO),
    ("catv-stb", "机顶盒与智能卡", "catv", PublishMode.AUTO),
    ("catv-biz", "有线电视业务办理", "catv", PublishMode.AUTO),
    ("bb", "宽带业务", None, PublishMode.AUTO),
    ("bb-fault", "宽带故障", "bb", PublishMode.AUTO),
    ("bb-fee", "宽带资费", "bb", PublishMode.MANUAL),
    ("water", "供水服务", None, PublishMode.AUTO),
    ("mobile", "移动业务", None, PublishMode.AUTO),
]

ARTICLES = [
    # category, business type code (ticket categories), attributes, public, hot,
    # title, summary, keywords, body
    (
        "catv-stb",
        "CATV-STB",
        ["troubleshooting"],
        True,
        True,
        "机顶盒开机黑屏或提示“无信号”的处理",
        "电视画面黑屏、提示“无信号”或“信号中断”时的排查步骤。",
        "机顶盒 黑屏 无信号 信号中断",
        "<p>客户反映电视黑屏或提示“无信号”时，请按以下顺序指导客户：</p>"
        "<ol><li>确认电视已切换到机顶盒所接的信号源（HDMI 或 AV）。</li>"
        "<li>检查机顶盒背面的射频信号线是否插紧，分配器是否松动。</li>"
        "<li>拔下机顶盒电源，等待 10 秒后重新上电。</li>"
        "<li>进入“设置 → 信号检测”，信号强度低于 60 或质量低于 50 时登记报修。</li></ol>"
        "<p>同一小区多户同时无信号，属于线路故障，请查询故障通告后统一答复。</p>",
    ),
    (
        "catv-stb",
        "CATV-STB",
        ["troubleshooting"],
        True,
        False,
        "智能卡提示“未授权”或 E04 错误",
        "更换智能卡、欠费复通后出现“未授权”提示的处理方法。",
        "智能卡 未授权 E04 授权",
        "<p>出现“节目未授权”或 E04 时，先核实客户账户是否欠费、节目包是否在有效期内。</p>"
        "<p>确认正常后，在营业系统中为该智能卡<strong>重新下发授权指令</strong>，"
        "请客户保持机顶盒开机并停留在任一频道 10 分钟。</p>"
        "<p>仍未恢复的，请客户拔插智能卡（芯片朝下）后重启机顶盒；再无效则登记上门维修。</p>",
    ),
    (
        "catv-biz",
        None,
        ["procedure"],
        True,
        False,
        "有线电视过户与补卡办理流程",
        "过户、智能卡遗失补办所需材料和办理渠道。",
        "过户 补卡 智能卡 办理",
        "<h3>过户</h3><p>原户主与新户主携带双方身份证原件到营业厅办理；原户主不能到场的，需提供委托书。</p>"
        "<h3>补卡</h3><p>户主携带身份证到营业厅办理，补卡工本费 20 元，新卡即时授权。</p>",
    ),
    (
        "bb-fault",
        "BB-FAULT",
        ["troubleshooting"],
        True,
        True,
        "光猫 LOS 灯红色闪烁，宽带无法上网",
        "LOS 灯红色表示光信号中断，需登记报修。",
        "光猫 LOS 红灯 无法上网 宽带",
        "<p>光猫 <strong>LOS</strong> 灯红色闪烁表示没有收到光信号，客户侧重启无法恢复。</p>"
        "<ul><li>请客户检查光纤尾纤是否弯折、脱落。</li>"
        "<li>确认后直接登记宽带故障工单，派往装维班组，承诺时限 24 小时。</li></ul>"
        "<p>PON 灯闪烁而 LOS 灯不亮的，属于注册问题，可在系统中重新下发配置。</p>",
    ),
    (
        "bb-fault",
        "BB-FAULT",
        ["troubleshooting"],
        True,
        False,
        "宽带网速慢的排查步骤",
        "测速方法、无线干扰和终端问题的逐项排查。",
        "宽带 网速慢 测速 WiFi",
        "<ol><li>请客户用网线直连光猫，在测速网站测速，记录下载速率。</li>"
        "<li>直连达到签约速率 80% 以上的，属于无线或终端问题：建议更换 5G 频段、调整路由器位置。</li>"
        "<li>直连也明显偏低的，登记故障工单，注明测速截图和时间。</li></ol>",
    ),
    (
        "bb-fee",
        "BB-BILL",
        ["tariff"],
        True,
        False,
        "2026 年宽带包年资费说明",
        "各速率档包年价格、续费优惠与升级办法。",
        "宽带 资费 包年 续费 升级",
        "<table><thead><tr><th>速率</th><th>包年价格</th></tr></thead>"
        "<tbody><tr><td>300M</td><td>960 元</td></tr><tr><td>500M</td><td>1200 元</td></tr>"
        "<tr><td>1000M</td><td>1560 元</td></tr></tbody></table>"
        "<p>到期前 30 天内续费享 9 折；年内升级按剩余天数补差价。</p>",
    ),
    (
        "water",
        None,
        ["troubleshooting"],
        True,
        True,
        "水表不走字或走字异常的处理",
        "水表停走、空转、读数突增时的答复与报修。",
        "水表 不走字 空转 读数 抄表",
        "<p>请客户关闭户内所有用水点，观察水表指针：</p>"
        "<ul><li>指针仍在转动：户内管道可能漏水，建议客户请物业检查。</li>"
        "<li>用水时指针不动：水表可能停走，登记水表故障工单，免费更换。</li></ul>"
        "<p>读数突增的，可申请复核抄表，复核结果 3 个工作日内告知客户。</p>",
    ),
    (
        "water",
        None,
        ["policy", "notice"],
        False,
        False,
        "计划停水与降压的答复口径",
        "客户询问停水原因和恢复时间时的内部答复口径。",
        "停水 降压 施工 恢复供水",
        "<p>先在“故障与割接通告”中按地址查询是否有计划停水。</p>"
        "<p>有通告的，按通告时间答复，<strong>不要承诺</strong>更早恢复；"
        "无通告的，登记突发停水工单并告知客户 2 小时内回电。</p>",
    ),
]

QUESTIONS = [
    # title, body, answer (None: waiting), faq
    (
        "机顶盒遥控器失灵怎么办？",
        "客户说遥控器按键没有反应。",
        "先更换电池；仍无效的，请客户用机顶盒面板按键确认机顶盒正常后，到营业厅免费更换遥控器。",
        True,
    ),
    (
        "宽带欠费停机后多久能恢复？",
        "",
        "缴费成功后系统自动复通，一般 15 分钟内恢复；超过 2 小时未恢复的登记故障。",
        False,
    ),
    ("IPTV 回看功能能保存多少天？", "有客户问能否看一周前的节目。", None, False),
]


def _ensure_attributes(session: Session, actor: Actor) -> None:
    """The business-attribute dictionary with (at least) the demo's items."""
    dict_type = session.scalars(select(DictType).where(DictType.code == ATTRIBUTE_DICTIONARY)).first()
    if dict_type is None:
        dict_type = dictionary.create_type(
            session,
            actor=actor,
            code=ATTRIBUTE_DICTIONARY,
            name="知识业务属性",
            description="知识库中知识的业务属性",
        )
    have = {item.code for item in dict_type.items}
    for code, label, label_en in ATTRIBUTES:
        if code not in have:
            dictionary.add_item(
                session, actor=actor, dict_type=dict_type, code=code, label=label, label_en=label_en
            )


def seed(
    session: Session,
    *,
    admin: User,
    users: Mapping[str, User],
    maintaining_department: Department | None = None,
) -> None:
    """Create the demo knowledge base (once). kbeditor01 writes; the administrator reviews and
    publishes by hand where the category asks for it; agent01 asks questions."""
    if session.scalars(select(KnowledgeCategory).limit(1)).first() is not None:
        return
    reviewer = build_actor(session, admin)
    editor = build_actor(session, users["kbeditor01"])
    asker = build_actor(session, users["agent01"])
    _ensure_attributes(session, reviewer)
    ids: dict[str, int] = {}
    for key, name, parent, mode in CATEGORIES:
        editors = [maintaining_department.id] if maintaining_department is not None and parent is None else []
        category = categories.create_category(
            session,
            actor=reviewer,
            name=name,
            parent_id=ids.get(parent or ""),
            publish_mode=mode,
            editor_department_ids=editors,
        )
        ids[key] = category.id
    business = {c.code: c.id for c, _depth in ticket_setup.category_tree(session)}
    for key, business_code, attrs, public, hot, title, summary, keywords, body in ARTICLES:
        article = articles.create_article(
            session,
            actor=editor,
            category_id=ids[key],
            title=title,
            summary=summary,
            keywords=keywords,
            body_html=body,
            business_category_id=business.get(business_code or ""),
            business_attrs=attrs,
            audience="public" if public else "internal",
        )
        lifecycle.submit(session, actor=editor, article=article, expected_version=None)
        lifecycle.approve(
            session, actor=reviewer, article=article, expected_version=None, comment="内容准确，同意发布"
        )
        if article.status.value != "published":  # a category that publishes by hand
            lifecycle.publish(session, actor=reviewer, article=article, expected_version=None)
        if hot:
            articles.set_hot(session, actor=reviewer, article=article, expected_version=None, hot=True)
    for title, body, answer, faq in QUESTIONS:
        question = qa.ask(session, actor=asker, title=title, body=body)
        if answer is not None:
            qa.answer(session, actor=editor, question=question, expected_version=None, text=answer)
        if faq:
            qa.set_faq(session, actor=editor, question=question, expected_version=None, faq=True)
    session.flush()
