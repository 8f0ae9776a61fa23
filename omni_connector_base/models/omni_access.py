"""Server-side checks of the Omnichannel groups (buttons hidden in views protect nothing over RPC)."""

from odoo.exceptions import AccessError

# Replaying and processing now re-run channel work: Omnichannel Managers only (checked server side).
MANAGER_GROUP = "omni_connector_base.group_omni_manager"


def check_omni_manager(env):
    """Refuse unless the current user is an Omnichannel Manager (or the code runs as superuser).

    Buttons are hidden from users in the views, but any public method can be called over
    JSON-RPC or JSON-2: the check has to be here.
    """
    if env.su or env.user.has_group(MANAGER_GROUP):
        return
    raise AccessError(env._("Only Omnichannel Managers can replay events or process them now."))


def check_channel_action(env):
    """Refuse a channel action (a sync, an import, a stock push, registering webhooks, testing the
    connection, a new API key) unless the user is an Omnichannel Manager: these run channel work with
    the backend's credentials, which is configuring the channel (README, *Who can do what*)."""
    if env.su or env.user.has_group(MANAGER_GROUP):
        return
    raise AccessError(env._("Only Omnichannel Managers can run a channel's actions (syncs, imports, stock pushes, "
                            "webhooks, connection tests, API keys)."))
