#!/usr/bin/env bash
# End-to-end checks of rosterctl's exit codes and output, run by ctest:
#   rosterctl_test.sh PATH/TO/rosterctl SOURCE_DIR
set -u
ctl=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect NAME WANT_EXIT WANT_OUTPUT_SUBSTRING -- COMMAND...
expect() {
  local name=$1 want_code=$2 want_text=$3
  shift 4
  local out code
  out=$("$@" 2>&1)
  code=$?
  if [ "$code" -eq "$want_code" ] && [[ "$out" == *"$want_text"* ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name: exit $code (want $want_code), output:"
    echo "$out" | head -20 | sed 's/^/    /'
    echo "    (wanted to contain: $want_text)"
  fi
}

# semver sort
expect "sort ascending by precedence" 0 $'1.0.0-alpha\n1.0.0-alpha.1\n1.0.0-rc.1\n1.0.0\n1.9.0\n1.10.0' -- \
  "$ctl" semver sort 1.10.0 1.0.0 1.9.0 1.0.0-rc.1 1.0.0-alpha.1 1.0.0-alpha
expect "sort --json" 0 '["0.1.0", "2.0.0"]' -- "$ctl" semver sort --json 2.0.0 0.1.0
expect "sort rejects an invalid version" 2 'invalid version "1.02.0"' -- "$ctl" semver sort 1.0.0 1.02.0
expect "sort needs versions" 2 '' -- "$ctl" semver sort

# semver satisfies
expect "satisfies yes" 0 yes -- "$ctl" semver satisfies 2.1.0 '^2.0.0'
expect "satisfies no" 1 no -- "$ctl" semver satisfies 3.0.0 '^2.0.0'
expect "prerelease excluded by default" 1 no -- "$ctl" semver satisfies 2.1.0-beta '^2.0.0'
expect "prerelease included on request" 0 yes -- "$ctl" semver satisfies --include-prerelease 2.1.0-beta '^2.0.0'
expect "satisfies --json" 1 '{"version":"2.1.0-beta","range":"^2.0.0","satisfies":false}' -- \
  "$ctl" semver satisfies --json 2.1.0-beta '^2.0.0'
expect "max --json" 0 '{"range":"^1.0.0","max":"1.10.0"}' -- "$ctl" semver max --json '^1.0.0' 1.2.0 1.10.0 2.0.0
expect "max --json, none" 1 '{"range":"^3.0.0","max":null}' -- "$ctl" semver max --json '^3.0.0' 1.2.0
expect "satisfies invalid version" 2 'invalid version' -- "$ctl" semver satisfies 2.x '^2.0.0'
expect "satisfies invalid range" 2 'invalid range' -- "$ctl" semver satisfies 2.0.0 '^^2'

# semver max
expect "max picks highest satisfying" 0 '1.5.0' -- "$ctl" semver max '~1.4 || 1.5.x' 1.3.0 1.4.2 1.5.0 2.0.0
expect "max with none satisfying" 1 'no version satisfies' -- "$ctl" semver max '>=3' 1.0.0 2.0.0
expect "max with invalid version" 2 'invalid version' -- "$ctl" semver max '*' 1.0

# validate / convert / dump
reg=$src/examples/registry.json
expect "validate example" 0 ok -- "$ctl" validate "$reg"
expect "validate --json" 0 '"ok":true' -- "$ctl" validate --json "$reg"
# A valid document above the server's default request limit: valid, with a note naming the flag.
python3 -c 'import json,sys; json.dump({"services": [{"name": "big", "versions": [{"version": "1.0.0",
  "lifecycle_stage": "stable", "owner_team": "t", "description": "d" * (1 << 20)} for _ in range(1)] +
  [{"version": f"1.0.{i}", "lifecycle_stage": "stable", "owner_team": "t", "description": "d" * (1 << 20)}
   for i in range(1, 9)]}]}, open(sys.argv[1], "w"))' "$tmp/big.json"
expect "validate a document above the server's limit" 0 'larger --max-body-bytes' -- "$ctl" validate "$tmp/big.json"
cat > "$tmp/bad.json" <<'JSON'
{"services": [{"name": "a", "versions": [{"version": "1.0", "lifecycle_stage": "stable", "owner_team": 7}]}]}
JSON
expect "validate reports paths" 1 'services[0].versions[0].owner_team: expected string, got number' -- \
  "$ctl" validate "$tmp/bad.json"
