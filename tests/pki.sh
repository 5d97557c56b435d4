#!/bin/sh
# pki.sh — scripts/mkpki makes the test PKI the GSI tests rely on, and every
# credential in it is what its name says: good ones verify (openssl verify
# with proxy certificates), expired ones fail as expired, Eve as revoked with
# CRL checking, the rogue-CA Alice and the truncated chain fail, the VOMS
# proxies carry the FQANs asked for and the forged or expired ACs are refused
# by libvomsapi; a second run is a no-op.  Then scripts/gridftp-server serves
# a file over gsiftp:// to Alice's proxy and refuses Mallory.
#
# 'COND && ok || bad' is meant throughout: ok always succeeds.
# shellcheck disable=SC2015
set -u
src=${VWS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
skipped() { skip=$((skip + 1)); echo "SKIP: $*"; }
check() { # check DESCRIPTION COMMAND...: the command succeeds
    d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok; else bad "$d"; fi
}

for tool in openssl grid-proxy-init voms-proxy-fake voms-proxy-info; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vws-pki.XXXXXX") || exit 1
ports=
cleanup() {
    for p in $ports; do sh "$src/scripts/gridftp-server" stop "$tmp/pki" "$p" >/dev/null 2>&1; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
P=$tmp/pki

# ------------------------------------------------------------ making it
t0=$(date +%s%N)
out=$(sh "$src/scripts/mkpki" "$P" 2>&1); rc=$?
t1=$(date +%s%N)
echo "mkpki: $(( (t1 - t0) / 1000000 )) ms"
[ $rc -eq 0 ] && ok || { bad "mkpki exit $rc: $out"; echo "$pass passed, $fail failed"; exit 1; }
[ -z "$out" ] && ok || bad "mkpki is not quiet: $out"

# ------------------------------------------------------------ layout
for f in .complete env.sh grid-mapfile vomsdir/vws/voms.localhost.lsc \
         ca/cacert.pem ca/cakey.pem ca/crl.pem ca/index.txt wsca/cacert.pem wsca/cakey.pem wsca/crl.pem \
         rogue/ca/cacert.pem rogue/alice/usercert.pem rogue/alice/userkey.pem rogue/alice/proxy.pem \
         rogue/alice-nokeyid/usercert.pem rogue/alice-nokeyid/proxy.pem \
         truncated/alice-proxy-noeec.pem garbage.pem bad-pem.pem; do
    [ -s "$P/$f" ] && ok || bad "$f missing"
done
HOSTS="localhost repository.localhost factory.localhost manager1.localhost manager2.localhost
       voms.localhost voms-forged.localhost wrong.example"
for h in $HOSTS; do
    for f in hostcert.pem hostkey.pem; do [ -s "$P/hosts/$h/$f" ] && ok || bad "hosts/$h/$f missing"; done
done
for u in alice bob mallory eve carol; do
    for f in usercert.pem userkey.pem; do [ -s "$P/users/$u/$f" ] && ok || bad "users/$u/$f missing"; done
done
# secrets are mode 600
for f in ca/cakey.pem wsca/cakey.pem hosts/localhost/hostkey.pem hosts/voms.localhost/hostkey.pem \
         users/alice/userkey.pem users/alice/proxy.pem users/alice/proxy-limited.pem \
         users/alice/proxy-expired.pem users/alice/proxy-of-proxy.pem users/alice/voms-admin.pem \
         users/bob/proxy.pem users/mallory/proxy.pem rogue/alice/userkey.pem; do
    m=$(stat -c %a "$P/$f" 2>/dev/null)
    [ "$m" = 600 ] && ok || bad "$f mode $m, want 600"
done

# the environment file
vars=$(sh -c '. "$1/env.sh" && echo "$X509_CERT_DIR|$X509_VOMS_DIR"' sh "$P")
[ "$vars" = "$P/certificates|$P/vomsdir" ] && ok || bad "env.sh exports '$vars'"
for f in users/alice/proxy-expired.pem users/mallory/voms-forged.pem bad-pem.pem grid-mapfile; do
    grep -q "$f" "$P/env.sh" && ok || bad "env.sh does not list $f"
done

# DNs
dn() { openssl x509 -noout -subject -nameopt compat -in "$1" 2>/dev/null | sed 's/^subject=//'; }
for pair in alice:Alice bob:Bob mallory:Mallory eve:Eve carol:Carol; do
    got=$(dn "$P/users/${pair%%:*}/usercert.pem")
    [ "$got" = "/O=Grid/OU=vws-test/CN=${pair#*:}" ] && ok || bad "users/${pair%%:*} DN '$got'"
done
for r in alice alice-nokeyid; do
    [ "$(dn "$P/rogue/$r/usercert.pem")" = "/O=Grid/OU=vws-test/CN=Alice" ] && ok || bad "rogue/$r DN differs from Alice's"
done
[ "$(dn "$P/ca/cacert.pem")" = "/O=Grid/OU=vws-test/CN=vws test CA" ] && ok || bad "test CA DN"
[ "$(dn "$P/wsca/cacert.pem")" = "/O=Grid/OU=vws-test/CN=vws workspace CA" ] && ok || bad "workspace CA DN"
[ "$(dn "$P/hosts/repository.localhost/hostcert.pem")" = '/O=Grid/OU=vws-test/CN=host\/repository.localhost' ] &&
    ok || bad "repository host DN '$(dn "$P/hosts/repository.localhost/hostcert.pem")'"
[ "$(dn "$P/hosts/wrong.example/hostcert.pem")" = "/O=Grid/OU=vws-test/CN=wrong.example" ] && ok || bad "wrong host DN"
grep -qx '"/O=Grid/OU=vws-test/CN=Alice" alice' "$P/grid-mapfile" && ok || bad "grid-mapfile: no Alice"
grep -qx '"/O=Grid/OU=vws-test/CN=Bob" bob' "$P/grid-mapfile" && ok || bad "grid-mapfile: no Bob"

# ------------------------------------------------------------ the trusted CA directory
C=$P/certificates
for ca in ca wsca; do
    h=$(openssl x509 -hash -noout -in "$P/$ca/cacert.pem")
    o=$(openssl x509 -subject_hash_old -noout -in "$P/$ca/cacert.pem")
    cmp -s "$C/$h.0" "$P/$ca/cacert.pem" && ok || bad "$ca: certificates/$h.0"
    grep -q "^access_id_CA .*'$(dn "$P/$ca/cacert.pem")'" "$C/$h.signing_policy" 2>/dev/null &&
        ok || bad "$ca: certificates/$h.signing_policy"
    check "$ca: certificates/$h.r0 is a CRL signed by the CA" \
        openssl crl -noout -in "$C/$h.r0" -CAfile "$P/$ca/cacert.pem"
    [ -L "$C/$o.0" ] && [ -L "$C/$o.signing_policy" ] && [ -L "$C/$o.r0" ] && cmp -s "$C/$o.0" "$C/$h.0" &&
        ok || bad "$ca: old-style hash links $o.*"
done
[ "$(find "$C" -name '*.0' | wc -l)" -eq 4 ] && ok || bad "certificates/ holds other CAs: $(ls "$C")"
cmp -s "$P/rogue/ca/cacert.pem" "$C/$(openssl x509 -hash -noout -in "$P/ca/cacert.pem").0" &&
    bad "the rogue CA is trusted" || ok
openssl crl -noout -text -in "$P/ca/crl.pem" 2>/dev/null |
    grep -qi "$(openssl x509 -noout -serial -in "$P/users/eve/usercert.pem" | sed 's/serial=//')" &&
    ok || bad "Eve's serial is not in the CRL"

# ------------------------------------------------------------ verification
# vfy FILE [options]: openssl verify of the first certificate in FILE with the
# others as the untrusted chain; prints openssl's output.
vfy() {
    f=$1
    shift
    openssl verify -CApath "$C" -allow_proxy_certs "$@" -untrusted "$f" "$f" 2>&1
}
good() { # good FILE [options]
    o=$(vfy "$@"); [ "$o" = "$1: OK" ] && ok || bad "$1 does not verify: $o"
}
refused() { # refused FILE REASON [options]
    f=$1 why=$2
    shift 2
    o=$(vfy "$f" "$@")
    case $o in *": OK") bad "${f#"$P"/} verifies, want '$why'" ;; *"$why"*) ok ;;
    *) bad "${f#"$P"/}: '$o', want '$why'" ;; esac
}
U=$P/users
for f in alice/usercert.pem bob/usercert.pem mallory/usercert.pem alice/proxy.pem \
         alice/proxy-limited.pem alice/proxy-of-proxy.pem bob/proxy.pem mallory/proxy.pem \
         alice/voms-admin.pem bob/voms-users.pem; do
    good "$U/$f"
    good "$U/$f" -crl_check_all
