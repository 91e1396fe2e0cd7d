"""A small STAND-IN for the official `qdrant` Helm chart, written for the tests (never a copy of it).

The real chart cannot be downloaded here; `helm template` of lbi's chart needs its dependency present,
so the tests put this one under `charts/qdrant` of a temporary copy. It renders what lbi's chart relies
on: a Service named `<release>-qdrant` with ports 6333/6334 and pods labelled
app.kubernetes.io/name=qdrant, app.kubernetes.io/instance=<release>.
"""

from pathlib import Path

CHART = """apiVersion: v2
name: qdrant
description: Test stand-in for the official Qdrant chart (not the real chart).
version: 1.0.0
appVersion: "1.0.0"
"""

VALUES = """replicaCount: 1
image: qdrant/qdrant:v1.13.0
config:
  cluster:
    enabled: false
"""

STATEFULSET = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-qdrant
  labels: {app.kubernetes.io/name: qdrant, app.kubernetes.io/instance: {{ .Release.Name }}}
spec:
  replicas: {{ .Values.replicaCount }}
  serviceName: {{ .Release.Name }}-qdrant-headless
  selector:
    matchLabels: {app.kubernetes.io/name: qdrant, app.kubernetes.io/instance: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: qdrant, app.kubernetes.io/instance: {{ .Release.Name }}}
    spec:
      containers:
        - name: qdrant
          image: {{ .Values.image }}
          env:
            - name: QDRANT__CLUSTER__ENABLED
              value: {{ .Values.config.cluster.enabled | quote }}
          ports:
            - {name: http, containerPort: 6333}
            - {name: grpc, containerPort: 6334}
            - {name: p2p, containerPort: 6335}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-qdrant
  labels: {app.kubernetes.io/name: qdrant, app.kubernetes.io/instance: {{ .Release.Name }}}
spec:
  selector: {app.kubernetes.io/name: qdrant, app.kubernetes.io/instance: {{ .Release.Name }}}
  ports:
    - {name: http, port: 6333}
    - {name: grpc, port: 6334}
"""


def write(charts_dir: Path) -> Path:
    chart = charts_dir / "qdrant"
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "values.yaml").write_text(VALUES)
    (chart / "templates" / "statefulset.yaml").write_text(STATEFULSET)
    return chart
