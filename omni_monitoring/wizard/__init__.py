from . import omni_trace_view
