// TypeBox checks a string `format` only when one is registered; these are the formats the specs use.
import { FormatRegistry } from '@sinclair/typebox';

// RFC 3339, as Kubernetes writes metav1.Time ("2026-11-23T07:00:00Z").
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => DATE_TIME_RE.test(value) && !Number.isNaN(Date.parse(value)));
}
