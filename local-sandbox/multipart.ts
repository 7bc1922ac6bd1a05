// Minimal multipart/form-data parser for envd's POST /files (whole body in memory).
import { ApiError } from "./errors.ts";

export interface Part {
  name: string | undefined;
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

export function boundaryOf(contentType: string): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Decodes a quoted Content-Disposition parameter (quotes/backslashes, undici's %22/%0A/%0D). */
function dispositionParam(disposition: string, key: string): string | undefined {
  const re = new RegExp(`(?:^|;)\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, "i");
  const m = re.exec(disposition);
  if (!m) return undefined;
  const raw = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? "").trim();
  return raw.replace(/%22/g, '"').replace(/%0A/gi, "\n").replace(/%0D/gi, "\r");
}

export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new ApiError(400, "malformed multipart body: boundary not found");
  pos += delimiter.length;
  for (;;) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // "--": final boundary
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) throw new ApiError(400, "malformed multipart body: part headers not terminated");
    const headers = body.subarray(pos, headerEnd).toString("utf8").split("\r\n");
    const dataStart = headerEnd + 4;
    const dataEnd = body.indexOf(nextDelimiter, dataStart);
    if (dataEnd < 0) throw new ApiError(400, "malformed multipart body: closing boundary not found");
    let name: string | undefined;
    let filename: string | undefined;
    let contentType: string | undefined;
    for (const line of headers) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === "content-disposition") {
        name = dispositionParam(value, "name");
        filename = dispositionParam(value, "filename");
      } else if (key === "content-type") {
        contentType = value;
      }
    }
    parts.push({ name, filename, contentType, data: body.subarray(dataStart, dataEnd) });
    pos = dataEnd + nextDelimiter.length;
  }
  return parts;
}
