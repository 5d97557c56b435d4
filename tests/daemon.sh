#!/bin/sh
# daemon.sh — tests/vws-test-daemon as an admin runs it: detached with a pid
# file, answering GET /whoami over GSI to curl with Alice's proxy, refusing a
# second instance, reopening its log on SIGHUP (logrotate), stopping on
# SIGTERM (pid file removed); in the foreground, exit status 0 after SIGTERM;
# --print-config, --version, bad options and config errors.
set -u
daemon=${VWS_BUILDDIR:-..}/tests/vws-test-daemon
src=${VWS_SRCDIR:-..}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

dir=$(mktemp -d /tmp/vws-daemon-sh-XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
"$src/scripts/mkpki" "$dir/pki" >/dev/null || { echo "mkpki failed"; exit 1; }
pki=$dir/pki

cat > "$dir/d.conf" <<CONF
[daemon]
listen = 127.0.0.1:0
pid_file = $dir/d.pid
log = $dir/d.log
log_level = debug
threads = 4
[gsi]
cert_dir = $pki/certificates
vomsdir = $pki/vomsdir
host_cert = $pki/hosts/localhost/hostcert.pem
host_key = $pki/hosts/localhost/hostkey.pem
[test]
greeting = hello from the test daemon
CONF

# wait_for CMD...: up to 5 s for CMD to succeed
wait_for() {
    i=0
    while [ $i -lt 50 ]; do
        "$@" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# --- detached ---
out=$("$daemon" -c "$dir/d.conf" 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "start: exit $rc: $out"
[ -z "$out" ] && ok || bad "start printed '$out'"
pid=$(cat "$dir/d.pid" 2>/dev/null)
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ok || bad "no running pid in the pid file"
port=$(sed -n 's/.*serving on .* (port \([0-9]*\)).*/\1/p' "$dir/d.log" | tail -1)
[ -n "$port" ] && ok || bad "no 'serving on' line in the log: $(cat "$dir/d.log")"

whoami() {
    curl -s --max-time 10 --cert "$pki/users/alice/proxy.pem" --key "$pki/users/alice/proxy.pem" \
        --capath "$pki/certificates" "https://localhost:$port/whoami"
}
out=$(whoami)
case $out in
"hello from the test daemon
dn: /O=Grid/OU=vws-test/CN=Alice
proxy: full"*) ok ;;
*) bad "whoami: '$out'" ;;
esac
grep -q "GET /whoami from 127.0.0.1 '/O=Grid/OU=vws-test/CN=Alice'" "$dir/d.log" && ok \
    || bad "no debug line for the request"

# a client without a certificate is refused, and the log says why
curl -s --max-time 10 --capath "$pki/certificates" "https://localhost:$port/whoami" >/dev/null 2>&1 \
    && bad "a client without a certificate was served" || ok
wait_for grep -q "refused 127.0.0.1:.*certificate" "$dir/d.log" && ok || bad "no refusal logged"

# a second instance is refused, naming the pid
out=$("$daemon" -c "$dir/d.conf" -o daemon.log=stderr 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "second instance: exit $rc"
case $out in
*"pid file '$dir/d.pid' is locked by pid $pid"*) ok ;;
*) bad "second instance said '$out'" ;;
esac

# SIGHUP: the log is reopened (rotated away), the config re-read
mv "$dir/d.log" "$dir/d.log.1"
kill -HUP "$pid"
wait_for grep -q "configuration re-read" "$dir/d.log" 2>/dev/null && ok || bad "log not reopened on SIGHUP"
out=$(whoami)
case $out in *"CN=Alice"*) ok ;; *) bad "whoami after SIGHUP: '$out'" ;; esac

# SIGTERM: stops, removes the pid file
kill -TERM "$pid"
wait_for sh -c "! kill -0 $pid 2>/dev/null" && ok || bad "still running after SIGTERM"
pid=
[ ! -e "$dir/d.pid" ] && ok || bad "pid file left behind"
grep -q "info daemon: stopped" "$dir/d.log" && ok || bad "no 'stopped' in the log"

# --- foreground: exit status 0 after SIGTERM ---
${VWS_TEST_WRAPPER:-} "$daemon" -f -c "$dir/d.conf" -o daemon.log=stderr -o daemon.log_level=info \
    2>"$dir/fg.err" &
fg=$!
wait_for grep -q "serving on" "$dir/fg.err" && ok || bad "foreground did not start: $(cat "$dir/fg.err")"
kill -TERM $fg
wait $fg; rc=$?
[ $rc -eq 0 ] && ok || bad "foreground: exit $rc after SIGTERM: $(cat "$dir/fg.err")"
[ ! -e "$dir/d.pid" ] && ok || bad "foreground left its pid file"

# --- the command line and config errors ---
out=$("$daemon" -c "$dir/d.conf" --print-config); rc=$?
[ $rc -eq 0 ] && ok || bad "--print-config: exit $rc"
case $out in *"threads = 4"*"cert_dir = $pki/certificates"*"greeting = "*) ok ;;
*) bad "--print-config: '$out'" ;; esac
"$daemon" --version | grep -q "^vws-test-daemon " && ok || bad "--version"
"$daemon" --help | grep -q "^usage: vws-test-daemon" && ok || bad "--help"
"$daemon" --bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "bad option: exit $rc"
out=$("$daemon" -c "$dir/d.conf" -o daemon.threads=0 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "threads=0: exit $rc"
case $out in *"command line"*threads*) ok ;; *) bad "threads=0 said '$out'" ;; esac
printf '[daemon]\nlisten = localhost\n' > "$dir/bad.conf"
out=$("$daemon" -c "$dir/bad.conf" 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "bad listen: exit $rc"
case $out in *"$dir/bad.conf:2: [daemon] listen: bad value 'localhost'"*) ok ;;
*) bad "bad listen said '$out'" ;; esac
out=$("$daemon" -c "$dir/d.conf" -o gsi.host_key=/nonexistent 2>&1); rc=$?
[ $rc -eq 1 ] && ok || bad "missing key: exit $rc"
case $out in *"/nonexistent"*) ok ;; *) bad "missing key said '$out'" ;; esac

echo "daemon.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
