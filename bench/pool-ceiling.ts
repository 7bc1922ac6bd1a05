// The Pool's ceiling (issue 27 item 3): how many leases per second one Pool object's own logic
// sustains, measured as acquire + release cycles per CPU-second of the Pool's logic (PoolLogic on
// SQLite, with a backend that answers at once and a clock that never waits: nothing but the
// Pool's admission, queue, rate and lease bookkeeping is counted), at several numbers of live
// leases, with the SQL statements each cycle runs. It leaves out what a deployed object adds per
// call (the RPC itself, workerd's SQLite, storage I/O): see the "Pool's ceiling" notes in
// docs/objects.md for how the figure compares with E2B's creation rates.
//   node --import ./bench/register-ts.mjs bench/pool-ceiling.ts [cycles=2000]
import { leaseRequest, ok, poolUnderTest } from "../test/unit/support/pool-fakes.ts";
import { printTable } from "./stats.ts";

const CYCLES = Number(process.argv[2] ?? 2000);
/** E2B's fastest documented sandbox creation rate (Pro, about 5 a second): the ceiling should be 10× it. */
const E2B_FASTEST_CREATES_PER_SECOND = 5;

async function measure(live: number) {
  const { logic, core, storage, host } = poolUnderTest({ maxLiveSandboxes: live + 10, createRatePerSecond: 1_000_000 });
  const held = [];
  for (let i = 0; i < live; i++) {
    const r = leaseRequest();
    ok(await logic.acquirer.acquire(r));
    held.push(r);
  }
  await host.settle();
  let statements = 0;
  const exec = storage.sql.exec.bind(storage.sql);
  (storage.sql as { exec: typeof exec }).exec = ((query: string, ...bindings: SqlStorageValue[]) => {
    statements++;
    return exec(query, ...bindings);
  }) as typeof exec;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < CYCLES; i++) {
    const old = held[i % live]!;
    await core.release(old.key);
    const r = leaseRequest();
    ok(await logic.acquirer.acquire(r));
    held[i % live] = r;
  }
  await host.settle();
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const perSecond = CYCLES / (cpuMs / 1000);
  return { live, perSecond, cpuMsPerLease: cpuMs / CYCLES, statements: statements / CYCLES };
}

const rows = [];
for (const live of [10, 100, 1000]) rows.push(await measure(live));
printTable(
  `The Pool's own logic: ${CYCLES} cycles (release one lease, acquire a new one) at each number of live leases`,
  ["live leases", "leases / CPU-s", "CPU ms / lease", "SQL statements / lease", `× E2B's fastest creation rate (${E2B_FASTEST_CREATES_PER_SECOND}/s)`],
  rows.map((r) => [String(r.live), r.perSecond.toFixed(0), r.cpuMsPerLease.toFixed(3), r.statements.toFixed(1), (r.perSecond / E2B_FASTEST_CREATES_PER_SECOND).toFixed(0)]),
);
