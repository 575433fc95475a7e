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
an :class:`Assumption` with the field it sits at, so the user knows what to
measure. The draft is validated like any design; :func:`draft_yaml` writes it
with the assumptions as comments.

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

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ScenarioError
from .kinds import KINDS
from .kinds.service import SERVICE
from .messages import shown
from .scenario import from_dict
from .yamlio import parse, read_text

__all__ = ["Assumption", "Draft", "from_compose", "from_compose_text", "kind_of_image", "draft_yaml"]

DEFAULT_RATE_RPS = 100
WORKERS_PER_CPU = 4        # threads that mostly wait on I/O: a few per core
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Assumption:
    """A value the files could not tell: where it sits in the draft, what was put there, and why."""
    path: str
    value: Any
    why: str


@dataclass
class Draft:
    """A scenario drafted from the user's files: its data (valid as a design) and what in it is assumed."""
    data: dict[str, Any]
    assumed: list[Assumption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # what the import left out, and why


def kind_of_image(image: str) -> str:
    """The node kind an image is recognised as (``service`` when no kind claims it).

    >>> kind_of_image("bitnami/postgresql:16"), kind_of_image("redis:7-alpine"), kind_of_image("acme/api")
    ('database', 'cache', 'service')
    """
    name = image.lower().rsplit("@", 1)[0]
    name = name.rsplit("/", 1)[-1].split(":", 1)[0]          # the repository's last part, without its tag
    words = set(re.split(r"[^a-z0-9]+", name)) | {name}
    for kind in KINDS.values():
        if words & set(kind.images):
            return kind.name
    return SERVICE.name


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
    draft = Draft({})
    names = _node_names(services, draft)
    nodes = {names[s]: _node(s, spec, names[s], draft) for s, spec in services.items()}
    edges = _calls(services, names, nodes, draft)
    entry = _entry(services, names, nodes, edges, draft)
    draft.data = {
        "name": f"Imported from {Path(source).name}",
        "description": "Drafted from a docker-compose file: the structure is the file's, the numbers are "
                       "assumptions (see the comments) to replace with measurements.",
        "workload": {"entry": entry, "rate_rps": DEFAULT_RATE_RPS, "duration_s": 60, "warmup_s": 5},
        "nodes": nodes,
        "edges": edges,
    }
    draft.assumed.insert(0, Assumption("workload.rate_rps", DEFAULT_RATE_RPS,
                                       "a compose file holds no traffic: set your peak requests per second"))
    try:
        from_dict(draft.data, source)
    except ScenarioError as exc:   # a draft that does not validate is a bug here, said with its reasons
        raise ScenarioError(source, [(p, f"the drafted design is not valid: {r}") for p, r in exc.problems]) from None
    return draft


def _what(data: Any) -> str:
    if not isinstance(data, dict):
        return f"{shown(data)} at the top"
    if "services" not in data:
        keys = ", ".join(str(k) for k in list(data)[:5]) or "nothing"
        return f"no `services:` (it has {keys})"
    return f"services: {shown(data['services'])}"


def _node_names(services: dict[str, Any], draft: Draft) -> dict[str, str]:
    """Each service's node name: its own where it is a valid one, else made valid (and said)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for s in services:
        name = s if _NAME_OK.match(s) else re.sub(r"[^A-Za-z0-9_-]", "_", s)
        if not re.match(r"[A-Za-z_]", name):
            name = "_" + name
        name = name[:64]
        base, k = name, 2
        while name in taken:
            name, k = f"{base[:60]}_{k}", k + 1
        if name != s:
            draft.notes.append(f"service {s!r} is node {name!r} (node names hold letters, digits, _ and -)")
        taken.add(name)
        out[s] = name
    return out


def _node(service: str, spec: dict[str, Any], name: str, draft: Draft) -> dict[str, Any]:
    image = spec.get("image")
    kind = kind_of_image(image) if isinstance(image, str) else SERVICE.name
    if not isinstance(image, str):
        draft.notes.append(f"{name}: no image (a build: section), so it is a service")
    node = copy.deepcopy(KINDS[kind].palette)
    if isinstance(image, str) and re.search(r"(kafka|redpanda)", image.lower()):
        draft.notes.append(f"{name}: {image!r} is a stream; it is drafted as a queue (its partitions are not "
                           "modelled)")
    replicas = _replicas(spec)
    if replicas is not None and "replicas" in KINDS[kind].spec.model_fields:
        node["replicas"] = replicas
    cpus = _cpus(spec)
    if "workers" in node:
        if cpus is not None:
            node["workers"] = max(1, math.ceil(cpus * WORKERS_PER_CPU))
            draft.assumed.append(Assumption(f"nodes.{name}.workers", node["workers"],
                                            f"{WORKERS_PER_CPU} per CPU of its limit ({cpus:g}): threads that "
                                            "mostly wait on I/O; set its real pool size"))
        else:
            draft.assumed.append(Assumption(f"nodes.{name}.workers", node["workers"],
                                            f"the {KINDS[kind].label}'s default: set its pool or connection limit"))
    if "service_time" in node:
        mean = node["service_time"].get("mean_ms")
        draft.assumed.append(Assumption(f"nodes.{name}.service_time", node["service_time"],
                                        f"a typical {KINDS[kind].label} ({mean:g} ms): measure it"))
    if "hit_ratio" in node:
        draft.assumed.append(Assumption(f"nodes.{name}.hit_ratio", node["hit_ratio"],
                                        "a common hit ratio: read yours from the cache's stats"))
    return node


def _replicas(spec: dict[str, Any]) -> int | None:
    deploy = spec.get("deploy")
    value = deploy.get("replicas") if isinstance(deploy, dict) else None
    if value is None:
        value = spec.get("scale")
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1000 else None


def _cpus(spec: dict[str, Any]) -> float | None:
    """The CPU limit (``deploy.resources.limits.cpus``, or the older ``cpus``), when it is a number."""
    deploy = spec.get("deploy")
    limits = deploy.get("resources", {}).get("limits", {}) if isinstance(deploy, dict) and \
        isinstance(deploy.get("resources"), dict) else {}
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
    if isinstance(deps, dict):
        return [d for d in deps if isinstance(d, str)]
    if isinstance(deps, list):
        return [d for d in deps if isinstance(d, str)]
    return []


def _environment_values(spec: dict[str, Any]) -> list[str]:
    env = spec.get("environment")
    if isinstance(env, dict):
        return [str(v) for v in env.values() if isinstance(v, (str, int, float))]
    if isinstance(env, list):
        return [str(v).split("=", 1)[1] for v in env if isinstance(v, str) and "=" in v]
    return []


def _calls(services: dict[str, Any], names: dict[str, str], nodes: dict[str, Any],
           draft: Draft) -> list[dict[str, Any]]:
    """depends_on and host names in the environment, as calls (each once, in the file's order)."""
    edges: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for s, spec in services.items():
        targets = list(_depends_on(spec))
        for value in _environment_values(spec):
            for other in services:
                if other != s and re.search(rf"(?<![A-Za-z0-9_.-]){re.escape(other)}(?![A-Za-z0-9_-])", value):
                    targets.append(other)
        for t in targets:
            if t not in services:
                draft.notes.append(f"{names[s]} depends on {t!r}, which is not a service of the file: left out")
                continue
            pair = (names[s], names[t])
            if pair in seen or t == s:
                continue
            seen.add(pair)
            edges.append({"from": pair[0], "to": pair[1]})
    for node, spec in nodes.items():
        out = [e for e in edges if e["from"] == node]
        if KINDS[spec["kind"]].balancer and len(out) > 1:   # a balancer routes each request to one of them
            for e in out:
                e["weight"] = 1
            draft.assumed.append(Assumption(f"nodes.{node} calls", "weight 1 each",
                                            f"{node} routes to {len(out)} services; set each one's share of requests"))
        if KINDS[spec["kind"]].asynchronous:
            draft.notes.append(f"{node} is a {KINDS[spec['kind']].label}: which services consume it the file cannot tell; add a call from "
                               f"{node} to each consumer")
    if edges:
        draft.assumed.append(Assumption("edges", "probability 1", "every call is made on every request: set the "
                                                                  "share of requests that make each"))
    return edges


def _entry(services: dict[str, Any], names: dict[str, str], nodes: dict[str, Any], edges: list[dict[str, Any]],
           draft: Draft) -> str:
    """Where requests enter: a published service nothing calls (a load balancer first), else the first uncalled."""
    called = {e["to"] for e in edges}
    uncalled = [names[s] for s in services if names[s] not in called]
    published = [names[s] for s in services if services[s].get("ports") and names[s] not in called]
    pools = ([n for n in published if KINDS[nodes[n]["kind"]].balancer], published, uncalled, list(nodes))
    entry = next(pool[0] for pool in pools if pool)
    if entry not in published:
        draft.assumed.append(Assumption("workload.entry", entry, "no service both publishes a port and is called by "
                                                                 "none: set where your requests arrive"))
    return entry


def draft_yaml(draft: Draft) -> str:
    """The draft as a YAML design, its assumptions and notes as comments at the top."""
    import yaml
    head = ["# Drafted by `sandbox import compose`. Assumed (the file could not tell; replace with measurements):"]
    head += [_comment(f"  {a.path}: {_inline(a.value)}  ({a.why})") for a in draft.assumed]
    if draft.notes:
        head += ["# Notes:"] + [_comment(f"  {n}") for n in draft.notes]
    body = yaml.safe_dump(draft.data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(head) + "\n" + body


def _comment(text: str) -> str:
    """One YAML comment line: the file's text in it (an image name, a service's) can never end the comment."""
    return "# " + re.sub(r"[\x00-\x1f\x7f\u0085\u2028\u2029]", " ", text)


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)
