"""Permission catalogue entries of the call center (呼叫中心).

`callcenter.cti.report` belongs to the PBX bridge's integration user: its API token authenticates
CTI events (also in the URL of the Zammad-compatible endpoint). Agents need `callcenter.agent.use`
to log in to queues, change state, control calls and receive screen pops. Call records are scoped
by the agent who took the call and their department; supervisors see queues and agents of their
department (or all) with `callcenter.monitor.view`. Queues, skills, IVR menus and voice prompts are
`callcenter.config`; outbound campaigns are `callcenter.campaign`, scoped by the campaign's department.
"""

from kefu.core.permissions import register

register("callcenter.cti", "CTI integration", ("report",), area="callcenter")
register("callcenter.agent", "Agent desk", ("use",), area="callcenter")
register("callcenter.calls", "Call records", ("view", "export"), area="callcenter", scoped=True)
register("callcenter.monitor", "Call center monitoring", ("view",), area="callcenter", scoped=True)
register("callcenter.campaign", "Outbound campaigns", ("view", "manage"), area="callcenter", scoped=True)
register("callcenter.config", "Call center configuration", ("view", "edit"), area="callcenter")

REPORT = "callcenter.cti.report"
USE = "callcenter.agent.use"
CALLS_VIEW = "callcenter.calls.view"
CALLS_EXPORT = "callcenter.calls.export"
MONITOR = "callcenter.monitor.view"
CONFIG_VIEW = "callcenter.config.view"
CONFIG_EDIT = "callcenter.config.edit"
CAMPAIGN_VIEW = "callcenter.campaign.view"
CAMPAIGN_MANAGE = "callcenter.campaign.manage"