done
for h in $HOSTS; do
    good "$P/hosts/$h/hostcert.pem" -crl_check
done
good "$P/hosts/localhost/hostcert.pem" -verify_hostname localhost
good "$P/hosts/localhost/hostcert.pem" -verify_ip 127.0.0.1
good "$P/hosts/factory.localhost/hostcert.pem" -verify_hostname factory.localhost
refused "$P/hosts/wrong.example/hostcert.pem" "hostname mismatch" -verify_hostname localhost
refused "$P/hosts/wrong.example/hostcert.pem" "IP address mismatch" -verify_ip 127.0.0.1

refused "$U/carol/usercert.pem" "certificate has expired"
refused "$U/alice/proxy-expired.pem" "error 10 at 0 depth lookup: certificate has expired"
good "$U/eve/usercert.pem"
refused "$U/eve/usercert.pem" "certificate revoked" -crl_check
# OpenSSL's CRL check covers only the leaf, which for a proxy chain is the
# proxy: Eve's proxy is caught with CRL_CHECK_ALL.
good "$U/eve/proxy.pem" -crl_check
refused "$U/eve/proxy.pem" "error 23 at 1 depth lookup: certificate revoked" -crl_check_all
refused "$P/rogue/alice/usercert.pem" "error 20 at 0 depth lookup: unable to get local issuer certificate"
refused "$P/rogue/alice/proxy.pem" "error 20 at 1 depth lookup: unable to get local issuer certificate"
refused "$P/rogue/alice-nokeyid/usercert.pem" "error 7 at 0 depth lookup: certificate signature failure"
refused "$P/rogue/alice-nokeyid/proxy.pem" "error 7 at 1 depth lookup: certificate signature failure"
# ... while they are fine in the rogue CA's own world
good "$P/rogue/alice/proxy.pem" -CApath "$P/rogue/certificates"
refused "$P/truncated/alice-proxy-noeec.pem" "unable to get local issuer certificate"
[ "$(grep -c 'BEGIN CERTIFICATE' "$P/truncated/alice-proxy-noeec.pem")" -eq 1 ] &&
    grep -q 'PRIVATE KEY' "$P/truncated/alice-proxy-noeec.pem" && ok || bad "alice-proxy-noeec.pem: want 1 certificate and the key"
