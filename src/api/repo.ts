import { InvalidInputError } from "../core/errors";

/**
 * A run's repo is an https git URL without credentials (tokens reach git another way), or — when
 * the deployment allows local repos (local development) — an absolute path on the sandbox host or
 * an http URL on the loopback interface.
 */
export function validateRepo(repo: string, allowLocal: boolean): string {
  if (repo.startsWith("/")) {
    if (!allowLocal) throw new InvalidInputError("repo: local paths are not allowed by this deployment; use an https git URL.", { field: "repo" });
    if (repo.includes("\0") || repo.split("/").includes("..")) throw new InvalidInputError("repo: invalid path.", { field: "repo" });
    return repo;
  }
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    throw new InvalidInputError("repo: must be an https git URL.", { field: "repo" });
  }
  // Local development may also use a git server on this machine over plain http (tests do).
  const loopback = allowLocal && url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !loopback) throw new InvalidInputError("repo: must be an https git URL.", { field: "repo" });
  if (url.username || url.password) throw new InvalidInputError("repo: credentials in the URL are not accepted.", { field: "repo" });
  return url.toString();
}
