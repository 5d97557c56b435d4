#!/bin/sh
# admin-validate.sh — vws-admin validate as an admin runs it: every example
# is OK (exit 0), every file of the hostile corpus gets its specific message
# and exit status 1 (never a crash: no status above 128, no sanitizer report).
set -u
admin=${VWS_BUILDDIR:-..}/client/vws-admin
src=${VWS_SRCDIR:-..}
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

out=$(${VWS_TEST_WRAPPER:-} "$admin" validate "$src"/schema/examples/*.xml 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "examples: exit $rc: $out"
n=$(printf '%s\n' "$out" | grep -c ': OK (')
[ "$n" -ge 10 ] && ok || bad "examples: only $n OK lines"

while IFS='	' read -r file want; do
    case $file in ''|'#'*) continue ;; esac
    out=$(${VWS_TEST_WRAPPER:-} "$admin" validate "$src/tests/corpus/xml/$file" 2>&1); rc=$?
    if [ $rc -ne 1 ]; then
        bad "$file: exit status $rc (want 1): $out"
    else
        case $out in
        *"$want"*) ok ;;
        *) bad "$file: '$out' does not contain '$want'" ;;
        esac
    fi
    case $out in *Sanitizer*|*"runtime error"*) bad "$file: sanitizer report" ;; esac
done < "$src/tests/corpus/xml/expected.txt"

# several files at once: the valid one is OK, the status says one failed
out=$(${VWS_TEST_WRAPPER:-} "$admin" validate "$src/schema/examples/deploy-ar.xml" "$src/tests/corpus/xml/empty.xml" 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "mixed: exit $rc"
case $out in *"deploy-ar.xml: OK"*"empty document"*) ok ;; *) bad "mixed: $out" ;; esac

# usage errors
${VWS_TEST_WRAPPER:-} "$admin" validate >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "no file: exit $rc (want 2)"
${VWS_TEST_WRAPPER:-} "$admin" frobnicate >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "unknown command: exit $rc (want 2)"
out=$(${VWS_TEST_WRAPPER:-} "$admin" show "$src/schema/examples/tiny-guest.xml"); rc=$?
case $out in *"<vws:virtualWorkspace"*) [ $rc -eq 0 ] && ok || bad "show: exit $rc" ;; *) bad "show: $out" ;; esac

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