for f in garbage.pem bad-pem.pem truncated/alice-proxy-cut.pem; do
    # shellcheck disable=SC2016 # $1 is for the inner shell
    check "$f loads as a certificate" sh -c '! openssl x509 -noout -in "$1"' sh "$P/$f"
done
case $(head -c 100 "$P/garbage.pem") in *"-----BEGIN"*) bad "garbage.pem looks like PEM" ;; *) ok ;; esac

# proxies: RFC 3820, the file is certificate, key, then the issuing chain
pci() { openssl x509 -noout -text -in "$1" 2>/dev/null | sed -n '/Proxy Certificate Information/,/Policy Language/p'; }
for f in alice/proxy.pem alice/proxy-of-proxy.pem alice/proxy-expired.pem bob/proxy.pem; do
    case $(pci "$U/$f") in *"critical"*"Inherit all"*) ok ;; *) bad "$f: no critical inheritAll proxyCertInfo: $(pci "$U/$f")" ;; esac
    blocks=$(sed -n 's/^-----BEGIN \(.*\)-----$/\1/p' "$U/$f" | tr '\n' ,)
    case $blocks in CERTIFICATE,*PRIVATE\ KEY,CERTIFICATE,*) ok ;; *) bad "$f layout: $blocks" ;; esac
    iss=$(openssl x509 -noout -issuer -nameopt compat -in "$U/$f" | sed 's/^issuer=//')
    sub=$(dn "$U/$f")
    case $sub in "$iss/CN="[0-9]*) ok ;; *) bad "$f: subject '$sub' is not issuer '$iss' + /CN=<number>" ;; esac
