{{/*
Names, labels and image references shared by the templates.
*/}}

{{- define "kuorum.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>", or the release name alone when it already contains the chart name. */}}
{{- define "kuorum.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kuorum.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable for the life of a release (a Deployment's selector cannot change). */}}
{{- define "kuorum.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kuorum.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The standard labels on every object. */}}
{{- define "kuorum.labels" -}}
helm.sh/chart: {{ include "kuorum.chart" . }}
{{ include "kuorum.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kuorum
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "kuorum.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kuorum.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The namespace whose ConsensusClusters the operator manages; empty means every namespace. */}}
{{- define "kuorum.watchNamespace" -}}
{{- if eq .Values.scope "namespace" -}}
{{- default .Release.Namespace .Values.watchNamespace -}}
{{- end -}}
{{- end -}}

{{/* "repository@digest" when a digest is set, else "repository:tag" with the tag defaulting to appVersion.
     Call with (dict "image" .Values.image "root" .). */}}
{{- define "kuorum.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Rules the operator needs on the namespaced objects it manages, for a ClusterRole or a Role alike.
     Exactly the verbs it uses: see docs/install.md. */}}
{{- define "kuorum.managerRules" -}}
- apiGroups: ["kuorum.io"]
  resources: ["consensusclusters"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["kuorum.io"]
  resources: ["consensusclusters/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["kuorum.io"]
  resources: ["consensusclusters/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
{{- /* TLS: the operator's own Secrets of mode Auto (watched by label, created, updated when a certificate is
       renewed; never deleted: owner references do that) and the user's Secret of mode Secret (read). */}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
