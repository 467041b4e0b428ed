{{/* Names: <release>-kiln unless the release name already says kiln; components append -<part>. */}}
{{- define "kiln.fullname" -}}
{{- if contains "kiln" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kiln" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kiln.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: kiln
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api") */}}
{{- define "kiln.selectorLabels" -}}
app.kubernetes.io/name: kiln
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kiln.componentLabels" -}}
{{ include "kiln.labels" .root }}
{{ include "kiln.selectorLabels" . }}
{{- end -}}

{{/* <registry>/<repository>:<tag>: (dict "root" $ "image" .Values.api.image) */}}
{{- define "kiln.image" -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "kiln.secretName" -}}{{ include "kiln.fullname" . }}{{- end -}}
{{- define "kiln.apiUrl" -}}
{{- printf "http://%s-api.%s.svc:%d" (include "kiln.fullname" .) .Release.Namespace (int .Values.api.port) -}}
{{- end -}}

{{/* The Secret and key holding DATABASE_URL. */}}
{{- define "kiln.databaseSecret" -}}
{{- if and .Values.database.existingSecret (not .Values.postgres.enabled) -}}
{{ .Values.database.existingSecret }}
{{- else -}}
{{ include "kiln.secretName" . }}
{{- end -}}
{{- end -}}
{{- define "kiln.databaseSecretKey" -}}
{{- if and .Values.database.existingSecret (not .Values.postgres.enabled) -}}
{{ .Values.database.existingSecretKey }}
{{- else -}}
database-url
{{- end -}}
{{- end -}}
{{- define "kiln.adminTokenSecret" -}}
{{- .Values.adminTokenExistingSecret | default (include "kiln.secretName" .) -}}
{{- end -}}
{{- define "kiln.adminTokenSecretKey" -}}
{{- if .Values.adminTokenExistingSecret -}}{{ .Values.adminTokenExistingSecretKey }}{{- else -}}admin-token{{- end -}}
{{- end -}}

{{- define "kiln.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s-redis.%s.svc:6379" (include "kiln.fullname" .) .Release.Namespace -}}
{{- else -}}
{{- .Values.redisUrl -}}
{{- end -}}
{{- end -}}

{{/* Environment every process reading the database gets. */}}
{{- define "kiln.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "kiln.databaseSecret" . }}
      key: {{ include "kiln.databaseSecretKey" . }}
{{- end -}}

{{- define "kiln.extraEnv" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{- define "kiln.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "kiln.podSecurity" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The one check the schema cannot express across keys: where the database is. */}}
{{- define "kiln.validate" -}}
{{- if and (not .Values.postgres.enabled) (not .Values.database.url) (not .Values.database.existingSecret) -}}
{{- fail "database: set database.url (postgresql://user:password@host:5432/db), database.existingSecret, or postgres.enabled=true (evaluation only)" -}}
{{- end -}}
{{- if and (not .Values.redis.enabled) (not .Values.redisUrl) -}}
{{- fail "redisUrl: set redisUrl (redis://host:6379) or redis.enabled=true (evaluation only); the API queues sweeps on Redis" -}}
{{- end -}}
{{- end -}}
