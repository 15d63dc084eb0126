{{/*
Chart name, or nameOverride.
*/}}
{{- define "ringcache-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: fullnameOverride, else "<release>-<name>" (just the release name
when it already contains the chart name). 63 characters at most (a DNS label).
*/}}
{{- define "ringcache-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ringcache-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object of the release.
*/}}
{{- define "ringcache-operator.labels" -}}
helm.sh/chart: {{ include "ringcache-operator.chart" . }}
{{ include "ringcache-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ringcache
{{- end }}

{{/*
Labels the Deployment selects its pods by (immutable once installed: do not add to them).
*/}}
{{- define "ringcache-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ringcache-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The Deployment's pod selector as `key=value,key=value` (sorted), for `run --operator-pod-selector`:
the NetworkPolicies of the CacheClusters admit exactly these pods to the members' admin port. Made
from selectorLabels, so it always matches the pods (operator/tests/chart_operator.rs checks it).
*/}}
{{- define "ringcache-operator.selectorString" -}}
{{- $labels := include "ringcache-operator.selectorLabels" . | fromYaml }}
{{- $pairs := list }}
{{- range $key := keys $labels | sortAlpha }}
{{- $pairs = append $pairs (printf "%s=%s" $key (get $labels $key)) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/*
The Secret holding the operator key: the user's (operatorKey.existingSecret) or the generated one.
*/}}
{{- define "ringcache-operator.keySecretName" -}}
{{- default (printf "%s-key" (include "ringcache-operator.fullname" .)) .Values.operatorKey.existingSecret }}
{{- end }}

{{- define "ringcache-operator.keySecretKey" -}}
{{- if .Values.operatorKey.existingSecret }}
{{- .Values.operatorKey.existingSecretKey }}
{{- else -}}
key
{{- end }}
{{- end }}

{{- define "ringcache-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ringcache-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ringcache-operator.leaseName" -}}
{{- default (include "ringcache-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "ringcache-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Combinations the schema cannot express. Included by the Deployment, so every render checks them.
*/}}
{{- define "ringcache-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: without leader election every replica would reconcile the same CacheClusters at once. Set leaderElection.enabled=true or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- if gt (len .Values.watchNamespaces) 1 }}
{{- fail (printf "watchNamespaces lists %d namespaces (%s), but the operator watches one namespace or all of them (`ringcache-operator run --namespace` takes one). Leave it empty for all namespaces, or install one release per watched namespace, with crds.install=false in all but one of them." (len .Values.watchNamespaces) (join ", " .Values.watchNamespaces)) }}
{{- end }}
{{- if and .Values.monitoring.serviceMonitor.enabled (not .Values.metrics.service.enabled) }}
{{- fail "monitoring.serviceMonitor.enabled needs metrics.service.enabled: a ServiceMonitor scrapes through the metrics Service." }}
{{- end }}
{{- end }}

{{/*
The permissions the operator uses in the namespaces it watches (operator/src/rbac.rs is the same
table in Rust; operator/tests/chart_rbac.rs checks that the rendered rules are exactly these).
*/}}
{{- define "ringcache-operator.watchRules" -}}
# The controller's watch of CacheClusters, and a fresh get at the start of every reconcile.
- apiGroups: ["cache.ringcache.dev"]
  resources: ["cacheclusters"]
  verbs: ["get", "list", "watch"]
# Status is written by server-side apply of /status.
- apiGroups: ["cache.ringcache.dev"]
  resources: ["cacheclusters/status"]
  verbs: ["patch"]
# Owned StatefulSets: observed (get), watched, server-side applied (an apply that creates the
# object is authorized as create too).
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch"]
# Headless and client Services: watched and applied.
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "watch", "create", "patch"]
# The ring ConfigMap and the nodes' ServiceAccount: applied only.
- apiGroups: [""]
  resources: ["configmaps", "serviceaccounts"]
  verbs: ["create", "patch"]
# Each cluster's Secret <name>-cluster-secret: applied, never read. Its value is derived from the
# operator key, so there is no get, list or watch on Secrets.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create", "patch"]
# Each cluster's NetworkPolicy: applied, and deleted when spec.networkPolicy.enabled is off.
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["create", "patch", "delete"]
# Pod readiness of the members (observe phase).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
# Applied, and deleted when spec.podDisruptionBudget.enabled is turned off.
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["create", "patch", "delete"]
# Applied, and deleted when spec.monitoring.serviceMonitor.enabled is off.
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors"]
  verbs: ["create", "patch", "delete"]
# Events on CacheClusters (kube's Recorder creates, then patches a repeated one).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