expect "validate reports every error" 1 'services[0].versions[0].version: invalid semver' -- \
  "$ctl" validate "$tmp/bad.json"
expect "validate --json errors" 1 '"path":"services[0].versions[0].owner_team"' -- "$ctl" validate --json "$tmp/bad.json"
: > "$tmp/empty.json"
expect "validate empty file" 1 'document is empty' -- "$ctl" validate "$tmp/empty.json"
expect "validate missing file" 1 'cannot read' -- "$ctl" validate "$tmp/nope.json"
expect "validate --max-size" 1 'the limit is 10 bytes' -- "$ctl" validate --max-size 10 "$reg"

expect "convert" 0 "wrote $tmp/reg.bin" -- "$ctl" convert "$reg" -o "$tmp/reg.bin"
expect "dump" 0 '"name": "user-service"' -- "$ctl" dump "$tmp/reg.bin"
"$ctl" dump --compact "$tmp/reg.bin" > "$tmp/roundtrip.json"
expect "dump output validates" 0 ok -- "$ctl" validate "$tmp/roundtrip.json"
"$ctl" convert "$tmp/roundtrip.json" -o "$tmp/reg2.bin" > /dev/null
expect "convert is deterministic across a round trip" 0 '' -- cmp "$tmp/reg.bin" "$tmp/reg2.bin"
expect "convert refuses a bad document" 1 'owner_team' -- "$ctl" convert "$tmp/bad.json" -o "$tmp/bad.bin"
expect "convert wrote nothing for a bad document" 1 '' -- test -e "$tmp/bad.bin"

cp "$tmp/reg.bin" "$tmp/corrupt.bin"
printf '\xff\xff\xff\x7f' | dd of="$tmp/corrupt.bin" bs=1 seek=0 conv=notrunc status=none
expect "dump refuses a corrupt buffer" 1 'not a valid Snapshot buffer' -- "$ctl" dump "$tmp/corrupt.bin"
head -c 100 "$tmp/reg.bin" > "$tmp/truncated.bin"
expect "dump refuses a truncated buffer" 1 'not a valid Snapshot buffer' -- "$ctl" dump "$tmp/truncated.bin"
expect "dump of a JSON file" 1 'not a valid Snapshot buffer' -- "$ctl" dump "$reg"

expect "help" 0 'semver' -- "$ctl" --help
expect "alone prints help" 2 'Subcommands:' -- "$ctl"
expect "version" 0 'rosterctl 0.1.0' -- "$ctl" --version
expect "unknown command" 2 '' -- "$ctl" frobnicate
expect "a mistyped command" 2 'did you mean "lifecycle"?' -- "$ctl" lifecyle timeline
expect "a mistyped subcommand" 2 'did you mean "timeline"?' -- "$ctl" lifecycle timelin

# schema check / diff / compat and contract verify: local, no server
data=$src/tests/cli/data
expect "schema check valid OpenAPI" 0 'users_v1.openapi.json: a valid OpenAPI document' -- \
  "$ctl" schema check "$data/users_v1.openapi.json"
expect "schema check valid JSON Schema" 0 'user_v1.schema.json: a valid JSON Schema (draft-07)' -- \
  "$ctl" schema check "$data/user_v1.schema.json"
expect "schema check invalid OpenAPI names each problem" 1 \
  $'/info/version: "version" is required\n/paths/users: path "users" must start with "/"\n' -- \
  "$ctl" schema check "$data/invalid.openapi.json"
expect "schema check invalid OpenAPI path parameter" 1 \
  '/paths/~1users~1{id}/get/parameters/0/required: a path parameter must have "required": true' -- \
  "$ctl" schema check "$data/invalid.openapi.json"
expect "schema check invalid OpenAPI summary" 1 'invalid.openapi.json: not a valid OpenAPI document (4 problems)' -- \
  "$ctl" schema check "$data/invalid.openapi.json"
expect "schema check invalid JSON Schema" 1 '/minLength: "minLength" must be a non-negative integer' -- \
  "$ctl" schema check "$data/invalid.schema.json"
