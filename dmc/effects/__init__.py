"""Channel-strip effects: the parameter space and the real (pedalboard) reference chain."""

from dmc.effects.params import (
    CHANNEL_STRIP,
    TASKS,
    TCN_PARAMETERS,
    Parameter,
    ParameterSpace,
    task_parameters,
)

__all__ = [
    "CHANNEL_STRIP",
    "TASKS",
    "TCN_PARAMETERS",
    "Parameter",
    "ParameterSpace",
    "task_parameters",
]
