"""Import from Kubernetes manifests: a scenario draft from Deployments, Services, autoscalers and Ingresses.

The manifests (one file, several files, or a folder of ``.yaml``/``.yml``
files, each possibly holding several documents) say:

- **what runs**: each Deployment, StatefulSet or DaemonSet becomes a node, its
  kind recognised from its first container's image, ``spec.replicas`` its
  replicas, its CPU limit (``500m``, ``2``) a suggestion for its workers;
- **what calls what**: a container's environment naming a Service (or a
  workload) as a host (``postgres://orders-db:5432``,
  ``orders-db.shop.svc.cluster.local``) is a call to the workload that
  Service selects (by its pod labels);
- **where requests enter**: an Ingress becomes a load balancer in front of the
  workloads its rules send to; else a ``LoadBalancer`` or ``NodePort`` Service's
  workload;
- **autoscaling**: a HorizontalPodAutoscaler (``autoscaling/v2`` or ``v1``)
  becomes ``autoscale`` with its minimum, maximum and CPU target, checked every
  15 s (the controller's default sync period).

Everything else is a stated default, listed as assumed (:mod:`sandbox.drafts`).
Kinds other than these (ConfigMaps, Secrets, ...) are passed over, and said.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .drafts import Draft, Workload, draft_node, finish, host_references, node_names
from .errors import ScenarioError
from .kinds import KINDS
from .messages import shown
from .yamlio import parse_all, read_text

__all__ = ["from_k8s", "from_k8s_texts", "MAX_MANIFEST_FILES"]

MAX_MANIFEST_FILES = 200
HPA_SYNC_S = 15.0            # the HorizontalPodAutoscaler controller's default --horizontal-pod-autoscaler-sync-period
COLD_START_S = 30.0          # assumed: image pull, start and readiness of a new pod
_WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
_READ = _WORKLOADS + ("Service", "HorizontalPodAutoscaler", "Ingress")


def from_k8s(*paths: str | Path) -> Draft:
    """A scenario draft from manifest files or folders (ScenarioError naming the file and document)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file())
            if not found:
                raise ScenarioError(str(p), [("", "holds no .yaml or .yml file")])
            files += found
        else:
            files.append(p)
    if not files:
        raise ScenarioError("<k8s>", [("", "give at least one manifest file or folder")])
    if len(files) > MAX_MANIFEST_FILES:
        raise ScenarioError(str(paths[0]), [("", f"{len(files):,} files; at most {MAX_MANIFEST_FILES} are read")])
    return from_k8s_texts({str(f): read_text(f) for f in files}, str(paths[0]))


