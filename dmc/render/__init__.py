"""Rendering listening-test stimuli: ``python -m dmc.render testset`` (see ``docs/render.md``)."""

from dmc.render.testset import RenderError, RenderResult, RenderSettings, TaskPlan, render_testset

__all__ = ["RenderError", "RenderResult", "RenderSettings", "TaskPlan", "render_testset"]
