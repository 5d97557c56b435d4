#!/bin/sh
# admin-hosts.sh — vws-admin hosts without a Factory: which Factory
# (--factory, $VWS_FACTORY), the subcommands and their arguments, unknown
# options: usage errors exit 2 with a message and the usage line; a Factory
# that does not answer is exit 1.  The calls themselves are tested with the
# daemon (tests/check_factory).
set -u
admin="${VWS_TEST_WRAPPER:-} ${VWS_BUILDDIR:-..}/client/vws-admin"
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect STATUS PATTERN ARGS...: exit status and output (stdout+stderr)
expect() {
    want=$1 pat=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne "$want" ]; then bad "$*: exit $rc (want $want): $out"; return; fi
    case $out in *"$pat"*) ok ;; *) bad "$*: output lacks '$pat': $out" ;; esac
}

unset VWS_FACTORY
U="usage: vws-admin hosts [--factory URL] list | drain NAME | remove NAME"
F="--factory https://127.0.0.1:1/vws/factory"
expect 2 "say which Factory: --factory URL or \$VWS_FACTORY" $admin hosts list
expect 2 "say which Factory" $admin hosts drain host1
expect 2 "say which Factory" env VWS_FACTORY= $admin hosts remove host1
expect 2 "$U" $admin hosts
expect 2 "$U" $admin hosts $F
expect 2 "unknown command 'frobnicate'" $admin hosts $F frobnicate
expect 2 "$U" $admin hosts $F drain
expect 2 "$U" $admin hosts $F remove
expect 2 "$U" $admin hosts $F drain ""
expect 2 "$U" $admin hosts $F drain a b
expect 2 "$U" $admin hosts $F list extra
expect 2 "option '--factory' needs a value" $admin hosts list --factory
expect 2 "unknown option '--frobnicate'" $admin hosts $F --frobnicate list
expect 2 "unknown option '-x'" $admin hosts -x list
expect 0 "$U" $admin hosts --help
expect 0 "hosts [--factory URL] list" $admin help
expect 0 "last heartbeat" $admin help hosts
# options may follow the subcommand; no credential or no Factory there:
# exit 1 (X509_USER_PROXY names no file, so whatever the environment)
export X509_USER_PROXY=/nonexistent/proxy.pem
expect 1 "vws-admin: " $admin hosts list $F
expect 1 "vws-admin: " env VWS_FACTORY=https://127.0.0.1:1/vws/factory $admin hosts drain host1

echo "admin-hosts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