expect "schema check --format forces OpenAPI" 1 '/openapi: "openapi" is required' -- \
  "$ctl" schema check --format openapi "$data/user_v1.schema.json"
expect "schema check --json" 1 '{"valid":false,"format":"json_schema","problems":[{"pointer":"/minLength",' -- \
  "$ctl" schema check --json "$data/invalid.schema.json"
expect "schema check unparseable" 2 \
  'unparseable.json: not valid JSON: line 3, column 29 (offset 52): Missing a comma' -- \
  "$ctl" schema check "$data/unparseable.json"
expect "schema check missing file" 2 'cannot read' -- "$ctl" schema check "$tmp/nope.json"
python3 -c "print('[' * 150000 + ']' * 150000)" > "$tmp/deep.json"
expect "schema check 150,000 nested arrays" 2 'nested deeper than 256 levels' -- "$ctl" schema check "$tmp/deep.json"
expect "schema check unknown format" 2 '' -- "$ctl" schema check --format yaml "$data/user_v1.schema.json"

expect "schema diff breaking" 1 \
  $'BREAKING parameter-made-required GET /users: parameter "q" (query) is now required\nbreaking: 1 finding' -- \
  "$ctl" schema diff "$data/users_v1.openapi.json" "$data/users_v2_breaking.openapi.json"
expect "schema diff harmless" 0 \
  $'INFO path-added /users/{id}: path "/users/{id}" was added\nnothing breaks: 1 finding, 0 breaking' -- \
  "$ctl" schema diff "$data/users_v1.openapi.json" "$data/users_v2_harmless.openapi.json"
expect "schema diff identical" 0 'no differences' -- \
  "$ctl" schema diff "$data/users_v1.openapi.json" "$data/users_v1.openapi.json"
expect "schema diff --json" 1 '{"breaking":true,"findings":[{"severity":"breaking","id":"parameter-made-required",' -- \
  "$ctl" schema diff --json "$data/users_v1.openapi.json" "$data/users_v2_breaking.openapi.json"
# Constraint, parameter style, oneOf branch, response header and scope changes (issue 14, item 8).
pets_diff=("$ctl" schema diff --json "$data/pets_v1.openapi.json" "$data/pets_v2.openapi.json")
expect "schema diff --json maxLength" 1 \
  '{"severity":"breaking","id":"request-max-length-decreased","method":"POST","path":"/pets","pointer":"/components/schemas/Cat/properties/name","message":"request property \"name\" maxLength decreased from 64 to 32"}' \
  -- "${pets_diff[@]}"
expect "schema diff --json parameter style" 1 '"id":"parameter-style-changed",' -- "${pets_diff[@]}"
expect "schema diff --json oneOf branch" 1 \
  '"id":"request-schema-branch-removed","method":"POST","path":"/pets","pointer":"/paths/~1pets/post/requestBody/content/application~1json/schema/oneOf/1"' \
  -- "${pets_diff[@]}"
expect "schema diff --json response header" 1 \
  '"message":"response 201 header \"X-Rate-Limit\" (required) was removed"' -- "${pets_diff[@]}"
expect "schema diff --json scopes" 1 \
  '"id":"security-scopes-added","method":"POST","path":"/pets","pointer":"/paths/~1pets/post/security","message":"credentials for oauth[pets:write] now also need the scopes oauth[pets:admin]"' \
  -- "${pets_diff[@]}"
expect "schema diff reversed: the relaxations are notes" 1 \
  $'INFO security-scopes-removed POST /pets: scopes no longer required: oauth[pets:admin] (was: oauth[pets:admin,pets:write])\nbreaking: 4 findings, 1 breaking' -- \
  "$ctl" schema diff "$data/pets_v2.openapi.json" "$data/pets_v1.openapi.json"
expect "schema diff unparseable" 2 'not valid JSON: line 3, column 29' -- \
  "$ctl" schema diff "$data/unparseable.json" "$data/users_v1.openapi.json"
expect "schema diff of a JSON Schema" 2 'user_v1.schema.json: not an OpenAPI document' -- \
  "$ctl" schema diff "$data/users_v1.openapi.json" "$data/user_v1.schema.json"
