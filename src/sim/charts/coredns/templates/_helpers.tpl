{{- define "coredns.fullname" -}}
{{ .Values.fullnameOverride | default (printf "%s-coredns" .Release.Name) | trunc 63 | trimSuffix "-" }}
{{- end -}}
{{- define "coredns.k8sapp" -}}
{{ .Values.k8sAppLabelOverride | default "coredns" }}
{{- end -}}
{{- define "coredns.labels" -}}
app.kubernetes.io/name: coredns
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
k8s-app: {{ include "coredns.k8sapp" . }}
{{- end -}}