done
case $(pci "$U/alice/proxy-limited.pem") in
*"1.3.6.1.4.1.3536.1.1.1.9"*) ok ;; *) bad "proxy-limited.pem: no limited policy: $(pci "$U/alice/proxy-limited.pem")" ;; esac
[ "$(grep -c 'BEGIN CERTIFICATE' "$U/alice/proxy-of-proxy.pem")" -eq 3 ] && ok || bad "proxy-of-proxy.pem: want 3 certificates"
expected_cn=$(openssl x509 -noout -serial -in "$U/alice/proxy-expired.pem" | sed 's/serial=//')
case $(dn "$U/alice/proxy-expired.pem") in
*"/CN=$(printf '%d' "0x$expected_cn")") ok ;; *) bad "proxy-expired.pem: CN is not the serial number" ;; esac
check "proxy.pem valid for 11 hours" openssl x509 -checkend 39600 -noout -in "$U/alice/proxy.pem"
# shellcheck disable=SC2016 # for the inner shell
check "proxy-expired.pem: notBefore in the past" sh -c '
    nb=$(date -d "$(openssl x509 -noout -startdate -in "$1" | sed s/notBefore=//)" +%s)
    [ "$nb" -lt $(( $(date +%s) - 86400 )) ]' sh "$U/alice/proxy-expired.pem"

# ------------------------------------------------------------ VOMS
export X509_CERT_DIR="$C" X509_VOMS_DIR="$P/vomsdir"
[ "$(wc -l < "$P/vomsdir/vws/voms.localhost.lsc")" -eq 2 ] && ok || bad "lsc file: want 2 lines"
[ "$(head -n 1 "$P/vomsdir/vws/voms.localhost.lsc")" = '/O=Grid/OU=vws-test/CN=host\/voms.localhost' ] &&
    ok || bad "lsc line 1: $(head -n 1 "$P/vomsdir/vws/voms.localhost.lsc")"
fqan() { voms-proxy-info -fqan -file "$1" 2>/dev/null; }
[ "$(fqan "$U/alice/voms-admin.pem")" = /vws/Role=admin ] && ok || bad "alice FQAN '$(fqan "$U/alice/voms-admin.pem")'"
[ "$(fqan "$U/bob/voms-users.pem")" = /vws/users ] && ok || bad "bob FQAN '$(fqan "$U/bob/voms-users.pem")'"
[ "$(voms-proxy-info -vo -file "$U/bob/voms-users.pem" 2>/dev/null)" = vws ] && ok || bad "bob: VO is not vws"
[ "$(voms-proxy-info -uri -file "$U/bob/voms-users.pem" 2>/dev/null)" = voms.localhost:15000 ] && ok || bad "bob: VOMS URI"
[ "$(voms-proxy-info -identity -file "$U/alice/voms-admin.pem" 2>/dev/null)" = /O=Grid/OU=vws-test/CN=Alice ] &&
    ok || bad "voms-admin.pem identity"
case $(voms-proxy-info -acissuer -file "$U/mallory/voms-forged.pem" 2>/dev/null) in
*voms-forged.localhost) ok ;; *) bad "voms-forged.pem: AC issuer is not the forged host" ;; esac
[ "$(voms-proxy-info -actimeleft -file "$U/alice/voms-expired-ac.pem" 2>/dev/null)" = 0 ] && ok || bad "voms-expired-ac.pem: AC time left"

# voms-proxy-info 2.1 prints the attributes of any AC (it falls back to no
# verification), so the verdicts come from libvomsapi itself.
cat > "$tmp/vomscheck.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <openssl/pem.h>
#include <voms/voms_apic.h>
/* vomscheck FILE: verify the VOMS ACs of a proxy file; print the FQANs or
   "error N: message". */
