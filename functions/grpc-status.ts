/**
 * gRPC status codes by name (fixed by the gRPC specification), for the errors that firebase-admin
 * (Firestore) and @google-cloud/secret-manager raise. google-gax exports the same enum as `Status`,
 * but requiring google-gax costs 0.5–1.2 s of cold start here (measured with `node -e`), so this
 * module carries the numbers instead of loading it.
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GrpcStatus;

const NAMES: ReadonlyMap<number, GrpcStatusName> = new Map(
  (Object.entries(GrpcStatus) as Array<[GrpcStatusName, number]>).map(([name, code]) => [code, name]),
);

/** The name of a gRPC status number, or undefined for a number the specification does not define. */
export function grpcStatusName(code: number): GrpcStatusName | undefined {
  return NAMES.get(code);
}

/** The numeric gRPC status of an error thrown by a Google client library, if it carries one. */
export function grpcCodeOf(err: unknown): number | undefined {
  const code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}
