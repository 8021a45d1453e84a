"""Typical flows of the seed data, in the simple form, shared by the builder tests."""

from __future__ import annotations

from hypothesis import strategies as st

from kefu.workflow.builder import AssignRule, Countersign, SimpleFlow, SimpleNode, StateRule


def states(*rules: tuple[str, str, str]) -> list[StateRule]:
    return [StateRule(code, label, next_) for code, label, next_ in rules]


def complaint() -> SimpleFlow:
    """投诉处理: register → dispatch → handle ⇄ review → callback, with loops back to handle/dispatch."""
    return SimpleFlow(
        code="complaint",
        name="投诉处理",
        nodes=[
            SimpleNode("register", "登记", assign=[AssignRule("initiator")]),
            SimpleNode(
                "dispatch", "派单", dispatch="manual", assign=[AssignRule("role", "dispatcher")], limit="PT2H"
            ),
            SimpleNode(
                "handle",
                "处理",
                dispatch="grab",
                assign=[AssignRule("group", "complaints"), AssignRule("department", "KF-CS")],
                states=states(("done", "已处理", "review"), ("returned", "退回", "dispatch")),
                limit="PT8H",
                warn_at=0.8,
                escalation="reassign",
            ),
            SimpleNode(
                "review",
                "审核",
                assign=[AssignRule("node_department", "handle"), AssignRule("role", "backoffice")],
                states=states(("approved", "通过", "callback"), ("rejected", "不通过", "handle")),
                limit="P1D",
            ),
            SimpleNode(
                "callback",
                "回访",
                assign=[AssignRule("node_handler", "register")],
                states=states(("satisfied", "满意", "end"), ("unsatisfied", "不满意", "handle")),
                limit="P2D",
                escalation="path",
                escalation_state="satisfied",
            ),
        ],
    )


def proposal() -> SimpleFlow:
    """会签: a draft signed by a quorum of 2 leaders, sent back to the drafter on disagreement."""
    return SimpleFlow(
        code="proposal",
        name="制度会签",
        nodes=[
            SimpleNode("draft", "起草", assign=[AssignRule("initiator")]),
            SimpleNode(
                "sign",
                "会签",
                assign=[AssignRule("role", "leader")],
                states=states(("agreed", "同意", "archive"), ("disagreed", "不同意", "draft")),
                countersign=Countersign(mode="quorum", quorum=2),
            ),
            SimpleNode(
                "archive",
                "归档",
                assign=[AssignRule("user", "clerk01")],
                countersign=Countersign(mode="all", participants_var="archivists", sequential=True),
            ),
        ],
    )


def consultation() -> SimpleFlow:
    """咨询: triage sends simple questions to the answer, complex ones via an expert, spam to the end."""
    return SimpleFlow(
        code="consultation",
        name="咨询处理",
        nodes=[
            SimpleNode("intake", "受理", assign=[AssignRule("initiator")]),
            SimpleNode(
                "triage",
                "分拣",
                assign=[AssignRule("previous_handler")],
                states=states(
                    ("simple", "简单", "answer"), ("complex", "复杂", "expert"), ("invalid", "无效", "end")
                ),
            ),
            SimpleNode(
                "expert",
                "专家研判",
                assign=[AssignRule("role", "expert")],
                states=states(("ok", "完成", "answer")),
            ),
            SimpleNode("answer", "答复", assign=[AssignRule("submitter_supervisor")]),
        ],
    )


def repair() -> SimpleFlow:
    """报修: a survey fans out to three teams (three rows); one team can send the order back to the survey."""
    return SimpleFlow(
        code="repair",
        name="报修处理",
        nodes=[
            SimpleNode(
                "survey",
                "查勘",
                assign=[AssignRule("role", "surveyor")],
                states=states(
                    ("water", "水", "plumber"), ("power", "电", "electrician"), ("gas", "燃气", "gasman")
                ),
            ),
            SimpleNode(
                "plumber",
                "水工",
                assign=[AssignRule("role", "plumber")],
                states=states(("fixed", "修复", "end")),
            ),
            SimpleNode(
                "electrician",
                "电工",
                assign=[AssignRule("role", "electrician")],
                states=states(("fixed", "修复", "end"), ("wrong", "非电路问题", "survey")),
            ),
            SimpleNode(
                "gasman",
                "燃气工",
                assign=[AssignRule("role", "gas")],
                states=states(("fixed", "修复", "end")),
            ),
        ],
    )


def followup() -> SimpleFlow:
    """回访: no answer calls again (a loop on the node itself); two states lead to the same node."""
    return SimpleFlow(
        code="followup",
        name="电话回访",
        nodes=[
            SimpleNode(
                "call",
                "外呼",
                assign=[AssignRule("role", "agent")],
                states=states(
                    ("reached", "接通", "close"), ("no_answer", "未接通", "call"), ("wrong", "错号", "close")
                ),
            ),
            SimpleNode("close", "结案", assign=[AssignRule("role", "agent")]),
        ],
    )


ALL = [complaint, proposal, consultation, repair, followup]


@st.composite
def random_flows(draw: st.DrawFn, max_nodes: int = 7) -> SimpleFlow:
    """Valid flows by construction: some state of every node (or its implicit one) leads to the following
    node, the last one's to the end, so everything is reachable and can finish; the rest go anywhere."""
    count = draw(st.integers(1, max_nodes))
    ids = [f"n{i}" for i in range(count)]
    nodes = []
    for index, node_id in enumerate(ids):
        following = ids[index + 1] if index + 1 < count else "end"
        targets = [following, *draw(st.lists(st.sampled_from([*ids, "end"]), max_size=3))]
        order = draw(st.permutations(range(len(targets))))
        rules = [StateRule(f"s{i}", f"状态{i}", targets[j]) for i, j in enumerate(order)]
        if len(rules) == 1 and draw(st.booleans()):
            rules = []  # the implicit state "done" goes to the following node too
        countersign = draw(
            st.none()
            | st.builds(Countersign, mode=st.just("quorum"), quorum=st.integers(1, 3))
            | st.builds(Countersign, mode=st.sampled_from(["all", "any"]), sequential=st.booleans())
        )
        nodes.append(
            SimpleNode(
                node_id,
                f"节点{index}",
                assign=[AssignRule("role", "agent")],
                states=rules,
                countersign=countersign,
            )
        )
    return SimpleFlow("random", "随机流程", nodes)
