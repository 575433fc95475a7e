"""The architecture sandbox: describe an architecture as data, simulate real load through it.

>>> import sandbox
>>> s = sandbox.loads('''
... name: Checkout API
... workload: {entry: api, arrival: poisson, rate_rps: 80, duration_s: 60, warmup_s: 5}
... nodes:
...   api: {kind: service, workers: 4, service_time: {dist: exponential, mean_ms: 40}}
... ''')
>>> r = sandbox.simulate(s, seed=42)
>>> r.bottleneck.node
'api'
>>> r == sandbox.simulate(s, seed=42)    # same seed, same results (engine timing aside)
True
"""

from .analysis import Analysis, NodeEstimate, accuracy_text, analyse
from .calls import Edge
from .diagram import to_dot
from .mermaid import to_mermaid
from .compose import from_compose
from .k8s import from_k8s
from .calibrate import Calibration, calibrate
from .otlp import to_otlp
from .tracefiles import read_traces
from .engine import Limits, simulate
from .errors import RunCancelled, SandboxError, ScenarioError, SimulationError
from .experiments import RunOptions, compare, replicate, sensitivity, sweep
from .findings import Finding
from .graph import to_graph
from .classes import TrafficClass
from .results import Bottleneck, Cause, ClassResult, ErrorBudget, Latency, NodeResult, Requests, Results, Trace
from .scenario import Scenario, from_dict, json_schema, load, loads, with_overrides
from .workload import Workload

__all__ = [
    "Analysis", "Bottleneck", "Cause", "Edge", "Finding", "Latency", "Limits", "NodeEstimate",
    "NodeResult", "Requests", "Results", "RunCancelled", "RunOptions", "SandboxError", "Scenario", "ScenarioError",
    "SimulationError", "Trace", "Workload", "accuracy_text", "analyse", "from_dict", "json_schema", "load", "loads",
    "simulate", "to_dot", "to_mermaid", "from_compose", "from_k8s", "to_graph", "with_overrides", "replicate", "compare", "sweep", "sensitivity",
    "ClassResult", "ErrorBudget", "TrafficClass", "Calibration", "calibrate", "to_otlp", "read_traces",
]
__version__ = "0.1.0"
