// E2B's file metadata as a sandbox's commands set it: `user.e2b.<key>` extended attributes
// (`os.setxattr`, `setfattr`), returned by Stat, ListDir and Move as envd does.
//
// Node has no xattr call (and no native addon is used), so one long-lived python3 helper per server
// process reads them (llistxattr / lgetxattr: never following a link, never opening the file, so a
// FIFO cannot block it) on names the server has already located beneath the sandbox's root:
// `/proc/<server pid>/fd/<dir fd>/<name>`, the folder the server holds open — exactly the file the
// server would act on, never a host path. Reading only; at most MAX_KEYS keys of MAX_VALUE bytes
// per file. Without python3, or when the helper does not answer within ANSWER_MS, files have no
// xattr metadata (the upload's, file-metadata.ts, is kept either way).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { findOnPath } from "./isolation.ts";
import type { Metadata } from "./file-metadata.ts";

const MAX_KEYS = 64;
const MAX_VALUE = 4096;
const ANSWER_MS = 2000;
const PREFIX = "user.e2b.";

const SCRIPT = `
import json, os, sys
for line in sys.stdin:
    req = json.loads(line)
    out = []
    for p in req["paths"]:
        md = {}
        try:
            for n in os.listxattr(p, follow_symlinks=False):
                if n.startswith("${PREFIX}") and len(md) < ${MAX_KEYS}:
                    md[n[${PREFIX.length}:]] = os.getxattr(p, n, follow_symlinks=False)[:${MAX_VALUE}].decode("utf-8", "replace")
        except OSError:
            pass
        out.append(md or None)
    sys.stdout.write(json.dumps({"id": req["id"], "results": out}) + "\\n")
    sys.stdout.flush()
`;

type Waiter = (results: (Metadata | null)[] | undefined) => void;

let helper: { child: ChildProcessWithoutNullStreams; waiting: Map<number, Waiter> } | null | undefined;
let nextId = 0;

function start(): typeof helper {
  const python = findOnPath("python3");
  if (!python) return null;
  const child = spawn(python, ["-u", "-c", SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
  const waiting = new Map<number, Waiter>();
  const h = { child, waiting };
  const fail = () => {
    if (helper === h) helper = undefined; // started again on the next read
    for (const w of waiting.values()) w(undefined);
    waiting.clear();
  };
  child.on("error", fail);
  child.on("exit", fail);
  child.stdin.on("error", fail);
  child.stderr.resume();
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      const { id, results } = JSON.parse(line) as { id: number; results: (Metadata | null)[] };
      waiting.get(id)?.(results);
      waiting.delete(id);
    } catch {
      // not an answer: ignored
    }
  });
  // The server's exit closes the pipe, which ends the helper: it never keeps the server alive.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  return h;
}

/** For each server-side path from sandbox-fs's `at()`, its `user.e2b.*` metadata (undefined: none). */
export async function readXattrMetadata(paths: string[]): Promise<(Metadata | undefined)[]> {
  if (paths.length === 0) return [];
  if (helper === undefined) helper = start();
  const h = helper;
  if (!h) return paths.map(() => undefined);
  const id = nextId++;
  const asHelper = paths.map((p) => p.replace(/^\/proc\/self\//, `/proc/${process.pid}/`));
  const results = await new Promise<(Metadata | null)[] | undefined>((resolve) => {
    const timer = setTimeout(() => {
      h.waiting.delete(id);
      resolve(undefined);
    }, ANSWER_MS);
    h.waiting.set(id, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    h.child.stdin.write(JSON.stringify({ id, paths: asHelper }) + "\n");
  });
  return paths.map((_, i) => results?.[i] ?? undefined);
}

/** The metadata a file shows: its xattrs', then the upload's (file-metadata.ts) over them. */
export function mergeMetadata(xattrs: Metadata | undefined, uploaded: Metadata | undefined): Metadata | undefined {
  return xattrs || uploaded ? { ...xattrs, ...uploaded } : undefined;
}
