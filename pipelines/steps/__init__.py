"""Sequential steps (a surface): wpipe's ``Pipeline`` on the engine.

::

    from pipelines.steps import Pipeline

    pipeline = Pipeline(verbose=True)
    pipeline.set_steps([(step1, "Paso 1", "v1.0"), (Demo(), "Paso 2", "v1.0")])
    resultado = pipeline.run({"input": "datos_iniciales"})

Each step is a function or callable object taking a dict and returning a
dict; the returned dicts accumulate. Each ``run`` is a run of the engine (a
graph of one node per step), recorded in a run store when the pipeline has
one (``Pipeline(store=...)``). See docs/workflows.md, "Steps (wpipe)".
"""

from __future__ import annotations

from .pipeline import Pipeline
from .step import Step, StepError

__all__ = ["Pipeline", "Step", "StepError"]
