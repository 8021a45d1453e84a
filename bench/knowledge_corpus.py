"""A deterministic corpus of realistic Chinese knowledge articles for search benchmarks.

`articles(n, seed=...)` yields `(ref_id, title, summary, body, keywords)` for the seed industries —
telecom (mobile and broadband), maritime satellite, cable TV, water, securities — built from
templates: a title, a one-line summary and a body of a few hundred characters (cause, steps, notes,
fees), with the vocabulary an operator's knowledge base really has (product names, error codes,
service names, places). `QUERIES` is a realistic mix of what agents type.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Industry:
    name: str
    products: tuple[str, ...]
    symptoms: tuple[str, ...]
    services: tuple[str, ...]
    causes: tuple[str, ...]
    steps: tuple[str, ...]
    codes: tuple[str, ...]


INDUSTRIES: tuple[Industry, ...] = (
    Industry(
        "有线电视",
        ("机顶盒", "智能卡", "高清机顶盒", "遥控器", "数字电视", "互动电视", "IPTV"),
        ("黑屏", "无信号", "马赛克", "画面卡顿", "提示智能卡未插入", "无法开机", "频道丢失", "声音异常"),
        ("节目包订购", "智能卡配对", "过户", "报停", "移机", "销户", "加装副机", "宽带电视合装"),
        ("信号线松动", "智能卡接触不良", "欠费停机", "机顶盒软件需要升级", "分配器故障", "授权过期"),
        (
            "请客户重新插拔智能卡并重启机顶盒",
            "检查信号线与分配器是否连接牢固",
            "在系统中重新下发授权指令",
            "核实客户账户余额与节目包有效期",
            "指导客户进入设置菜单执行频道搜索",
            "派单至片区维护人员上门检测",
        ),
        ("E101", "E102", "E203", "E302", "E404", "E501"),
    ),
    Industry(
        "通信",
        ("宽带", "光猫", "路由器", "手机", "固话", "流量套餐", "5G套餐", "家庭宽带"),
        (
            "无法上网",
            "网速慢",
            "频繁掉线",
            "光信号闪红灯",
            "无法拨号",
            "信号弱",
            "来电无法接通",
            "短信收不到",
        ),
        ("套餐变更", "宽带续费", "宽带提速", "停机保号", "补换卡", "携号转网", "销户", "过户", "报装"),
        ("欠费停机", "光纤弯折", "光猫配置丢失", "账号密码错误", "基站维护", "端口故障", "区域网络割接"),
        (
            "请客户重启光猫和路由器后再试",
            "核实客户宽带账号状态是否正常",
            "查看光猫LOS灯是否闪红",
            "远程重新下发光猫配置",
            "告知客户缴清欠费后自动复机",
            "生成障碍申告工单派发至装维班组",
        ),
        ("691", "678", "651", "LOS", "PON", "720"),
    ),
    Industry(
        "海事卫星",
        ("海事卫星电话", "卫星终端", "FBB终端", "铱星电话", "船载站", "BGAN终端"),
        ("无法登网", "通话中断", "数据业务不通", "信号不稳定", "无法发送短信", "终端报错"),
        ("开户", "销户", "过户", "资费套餐变更", "国际漫游开通", "服务暂停", "终端入网"),
        ("天线未对准卫星", "SIM卡未激活", "欠费停机", "船舶位于覆盖边缘", "终端固件过旧", "星座切换"),
        (
            "请船方确认天线方位角与仰角",
            "核实终端IMSI号与开户资料是否一致",
            "为客户重新激活SIM卡",
            "建议客户升级终端固件",
            "提交卫星运营商技术支持",
            "登记海事卫星编码并跟踪处理进度",
        ),
        ("870", "IMSI", "ISN", "MMSI", "SAC"),
    ),
    Industry(
        "供水",
        ("水表", "智能水表", "IC卡水表", "供水管道", "二次供水", "远传水表"),
        ("水压低", "停水", "水质浑浊", "水表不走字", "水表漏水", "用水量异常", "管道爆裂"),
        ("水费缴纳", "过户", "销户", "报装", "水表更换", "阶梯水价咨询", "违章用水举报", "发票开具"),
        ("管网检修", "水表电池耗尽", "计划停水", "阀门未全开", "户内管道渗漏", "抄表数据错误"),
        (
            "查询所在片区是否有计划停水公告",
            "安排抄表员上门复核读数",
            "指导客户关闭户内总阀检查渗漏",
            "派单至管网抢修班组",
            "为客户办理水表更换登记",
            "核实阶梯水价档位并解释计费方式",
        ),
        ("IC", "DN20", "DN25", "NB-IoT"),
    ),
    Industry(
        "证券",
        ("证券账户", "资金账户", "网上交易", "手机证券", "融资融券", "基金定投", "股东卡"),
        ("无法登录", "密码被锁", "委托失败", "资金无法转出", "行情延迟", "转账不到账"),
        ("开户", "销户", "转托管", "密码重置", "银证转账", "风险测评", "指定交易", "创业板开通"),
        ("密码连续输错", "银行端未签约", "证书过期", "非交易时间", "账户处于冻结状态", "风险等级不匹配"),
        (
            "请客户携带身份证到营业部办理",
            "通过视频见证完成身份核验",
            "核实客户风险测评结果是否有效",
            "指导客户重新下载安装交易证书",
            "提醒客户注意交易时间与清算规则",
            "登记客户诉求并转营业部回访",
        ),
        ("T+1", "A股", "ST", "ETF", "300"),
    ),
)

REGIONS = (
    "北京", "上海", "广州", "深圳", "天津", "重庆", "成都", "武汉", "南京", "杭州", "西安", "郑州",
    "长沙", "青岛", "大连", "厦门", "福州", "昆明", "南宁", "海口", "沈阳", "哈尔滨", "济南", "合肥",
)  # fmt: skip
CUSTOMERS = ("个人客户", "集团客户", "VIP客户", "老年客户", "政企客户", "船舶客户", "新装客户")
CHANNELS = ("营业厅", "客服热线", "网上营业厅", "微信公众号", "手机客户端", "自助终端")

TITLES = (
    "{product}{symptom}的处理方法",
    "{product}出现{code}错误怎么办",
    "如何办理{service}",
    "{region}{service}业务办理流程",
    "{customer}{service}须知",
    "{product}{symptom}常见原因及排查步骤",
    "关于{product}{service}的资费说明",
    "{symptom}故障申告受理规范",
)
SENTENCES = (
    "客户反映{product}{symptom}，经核实原因多为{cause}。",
    "受理时先核实客户身份，确认{product}的使用地址与联系电话。",
    "处理步骤：{step}；如仍未恢复，{step2}。",
    "如终端提示{code}错误，通常表示{cause}，应{step}。",
    "{customer}可通过{channel}办理{service}，一般在{days}个工作日内完成。",
    "办理{service}需提供有效身份证件原件，代办的还需提供委托书。",
    "{region}地区自{month}月起调整{service}的办理规则，请以最新公告为准。",
    "如客户对处理结果不满意，可登记投诉并在{days}个工作日内回访。",
    "注意：{cause}引起的{symptom}不属于设备质量问题，不予免费更换。",
    "{service}的费用按月收取，欠费超过{days}天将暂停服务。",
    "坐席应在通话结束前复述处理方案，并告知客户工单编号。",
    "对于重复来电的客户，应查看历史接触记录后再答复。",
)


def _fill(rng: random.Random, ind: Industry, template: str) -> str:
    return template.format(
        product=rng.choice(ind.products),
        symptom=rng.choice(ind.symptoms),
        service=rng.choice(ind.services),
        cause=rng.choice(ind.causes),
        step=rng.choice(ind.steps),
        step2=rng.choice(ind.steps),
        code=rng.choice(ind.codes),
        region=rng.choice(REGIONS),
        customer=rng.choice(CUSTOMERS),
        channel=rng.choice(CHANNELS),
        days=rng.randint(1, 15),
        month=rng.randint(1, 12),
    )


def articles(n: int, *, seed: int = 2026) -> Iterator[tuple[int, str, str, str, str]]:
    """`n` articles as (ref_id, title, summary, body, keywords); the same for the same seed."""
    rng = random.Random(seed)
    for ref_id in range(1, n + 1):
        ind = rng.choice(INDUSTRIES)
        title = _fill(rng, ind, rng.choice(TITLES))
        summary = _fill(rng, ind, rng.choice(SENTENCES[:4]))
        body = "".join(_fill(rng, ind, rng.choice(SENTENCES)) for _ in range(rng.randint(6, 12)))
        keywords = " ".join(rng.sample((*ind.products, *ind.services), 3))
        yield ref_id, title, summary, f"{summary}{body}", keywords


# What agents type: single product words, product + symptom with and without a space, error codes
# glued to Chinese, full-width input, rarer service names, and queries that find nothing at first.
QUERIES = (
    "宽带",
    "机顶盒 黑屏",
    "宽带无法上网",
    "机顶盒E302错误",
    "ＩＰＴＶ黑屏",
    "光猫 光信号闪红灯",
    "海事卫星 销户",
    "水表不走字",
    "密码重置",
    "智能卡未插入",
    "过户需要什么材料",
    "转托管",
    "宽带 欠费停机 复机",
    "铱星电话 无法登网",
    "阶梯水价",
    "融资融券 开户",
    "上海 宽带提速",
    "E404",
    "路由器 网速慢",
    "二次供水 水质浑浊",
)
