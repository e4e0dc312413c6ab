{{/* Release-scoped name, cut to the 63 characters Kubernetes allows. */}}
{{- define "periscope.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "periscope.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of one role; call with (dict "root" $ "role" "ingest"). */}}
{{- define "periscope.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "periscope.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "periscope.fullname" .)) -}}
{{- end -}}

{{- define "periscope.configName" -}}
{{- printf "%s-config" (include "periscope.fullname" .) -}}
{{- end -}}
