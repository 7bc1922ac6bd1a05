// Error types and wire shapes. Three families of error bodies exist on the E2B wire:
//  - control plane (REST):          {"code": 404, "message": "..."}            (numeric code)
//  - envd Connect RPC (JSON codec): {"code": "not_found", "message": "..."}    (string code)
//  - envd /files REST:              {"code": 404, "message": "..."}            (numeric code)
// plus the edge proxy's 502 {"sandboxId","message","code":502} for a sandbox that is not running.

/** A control-plane (or /files) error: HTTP status + E2B-shaped JSON body. */
export class ApiError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.headers = headers;
  }
  body(): { code: number; message: string } {
    return { code: this.status, message: this.message };
  }
}

export const CONNECT_CODES = [
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
] as const;
export type ConnectCode = (typeof CONNECT_CODES)[number];

/** HTTP status for a Connect error code (Connect protocol spec, unary error mapping). */
export const CONNECT_CODE_TO_HTTP: Record<ConnectCode, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

/** Connect code for an HTTP status (used when injecting a status-based fault into an RPC). */
export function connectCodeForHttp(status: number): ConnectCode {
  switch (status) {
    case 400:
      return "invalid_argument";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "not_found";
    case 409:
      return "aborted";
    case 429:
      return "resource_exhausted";
    case 502:
    case 503:
      return "unavailable";
    case 504:
      return "deadline_exceeded";
    case 501:
      return "unimplemented";
    default:
      return status >= 500 ? "internal" : "unknown";
  }
}

/** An envd RPC error, sent as a unary error response or as a stream's end-of-stream error. */
export class RpcError extends Error {
  readonly code: ConnectCode;
  constructor(code: ConnectCode, message: string) {
    super(message);
    this.name = "RpcError";
    this.code = code;
  }
  body(): { code: ConnectCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Map a Node fs error to the Connect code envd would use. */
export function rpcErrorFromFs(err: unknown, virtualPath: string): RpcError {
  if (err instanceof RpcError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return new RpcError("not_found", `path not found: ${virtualPath}`);
    case "EEXIST":
      return new RpcError("already_exists", `path already exists: ${virtualPath}`);
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new RpcError("permission_denied", `permission denied: ${virtualPath}`);
    case "ENOTDIR":
      return new RpcError("invalid_argument", `path is not a directory: ${virtualPath}`);
    case "EISDIR":
      return new RpcError("invalid_argument", `path is a directory: ${virtualPath}`);
    case "ELOOP":
      return new RpcError("invalid_argument", `too many levels of symbolic links: ${virtualPath}`);
    case "ENOTEMPTY":
      return new RpcError("failed_precondition", `directory not empty: ${virtualPath}`);
    case "ENOSPC":
      return new RpcError("resource_exhausted", `not enough disk space: ${virtualPath}`);
    default:
      return new RpcError("internal", `${(err as Error | undefined)?.message ?? String(err)}`);
  }
}

/** HTTP status for an RPC error surfaced through the /files REST API. */
export function httpStatusForRpc(err: RpcError): number {
  if (err.code === "resource_exhausted") return 507;
  return CONNECT_CODE_TO_HTTP[err.code];
}

export function sandboxNotFoundMessage(id: string): string {
  return `Sandbox "${id}" doesn't exist or you don't have access to it`;
}

export const INVALID_API_KEY_MESSAGE = "Invalid API key, please visit https://e2b.dev/docs to get your API key";

export function maxLiveMessage(limit: number): string {
  return (
    `you have reached the maximum number of concurrent E2B sandboxes (${limit}). ` +
    "If you need more, please contact us at 'https://e2b.dev/docs/getting-help'"
  );
}
