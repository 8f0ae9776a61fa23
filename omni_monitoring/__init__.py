from . import controllers, models, wizard
from .models.omni_event_state_count import drop_triggers


def uninstall_hook(env):
    """The live-state triggers on omni_event write into a table that goes away with the addon."""
    drop_triggers(env.cr)
