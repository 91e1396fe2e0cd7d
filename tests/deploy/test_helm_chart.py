"""The Helm chart: `helm lint --strict`, `helm template` with default and production values, the rendered
manifests validated against the Kubernetes 1.30 schemas (kubernetes-validate --strict), and assertions on
the rendered objects. The Qdrant dependency is the test stand-in chart (tests/deploy/qdrant_standin_chart.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synth_service.runner_pods import RunnerPods
from tests.deploy import qdrant_standin_chart

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "lbi"
PRODUCTION = ROOT / "deploy" / "helm" / "examples" / "production.yaml"
HELM = os.environ.get("LBI_HELM") or str(ROOT / ".lbi" / "tools" / "helm")
VALIDATE = str(Path(sys.executable).parent / "kubernetes-validate")
pytestmark = pytest.mark.skipif(
    not Path(HELM).exists(), reason="no helm binary (`make test` fetches it: scripts/fetch_helm.sh)"
)


@pytest.fixture(scope="module")
def chart(tmp_path_factory) -> Path:
    """A copy of the chart with the stand-in qdrant chart as its dependency."""
    copy = tmp_path_factory.mktemp("chart") / "lbi"
    shutil.copytree(CHART, copy)
    qdrant_standin_chart.write(copy / "charts")
    return copy


def _helm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([HELM, *args], capture_output=True, text=True, timeout=120)


def _render(chart: Path, *values: str) -> list[dict]:
    result = _helm("template", "rel", str(chart), "--namespace", "agents", *values)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _get(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert found, f"no {kind} {name}"
    return found[0]


def _containers(docs: list[dict]) -> list[tuple[dict, dict]]:
    """(pod spec, container) of every lbi workload."""
    return [
        (d["spec"]["template"]["spec"], c)
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet") and d["metadata"]["name"].startswith("rel-lbi")
        for c in d["spec"]["template"]["spec"]["containers"]
    ]


@pytest.mark.parametrize("values", [[], ["-f", str(PRODUCTION)]], ids=["defaults", "production"])
def test_lint_strict(chart, values):
    result = _helm("lint", "--strict", str(chart), *values)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", [[], ["-f", str(PRODUCTION)]], ids=["defaults", "production"])
def test_rendered_manifests_match_the_kubernetes_schemas(chart, values, tmp_path):
    docs = _render(chart, *values)
    runner_pod = RunnerPods(None, "agents", _runner_template(docs)).manifest("job-0123456789abcdef", 0)
    manifest = tmp_path / "all.yaml"
    manifest.write_text(yaml.safe_dump_all([*docs, runner_pod]))
    result = subprocess.run(
        [VALIDATE, "--strict", "-k", "1.30.0", str(manifest)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("passed") == len(docs) + 1


def _runner_template(docs: list[dict]) -> dict:
    return yaml.safe_load(_get(docs, "ConfigMap", "rel-lbi")["data"]["runner-pod-template.yaml"])


def test_probes_are_grpc_health_checks(chart):
    docs = _render(chart)
    services = {"retrieval": "lbi.v1.RetrievalService", "synth": "lbi.v1.SynthesisService"}
    for _, container in _containers(docs):
        if container["name"] == "console":  # a web application: HTTP probes (its own test)
            continue
        ready, live = container["readinessProbe"]["grpc"], container["livenessProbe"]["grpc"]
        assert (
            ready["service"] == services[container["name"]] and ready["port"] == container["ports"][0]["containerPort"]
        )
        assert "service" not in live  # liveness: the process, not the store (see lbi/store_health.py)
    runner = _runner_template(docs)["spec"]["containers"][0]
    assert runner["readinessProbe"]["grpc"]["service"] == "lbi.v1.EnvRunner"


def test_security_defaults(chart):
    docs = _render(chart)
    restricted_runner = _runner_template(_render(chart, "--set", "runner.sandbox=off"))["spec"]
    pods = [pod for pod, _ in _containers(docs)] + [restricted_runner]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_runner_sandbox_modes(chart):
    """The default is the least privileged mode in which the sandbox works: a Kubernetes user namespace."""
    from env_runners.shell.sandbox import CONTAINER_CAPS

    capabilities = ["SYS_ADMIN", *(cap.upper() for cap in CONTAINER_CAPS)]
    userns = _runner_template(_render(chart))["spec"]
    container = userns["containers"][0]
    sc, env = container["securityContext"], {e["name"]: e.get("value") for e in container["env"]}
    assert userns["hostUsers"] is False and sc["procMount"] == "Unmasked" and sc["runAsUser"] == 0
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"} and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"], "add": capabilities}  # what root inside a session keeps, and no more
    assert env["LBI_RUNNER_REQUIRE_USERNS"] == "true" and env["LBI_RUNNER_LAYERS_DIR"] == "/var/lib/lbi/layers"
    privileged = _runner_template(
        _render(chart, "--set", "runner.sandbox=privileged", "--set", "runner.runtimeClassName=gvisor")
    )["spec"]
    container = privileged["containers"][0]
    assert "hostUsers" not in privileged and privileged["runtimeClassName"] == "gvisor"
    assert container["securityContext"]["seccompProfile"] == {"type": "Unconfined"}
    assert "LBI_RUNNER_REQUIRE_USERNS" not in {e["name"] for e in container["env"]}
    assert "sandbox" in _helm("template", "rel", str(chart), "--set", "runner.sandbox=maybe").stderr


def test_runner_pods_mount_the_environments_secret(chart):
    """A sql URL's ${NAME} is read from the mounted secret (LBI_RUNNER_SECRETS_DIR's default), never from a job spec."""
    from lbi.config import RunnerSettings

    assert "env-secrets" not in str(_runner_template(_render(chart)))
    spec = _runner_template(_render(chart, "--set", "runner.secrets.existingSecret=db-credentials"))["spec"]
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "env-secrets")
    assert mount == {"name": "env-secrets", "mountPath": str(RunnerSettings().runner_secrets_dir), "readOnly": True}
    volume = next(v for v in spec["volumes"] if v["name"] == "env-secrets")
    assert volume["secret"]["secretName"] == "db-credentials"


def test_rbac_allows_exactly_pod_management_in_the_namespace(chart):
    docs = _render(chart)
    role = _get(docs, "Role", "rel-lbi-synth")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get", "list", "watch", "delete"]}
    ]
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    binding = _get(docs, "RoleBinding", "rel-lbi-synth")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "rel-lbi-synth", "namespace": "agents"}]
    synth = _get(docs, "Deployment", "rel-lbi-synth")["spec"]["template"]["spec"]
    assert synth["serviceAccountName"] == "rel-lbi-synth"
    others = [pod for pod, c in _containers(docs) if c["name"] != "synth"] + [_runner_template(docs)["spec"]]
    assert all(pod["automountServiceAccountToken"] is False for pod in others)


def test_secrets_are_referenced_never_inlined(chart):
    docs = _render(chart, "-f", str(PRODUCTION))
    assert not [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"].startswith("rel-lbi")]
    for _, container in _containers(docs):
        env = {e["name"]: e for e in container["env"]}
        for name in ("LBI_QDRANT_API_KEY", "LBI_AUTH_TOKENS", "LBI_CLIENT_TOKEN"):
            assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["name"]
        if container["name"] == "runner":  # runners never see the LLM provider keys
            assert "envFrom" not in container
        else:
            assert container["envFrom"] == [{"secretRef": {"name": "lbi-llm-keys"}}]
        assert not [
            e
            for e in container["env"]
            if "value" in e and not e["name"].endswith("_FILE") and ("sk-" in str(e["value"]) or "KEY" in e["name"])
        ]
    model_list = _get(docs, "ConfigMap", "rel-lbi")["data"]["llm-model-list.json"]
    assert "os.environ/OPENAI_API_KEY" in model_list


def test_network_policies(chart):
    docs = _render(chart)
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    assert set(policies) == {
        "rel-lbi-env-runner",
        "rel-lbi-retrieval",
        "rel-lbi-synth",
        "rel-lbi-qdrant",
        "rel-lbi-console",
    }
    runner = policies["rel-lbi-env-runner"]
    assert runner["policyTypes"] == ["Ingress", "Egress"] and runner["egress"] == []  # deny all egress
    assert runner["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "synth"
    synth_egress = policies["rel-lbi-synth"]["egress"]
    assert any(
        r.get("to", [{}])[0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
        == "env-runner"
        for r in synth_egress
    )
    production = {
        d["metadata"]["name"]: d["spec"] for d in _render(chart, "-f", str(PRODUCTION)) if d["kind"] == "NetworkPolicy"
    }
    assert production["rel-lbi-retrieval"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"lbi.dev/agents": "true"}}}
    ]
    assert production["rel-lbi-env-runner"]["egress"][0]["ports"] == [{"port": 5432, "protocol": "TCP"}]


def test_scaling_objects_and_store_cluster_settings(chart):
    docs = _render(chart, "-f", str(PRODUCTION))
    hpa = _get(docs, "HorizontalPodAutoscaler", "rel-lbi-retrieval")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    assert _get(docs, "PodDisruptionBudget", "rel-lbi-retrieval")["spec"]["minAvailable"] == 2
    assert _get(docs, "StatefulSet", "rel-qdrant")["spec"]["replicas"] == 3  # the dependency got its values
    synth = _get(docs, "Deployment", "rel-lbi-synth")["spec"]
    assert synth["replicas"] == 1 and synth["strategy"]["type"] == "Recreate"
    env = {e["name"]: e for e in synth["template"]["spec"]["containers"][0]["env"]}
    assert env["LBI_QDRANT_URL"]["value"] == "http://rel-qdrant:6334"
    assert (
        env["LBI_QDRANT_SHARD_NUMBER"]["value"],
        env["LBI_QDRANT_REPLICATION_FACTOR"]["value"],
        env["LBI_QDRANT_WRITE_CONSISTENCY_FACTOR"]["value"],
        env["LBI_QDRANT_READ_CONSISTENCY"]["value"],
    ) == ("6", "2", "2", "majority")
    assert env["LBI_SYNTH_POD_UID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.uid"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector.observability.svc:4317"
    assert "deployment.environment=production" in env["OTEL_RESOURCE_ATTRIBUTES"]["value"]
    standing = _get(docs, "StatefulSet", "rel-lbi-runner")["spec"]
    assert standing["replicas"] == 4 and standing["serviceName"] == "rel-lbi-runner"
    sandbox = _runner_template(docs)["spec"]["containers"][0]["securityContext"]
    assert sandbox["capabilities"]["add"][0] == "SYS_ADMIN"  # opted in: the shell sandbox needs it


def test_bad_values_are_refused(chart):
    assert "minimum" in _helm("template", "rel", str(chart), "--set", "retrieval.port=0").stderr
    assert "store.url" in _helm("template", "rel", str(chart), "--set", "qdrant.enabled=false").stderr
    assert "readConsistency" in _helm("template", "rel", str(chart), "--set", "store.readConsistency=some").stderr


def test_online_policies_reach_the_synthesis_service_as_a_file_it_loads(chart, tmp_path):
    """`synth.online.datasets` becomes the policy file LBI_ONLINE_POLICY_FILE names, in the form the service reads."""
    from synth_service.online.policy import PolicyBook

    values = tmp_path / "online.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "synth": {
                    "online": {
                        "datasets": {
                            "orders": {
                                "accept_episodes": True,
                                "tenants": ["fulfilment-agent"],
                                "retention_days": 14,
                                "redact": ["email", "ORD-\\d+"],
                            }
                        }
                    }
                }
            }
        )
    )
    docs = _render(chart, "-f", str(values))
    policy = tmp_path / "online-policy.yaml"
    policy.write_text(_get(docs, "ConfigMap", "rel-lbi")["data"]["online-policy.yaml"])
    book = PolicyBook.from_file(policy)
    assert (
        book("orders").accept_episodes
        and book("orders").tenants == ["fulfilment-agent"]
        and not book("other").accept_episodes
    )
    synth = next(c for _, c in _containers(docs) if c["name"] == "synth")
    env = {e["name"]: e.get("value") for e in synth["env"]}
    mount = next(m for m in synth["volumeMounts"] if m["name"] == "runner-template")["mountPath"]
    assert env["LBI_ONLINE_POLICY_FILE"] == f"{mount}/online-policy.yaml"
    assert (
        PolicyBook.from_file(
            _write(tmp_path / "empty.yaml", _get(_render(chart), "ConfigMap", "rel-lbi")["data"]["online-policy.yaml"])
        ).datasets
        == []
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_console_is_a_grpc_client_with_its_ingress_off_by_default(chart):
    docs = _render(chart)
    deployment = _get(docs, "Deployment", "rel-lbi-console")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert (
        args[0] == "console"
        and "--synthesis=rel-lbi-synth:50053" in args
        and "--retrieval=rel-lbi-retrieval:50052" in args
    )
    assert not any(a.startswith("--runner") for a in args)  # no standing runner by default
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert _get(docs, "Service", "rel-lbi-console")["spec"]["type"] == "ClusterIP"
    assert not [d for d in docs if d["kind"] == "Ingress"]
    policy = _get(docs, "NetworkPolicy", "rel-lbi-console")["spec"]
    labels = [r["to"][0].get("podSelector", {}).get("matchLabels", {}) for r in policy["egress"] if "to" in r]
    reached = {x["app.kubernetes.io/component"] for x in labels if "app.kubernetes.io/component" in x}
    assert reached == {"synth", "retrieval", "env-runner"}  # the services' ports, never the store

    exposed = _render(
        chart,
        "--set", "console.ingress.enabled=true",
        "--set", "console.ingress.host=console.example.com",
        "--set", "console.secureCookies=true",
        "--set", "runner.standing.enabled=true",
    )  # fmt: skip
    ingress = _get(exposed, "Ingress", "rel-lbi-console")
    assert ingress["spec"]["rules"][0]["host"] == "console.example.com"
    args = _get(exposed, "Deployment", "rel-lbi-console")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--secure-cookies" in args and "--runner=rel-lbi-runner:50051" in args
    runner_from = _get(exposed, "NetworkPolicy", "rel-lbi-env-runner")["spec"]["ingress"][0]["from"]
    assert {f["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for f in runner_from} == {"synth", "console"}
    assert not [d for d in _render(chart, "--set", "console.enabled=false") if "console" in d["metadata"]["name"]]


def test_a_job_names_only_the_runners_pod_template_and_models_the_chart_configures(chart, monkeypatch):
    from lbi.errors import InvalidArgument
    from synth_service.admission import check_spec
    from synth_service.config import SynthSettings
    from synth_service.spec import spec_from_dict

    def settings(*values: str) -> SynthSettings:
        synth = _get(_render(chart, *values), "Deployment", "rel-lbi-synth")["spec"]["template"]["spec"]
        for e in synth["containers"][0]["env"]:
            if e["name"].startswith("LBI_SYNTH_") and "value" in e:
                monkeypatch.setenv(e["name"], e["value"])
        return SynthSettings()

    def admitted(s: SynthSettings, **spec) -> bool:
        try:
            check_spec(spec_from_dict({"env": "sql", **spec}), s)
        except InvalidArgument:
            return False
        return True

    default = settings()  # auth off: the chart still decides
    assert not admitted(default, runner_endpoints=["10.0.0.9:50051"])
    assert not admitted(default, runners={"replicas": 1, "template": {"spec": {"containers": [{"name": "x"}]}}})
    assert not admitted(default, models={"policy": "oobabooga/http://10.0.0.9"})
    assert admitted(default, runners={"replicas": 1}, models={"policy": "offline/heuristic"})
    pool = settings("--set", "runner.standing.enabled=true", "--set", "synth.allowedRunnerEndpoints={gpu-runner:7000}")
    named = [f"rel-lbi-runner-{i}.rel-lbi-runner.agents.svc:50051" for i in range(2)]  # as NOTES lists them
    assert admitted(pool, runner_endpoints=[*named, "gpu-runner:7000"])
    assert not admitted(pool, runner_endpoints=["rel-lbi-runner-0.rel-lbi-runner.agents.svc:50052"])
    assert not admitted(pool, runner_endpoints=["evil:1@rel-lbi-runner-0.rel-lbi-runner.agents.svc:50051"])


def test_a_postgresql_journal_comes_from_a_secret_and_the_synth_pod_has_no_volume_claim(chart):
    defaults = _render(chart)
    assert _get(defaults, "PersistentVolumeClaim", "rel-lbi-synth")
    synth_pod = _get(defaults, "Deployment", "rel-lbi-synth")["spec"]["template"]["spec"]
    assert "LBI_JOURNAL_URL" not in {e["name"] for e in synth_pod["containers"][0]["env"]}
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "rel-lbi-synth"}} in synth_pod["volumes"]

    egress = {"to": [{"ipBlock": {"cidr": "10.0.5.0/24"}}], "ports": [{"port": 5432, "protocol": "TCP"}]}
    docs = _render(
        chart,
        "--set",
        "synth.journal.existingSecret=lbi-journal",
        "--set",
        "synth.journal.key=dsn",
        "--set-json",
        f"synth.journal.egress=[{json.dumps(egress)}]",
    )
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    synth_pod = _get(docs, "Deployment", "rel-lbi-synth")["spec"]["template"]["spec"]
    env = {e["name"]: e for e in synth_pod["containers"][0]["env"]}
    assert env["LBI_JOURNAL_URL"] == {
        "name": "LBI_JOURNAL_URL",
        "valueFrom": {"secretKeyRef": {"name": "lbi-journal", "key": "dsn"}},
    }
    assert {"name": "data", "emptyDir": {}} in synth_pod["volumes"]
    assert not [v for v in synth_pod["volumes"] if "persistentVolumeClaim" in v]
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    assert egress in policies["rel-lbi-synth"]["egress"] and egress not in policies["rel-lbi-retrieval"]["egress"]
    assert "key" in _helm("template", "rel", str(chart), "--set", "synth.journal.key=").stderr
