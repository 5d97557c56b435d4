#!/bin/sh
# vws-client.sh — the vws and vws-admin clients against a real site on
# 127.0.0.1 (scripts/site: test PKI, ACL, pool, vws-repository): register,
# status, query, list, set-termination, clone, destroy, the image pool;
# refusals with their messages and exit codes; bad EPR files; --json; the
# Manager, Factory and agreement commands' usage errors (they need no
# Manager or Factory: their calls are tested with the daemons).
set -u
src=${VWS_SRCDIR:-..}
build=${VWS_BUILDDIR:-..}
vws="${VWS_TEST_WRAPPER:-} $build/client/vws"
admin="${VWS_TEST_WRAPPER:-} $build/client/vws-admin"
dir=$(mktemp -d /tmp/vws-client-XXXXXX)
port=$((20000 + $$ % 30000))
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect STATUS PATTERN COMMAND...: exit status and output (stdout+stderr)
expect() {
    want=$1 pat=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne "$want" ]; then bad "$*: exit $rc (want $want): $out"; return; fi
    case $out in *$pat*) ok ;; *) bad "$*: output lacks '$pat': $out" ;; esac
}
cleanup() { VWS_BUILDDIR=$build "$src/scripts/site" stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT

VWS_BUILDDIR=$build "$src/scripts/site" start "$dir" "$port" || { echo "site did not start"; exit 1; }
. "$dir/env.sh"
ex=$src/schema/examples
A=$VWS_PKI/users/alice/proxy.pem
ADMIN=$VWS_PKI/users/alice/voms-admin.pem
B=$VWS_PKI/users/bob/proxy.pem

export X509_USER_PROXY=$A
expect 0 "EPR in $dir/w.epr" $vws register -o "$dir/w.epr" "$ex/tiny-guest.xml"
expect 0 "state            shutdown" $vws status "$dir/w.epr"
expect 0 "owner            /O=Grid/OU=vws-test/CN=Alice" $vws status "$dir/w.epr"
expect 0 'method="pool"' $vws query "$dir/w.epr" '//vws:nic'
expect 0 "<vws:queryValue" $vws query "$dir/w.epr" 'count(//vws:nic)'
expect 1 "invalid XPath expression" $vws query "$dir/w.epr" '//['
expect 0 "shutdown   unstaged" $vws list
expect 0 "termination time" $vws set-termination "$dir/w.epr" +PT1H
expect 1 "in the past" $vws set-termination "$dir/w.epr" 2001-01-01T00:00:00Z
expect 0 "EPR in $dir/c.epr" $vws clone "$dir/w.epr" -o "$dir/c.epr"
expect 0 "destroyed" $vws destroy "$dir/c.epr"
expect 1 "no such workspace" $vws status "$dir/c.epr"
# an invalid description never leaves the client
expect 1 "min 1024 is greater than max 512" $vws register "$src/tests/corpus/xml/ram-min-gt-max.xml"
# someone else's workspace, a limited proxy, no ACL rule
X509_USER_PROXY=$B expect 1 "no such workspace" $vws status "$dir/w.epr"
X509_USER_PROXY=$B expect 0 "KEY" $vws list
X509_USER_PROXY=$VWS_PKI/users/alice/proxy-limited.pem \
    expect 1 "not allowed to create" $vws register "$ex/tiny-guest.xml"
X509_USER_PROXY=$VWS_PKI/users/mallory/proxy.pem \
    expect 1 "not allowed to create" $vws register "$ex/tiny-guest.xml"
X509_USER_PROXY=$VWS_PKI/users/alice/proxy-expired.pem \
    expect 1 "cannot talk to the service" $vws list
# the image pool: admins only; in use cannot be removed
expect 1 "admin only" $admin images add "$ex/image-kernel.xml"
X509_USER_PROXY=$ADMIN expect 0 "image 'tiny' registered" $admin images add "$ex/image-kernel.xml"
X509_USER_PROXY=$ADMIN expect 1 "exists in the pool" $admin images add "$ex/image-kernel.xml"
expect 0 "EPR in $dir/d.epr" $vws register -o "$dir/d.epr" "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml"
X509_USER_PROXY=$ADMIN expect 1 "uses it" $admin images remove tiny
expect 0 "kernel+initrd" $vws images
expect 0 "destroyed" $vws destroy "$dir/d.epr"
X509_USER_PROXY=$ADMIN expect 0 "removed" $admin images remove tiny
expect 1 "no image 'tiny' in the pool" $vws register "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml"
# bad EPR files and usage
printf 'garbage' > "$dir/bad.epr"
expect 1 "malformed XML" $vws status "$dir/bad.epr"
printf '<wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>https://localhost/</wsa:Address></wsa:EndpointReference>' > "$dir/nokey.epr"
expect 1 "no vws:WorkspaceKey" $vws status "$dir/nokey.epr"
expect 1 "document type declaration" $vws status "$src/tests/corpus/xml/xxe-passwd.xml"
expect 2 "unknown command" $vws frobnicate
expect 2 "usage" $vws status
# --json: one object, before or after the command
expect 0 '"state":"shutdown"' $vws --json status "$dir/w.epr"
expect 0 '"owner":"/O=Grid/OU=vws-test/CN=Alice"' $vws status "$dir/w.epr" --json
if command -v python3 >/dev/null; then
    expect 0 "shutdown" sh -c "$vws --json status '$dir/w.epr' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])'"
fi
# the Manager commands: which Manager, the EPR file, options
expect 2 "say which Manager: --manager URL or \$VWS_MANAGER" env -u VWS_MANAGER $vws deploy "$dir/w.epr"
expect 2 "say which Manager" env -u VWS_MANAGER $vws instance "$dir/w.epr"
expect 2 "say which Manager" env -u VWS_MANAGER $vws instances
expect 2 "say which Manager" env -u VWS_MANAGER $vws host
expect 2 "say which Manager" env VWS_MANAGER= $vws stop "$dir/w.epr"
M="--manager https://127.0.0.1:1/vws/manager"
expect 1 "cannot open '$dir/none.epr'" $vws $M deploy "$dir/none.epr" --wait
expect 1 "cannot open '$dir/none.epr'" env VWS_MANAGER=https://127.0.0.1:1/ $vws metadata "$dir/none.epr"
expect 1 "malformed XML" $vws $M start "$dir/bad.epr"
expect 1 "no vws:WorkspaceKey" $vws $M undeploy "$dir/nokey.epr"
expect 2 "stop: bad --timeout 'soon': seconds from 0 to 3600" $vws $M stop "$dir/w.epr" --timeout soon
expect 2 "bad --timeout '3601'" $vws $M stop "$dir/w.epr" --timeout 3601
expect 2 "bad --timeout '-1'" $vws $M stop --timeout=-1 "$dir/w.epr"
expect 2 "option '--timeout' needs a value" $vws $M stop "$dir/w.epr" --timeout
expect 2 "option '--save-to' needs a value" $vws $M undeploy "$dir/w.epr" --save-to
expect 2 "deploy: unknown option '--frobnicate'" $vws $M deploy "$dir/w.epr" --frobnicate
expect 2 "pause: unknown option '--timeout'" $vws $M pause "$dir/w.epr" --timeout 5
expect 2 "undeploy: unknown option '--wait'" $vws $M undeploy "$dir/w.epr" --wait
expect 2 "usage: vws deploy EPR-FILE" $vws $M deploy
expect 2 "usage: vws serialize EPR-FILE" $vws $M serialize "$dir/w.epr" "$dir/w.epr"
expect 2 "usage: vws instances" $vws $M instances extra
expect 2 "unknown option '--manager'" $vws deploy "$dir/w.epr" --manager https://127.0.0.1:1/
# the Factory and agreement commands: which Factory, the files, options
# (they need no Factory: its calls are tested with the daemon)
expect 2 "say which Factory: --factory URL or \$VWS_FACTORY" env -u VWS_FACTORY $vws create "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml"
expect 2 "say which Factory" env VWS_FACTORY= $vws create "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml"
expect 2 "say which Factory" env -u VWS_FACTORY -u VWS_AGREEMENTS $vws agreement list
expect 2 "or --agreements URL, \$VWS_AGREEMENTS" env -u VWS_FACTORY -u VWS_AGREEMENTS $vws agreement templates
expect 2 "say which Factory" env -u VWS_FACTORY -u VWS_AGREEMENTS $vws agreement offer "$ex/deploy-immediate.xml"
F="--factory https://127.0.0.1:1/vws/factory"
expect 1 "cannot open '$dir/none.xml'" $vws $F create "$dir/none.xml" "$ex/deploy-immediate.xml"
expect 1 "cannot open '$dir/none.xml'" $vws $F create "$ex/tiny-guest.xml" "$dir/none.xml"
expect 1 "min 1024 is greater than max 512" $vws $F create "$src/tests/corpus/xml/ram-min-gt-max.xml" "$ex/deploy-immediate.xml"
expect 1 "cannot open '$dir/none.xml'" $vws $F agreement offer "$dir/none.xml"
expect 1 "cannot open '$dir/none.xml'" env VWS_AGREEMENTS=https://127.0.0.1:1/vws/agreement $vws agreement offer "$ex/deploy-immediate.xml" "$dir/none.xml"
expect 1 "cannot open '$dir/none.epr'" env -u VWS_FACTORY $vws agreement status "$dir/none.epr"
expect 1 "malformed XML" $vws agreement terminate "$dir/bad.epr"
expect 1 "no vws:WorkspaceKey" $vws agreement signal "$dir/nokey.epr"
: > "$dir/file"
expect 1 "is not a directory" $vws $F create "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml" --epr-dir "$dir/file"
expect 2 "usage: vws create DESCRIPTION.xml DEPLOYMENT.xml" $vws $F create "$ex/tiny-guest.xml"
expect 2 "usage: vws create" $vws $F create a b c
expect 2 "create: unknown option '--for'" $vws $F create "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml" --for /CN=x
expect 2 "create: option '--epr-dir' needs a value" $vws $F create "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml" --epr-dir
expect 2 "create: unknown option '--frobnicate'" $vws $F create --frobnicate "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml"
expect 2 "offer: option '--for' needs a value" $vws $F agreement offer "$ex/deploy-immediate.xml" --for
expect 2 "offer: --for needs a DN" $vws $F agreement offer "$ex/deploy-immediate.xml" --for ""
expect 2 "usage: vws agreement offer DEPLOYMENT.xml" $vws $F agreement offer
expect 2 "usage: vws agreement offer" $vws $F agreement offer a b c
expect 2 "usage: vws agreement status AGREEMENT-EPR" $vws agreement status
expect 2 "status: unknown option '--epr-dir'" $vws agreement status "$dir/w.epr" --epr-dir "$dir"
expect 2 "usage: vws agreement terminate" $vws agreement terminate a b
expect 2 "usage: vws agreement list" $vws $F agreement list extra
expect 2 "agreement: unknown command 'frobnicate'" $vws agreement frobnicate
expect 2 "vws agreement templates" $vws agreement
expect 2 "unknown option '--factory'" $vws create "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml" --factory https://127.0.0.1:1/
expect 1 "agreement list: cannot talk to the service" $vws $F agreement list
expect 1 "create: cannot talk to the service" $vws $F create "$ex/tiny-guest.xml" "$ex/deploy-immediate.xml"
expect 0 "deploy EPR-FILE" $vws help
expect 0 "agreement offer DEPLOYMENT.xml" $vws help
expect 0 "destroyed" $vws destroy "$dir/w.epr"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
