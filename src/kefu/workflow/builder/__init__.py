"""The simple flow builder (简单流程配置): an ordered list of nodes with their states ⇄ BPMN 2.0 XML.

Administrators describe a flow as nodes, each with handling settings and approval states (审批状态)
naming the next node; `to_bpmn` writes standard BPMN with a diagram layout, so the same flow opens in
the graphical designer, and `from_bpmn` reads back any flow still of that simple shape.
"""

from kefu.workflow.builder.bpmn_in import from_bpmn
from kefu.workflow.builder.bpmn_out import state_condition, to_bpmn
from kefu.workflow.builder.model import (
    END,
    IMPLICIT_STATE,
    AssignRule,
    Countersign,
    SimpleFlow,
    SimpleNode,
    StateRule,
)
from kefu.workflow.builder.validate import InvalidFlow, Problem, validate_simple

__all__ = [
    "END",
    "IMPLICIT_STATE",
    "AssignRule",
    "Countersign",
    "InvalidFlow",
    "Problem",
    "SimpleFlow",
    "SimpleNode",
    "StateRule",
    "from_bpmn",
    "state_condition",
    "to_bpmn",
    "validate_simple",
]