def from_k8s_texts(texts: dict[str, str], name: str | None = None) -> Draft:
    """The draft from manifests given as {source name: YAML text}; `name` (else the first source) names it."""
    objects: list[tuple[str, str, dict[str, Any]]] = []   # (source, where, object)
    problems: list[tuple[str, str, str]] = []
    skipped: dict[str, int] = {}
    for source, text in texts.items():
        for i, doc in enumerate(parse_all(text, source)):
            where = f"documents[{i}]"
            if doc is None:
                continue
            if not isinstance(doc, dict):
                problems.append((source, where, f"must be a Kubernetes object (a mapping), got {shown(doc)}"))
                continue
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):   # kubectl get -o yaml
                docs = [(f"{where}.items[{j}]", d) for j, d in enumerate(doc["items"])]
            else:
                docs = [(where, doc)]
            for w, d in docs:
                kind = d.get("kind") if isinstance(d, dict) else None
                if kind not in _READ:
                    skipped[str(kind)] = skipped.get(str(kind), 0) + 1
                    continue
                object_name = _mapping(d, "metadata").get("name")
                if not isinstance(object_name, str) or not object_name:
                    problems.append((source, f"{w}.metadata.name", f"a {kind} needs a name"))
                    continue
                objects.append((source, w, d))
    if problems:   # the first file at fault, with each of its problems
        bad = problems[0][0]
        raise ScenarioError(bad, [(where, reason) for source, where, reason in problems if source == bad])
    first = next(iter(texts), "<k8s>")
    workloads = {_name(d): d for _, _, d in objects if d["kind"] in _WORKLOADS}
    if not workloads:
        found = ", ".join(f"{n} {k}" for k, n in skipped.items()) or "no objects"
        raise ScenarioError(first, [("", f"no Deployment, StatefulSet or DaemonSet to draft a design from "
                                         f"(found {found})")])
    draft = Draft({}, command="sandbox import k8s")
    for kind, n in skipped.items():
        draft.notes.append(f"{n} {kind} object{'s' if n > 1 else ''} passed over (they hold no load)")
    services = [d for _, _, d in objects if d["kind"] == "Service"]
    selected = {_name(s): _selects(s, workloads) for s in services}
    hosts = {**{w: w for w in workloads}, **{s: t for s, t in selected.items() if t is not None}}
    scalers = {_target(h): h for _, _, h in objects if _kind(h) == "HorizontalPodAutoscaler"}
    names = node_names(workloads, draft, "workload")
    read = {w: _workload(d, scalers.get(w), draft) for w, d in workloads.items()}
    nodes = {names[w]: draft_node(names[w], f, draft) for w, f in read.items()}
    calls = [(names[w], names[t]) for w, f in read.items() for t in host_references(f.environment, hosts)]
    published = [names[t] for s, t in selected.items() if t is not None
                 and _public(next(x for x in services if _name(x) == s))]
    for _, _, ing in objects:
        if _kind(ing) != "Ingress":
            continue
        backends = [hosts[b] for b in _backends(ing) if b in hosts]
        if not backends:
            draft.notes.append(f"ingress {_name(ing)!r} sends to no Service of these files: left out")
            continue
        lb = node_names([_name(ing)], draft, "ingress")[_name(ing)]
        while lb in nodes:   # an Ingress named like a workload
            lb += "_ingress"
        nodes[lb] = _ingress_node()
        calls += [(lb, names[b]) for b in dict.fromkeys(backends)]
        published.insert(0, lb)
    return finish(draft, name or first, "Kubernetes manifests", nodes, calls, published)


def _mapping(d: Any, key: str) -> dict[str, Any]:
    """d[key] where both are mappings, else an empty one (manifests are the user's: any shape may come)."""
    value = d.get(key) if isinstance(d, dict) else None
    return value if isinstance(value, dict) else {}


def _kind(d: dict[str, Any]) -> Any:
    return d.get("kind")


def _ingress_node() -> dict[str, Any]:
    """An Ingress is a reverse proxy: the balancer kind's node."""
    balancer = next(k for k in KINDS.values() if k.balancer)
    return copy.deepcopy(balancer.palette)


def _name(d: dict[str, Any]) -> str:
    name: str = d["metadata"]["name"]
    return name


