{{/* Names, labels and the environment every lbi container shares. */}}

{{- define "lbi.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lbi.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lbi.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "lbi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "lbi.selector" -}}
app.kubernetes.io/name: {{ include "lbi.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lbi.image" -}}
{{- printf "%s:%s" .repository (default $.appVersion .tag) -}}
{{- end -}}

{{- define "lbi.qdrantUrl" -}}
{{- if .Values.store.url -}}
{{- .Values.store.url -}}
{{- else if .Values.qdrant.enabled -}}
{{- printf "http://%s-qdrant:6334" .Release.Name -}}
{{- end -}}
{{- end -}}

{{/* Environment of every lbi container: store, LLM, auth, TLS, telemetry. Secrets are referenced, never inlined. */}}
{{- define "lbi.env" -}}
- name: LBI_DATA_DIR
  value: /var/lib/lbi
- name: HOME
  value: /tmp
- name: HF_HUB_OFFLINE
  value: "1"
- name: MPLCONFIGDIR
  value: /tmp/matplotlib
- name: LBI_LOG_LEVEL
  value: {{ .root.Values.logLevel | quote }}
- name: LBI_QDRANT_URL
  value: {{ include "lbi.qdrantUrl" .root | quote }}
- name: LBI_QDRANT_PREFER_GRPC
  value: {{ .root.Values.store.preferGrpc | quote }}
- name: LBI_QDRANT_SHARD_NUMBER
  value: {{ .root.Values.store.shardNumber | quote }}
- name: LBI_QDRANT_REPLICATION_FACTOR
  value: {{ .root.Values.store.replicationFactor | quote }}
- name: LBI_QDRANT_WRITE_CONSISTENCY_FACTOR
  value: {{ .root.Values.store.writeConsistencyFactor | quote }}
- name: LBI_QDRANT_READ_CONSISTENCY
  value: {{ .root.Values.store.readConsistency | quote }}
{{- with .root.Values.store.apiKeySecret }}
{{- if .name }}
- name: LBI_QDRANT_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
      optional: {{ .optional }}
{{- end }}
{{- end }}
- name: LBI_ALLOWED_PATHS
  value: {{ .root.Values.allowedPaths | toJson | quote }}
- name: LBI_LLM_MODEL
  value: {{ .root.Values.llm.model | quote }}
- name: LBI_LLM_FALLBACKS
  value: {{ .root.Values.llm.fallbacks | toJson | quote }}
- name: LBI_LLM_API_BASE
  value: {{ .root.Values.llm.apiBase | quote }}
- name: LBI_LLM_TIMEOUT_S
  value: {{ .root.Values.llm.timeoutSeconds | quote }}
- name: LBI_LLM_RETRIES
  value: {{ .root.Values.llm.retries | quote }}
- name: LBI_LLM_RESPONSE_FORMAT
  value: {{ .root.Values.llm.responseFormat | quote }}
- name: LBI_LLM_MODEL_LIST
  valueFrom:
    configMapKeyRef:
      name: {{ include "lbi.fullname" .root }}
      key: llm-model-list.json
{{- if .root.Values.auth.existingSecret }}
- name: LBI_AUTH_TOKENS
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.auth.existingSecret }}
      key: auth-tokens
- name: LBI_CLIENT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.auth.existingSecret }}
      key: client-token
      optional: true
{{- end }}
{{- if .root.Values.tls.existingSecret }}
- name: LBI_TLS_CERT_FILE
  value: /etc/lbi/tls/tls.crt
- name: LBI_TLS_KEY_FILE
  value: /etc/lbi/tls/tls.key
- name: LBI_TLS_CA_FILE
  value: /etc/lbi/tls/ca.crt
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "lbi-%s" .component | quote }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE),service.namespace=%s,service.version=%s%s" .root.Release.Name .root.Chart.AppVersion (ternary (printf ",%s" .root.Values.telemetry.resourceAttributes) "" (ne .root.Values.telemetry.resourceAttributes "")) | quote }}
{{- if .root.Values.telemetry.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .root.Values.telemetry.otlpEndpoint | quote }}
{{- end }}
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* envFrom: the LLM provider keys Secret (every key becomes a variable). */}}
{{- define "lbi.envFrom" -}}
{{- if .Values.llm.existingSecret }}
envFrom:
  - secretRef:
      name: {{ .Values.llm.existingSecret }}
{{- end }}
{{- end -}}

