"""Import from docker-compose: a scenario draft from the user's own system, with every guess named.

A compose file says what runs and what depends on what, never how fast
anything is. So the draft takes from it what it can tell:

- each service becomes a node, its kind recognised from the image (each kind
  lists the image names it claims: ``postgres`` -> database, ``redis`` ->
  cache, ``nginx`` -> load balancer, ``rabbitmq`` -> queue; anything else is a
  service);
- ``depends_on``, and another service's name used as a host in ``environment``
  (``DATABASE_URL=postgres://db:5432/app``, ``REDIS_HOST=cache``), become calls;
- ``deploy.replicas`` (or the older ``scale``) becomes replicas;
  ``deploy.resources.limits.cpus`` suggests the workers;

and fills everything else (service times, the arrival rate, hit ratios, the
entry when no service publishes a port) with a stated default, each listed as
an assumption with the field it sits at (see :mod:`sandbox.drafts`).

>>> draft = from_compose_text('''
... services:
...   web: {image: nginx:1.27, ports: ["80:80"], depends_on: [app]}
...   app: {image: acme/shop:2.1, environment: {DATABASE_URL: "postgres://db:5432/shop"}}
...   db: {image: postgres:16}
... ''')
>>> {n: d["kind"] for n, d in draft.data["nodes"].items()}
{'web': 'load_balancer', 'app': 'service', 'db': 'database'}
>>> [(e["from"], e["to"]) for e in draft.data["edges"]]
[('web', 'app'), ('app', 'db')]
>>> draft.data["workload"]["entry"]
'web'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .drafts import Draft, Workload, draft_node, finish, host_references, node_names
from .errors import ScenarioError
from .messages import shown
from .yamlio import parse, read_text

__all__ = ["from_compose", "from_compose_text"]


def from_compose(path: str | Path) -> Draft:
    """A scenario draft from a docker-compose file (ScenarioError naming the file and entry when it is not one)."""
    return from_compose_text(read_text(path), str(path))


def from_compose_text(text: str, source: str = "<compose>") -> Draft:
    data = parse(text, source)
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict) or not data["services"]:
        raise ScenarioError(source, [("services", "a docker-compose file maps `services:` to at least one service; "
                                                  f"this file has {_what(data)}")])
    services: dict[str, Any] = data["services"]
    problems = [(f"services.{name}", f"must be a mapping of the service's settings, got {shown(spec)}")
                for name, spec in services.items() if not isinstance(spec, dict)]
    problems += [("services", f"service names are text; got {shown(name)}") for name in services
                 if not isinstance(name, str)]
    if problems:
        raise ScenarioError(source, problems)
    draft = Draft({}, command="sandbox import compose")
    names = node_names(services, draft, "compose service")
    workloads = {s: _workload(spec) for s, spec in services.items()}
    nodes = {names[s]: draft_node(names[s], w, draft) for s, w in workloads.items()}
    hosts = {s: s for s in services}
    calls = []
    for s, spec in services.items():
        for t in _depends_on(spec) + host_references(workloads[s].environment, hosts):
            if t in services:
                calls.append((names[s], names[t]))
            else:
                draft.notes.append(f"{names[s]} depends on {t!r}, which is not a service of the file: left out")
    published = [names[s] for s, w in workloads.items() if w.published]
    return finish(draft, source, "docker-compose files", nodes, calls, published)


def _what(data: Any) -> str:
    if not isinstance(data, dict):
        return f"{shown(data)} at the top"
    if "services" not in data:
        keys = ", ".join(str(k) for k in list(data)[:5]) or "nothing"
        return f"no `services:` (it has {keys})"
    return f"services: {shown(data['services'])}"


def _workload(spec: dict[str, Any]) -> Workload:
    image = spec.get("image")
    return Workload(image if isinstance(image, str) else None, _replicas(spec), _cpus(spec),
                    _environment_values(spec), bool(spec.get("ports")))


def _replicas(spec: dict[str, Any]) -> int | None:
    deploy = spec.get("deploy")
    value = deploy.get("replicas") if isinstance(deploy, dict) else None
    if value is None:
        value = spec.get("scale")
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1000 else None


def _cpus(spec: dict[str, Any]) -> float | None:
    """The CPU limit (``deploy.resources.limits.cpus``, or the older ``cpus``), when it is a number."""
    deploy = spec.get("deploy")
    resources = deploy.get("resources") if isinstance(deploy, dict) else None
    limits = resources.get("limits") if isinstance(resources, dict) else None
    value = limits.get("cpus") if isinstance(limits, dict) else None
    if value is None:
        value = spec.get("cpus")
    try:
        cpus = float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
    return cpus if cpus is not None and 0 < cpus <= 256 else None


def _depends_on(spec: dict[str, Any]) -> list[str]:
    deps = spec.get("depends_on")
    if isinstance(deps, (dict, list)):
        return [d for d in deps if isinstance(d, str)]
    return []


def _environment_values(spec: dict[str, Any]) -> list[str]:
    env = spec.get("environment")
    if isinstance(env, dict):
        return [str(v) for v in env.values() if isinstance(v, (str, int, float))]
    if isinstance(env, list):
        return [str(v).split("=", 1)[1] for v in env if isinstance(v, str) and "=" in v]
    return []
