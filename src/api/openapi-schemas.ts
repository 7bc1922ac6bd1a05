/**
 * The component schemas of the OpenAPI document, converted from the zod schemas the routes parse
 * requests with (runs.ts, sessions.ts, …) and from the response schemas (responses.ts, …).
 */
import { z } from "zod";
import * as res from "./responses.ts";
import { poolConfigRequest } from "./pool.ts";
import { putTemplateRequest } from "./templates.ts";
import type { Json } from "./openapi-common.ts";
import { SESSION_REQUEST_SCHEMAS, SESSION_RESPONSE_SCHEMAS } from "./openapi-sessions.ts";
import { PICK_RESPONSE_SCHEMAS } from "./openapi-pick.ts";
import { forkTranscriptEntry, forkTranscriptPage } from "./fork-transcript.ts";
import { mergeResponse, mergeView } from "./merge-responses.ts";
import { EVAL_REQUEST_SCHEMAS, EVAL_RESPONSE_SCHEMAS } from "./openapi-evals.ts";
import { agentTask, commandsTask, createRunRequest, forkStatus, gitRefName, branchRequest, judgeRequest, listRunsQuery, mergeRequest, raiseBudgetRequest, runStatus } from "./runs.ts";

/** What gitRefName's refinements (not expressible in JSON Schema) require besides its pattern. */
const GIT_REF_RULES = "a git ref name: not starting with - or /, not ending with /, . or .lock, without .. // or /.";

/** Copies `.describe()` text (zod's global registry) into the JSON Schema of a registry conversion. */
function withDescriptions(ctx: { zodSchema: z.core.$ZodType; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const description = ctx.zodSchema === gitRefName ? GIT_REF_RULES : z.globalRegistry.get(ctx.zodSchema)?.description;
  if (description && ctx.jsonSchema.description === undefined) ctx.jsonSchema.description = description;
}

/**
 * Output-mode conversion marks every object `additionalProperties: false`, true only of strict
 * objects (whose catchall is `never`): responses may gain fields, so plain objects stay open.
 */
function openPlainObjects(ctx: { zodSchema: z.core.$ZodType; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const def = ctx.zodSchema._zod.def;
  if (def.type === "object" && (def as z.core.$ZodObjectDef).catchall === undefined && ctx.jsonSchema.additionalProperties === false) {
    delete ctx.jsonSchema.additionalProperties;
  }
}

/** `z.number().int()` emits the safe-integer range as bounds: noise in a document. */
function dropSafeIntegerBounds(ctx: { jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  if (ctx.jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete ctx.jsonSchema.minimum;
  if (ctx.jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete ctx.jsonSchema.maximum;
}

function convert(entries: [string, z.core.$ZodType][], io: "input" | "output"): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of entries) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io,
    unrepresentable: "throw",
    uri: (id) => `#/components/schemas/${id}`,
    override: (ctx) => {
      withDescriptions(ctx);
      dropSafeIntegerBounds(ctx);
      if (io === "output") openPlainObjects(ctx);
    },
  });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

/** The response schemas by component name (besides the ones shared with requests). */
const RESPONSE_SCHEMAS: [string, z.core.$ZodType][] = [
  ["RunRequest", res.runView.shape.request],
  ["RunView", res.runView],
  ["RunTotals", res.runTotals],
  ["ForkView", res.forkView],
  ["ForkTranscriptEntry", forkTranscriptEntry],
  ["ForkTranscriptPage", forkTranscriptPage],
  ["StepView", res.stepView],
  ["CommandResult", res.commandResult],
  ["CheckResult", res.checkResult],
  ["DiffStats", res.diffStats],
  ["AgentView", res.agentView],
  ["PushedBranch", res.pushedBranch],
  ["TokenCounts", res.tokenCounts],
  ["CostView", res.costView],
  ["ForkError", res.forkError],
  ["RunSummary", res.runSummary],
  ["RankEntry", res.rankEntry],
  ["CompareView", res.compareView],
  ["BranchResponse", res.branchResponse],
  ["MergeResponse", mergeResponse],
  ["MergeView", mergeView],
  ["CompareFork", res.compareFork],
  ["ForkDiffView", res.forkDiffView],
  ["RunPage", res.runPage],
  ["CreatedRun", res.createdRun],
  ["DeletedRun", res.deletedRun],
  ["RunLinks", res.runLinks],
  ["Error", res.errorBody],
  ["PoolStatus", res.poolStatus],
  ["ArtifactList", res.artifactList],
  ["RunSandbox", res.runSandbox],
  ["Profiles", res.profiles],
  ["TemplateAlias", res.templateAlias],
  ["PoolTemplateStatus", res.poolTemplateStatus],
  ["ReaperReport", res.reaperReport],
  ["ReapedSandbox", res.reapedSandbox],
  ["FreedLease", res.freedLease],
  ["Health", res.health],
  ["RunEvent", res.runEventData],
  ["WebhookRun", res.webhookRun],
  ["WebhookIgnored", res.webhookIgnored],
  ["WebhookPing", res.webhookPing],
  ...SESSION_RESPONSE_SCHEMAS,
  ...PICK_RESPONSE_SCHEMAS,
  ...EVAL_RESPONSE_SCHEMAS,
];

/** Every component schema: request schemas in input mode, response schemas in output mode. */
export function componentSchemas(): Record<string, Json> {
  const shared: [string, z.core.$ZodType][] = [
    ["RunStatus", runStatus],
    ["ForkStatus", forkStatus],
    ["CommandsTask", commandsTask],
    ["AgentTask", agentTask],
  ];
  const requests = convert(
    [
      ...shared,
      ["CreateRunRequest", createRunRequest],
      ["RaiseBudgetRequest", raiseBudgetRequest],
      ["ListRunsQuery", listRunsQuery],
      ["PoolConfigRequest", poolConfigRequest],
      ["PutTemplateRequest", putTemplateRequest],
      ["JudgeRequest", judgeRequest],
      ["BranchRequest", branchRequest],
      ["MergeRequest", mergeRequest],
      ...SESSION_REQUEST_SCHEMAS,
      ...EVAL_REQUEST_SCHEMAS,
    ],
    "input",
  );
  const responses = convert([...shared, ...RESPONSE_SCHEMAS], "output");
  for (const [id] of shared) {
    if (JSON.stringify(requests[id]) !== JSON.stringify(responses[id])) throw new Error(`openapi: schema ${id} differs between requests and responses`);
  }
  // The run's stored request is the parsed body: every default is filled in (metadata keys: the refine below).
  const schemas = { ...requests, ...responses };
  for (const name of ["CreateRunRequest", "RunRequest"]) {
    const metadata = (schemas[name]?.properties as Record<string, Json> | undefined)?.metadata;
    if (metadata) metadata.maxProperties = 32;
  }
  // A merge's forks are distinct (the refine in runs.ts).
  const mergeForks = (schemas.MergeRequest?.properties as Record<string, Json> | undefined)?.forks;
  if (mergeForks) mergeForks.uniqueItems = true;
  return schemas;
}