{{/* Writable scratch space (the root file system is read-only) and the TLS certificate. */}}
{{- define "lbi.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.tls.existingSecret }}
- name: tls
  mountPath: /etc/lbi/tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "lbi.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.tls.existingSecret }}
- name: tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
{{- end }}
{{- end -}}

{{/* The env-runner container (standing Deployment and per-job pods share it). */}}
{{- define "lbi.runnerContainer" -}}
name: runner
image: {{ include "lbi.image" (dict "repository" .Values.runnerImage.repository "tag" .Values.runnerImage.tag "appVersion" .Chart.AppVersion) }}
imagePullPolicy: {{ .Values.runnerImage.pullPolicy }}
args: ["runner", "serve", "--host", "0.0.0.0", "--port", "{{ .Values.runner.port }}"]
ports:
  - name: grpc
    containerPort: {{ .Values.runner.port }}
env:
  {{- include "lbi.env" (dict "root" . "component" "env-runner") | nindent 2 }}
  - name: LBI_RUNNER_STEP_TIMEOUT_S
    value: {{ .Values.runner.stepTimeoutSeconds | quote }}
  - name: LBI_RUNNER_MAX_SESSIONS
    value: {{ .Values.runner.maxSessions | quote }}
  - name: LBI_RUNNER_LAYERS_DIR
    value: /var/lib/lbi/layers
  {{- if eq .Values.runner.sandbox "userns" }}
  - name: LBI_RUNNER_REQUIRE_USERNS
    value: "true"
  {{- end }}
readinessProbe:
  grpc:
    port: {{ .Values.runner.port }}
    service: lbi.v1.EnvRunner
  periodSeconds: 5
livenessProbe:
  grpc:
    port: {{ .Values.runner.port }}
  periodSeconds: 10
  failureThreshold: 6
resources:
  {{- toYaml .Values.runner.resources | nindent 2 }}
{{- if eq .Values.runner.sandbox "off" }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- else }}
securityContext:
  runAsNonRoot: false
  runAsUser: 0
  runAsGroup: 0
  # Kubernetes refuses CAP_SYS_ADMIN with allowPrivilegeEscalation: false.
  allowPrivilegeEscalation: true
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
    # SYS_ADMIN for the sessions' mounts and namespaces; the rest is a container's default set, which root inside a
    # session keeps (within its own user namespace only).
    add: [SYS_ADMIN, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP, SETFCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE]
  {{- if eq .Values.runner.sandbox "userns" }}
  procMount: Unmasked
  seccompProfile:
    type: RuntimeDefault
  {{- else }}
  seccompProfile:
    type: Unconfined
  {{- end }}
  appArmorProfile:
    type: Unconfined
{{- end }}
volumeMounts:
  {{- include "lbi.volumeMounts" . | nindent 2 }}
  - name: data
    mountPath: /var/lib/lbi
  {{- if .Values.runner.secrets.existingSecret }}
  - name: env-secrets
    mountPath: /var/run/secrets/lbi
    readOnly: true
  {{- end }}
{{- end -}}

{{- define "lbi.runnerPodSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
{{- if eq .Values.runner.sandbox "userns" }}
hostUsers: false
{{- end }}
{{- with .Values.runner.runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
containers:
  - {{- include "lbi.runnerContainer" . | nindent 4 }}
volumes:
  {{- include "lbi.volumes" . | nindent 2 }}
  - name: data
    emptyDir: {}
  {{- with .Values.runner.secrets.existingSecret }}
  - name: env-secrets
    secret:
      secretName: {{ . }}
      defaultMode: 0400
  {{- end }}
{{- with .Values.runner.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.runner.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The runners a job may name (LBI_SYNTH_ALLOWED_RUNNER_ENDPOINTS, JSON): the standing pool's pods, by the names
NOTES lists, and synth.allowedRunnerEndpoints. */}}
{{- define "lbi.allowedRunnerEndpoints" -}}
{{- $patterns := list -}}
{{- if .Values.runner.standing.enabled -}}
{{- $pool := printf "%s-runner" (include "lbi.fullname" .) -}}
{{- $patterns = append $patterns (printf "%s-*.%s.%s.svc:%v" $pool $pool .Release.Namespace .Values.runner.port) -}}
{{- $patterns = append $patterns (printf "%s-*.%s.%s.svc.cluster.local:%v" $pool $pool .Release.Namespace .Values.runner.port) -}}
{{- end -}}
{{- $patterns = concat $patterns .Values.synth.allowedRunnerEndpoints -}}
{{- if $patterns }}{{ toJson $patterns }}{{ else }}[]{{ end -}}
{{- end }}
