#!/usr/bin/env bash
# Type mistakes in Deferred chains must be compile errors. Each case in compile_errors/ names
# the diagnostic it must produce on its first line ("// expect: TEXT"); "compiles" marks the
# control, which must build (so a broken include path cannot make every case "fail" to compile).
set -uo pipefail
cxx="${CXX:-g++}"
root="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-deft}"
[[ -d "$root/deferred" ]] || root="$(cd "$(dirname "$0")/../.." && pwd)"
failed=0
passed=0
for case in "$root"/tests/deferred/compile_errors/*.cc; do
  name="$(basename "$case" .cc)"
  expect="$(sed -n '1s|^// expect: ||p' "$case")"
  output="$("$cxx" -std=c++20 -fsyntax-only -I"$root" "$case" 2>&1)"
  status=$?
  if [[ "$expect" == "compiles" ]]; then
    if [[ $status -eq 0 ]]; then passed=$((passed + 1)); else
      echo "FAIL $name: the control does not compile:"; echo "$output" | head -20; failed=$((failed + 1)); fi
  elif [[ $status -eq 0 ]]; then
    echo "FAIL $name: compiled, but must not"; failed=$((failed + 1))
  elif ! grep -qF -- "$expect" <<<"$output"; then
    echo "FAIL $name: no diagnostic containing \"$expect\":"; echo "$output" | grep -E "error" | head -5
    failed=$((failed + 1))
  else
    echo "ok   $name"; passed=$((passed + 1))
  fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 1 ]]
