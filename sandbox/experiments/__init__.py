"""Experiments: many runs of a design, so a difference can be told from noise.

One simulation run is one sample. An experiment runs a scenario under several
seeds and reports each headline figure as a mean with a confidence interval:

- :func:`replicate` (:mod:`.replication`): N independent seeds; each figure as
  mean ± half-width, e.g. ``p99 = 180 ± 12 ms over 10 runs``.
- :func:`compare` (:mod:`.comparison`): two designs (or one design and a
  change) on identical traffic; paired differences B - A and a verdict.
- :func:`sweep` (:mod:`.sweeps`): one or two settings over ranges, N seeds at
  every point, the knee of the latency curve and the Pareto frontier.
- :func:`sensitivity` (:mod:`.sensitivity`): each of many settings moved down
  and up on identical traffic, ranked by how far it moves a figure (a tornado).

How the runs are made is one :class:`RunOptions` (:mod:`.runs`): in this
process, a local process pool or a Dask cluster, with progress, limits and
cancellation; every experiment takes it as ``run=`` or its fields as keywords
(``workers=1``). The figures, their units and how they print are in
:mod:`.figures`.
"""

from .comparison import ComparisonResult, Delta, changed_name, compare, variant, verdict
from .figures import FIGURES, Figure, format_estimate, label, text_table
from .replication import ReplicationResult, replicate
from .runs import Progress, RunOptions, RunSummary, TaskFailure, run_task, summarise
from .sensitivity import Knob, SensitivityResult, sensitivity
from .sweeps import Knee, SweepPoint, SweepResult, sweep

__all__ = [
    "replicate", "compare", "sweep", "variant", "verdict", "changed_name", "summarise", "run_task",
    "RunOptions", "RunSummary", "TaskFailure", "ReplicationResult", "Delta", "ComparisonResult", "SweepPoint",
    "Knee", "SweepResult", "FIGURES", "Figure", "Progress", "format_estimate", "label", "text_table",
    "sensitivity", "Knob", "SensitivityResult",
]