expect "schema diff of an invalid OpenAPI document" 2 'invalid.openapi.json: not a valid OpenAPI document' -- \
  "$ctl" schema diff "$data/invalid.openapi.json" "$data/users_v1.openapi.json"

expect "schema compat BACKWARD holds" 0 'user_v2.schema.json is compatible (BACKWARD, 1 previous version)' -- \
  "$ctl" schema compat --mode BACKWARD "$data/user_v1.schema.json" "$data/user_v2.schema.json"
expect "schema compat FORWARD breaks" 1 \
  'BREAKING property-removed-from-closed-content-model /properties/email: FORWARD:' -- \
  "$ctl" schema compat --mode FORWARD "$data/user_v1.schema.json" "$data/user_v2.schema.json"
expect "schema compat with history" 1 'BREAKING required-attribute-added /required/1: BACKWARD:' -- \
  "$ctl" schema compat --mode BACKWARD "$data/user_v1.schema.json" "$data/user_v2.schema.json" \
  "$data/user_v3.schema.json"
expect "schema compat: an optional property added to an open model is fine by default" 0 'is compatible (BACKWARD' -- \
  "$ctl" schema compat --mode BACKWARD "$data/open_v1.schema.json" "$data/open_v2.schema.json"
expect "schema compat --strict reports it" 1 'BREAKING' -- \
  "$ctl" schema compat --strict --mode BACKWARD "$data/open_v1.schema.json" "$data/open_v2.schema.json"
expect "schema compat NONE" 0 'is compatible (NONE, 1 previous version)' -- \
  "$ctl" schema compat --mode NONE "$data/user_v2.schema.json" "$data/user_v3.schema.json"
expect "schema compat OpenAPI" 0 'users_v2_harmless.openapi.json is compatible (BACKWARD, 1 previous version)' -- \
  "$ctl" schema compat --mode BACKWARD "$data/users_v1.openapi.json" "$data/users_v2_harmless.openapi.json"
expect "schema compat --json" 1 \
  '{"compatible":false,"mode":"FORWARD_TRANSITIVE","findings":[{"severity":"breaking",' -- \
  "$ctl" schema compat --json --mode forward_transitive "$data/user_v1.schema.json" "$data/user_v2.schema.json"
expect "schema compat unknown mode" 2 'unknown compatibility mode "bogus"' -- \
  "$ctl" schema compat --mode bogus "$data/user_v1.schema.json" "$data/user_v2.schema.json"
expect "schema compat needs two files" 2 '' -- "$ctl" schema compat --mode FULL "$data/user_v1.schema.json"
expect "schema compat mixed kinds" 2 'mixing OpenAPI documents and JSON Schemas' -- \
  "$ctl" schema compat --mode FULL "$data/users_v1.openapi.json" "$data/user_v1.schema.json"
expect "schema compat invalid schema" 2 'invalid.schema.json: not a valid JSON Schema' -- \
  "$ctl" schema compat --mode FULL "$data/invalid.schema.json" "$data/user_v1.schema.json"

expect "contract verify passes" 0 \
  'pact web → users: 2 interactions checked against '"$data"'/users_v1.openapi.json, all hold' -- \
  "$ctl" contract verify "$data/pact_ok.json" "$data/users_v1.openapi.json"
expect "contract verify names each failure" 1 \
  'BREAKING operation-not-found GET /users/7: interaction "one user by id": no documented operation for GET /users/7' \
  -- \
  "$ctl" contract verify "$data/pact_fail.json" "$data/users_v1.openapi.json"
expect "contract verify failure summary" 1 \
  '2 interactions checked against '"$data"'/users_v1.openapi.json, 2 failures' -- \
  "$ctl" contract verify "$data/pact_fail.json" "$data/users_v1.openapi.json"
expect "contract verify --json" 1 '"failures":[{"severity":"breaking","id":"operation-not-found","method":"GET"' -- \
  "$ctl" contract verify --json "$data/pact_fail.json" "$data/users_v1.openapi.json"
expect "contract verify malformed pact" 2 \
  $'/interactions/0/request: missing; it must be an object\n/interactions/1/response/status: must be an integer' -- \
  "$ctl" contract verify "$data/pact_malformed.json" "$data/users_v1.openapi.json"
