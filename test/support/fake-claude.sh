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
# Misbehaviours the tests ask for in the prompt:
case "$prompt" in
  *leak-key*)
    # Prints the model key it was given, as a careless (or hostile) session could.
    echo "{\"type\":\"assistant\",\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"my key is $ANTHROPIC_API_KEY\"}],\"usage\":{\"input_tokens\":10,\"output_tokens\":5}},\"session_id\":\"s-1\"}"
    echo "key: $ANTHROPIC_API_KEY" >&2
    echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"num_turns\":1,\"result\":\"Done. The key was $ANTHROPIC_API_KEY\",\"session_id\":\"s-1\",\"total_cost_usd\":0.001,\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}"
    exit 0 ;;
  *spend*)
    # A long, expensive session: 40 turns of 100k input tokens, one every 0.25 s.
    for i in $(seq 40); do
      echo '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"thinking"}],"usage":{"input_tokens":100000,"output_tokens":10}},"session_id":"s-1"}'
      sleep 0.25
    done
    echo finished > finished.txt
    echo '{"type":"result","subtype":"success","is_error":false,"num_turns":40,"result":"Spent.","session_id":"s-1","total_cost_usd":12,"usage":{"input_tokens":4000000,"output_tokens":400}}'
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
