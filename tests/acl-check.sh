#!/bin/sh
# acl-check.sh — vws-admin acl check as an admin runs it, on the sample site
# ACL of tests/corpus/acl/site: the decision and the rule that made it on
# stdout, exit 0 for allow, 1 for deny, 2 for errors; every broken file of
# the corpus gives its exact "FILE:LINE: message" (tests/corpus/acl/
# expected.txt) on stderr with exit 2, never a crash.
set -u
admin=${VWS_BUILDDIR:-..}/client/vws-admin
src=${VWS_SRCDIR:-..}
corpus=$src/tests/corpus/acl
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# check WANT_STATUS WANT_OUTPUT ARGS...: run 'acl check' in the site dir
# (so file names in the output are relative) and compare stdout exactly.
check() {
    want_rc=$1 want_out=$2
    shift 2
    out=$(cd "$corpus/site" && ${VWS_TEST_WRAPPER:-} "$admin" acl check --file site.acl "$@" 2>&1); rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        bad "acl check $*: exit $rc (want $want_rc): $out"
    elif [ "$out" != "$want_out" ]; then
        bad "acl check $*: '$out' (want '$want_out')"
    else
        ok
    fi
}

A=/O=Grid/OU=vws-test/CN=Alice
check 0 'allow: site.acl:7: allow dn "/O=Grid/OU=vws-test/CN=Alice" create,inspect,manage,deploy' --dn "$A" --op create
check 1 'deny: no rule matched (default deny)' --dn "$A" --op admin
check 1 'deny: site.acl:6: deny  dn "/O=Grid/OU=vws-test/CN=Mallory" *' --dn /O=Grid/OU=vws-test/CN=Mallory --op inspect
check 0 'allow: site.acl:8: allow dn "/O=Grid/OU=vws-test/CN=*" inspect' --dn /O=Grid/OU=vws-test/CN=Bob --op inspect
check 0 'allow: site.acl:10: allow fqan /vws/Role=admin admin,host,broker' --dn /O=Grid/CN=Olga --fqan /vws/Role=admin --op admin
check 0 'allow: site.acl:11: allow fqan /vws/users create, inspect, manage' --dn /O=Grid/CN=Olga --fqan /other/x --fqan /vws/users/atlas/Role=NULL --op create
check 1 'deny: site.acl:12: deny  fqan /vws/users/banned *' --dn /O=Grid/CN=Olga --fqan /vws/users --fqan /vws/users/banned --op create
check 1 'deny: site.acl:15: deny  dn "/O=Grid/OU=vws-test/CN=Bob" admin' --dn /O=Grid/OU=vws-test/CN=Bob --fqan /vws/Role=admin --op admin
check 0 'allow: grid-mapfile:2: "/O=Grid/OU=gridmap/CN=Carol Smith" carol (grid-mapfile listed at site.acl:4: create,inspect)' --dn "/O=Grid/OU=gridmap/CN=Carol Smith" --op create
check 1 'deny: acl.d/20-former.acl:2: deny dn "/O=Grid/OU=ops/CN=Former Operator" *' --dn "/O=Grid/OU=ops/CN=Former Operator" --op inspect
check 0 'allow: acl.d/10-ops.acl:2: allow dn "/O=Grid/OU=ops/CN=Operator" admin,inspect' --dn /O=Grid/OU=ops/CN=Operator --op admin
check 1 'deny: a limited proxy may not create (built-in)' --dn "$A" --op create --limited
check 0 'allow: site.acl:7: allow dn "/O=Grid/OU=vws-test/CN=Alice" create,inspect,manage,deploy [the caller owns the workspace]' --dn "$A" --owner "$A"
check 1 'deny: no rule matched (default deny) [not the owner, and not admin]' --dn "$A" --owner /O=Grid/OU=vws-test/CN=Bob --op manage
check 0 'allow: site.acl:10: allow fqan /vws/Role=admin admin,host,broker [admin]' --dn /O=Grid/CN=Olga --fqan /vws/Role=admin --owner "$A"

# errors: exit 2 with a message
check 2 "vws-admin acl: 'vws/users' is not a VOMS FQAN (expected /vo[/group...][/Role=role][/Capability=cap])" --dn "$A" --fqan vws/users --op create
for args in "--op create" "--dn $A" "--dn $A --op fly" "--dn $A --op create extra" "--dn $A --dn $A --op create" "--bogus" "--dn $A --owner $A --op create"; do
    # shellcheck disable=SC2086
    out=$(cd "$corpus/site" && ${VWS_TEST_WRAPPER:-} "$admin" acl check --file site.acl $args 2>&1); rc=$?
    [ $rc -eq 2 ] && ok || bad "usage '$args': exit $rc: $out"
    case $out in *usage:*) ok ;; *) bad "usage '$args': no usage line: $out" ;; esac
done
out=$(${VWS_TEST_WRAPPER:-} "$admin" acl check --dn "$A" --op create --file "$corpus/no-such-file" 2>&1); rc=$?
[ $rc -eq 2 ] && ok || bad "missing file: exit $rc"
case $out in *"cannot open ACL file '$corpus/no-such-file': No such file or directory") ok ;; *) bad "missing file: $out" ;; esac
${VWS_TEST_WRAPPER:-} "$admin" acl >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "acl without subcommand: exit $rc"
${VWS_TEST_WRAPPER:-} "$admin" acl frobnicate >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "acl frobnicate: exit $rc"

# every broken file: exit 2, its exact message; valid ones decide
while IFS='	' read -r file kind want; do
    case $file in ''|'#'*) continue ;; esac
    out=$(cd "$corpus" && ${VWS_TEST_WRAPPER:-} "$admin" acl check --file "$file" --dn "$A" --op inspect 2>&1); rc=$?
    if [ "$kind" = ok ]; then
        case $rc in 0|1) ok ;; *) bad "$file: exit $rc: $out" ;; esac
    elif [ $rc -ne 2 ]; then
        bad "$file: exit status $rc (want 2): $out"
    elif [ "$out" != "$want" ]; then
        bad "$file: '$out' (want '$want')"
    else
        ok
    fi
    case $out in *Sanitizer*|*"runtime error"*) bad "$file: sanitizer report" ;; esac
done < "$corpus/expected.txt"

# acl show lists the rules in decision order
out=$(cd "$corpus/site" && ${VWS_TEST_WRAPPER:-} "$admin" acl show --file site.acl); rc=$?
[ $rc -eq 0 ] && ok || bad "show: exit $rc"
case $out in "acl.d/10-ops.acl:2: "*"site.acl: 18 rules") ok ;; *) bad "show: $out" ;; esac

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