expect "contract verify invalid OpenAPI" 2 'invalid.openapi.json: not a valid OpenAPI document' -- \
  "$ctl" contract verify "$data/pact_ok.json" "$data/invalid.openapi.json"
expect "contract verify unparseable" 2 'not valid JSON: line 3' -- \
  "$ctl" contract verify "$data/unparseable.json" "$data/users_v1.openapi.json"

# dump --json: the registry JSON on one line
"$ctl" convert "$reg" -o "$tmp/json.bin" > /dev/null
expect "dump --json is one line of registry JSON" 0 '{"services":[{"name":"user-service"' -- "$ctl" dump --json "$tmp/json.bin"

# Every command's --help (the command tree read from rosterctl itself): no "{false}" after flags.
commands=$("$ctl" completion bash --json | python3 -c 'import json, sys
for c in json.load(sys.stdin)["commands"]: print(c["path"])')
[ "$(echo "$commands" | wc -l)" -gt 30 ] || { failed=$((failed + 1)); echo "FAIL: the command tree: $commands"; }
while IFS= read -r path; do
  # shellcheck disable=SC2086  # the path's words are separate arguments
  help=$("$ctl" $path --help 2>&1)
  if [[ $help == *"{false}"* || $help != *"--help"* ]]; then
    failed=$((failed + 1))
    echo "FAIL: rosterctl $path --help:"
    echo "$help" | grep -n 'false}' | head -5 | sed 's/^/    /'
  else
    passed=$((passed + 1))
  fi
done <<< "$commands"

# Shell completion: scripts that parse, and completing commands, subcommands and options.
"$ctl" completion bash > "$tmp/rosterctl.bash"
expect "completion bash parses" 0 '' -- bash -n "$tmp/rosterctl.bash"
# complete WORDS...: what the bash completion offers for the last word, sorted as bash shows it.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _rosterctl
           printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd " "' _ "$tmp/rosterctl.bash" "$@"
}
expect "completion: commands" 0 'deps deregister' -- complete_words rosterctl de
expect "completion: subcommands" 0 'impact' -- complete_words rosterctl deps im
expect "completion: options of a subcommand" 0 '--paths' -- complete_words rosterctl deps impact x --pa
expect "completion: past an option's value" 0 'register' -- complete_words rosterctl --server x instance reg
expect "completion: a new command is in it" 0 'heartbeat' -- complete_words rosterctl instance h
expect "completion zsh wraps the bash one" 0 'bashcompinit' -- "$ctl" completion zsh
expect "completion fish" 0 "-n '__rosterctl_at \\'deps\\'' -a 'impact'" -- "$ctl" completion fish
# zsh and fish where they are installed: the script parses and completes.
if command -v zsh > /dev/null; then
  "$ctl" completion zsh > "$tmp/rosterctl.zsh"
  expect "completion zsh parses" 0 '' -- zsh -n "$tmp/rosterctl.zsh"
  # What bashcompinit's compgen hands to zsh (which filters by the typed prefix itself).
  expect "completion zsh: options of a subcommand" 0 '--paths' -- zsh -c 'compdef() { :; }; source "$1"
    offer() { emulate -L sh; COMP_WORDS=(rosterctl deps impact x --pa); COMP_CWORD=4; _rosterctl; echo "${COMPREPLY[@]}"; }
    offer' _ "$tmp/rosterctl.zsh"
fi
if command -v fish > /dev/null; then
  "$ctl" completion fish > "$tmp/rosterctl.fish"
  expect "completion fish parses" 0 '' -- fish -n "$tmp/rosterctl.fish"
  expect "completion fish: commands" 0 $'deps\tThe dependency graph' -- \
    fish -c 'source $argv[1]; complete -C "rosterctl de"' "$tmp/rosterctl.fish"
  expect "completion fish: past an option's value" 0 'heartbeat' -- \
    fish -c 'source $argv[1]; complete -C "rosterctl --server x instance h"' "$tmp/rosterctl.fish"
fi
expect "completion of an unknown shell" 2 'tcsh' -- "$ctl" completion tcsh

echo "rosterctl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
