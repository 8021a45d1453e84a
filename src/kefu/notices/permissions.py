"""Permission catalogue entries of announcements (公告). Personal messages are registered in core.

view = see the announcements in one's data scope with their read receipts (e.g. quality staff);
publish = write, publish, withdraw and remind — the data scope also bounds whom one may address
(own department, its subtree, or everyone). Reading announcements addressed to one needs only login.
"""

from kefu.core.permissions import register

ANNOUNCEMENTS = "notices.announcements"
VIEW = "notices.announcements.view"
PUBLISH = "notices.announcements.publish"
MANAGE_ANY = (VIEW, PUBLISH)

register(ANNOUNCEMENTS, "Announcements", ("view", "publish"), area="notices", scoped=True)