int main(int argc, char **argv)
{
    FILE *f;
    X509 *c, *leaf = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    struct vomsdata *vd;
    int err = 0, i, j, rc = 0;
    char buf[256];

    if (argc != 2 || !(f = fopen(argv[1], "r")))
        return 2;
    while ((c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (!leaf)
            leaf = c;
        sk_X509_push(chain, c);
    }
    fclose(f);
    vd = VOMS_Init(getenv("X509_VOMS_DIR"), getenv("X509_CERT_DIR"));
    if (!leaf || !vd)
        return 2;
    if (!VOMS_Retrieve(leaf, chain, RECURSE_CHAIN, vd, &err)) {
        printf("error %d: %s\n", err, VOMS_ErrorMessage(vd, err, buf, sizeof buf));
        rc = 1;
    } else {
        for (i = 0; vd->data[i]; i++)
            for (j = 0; vd->data[i]->fqan[j]; j++)
                printf("%s\n", vd->data[i]->fqan[j]);
    }
    VOMS_Destroy(vd);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}
EOF
voms_flags=$(pkg-config --cflags --libs voms-2.0 2>/dev/null || echo -lvomsapi)
# shellcheck disable=SC2086 # $voms_flags is a list of options
if ${CC:-cc} -o "$tmp/vomscheck" "$tmp/vomscheck.c" $voms_flags -lcrypto >"$tmp/cc.log" 2>&1; then
    vc() { "$tmp/vomscheck" "$1" 2>&1 | sed 's|/Capability=NULL$||'; }
    [ "$(vc "$U/alice/voms-admin.pem")" = /vws/Role=admin ] && ok || bad "libvomsapi: alice: $(vc "$U/alice/voms-admin.pem")"
    [ "$(vc "$U/bob/voms-users.pem")" = /vws/users ] && ok || bad "libvomsapi: bob: $(vc "$U/bob/voms-users.pem")"
    case $(vc "$U/mallory/voms-forged.pem") in "error "*) ok ;; *) bad "libvomsapi accepts voms-forged.pem" ;; esac
    case $(vc "$U/mallory/voms-rogue.pem") in "error "*) ok ;; *) bad "libvomsapi accepts voms-rogue.pem" ;; esac
    case $(vc "$U/alice/voms-expired-ac.pem") in *"not valid anymore"*) ok ;;
    *) bad "libvomsapi: voms-expired-ac.pem: $(vc "$U/alice/voms-expired-ac.pem")" ;; esac
    case $(vc "$U/alice/proxy.pem") in "error 5:"*) ok ;; *) bad "libvomsapi: plain proxy: $(vc "$U/alice/proxy.pem")" ;; esac
    # the AC is checked against the vomsdir: without it, even Alice's fails
    o=$(X509_VOMS_DIR=$tmp/empty-vomsdir "$tmp/vomscheck" "$U/alice/voms-admin.pem" 2>&1)
    case $o in "error "*) ok ;; *) bad "libvomsapi accepts an AC without a vomsdir: $o" ;; esac
else
    skipped "could not build a libvomsapi checker: $(head -n 3 "$tmp/cc.log")"
fi

# ------------------------------------------------------------ idempotence
before=$(stat -c %Y.%i "$U/alice/proxy.pem" "$P/ca/cakey.pem" | tr '\n' ' ')
t0=$(date +%s%N)
out=$(sh "$src/scripts/mkpki" "$P" 2>&1); rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ $rc -eq 0 ] && [ -z "$out" ] && ok || bad "second mkpki: exit $rc: $out"
after=$(stat -c %Y.%i "$U/alice/proxy.pem" "$P/ca/cakey.pem" | tr '\n' ' ')
[ "$before" = "$after" ] && ok || bad "second mkpki rewrote files"
[ "$ms" -lt 1000 ] && ok || bad "second mkpki took $ms ms"
echo "mkpki again: $ms ms"
# a missing file makes it start over, and the result is complete again
rm -f "$U/bob/voms-users.pem"
out=$(sh "$src/scripts/mkpki" "$P" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -s "$U/bob/voms-users.pem" ] && ok || bad "mkpki after a removed file: exit $rc: $out"
[ "$(stat -c %Y.%i "$P/ca/cakey.pem")" != "${before#* }" ] || [ "$(stat -c %Y.%i "$U/alice/proxy.pem")" != "${before%% *}" ] &&
    ok || bad "mkpki did not start over after a removed file"
