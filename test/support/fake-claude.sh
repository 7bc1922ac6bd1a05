#!/bin/sh
# A stand-in for the Claude Code CLI in tests (the real one needs the model API): it checks its
# arguments and environment the way Forkyard calls it, makes an edit in the working directory, and
# reports in Claude Code's stream-json format (one JSON object per line, `result` last).
set -eu
prompt=""; model=""; format=""; turns=""
while [ $# -gt 0 ]; do
  case "$1" in
    -p) prompt="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --output-format) format="$2"; shift 2 ;;
    --max-turns) turns="$2"; shift 2 ;;
    *) shift ;;
  esac
done
if [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  echo '{"type":"result","subtype":"error_during_execution","is_error":true,"num_turns":0,"result":"Invalid API key"}'
  exit 1
fi
[ "$format" = "stream-json" ] || { echo "unexpected format $format" >&2; exit 2; }
echo "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\",\"model\":\"$model\",\"cwd\":\"$(pwd)\"}"
# Reads everything a session could read of its environment — its own, and every process's it can
# see under /proc — and leaves it, base64 (no scrubber rewrites it), in env-dump.b64.
case "$prompt" in
  *dump-env*) { env; for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f" 2>/dev/null || true; done; } | base64 | tr -d '\n' > env-dump.b64 ;;
esac
# Misbehaviours the tests ask for in the prompt:
case "$prompt" in
  *proxy-calls=*)
    # Calls the model through ANTHROPIC_BASE_URL (odd calls streamed, even ones not) until it has
    # made N calls or one is refused, then reports a cost of 0 (the proxy's metering is what is billed).
    calls="${prompt#*proxy-calls=}"; calls="${calls%% *}"
    i=0
    while [ "$i" -lt "$calls" ]; do
      i=$((i + 1))
      if [ $((i % 2)) = 1 ]; then stream=true; else stream=false; fi
      code=$(curl -sS -o /tmp/proxy-answer -w '%{http_code}' -X POST "$ANTHROPIC_BASE_URL/v1/messages" \
        -H "x-api-key: $ANTHROPIC_API_KEY" -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
        --data "{\"model\":\"$model\",\"max_tokens\":1000,\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"call $i\"}]}")
      if [ "$code" != 200 ]; then
        answer=$(tr -d '"\\\n' < /tmp/proxy-answer)
        echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,\"num_turns\":$i,\"result\":\"API Error: $code $answer\",\"session_id\":\"s-1\",\"total_cost_usd\":0}"
        exit 1
      fi
      echo '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"called"}],"usage":{"input_tokens":1,"output_tokens":1}},"session_id":"s-1"}'
    done
    echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"num_turns\":$calls,\"result\":\"Made $calls calls.\",\"session_id\":\"s-1\",\"total_cost_usd\":0,\"usage\":{\"input_tokens\":$calls,\"output_tokens\":$calls}}"
    exit 0 ;;
  *dump-env*)
    echo '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"Dumped.","session_id":"s-1","total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0}}'
    exit 0 ;;
  *cost=*)
    cost="${prompt#*cost=}"
    echo '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":1000,"output_tokens":10}},"session_id":"s-1"}'
    if [ "$cost" = missing ]; then field=""; else field=",\"total_cost_usd\":$cost"; fi
    echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"num_turns\":1,\"result\":\"ok\",\"session_id\":\"s-1\"$field,\"usage\":{\"input_tokens\":1000,\"output_tokens\":10}}"
    exit 0 ;;
esac
echo '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Writing the file."},{"type":"tool_use","id":"toolu_1","name":"Write","input":{"file_path":"cc.txt"}}],"usage":{"input_tokens":1000,"output_tokens":50,"cache_read_input_tokens":0,"cache_creation_input_tokens":3000}},"session_id":"s-1"}'
printf '%s\n' "$prompt" > cc.txt
echo '{"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]},"session_id":"s-1"}'
echo '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Wrote cc.txt."}],"usage":{"input_tokens":200,"output_tokens":20,"cache_read_input_tokens":3000,"cache_creation_input_tokens":0}},"session_id":"s-1"}'
echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"num_turns\":2,\"result\":\"Wrote cc.txt (max turns $turns).\",\"session_id\":\"s-1\",\"total_cost_usd\":0.0123,\"usage\":{\"input_tokens\":1200,\"output_tokens\":70,\"cache_read_input_tokens\":3000,\"cache_creation_input_tokens\":3000}}"
