#!/bin/sh
# admin-policy.sh — vws-admin policy check as an admin runs it: a valid
# file lists its rules and says OK; a caller and a request get "allow"
# (exit 0) or "refuse: policy FILE:LINE (RULE): ..." (exit 1); every broken
# file of tests/corpus/policy gives "FILE:LINE: message" on stderr with
# exit 2, never a crash; usage errors exit 2 with the usage.
set -u
admin=${VWS_BUILDDIR:-..}/client/vws-admin
src=${VWS_SRCDIR:-..}
corpus=$src/tests/corpus/policy
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/admin-policy.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

cat >"$tmp/site.policy" <<'POLICY'
# sample site
default max_nodes=4 max_memory=2048 max_duration=4h max_workspaces=8
dn "/O=Grid/OU=vws-test/CN=Bob" max_nodes=1 max_workspaces=1
dn "/O=Grid/OU=vws-test/CN=*" max_duration=1h
fqan /vws/students max_workspaces=2 shared
fqan /vws/Role=broker max_nodes=16 max_memory=8G
POLICY

# run WANT_STATUS WANT_OUTPUT ARGS...: in the temporary directory (so the
# file name in the output is relative), stdout and stderr compared exactly.
run() {
    want_rc=$1 want_out=$2
    shift 2
    out=$(cd "$tmp" && ${VWS_TEST_WRAPPER:-} "$admin" policy check "$@" 2>&1); rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        bad "policy check $*: exit $rc (want $want_rc): $out"
    elif [ "$out" != "$want_out" ]; then
        bad "policy check $*: '$out' (want '$want_out')"
    else
        ok
    fi
}

B=/O=Grid/OU=vws-test/CN=Bob
E=/O=Elsewhere/CN=Eve
run 0 'default: max_nodes=4 max_memory=2048 max_duration=4h max_workspaces=8
dn "/O=Grid/OU=vws-test/CN=Bob": max_nodes=1 max_workspaces=1
dn "/O=Grid/OU=vws-test/CN=*": max_duration=1h
fqan /vws/students: max_workspaces=2 shared
fqan /vws/Role=broker: max_nodes=16 max_memory=8192
site.policy: OK (5 rules)' site.policy
run 0 'allow' site.policy "$E"
run 0 'allow' site.policy "$E" --nodes 4 --memory 2048 --duration 4h --held 7
run 1 'refuse: policy site.policy:2 (default): at most 4 nodes per workspace, asked 5' site.policy "$E" --nodes 5
run 1 'refuse: policy site.policy:2 (default): at most 4h per workspace, asked no end' site.policy "$E" --duration unbounded
run 1 'refuse: policy site.policy:3 (dn "/O=Grid/OU=vws-test/CN=Bob"): at most 1 node per workspace, asked 2' site.policy "$B" /vws/Role=broker --nodes 2
run 1 'refuse: policy site.policy:4 (dn "/O=Grid/OU=vws-test/CN=*"): at most 1h per workspace, asked 1h30m' site.policy "$B" --duration 90m
run 1 'refuse: policy site.policy:3 (dn "/O=Grid/OU=vws-test/CN=Bob"): at most 1 workspace at once per DN, the DN holds 1' site.policy "$B" --held 1
run 0 'allow' site.policy "$E" /vws/Role=broker --nodes 16 --memory 8192
run 1 'refuse: policy site.policy:6 (fqan /vws/Role=broker): at most 8192 MB of memory per node, asked 8193 MB' site.policy "$E" /vws/Role=broker --memory 8193
run 1 'refuse: policy site.policy:5 (fqan /vws/students): at most 2 workspaces at once for the group /vws/students, it holds 2' site.policy "$E" /vws/students/y1 --group-held 2
run 0 'allow' site.policy "$E" /vws/students --group-held 1

# every broken file of the corpus: its FILE:LINE message, exit 2
n=0
for f in "$corpus"/*.policy; do
    case ${f##*/} in valid-*) continue ;; esac
    n=$((n + 1))
    out=$(${VWS_TEST_WRAPPER:-} "$admin" policy check "$f" 2>&1); rc=$?
    [ $rc -eq 2 ] && ok || bad "${f##*/}: exit $rc: $out"
    case $out in "$f:"[0-9]*": "*) ok ;; *) bad "${f##*/}: no FILE:LINE: $out" ;; esac
done
[ $n -ge 15 ] && ok || bad "only $n broken files in the corpus"

# usage errors and a missing file
for args in "" "site.policy --nodes x $E" "site.policy --nodes 1" "site.policy $E --duration 5w" "site.policy --bogus"; do
    # shellcheck disable=SC2086
    out=$(cd "$tmp" && ${VWS_TEST_WRAPPER:-} "$admin" policy check $args 2>&1); rc=$?
    [ $rc -eq 2 ] && ok || bad "usage '$args': exit $rc: $out"
    case $out in *usage:*) ok ;; *) bad "usage '$args': no usage line: $out" ;; esac
done
run 2 "vws-admin policy: 'vws' is not a VOMS FQAN (expected /vo[/group...][/Role=role][/Capability=cap])" site.policy "$E" vws
run 2 "cannot open policy file 'none.policy': No such file or directory" none.policy
out=$(${VWS_TEST_WRAPPER:-} "$admin" policy 2>&1); rc=$?
[ $rc -eq 2 ] && ok || bad "policy without subcommand: exit $rc: $out"

echo "admin-policy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
