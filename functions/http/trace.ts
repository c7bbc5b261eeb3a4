/**
 * Trace correlation for Cloud Logging: the special fields of a structured log line that tie it to
 * the request's trace, from `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` (span id in decimal) or,
 * without it, W3C `traceparent: 00-TRACE_ID-SPAN_ID-FLAGS`. Headers come from the caller, so anything
 * that is not well formed is left out rather than logged.
 */

export interface TraceHeaders {
  cloudTraceContext?: string | undefined;
  traceparent?: string | undefined;
}

export interface TraceFields {
  'logging.googleapis.com/trace'?: string;
  /** 16 hex digits, as Cloud Trace writes span ids. */
  'logging.googleapis.com/spanId'?: string;
  'logging.googleapis.com/trace_sampled'?: boolean;
}

const CLOUD_TRACE = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([0-9]+))?$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const MAX_SPAN_ID = (1n << 64n) - 1n;

function spanIdFromDecimal(decimal: string): string | undefined {
  const n = BigInt(decimal);
  if (n === 0n || n > MAX_SPAN_ID) return undefined;
  return n.toString(16).padStart(16, '0');
}

function fields(projectId: string, traceId: string, spanId?: string, sampled?: boolean): TraceFields {
  if (/^0+$/.test(traceId)) return {};
  return {
    'logging.googleapis.com/trace': `projects/${projectId}/traces/${traceId.toLowerCase()}`,
    ...(spanId === undefined ? {} : { 'logging.googleapis.com/spanId': spanId }),
    ...(sampled === undefined ? {} : { 'logging.googleapis.com/trace_sampled': sampled }),
  };
}

export function traceFields(headers: TraceHeaders, projectId: string): TraceFields {
  const cloud = CLOUD_TRACE.exec(headers.cloudTraceContext?.trim() ?? '');
  if (cloud !== null) {
    const [, traceId = '', span, options] = cloud;
    const sampled = options === undefined ? undefined : (Number(options) & 1) === 1;
    return fields(projectId, traceId, span === undefined ? undefined : spanIdFromDecimal(span), sampled);
  }
  const w3c = TRACEPARENT.exec(headers.traceparent?.trim() ?? '');
  if (w3c !== null) {
    const [, version, traceId = '', spanId = '', flags = '00'] = w3c;
    if (version === 'ff') return {};
    return fields(
      projectId,
      traceId,
      /^0+$/.test(spanId) ? undefined : spanId,
      (parseInt(flags, 16) & 1) === 1,
    );
  }
  return {};
}