def _labels(d: dict[str, Any]) -> dict[str, Any]:
    template = ((d.get("spec") or {}).get("template") or {}) if isinstance(d.get("spec"), dict) else {}
    meta = template.get("metadata") if isinstance(template, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


def _selects(service: dict[str, Any], workloads: dict[str, dict[str, Any]]) -> str | None:
    """The workload a Service's selector picks (the first whose pod labels hold every selector label)."""
    spec = service.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if not isinstance(selector, dict) or not selector:
        return None
    for name, w in workloads.items():
        labels = _labels(w)
        if all(labels.get(k) == v for k, v in selector.items()):
            return name
    return None


def _public(service: dict[str, Any]) -> bool:
    spec = service.get("spec")
    return isinstance(spec, dict) and spec.get("type") in ("LoadBalancer", "NodePort")


def _target(hpa: dict[str, Any]) -> str | None:
    spec = hpa.get("spec")
    ref = spec.get("scaleTargetRef") if isinstance(spec, dict) else None
    name = ref.get("name") if isinstance(ref, dict) else None
    return name if isinstance(name, str) else None


def _backends(ingress: dict[str, Any]) -> list[str]:
    """The Service names an Ingress sends to (networking.k8s.io/v1, and the older serviceName form)."""
    out: list[str] = []
    spec = _mapping(ingress, "spec")

    def add(backend: Any) -> None:
        if not isinstance(backend, dict):
            return
        if isinstance(backend.get("serviceName"), str):   # extensions/v1beta1
            out.append(backend["serviceName"])
        for target in backend.values():   # v1: {service: {name, port}}; a resource backend (it has a kind) is not
            if isinstance(target, dict) and isinstance(target.get("name"), str) and "kind" not in target:
                out.append(target["name"])

    add(spec.get("defaultBackend") or spec.get("backend"))
    for rule in spec.get("rules") or []:
        paths = ((rule or {}).get("http") or {}).get("paths") if isinstance(rule, dict) else None
        for path in paths or []:
            add(path.get("backend") if isinstance(path, dict) else None)
    return out


def _workload(d: dict[str, Any], hpa: dict[str, Any] | None, draft: Draft) -> Workload:
    spec = _mapping(d, "spec")
    pod = (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    containers = pod.get("containers") if isinstance(pod, dict) else None
    containers = [c for c in containers or [] if isinstance(c, dict)]
    first = containers[0] if containers else {}
    image = first.get("image") if isinstance(first.get("image"), str) else None
    replicas = spec.get("replicas")
    replicas = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) and 1 <= replicas <= 1000 \
        else (1 if d["kind"] != "DaemonSet" else None)
    env = [str(e["value"]) for c in containers for e in c.get("env") or []
           if isinstance(e, dict) and isinstance(e.get("value"), (str, int, float))]
    env += [str(a) for c in containers for a in (c.get("args") or []) + (c.get("command") or [])
            if isinstance(a, (str, int, float))]
    if any(c.get("envFrom") for c in containers):
        draft.notes.append(f"{_name(d)}: envFrom (ConfigMaps, Secrets) is not read; calls named only there are "
                           "missing")
    return Workload(image, replicas, _cpus(first), env, False, _autoscale(hpa, draft) if hpa else None)


def _cpus(container: dict[str, Any]) -> float | None:
    """The CPU limit (else the request): ``500m`` is 0.5, ``2`` is 2."""
    resources = container.get("resources")
    for key in ("limits", "requests"):
        part = resources.get(key) if isinstance(resources, dict) else None
        value = part.get("cpu") if isinstance(part, dict) else None
        if value is None or isinstance(value, bool):
            continue
        try:
            cpus = float(value[:-1]) / 1000 if isinstance(value, str) and value.endswith("m") else float(value)
        except (TypeError, ValueError):
            continue
        if 0 < cpus <= 256:
            return cpus
    return None


def _autoscale(hpa: dict[str, Any], draft: Draft) -> dict[str, Any] | None:
    spec = _mapping(hpa, "spec")
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if not all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 1000 for x in (low, high)) or high < low:
        draft.notes.append(f"autoscaler {_name(hpa)!r}: minReplicas {low!r} and maxReplicas {high!r} are not a "
                           "range of 1 to 1000: left out")
        return None
    target = spec.get("targetCPUUtilizationPercentage")   # autoscaling/v1
    for metric in spec.get("metrics") or []:              # autoscaling/v2
        resource = metric.get("resource") if isinstance(metric, dict) else None
        if isinstance(resource, dict) and resource.get("name") == "cpu":
            t = resource.get("target")
            target = t.get("averageUtilization") if isinstance(t, dict) else target
    if not (isinstance(target, (int, float)) and 0 < target < 100):
        draft.notes.append(f"autoscaler {_name(hpa)!r}: no CPU utilization target under 100%; 60% is assumed")
        target = 60
    return {"min_replicas": low, "max_replicas": high, "target_utilization": target / 100,
            "check_every_s": HPA_SYNC_S, "cold_start_s": COLD_START_S}