good "$U/alice/proxy.pem" -crl_check_all
[ "$(fqan "$U/bob/voms-users.pem")" = /vws/users ] && ok || bad "bob FQAN after remaking"

# ------------------------------------------------------------ GridFTP
if command -v globus-gridftp-server >/dev/null 2>&1 && command -v globus-url-copy >/dev/null 2>&1; then
    free_port() {
        i=0
        while [ $i -lt 50 ]; do
            p=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 30000 ))
            ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
            i=$((i + 1))
        done
        return 1
    }
    mkdir -p "$tmp/root" "$tmp/out"
    head -c 100000 /dev/urandom > "$tmp/root/small.bin"
    gcopy() { # gcopy PROXY PORT HOST NAME: fetch NAME into $tmp/out
        rm -f "$tmp/out/$4"
        X509_USER_PROXY=$1 timeout 30 globus-url-copy "gsiftp://$3:$2$tmp/root/small.bin" "file://$tmp/out/$4" 2>&1
    }
    port=$(free_port)
    ports="$ports $port"
    o=$(sh "$src/scripts/gridftp-server" start "$P" "$port" "$tmp/root" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
        ok
        pid=$(cat "$P/gridftp-$port/pid")
        o=$(gcopy "$U/alice/proxy.pem" "$port" 127.0.0.1 alice.bin); rc=$?
        [ $rc -eq 0 ] && cmp -s "$tmp/root/small.bin" "$tmp/out/alice.bin" && ok || bad "gsiftp with Alice's proxy: $o"
        o=$(gcopy "$U/alice/proxy.pem" "$port" localhost alice2.bin); rc=$?
        [ $rc -eq 0 ] && cmp -s "$tmp/root/small.bin" "$tmp/out/alice2.bin" && ok || bad "gsiftp://localhost with Alice's proxy: $o"
        o=$(gcopy "$U/bob/voms-users.pem" "$port" 127.0.0.1 bob.bin); rc=$?
        [ $rc -eq 0 ] && ok || bad "gsiftp with Bob's VOMS proxy: $o"
        o=$(gcopy "$U/mallory/proxy.pem" "$port" 127.0.0.1 mallory.bin); rc=$?
        case $rc:$o in 0:*) bad "gsiftp lets Mallory in" ;; *"Could not map"*) ok ;; *) bad "Mallory refused, but: $o" ;; esac
        o=$(gcopy "$U/alice/proxy-expired.pem" "$port" 127.0.0.1 expired.bin); rc=$?
        [ $rc -ne 0 ] && ok || bad "gsiftp accepts the expired proxy"
        o=$(gcopy "$P/rogue/alice/proxy.pem" "$port" 127.0.0.1 rogue.bin); rc=$?
        [ $rc -ne 0 ] && ok || bad "gsiftp accepts the rogue Alice"
        sh "$src/scripts/gridftp-server" stop "$P" "$port" >/dev/null 2>&1 && ok || bad "gridftp-server stop failed"
        ! kill -0 "$pid" 2>/dev/null && ! ss -ltnH "sport = :$port" | grep -q . && ok ||
            bad "gridftp server $pid still running after stop"
    else
        bad "gridftp-server start: $o"
    fi
    # a server with a certificate for another name: the client refuses it
    port=$(free_port)
    ports="$ports $port"
    o=$(VWS_GRIDFTP_HOST=wrong.example sh "$src/scripts/gridftp-server" start "$P" "$port" "$tmp/root" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
        o=$(gcopy "$U/alice/proxy.pem" "$port" 127.0.0.1 wrong.bin); rc=$?
        [ $rc -ne 0 ] && ok || bad "globus-url-copy accepts a server named wrong.example"
        sh "$src/scripts/gridftp-server" stop "$P" "$port" >/dev/null 2>&1 && ok || bad "gridftp-server stop failed"
    else
        bad "gridftp-server start (wrong host): $o"
    fi
else
    skipped "GridFTP: globus-gridftp-server or globus-url-copy not installed"
fi

if [ $skip -gt 0 ]; then echo "$pass passed, $fail failed, $skip skipped"; else echo "$pass passed, $fail failed"; fi
[ $fail -eq 0 ]
