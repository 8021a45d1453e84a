"""Permission catalogue entries of messaging (短信 / 邮件, 免打扰, 黑名单, 主动服务).

`messaging.message.send` lets an agent send an ordinary or template SMS / e-mail to a customer
(knowledge sending needs the knowledge permission instead). The send log is scoped: own = what one
sent, department = what one's department sent, all = every message. Do-not-disturb and the
blacklist are read by every sender and by the call center through the service, whatever the
reader's rights; `view` / `edit` govern the management pages.
"""

from kefu.core.permissions import register

register("messaging.message", "SMS and e-mail", ("send", "view"), area="messaging", scoped=True)
register("messaging.template", "Message templates", ("view", "edit"), area="messaging")
register("messaging.dnd", "Do-not-disturb list", ("view", "edit"), area="messaging")
register("messaging.blacklist", "Caller blacklist", ("view", "edit"), area="messaging")
register("messaging.batch", "Proactive service", ("view", "run"), area="messaging", scoped=True)
register("messaging.config", "Messaging gateways", ("view", "edit"), area="messaging")

FUNCTION = "messaging"
SEND = "messaging.message.send"
LOG_VIEW = "messaging.message.view"
TEMPLATE_VIEW = "messaging.template.view"
TEMPLATE_EDIT = "messaging.template.edit"
DND_VIEW = "messaging.dnd.view"
DND_EDIT = "messaging.dnd.edit"
BLACKLIST_VIEW = "messaging.blacklist.view"
BLACKLIST_EDIT = "messaging.blacklist.edit"
BATCH_VIEW = "messaging.batch.view"
BATCH_RUN = "messaging.batch.run"
CONFIG_VIEW = "messaging.config.view"
CONFIG_EDIT = "messaging.config.edit"
