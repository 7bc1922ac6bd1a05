import { InvalidInputError } from "../core/errors";

/**
 * A run's repo is an https git URL without credentials (tokens reach git another way), or — when
 * the deployment allows local repos (local development) — an absolute path on the sandbox host or
 * an http URL on the loopback interface.
 */
const HTTPS_EXAMPLE = "an https git URL (e.g. https://github.com/acme/app.git)";

export function validateRepo(repo: string, allowLocal: boolean): string {
  const accepted = allowLocal ? HTTPS_EXAMPLE + " or, on the local stack, an absolute path (e.g. /home/me/app)" : HTTPS_EXAMPLE;
  const invalid = (why: string) => new InvalidInputError(`repo: ${why}; expected ${accepted}.`, { field: "repo" });
  if (repo.startsWith("/")) {
    if (!allowLocal) throw invalid("local paths are not allowed by this deployment (ALLOW_LOCAL_REPOS is off)");
    if (repo.includes("\0") || repo.split("/").includes("..")) throw invalid("a path with `..` or a NUL byte is not accepted");
    return repo;
  }
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    throw invalid(`"${repo.slice(0, 100)}" is neither a URL nor an absolute path`);
  }
  // Local development may also use a git server on this machine over plain http (tests do).
  const loopback = allowLocal && url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !loopback) throw invalid(`a ${url.protocol.replace(/:$/, "")} URL is not accepted`);
  if (url.username || url.password) throw new InvalidInputError("repo: credentials in the URL are not accepted.", { field: "repo" });
  return url.toString();
}
