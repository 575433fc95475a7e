"""Importing Kubernetes manifests: workloads as nodes, Services and env as calls, HPAs as autoscaling, Ingress as entry."""

from __future__ import annotations

from pathlib import Path

import pytest

import sandbox
from sandbox.drafts import draft_yaml
from sandbox.errors import ScenarioError

from .conftest import run_command as cli
from sandbox.k8s import HPA_SYNC_S, from_k8s, from_k8s_texts

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop, tier: web}}
    spec:
      containers:
        - name: shop
          image: ghcr.io/acme/shop:2.1
          resources: {limits: {cpu: 1500m}}
          env:
            - {name: DATABASE_URL, value: "postgres://orders-db.shop.svc.cluster.local:5432/shop"}
            - {name: CACHE, value: "redis-svc:6379"}
            - {name: MODE, value: "orders-dbx"}
---
apiVersion: v1
kind: Service
metadata: {name: shop-svc}
spec: {selector: {app: shop}, ports: [{port: 80}]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: shop}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
"""
DATA = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: orders-db}
spec:
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres:16}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: redis}
spec:
  template:
    metadata: {labels: {app: redis}}
    spec: {containers: [{name: r, image: "redis:7"}]}
---
apiVersion: v1
kind: Service
metadata: {name: redis-svc}
spec: {selector: {app: redis}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
"""
INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
    - http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: shop-svc, port: {number: 80}}}}
"""



def test_a_deployment_service_and_hpa_become_a_replicated_autoscaled_service() -> None:
    draft = from_k8s_texts({"app.yaml": APP, "data.yaml": DATA})
    shop = draft.data["nodes"]["shop"]
    assert shop["kind"] == "service" and shop["workers"] == 6   # ceil(1.5 CPUs x 4)
    assert shop["autoscale"] == {"min_replicas": 2, "max_replicas": 10, "target_utilization": 0.7,
                                 "check_every_s": HPA_SYNC_S, "cold_start_s": 30.0}
    assert shop["replicas"] == 2   # the autoscaler's minimum, where it starts
    assert {n: d["kind"] for n, d in draft.data["nodes"].items()} == {"shop": "service", "orders-db": "database",
                                                                      "redis": "cache"}
    # a host through its Service (redis-svc selects redis) or the workload's own name, never a longer word
    assert [(e["from"], e["to"]) for e in draft.data["edges"]] == [("shop", "orders-db"), ("shop", "redis")]
    assert any("ConfigMap" in n for n in draft.notes)
    assert "nodes.shop.autoscale.cold_start_s" in {a.path for a in draft.assumed}
    s = sandbox.from_dict(draft.data)
    assert s.nodes["shop"].autoscale is not None and s.nodes["shop"].autoscale.max_replicas == 10


def test_an_ingress_is_a_load_balancer_in_front_and_the_entry() -> None:
    draft = from_k8s_texts({"app.yaml": APP, "data.yaml": DATA, "ingress.yaml": INGRESS})
    assert draft.data["nodes"]["web"]["kind"] == "load_balancer"
    assert draft.data["workload"]["entry"] == "web"
    assert ("web", "shop") in [(e["from"], e["to"]) for e in draft.data["edges"]]
    assert "workload.entry" not in {a.path for a in draft.assumed}
    r = sandbox.simulate(sandbox.with_overrides(sandbox.from_dict(draft.data), {"workload.duration_s": 10}), seed=1)
    # every request through the ingress reaches shop and then the database (bar those still in shop at the end)
    assert r.nodes["web"].arrived == r.nodes["shop"].arrived > 0
    assert 0 <= r.nodes["shop"].arrived - r.nodes["orders-db"].arrived <= r.nodes["shop"].capacity


def test_without_an_ingress_or_public_service_the_entry_is_assumed() -> None:
    draft = from_k8s_texts({"app.yaml": APP, "data.yaml": DATA})
    assert draft.data["workload"]["entry"] == "shop"   # the one nothing calls
    assert "workload.entry" in {a.path for a in draft.assumed}
    public = APP.replace("spec: {selector: {app: shop}, ports", "spec: {type: LoadBalancer, selector: {app: shop}, ports")
    draft = from_k8s_texts({"app.yaml": public, "data.yaml": DATA})
    assert "workload.entry" not in {a.path for a in draft.assumed}


def test_a_folder_and_a_kubectl_list_are_read(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "data.yml").write_text(DATA)
    (tmp_path / "README.md").write_text("not a manifest")
    draft = from_k8s(tmp_path)
    assert set(draft.data["nodes"]) == {"shop", "orders-db", "redis"} and draft.data["name"].endswith(tmp_path.name)
    listed = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "- " + doc.strip().replace("\n", "\n  ") + "\n" for doc in DATA.split("---"))
    assert set(from_k8s_texts({"list.yaml": listed}).data["nodes"]) == {"orders-db", "redis"}


def test_the_draft_yaml_loads_as_the_design() -> None:
    draft = from_k8s_texts({"app.yaml": APP, "data.yaml": DATA, "ingress.yaml": INGRESS})
    assert sandbox.loads(draft_yaml(draft)) == sandbox.from_dict(draft.data)


@pytest.mark.parametrize("text, where, reason", [
    ("- just\n- a list\n", "documents[0]", "must be a Kubernetes object"),
    ("kind: Deployment\nmetadata: {}\n", "documents[0].metadata.name", "a Deployment needs a name"),
    ("kind: ConfigMap\nmetadata: {name: x}\n", "", "no Deployment, StatefulSet or DaemonSet"),
    ("kind: Deployment\n  bad: [\n", "", "YAML"),
])
def test_bad_manifests_are_refused_naming_the_file_and_document(text: str, where: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        from_k8s_texts({"bad.yaml": text})
    assert exc.value.source == "bad.yaml"
    assert any(p.startswith(where) and reason in r for p, r in exc.value.problems), exc.value.problems


def test_a_broken_autoscaler_is_left_out_and_said() -> None:
    broken = APP.replace("maxReplicas: 10", "maxReplicas: 1")
    draft = from_k8s_texts({"app.yaml": broken, "data.yaml": DATA})
    assert "autoscale" not in draft.data["nodes"]["shop"] and draft.data["nodes"]["shop"]["replicas"] == 3
    assert any("autoscaler 'shop'" in n for n in draft.notes)


def test_the_command_reads_files_and_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "data.yaml").write_text(DATA)
    code, out, err = cli(capsys, "import", "k8s", str(tmp_path / "app.yaml"), str(tmp_path / "data.yaml"))
    assert code == 0 and set(sandbox.loads(out).nodes) == {"shop", "orders-db", "redis"}
    assert "values are assumed" in err and "nodes.shop.autoscale.cold_start_s" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli(capsys, "import", "k8s", str(empty))
    assert code == 2 and "holds no .yaml or .yml file" in err
