#!/bin/sh
# guest.sh — scripts/mkguest builds the vws test guest (Debian cloud kernel +
# busybox initramfs) into a cache directory, and the guest really boots:
#
#  1. QEMU under TCG, metadata on the kernel command line: the READY line
#     carries the bound id, hostname and IP within 60 s; heartbeats advance;
#     after "stop" they stand still for 4 s; after "cont" they go on;
#     system_powerdown (ACPI) makes the guest print POWEROFF and QEMU exit.
#  2. QEMU with a VWSMETA config drive (ISO9660 on a virtio-scsi CD-ROM) and
#     a virtio NIC: meta.txt overrides the command line, a malformed command
#     line value is refused, a netmask becomes a prefix, the certificate's SHA-256 fingerprint is the one
#     openssl gives, the NIC named by its MAC gets the address.
#  3. The same guest through libvirt's embedded QEMU driver with virsh
#     (qemu:///embed?root=DIR): define, start, READY, suspend / resume,
#     shutdown (ACPI) to "shut off", undefine.
#
# The build is cached in ${VWS_GUEST_CACHE:-/var/tmp/vws-guest}; every QEMU
# started here is killed on exit.  No guest has a network beyond a restricted
# user-mode NIC.
#
# 'COND && ok || bad' is meant throughout: ok always succeeds.
# shellcheck disable=SC2015
set -u
# Under 'make check-valgrind' (VWS_TEST_WRAPPER set) there is no vws program
# here to check: the guest and QEMU are not ours.  Skip.
if [ -n "${VWS_TEST_WRAPPER:-}" ]; then
    echo "guest.sh: skipped under valgrind (no vws program runs here)"
    exit 77
fi
src=${VWS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cache=${VWS_GUEST_CACHE:-/var/tmp/vws-guest}
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
skipped() { skip=$((skip + 1)); echo "SKIP: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

for tool in qemu-system-x86_64 apt-get dpkg sha256sum mkfifo; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vws-guest.XXXXXX") || exit 1
qpid=
virsh_uri='' dom='' vspid=''
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        kill "$qpid" 2>/dev/null
        sleep 0.5
        kill -9 "$qpid" 2>/dev/null
    fi
    if [ -n "$vspid" ]; then kill -9 "$vspid" 2>/dev/null; wait "$vspid" 2>/dev/null; fi
    if [ -n "$dom" ]; then
        virsh -c "$virsh_uri" destroy "$dom" >/dev/null 2>&1
        virsh -c "$virsh_uri" undefine "$dom" >/dev/null 2>&1
        if [ -s "$tmp/lv/run/qemu/$dom.pid" ]; then
            p=$(cat "$tmp/lv/run/qemu/$dom.pid")
            kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
        fi
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
summary() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

# ------------------------------------------------------------ building it
t0=$(now_ms)
out=$(sh "$src/scripts/mkguest" "$cache" 2>&1); rc=$?
echo "mkguest: $(($(now_ms) - t0)) ms"
[ $rc -eq 0 ] && ok || { bad "mkguest exit $rc: $out"; summary; }
[ -z "$out" ] && ok || bad "mkguest is not quiet: $out"
for f in vmlinuz initrd.img template.xml; do
    [ -s "$cache/$f" ] && ok || bad "$f missing"
done
T=$cache/template.xml
if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout --schema "$src/schema/vws.xsd" "$T" >/dev/null 2>&1 && ok ||
        bad "template.xml does not validate against schema/vws.xsd"
else
    skipped "xmllint not installed: template.xml not validated"
fi
tv() { # tv XPATH: a value from template.xml
    sed -e 's/xmlns="[^"]*"//' "$T" | xmllint --xpath "string($1)" - 2>/dev/null
}
if command -v xmllint >/dev/null 2>&1; then
    [ "$(tv /imageTemplate/name)" = tiny ] && ok || bad "template name is not tiny"
    [ "$(tv /imageTemplate/format)" = kernel+initrd ] && ok || bad "template format is not kernel+initrd"
    [ "$(tv /imageTemplate/cmdline)" = "console=ttyS0 quiet" ] && ok || bad "template cmdline"
    [ "$(tv /imageTemplate/location)" = "file://$cache/vmlinuz" ] && ok || bad "kernel location"
    [ "$(tv /imageTemplate/initrd/location)" = "file://$cache/initrd.img" ] && ok || bad "initrd location"
    [ "$(tv /imageTemplate/size)" = "$(wc -c <"$cache/vmlinuz" | tr -d ' ')" ] && ok || bad "kernel size"
    [ "$(tv /imageTemplate/initrd/size)" = "$(wc -c <"$cache/initrd.img" | tr -d ' ')" ] && ok || bad "initrd size"
    [ "$(tv /imageTemplate/sha256)" = "$(sha256sum <"$cache/vmlinuz" | cut -d' ' -f1)" ] && ok || bad "kernel sha256"
    [ "$(tv /imageTemplate/initrd/sha256)" = "$(sha256sum <"$cache/initrd.img" | cut -d' ' -f1)" ] && ok ||
        bad "initrd sha256"
fi
# A second run finds the build complete and current: quiet, nothing rewritten.
before=$(ls -li --time-style=+%s.%N "$cache")
t0=$(now_ms)
out=$(sh "$src/scripts/mkguest" "$cache" 2>&1); rc=$?
echo "mkguest again: $(($(now_ms) - t0)) ms"
[ $rc -eq 0 ] && [ -z "$out" ] && ok || bad "second mkguest: exit $rc: $out"
[ "$before" = "$(ls -li --time-style=+%s.%N "$cache")" ] && ok || bad "second mkguest rewrote the build"
out=$(sh "$src/scripts/mkguest" 2>&1); rc=$?
[ $rc -eq 2 ] && ok || bad "mkguest without OUTDIR: exit $rc"

# ------------------------------------------------------------ QEMU helpers
log=
lines() { [ -f "$log" ] && tr -d '\r' <"$log"; }
has() { lines | grep -q -- "$1"; }
wait_for() { # wait_for PATTERN SECONDS
    _end=$(($(now_ms) + $2 * 1000))
    while [ "$(now_ms)" -lt $_end ]; do
        has "$1" && return 0
        sleep 0.2
    done
    return 1
}
beat() { # the last heartbeat number, 0 before the first
    n=$(lines | sed -n 's/.*VWS-GUEST-ALIVE \([0-9][0-9]*\).*/\1/p' | tail -n 1)
    echo "${n:-0}"
}
wait_beat_above() { # wait_beat_above N SECONDS
    _end=$(($(now_ms) + $2 * 1000))
    while [ "$(now_ms)" -lt $_end ]; do
        [ "$(beat)" -gt "$1" ] && return 0
        sleep 0.2
    done
    return 1
}
boot() { # boot NAME APPEND [QEMU ARGS...]: start QEMU, monitor on fd 3
    name=$1 append=$2
    shift 2
    log=$tmp/$name.log
    rm -f "$tmp/mon.in" "$tmp/mon.out"
    mkfifo "$tmp/mon.in" "$tmp/mon.out" || return 1
    exec 3<>"$tmp/mon.in" 4<>"$tmp/mon.out"
    qemu-system-x86_64 -machine q35,accel=tcg -m 128 -nographic -display none -no-reboot \
        -serial "file:$log" -monitor none \
        -chardev "pipe,id=mon,path=$tmp/mon" -mon chardev=mon,mode=readline \
        -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" -append "$append" \
        "$@" </dev/null >"$tmp/$name.qemu" 2>&1 &
    qpid=$!
    boot_t0=$(now_ms)
}
monitor() { echo "$1" >&3; }
wait_exit() { # wait_exit SECONDS: QEMU exits; its status in qrc
    _end=$(($(now_ms) + $1 * 1000))
    while kill -0 "$qpid" 2>/dev/null; do
        [ "$(now_ms)" -lt $_end ] || return 1
        sleep 0.2
    done
    wait "$qpid"
    qrc=$?
    qpid=
    exec 3>&- 4>&-
    return 0
}
stop_qemu() {
    if [ -n "$qpid" ]; then kill -9 "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; qpid=; fi
    exec 3>&- 4>&-
}

# ------------------------------------------------------------ 1: command line
ID=1b4e28ba-2fa1-11d2-883f-0016d3cca427 H=tiny1 IP=10.0.0.5/24
boot cmdline "console=ttyS0 quiet vws.id=$ID vws.hostname=$H vws.ip=$IP vws.gw=10.0.0.1" -nic none
if wait_for "VWS-GUEST-READY" 60; then
    echo "boot to READY (TCG): $(($(now_ms) - boot_t0)) ms"
    ok
    has "VWS-GUEST-READY id=$ID hostname=$H ip=$IP\$" && ok || bad "READY line: $(lines | grep READY)"
    has "VWS-GUEST-NET dev=none" && ok || bad "no NIC is not reported as dev=none"
    has "VWS-GUEST-WARN" && bad "warnings: $(lines | grep WARN)" || ok
    b=$(beat)
    wait_beat_above $((b + 1)) 8 && ok || bad "heartbeats do not advance (last $b, now $(beat))"
    monitor stop
    sleep 0.5
    b=$(beat)
    sleep 4
    [ "$(beat)" -eq "$b" ] && ok || bad "heartbeats went on while paused ($b -> $(beat))"
    monitor cont
    wait_beat_above "$b" 8 && ok || bad "heartbeats did not resume after cont (last $b)"
    monitor system_powerdown
    wait_for "VWS-GUEST-POWEROFF" 30 && ok || bad "no POWEROFF after system_powerdown"
    if wait_exit 30; then
        ok
        [ "$qrc" -eq 0 ] && ok || bad "QEMU exit status $qrc after power off"
    else
        bad "QEMU still running 30 s after system_powerdown"
    fi
else
    bad "no READY within 60 s; console: $(lines | tail -n 20); qemu: $(cat "$tmp/cmdline.qemu")"
fi
stop_qemu

# ------------------------------------------------------------ 2: config drive
iso=
if command -v genisoimage >/dev/null 2>&1; then iso="genisoimage -quiet"
elif command -v mkisofs >/dev/null 2>&1; then iso="mkisofs -quiet"
elif command -v xorriso >/dev/null 2>&1; then iso="xorriso -as mkisofs -quiet"
fi
if [ -z "$iso" ] || ! command -v openssl >/dev/null 2>&1; then
    skipped "no genisoimage/xorriso or openssl: config drive not tested"
else
    md=$tmp/meta
    mkdir "$md"
    ID2=aaaaaaaa-2fa1-11d2-883f-0016d3cca427 H2=tiny2 IP2=10.0.0.7 MAC=52:54:00:12:34:56
    SUBJ="O = vws, CN = workspace $ID2"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$md/workspace.key" -out "$md/workspace.crt" \
        -subj "/O=vws/CN=workspace $ID2" -days 1 >/dev/null 2>&1
    fp=$(openssl x509 -in "$md/workspace.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
         tr A-F a-f)
    printf '# vws config drive\nid=%s\r\nhostname=%s\nvws.ip=%s\nnetmask=255.255.0.0\ngw=10.0.0.1\ndns=10.0.0.2,10.0.0.3\nmac=%s\nsubject=%s\nfuture=1\n' \
        "$ID2" "$H2" "$IP2" "$MAC" "$SUBJ" >"$md/meta.txt"
    # shellcheck disable=SC2086
    $iso -V VWSMETA -r -J -o "$tmp/meta.iso" "$md" >/dev/null 2>&1 && ok || bad "$iso failed"
    boot drive "console=ttyS0 quiet vws.id=$ID vws.hostname=bad\$(reboot)" \
        -nic "user,restrict=on,model=virtio-net-pci,mac=$MAC" \
        -device virtio-scsi-pci \
        -drive "file=$tmp/meta.iso,format=raw,if=none,id=cd,media=cdrom,readonly=on" \
        -device scsi-cd,drive=cd
    if wait_for "VWS-GUEST-READY" 60; then
        ok
        has "VWS-GUEST-META drive=/dev/sr0" && ok || bad "config drive not found: $(lines | grep VWS-)"
        has "VWS-GUEST-READY id=$ID2 hostname=$H2 ip=$IP2\$" && ok || bad "READY line: $(lines | grep READY)"
        has "VWS-GUEST-CERT sha256=$fp subject=$SUBJ\$" && ok ||
            bad "CERT line: $(lines | grep CERT) (openssl: $fp)"
        has "VWS-GUEST-NET dev=eth0 mac=$MAC ip=$IP2/16 gw=10.0.0.1" && ok || bad "NET line: $(lines | grep NET)"
        has "VWS-GUEST-WARN bad hostname from cmdline ignored" && ok || bad "malformed hostname not refused"
        monitor system_powerdown
        wait_for "VWS-GUEST-POWEROFF" 30 && wait_exit 30 && ok || bad "config-drive guest did not power off"
    else
        bad "no READY within 60 s; console: $(lines | tail -n 20); qemu: $(cat "$tmp/drive.qemu")"
    fi
    stop_qemu
fi

# ------------------------------------------------------------ 3: libvirt embed
# qemu:///embed needs the user libvirt-qemu to exist even when qemu.conf says
# user = "root" (the default is parsed first); made here when missing.
lv_ok=
if ! command -v virsh >/dev/null 2>&1; then
    skipped "virsh not installed (libvirt-clients): libvirt embed not tested"
elif ! id libvirt-qemu >/dev/null 2>&1 && [ "$(id -u)" -ne 0 ]; then
    skipped "user libvirt-qemu missing and not root: libvirt embed not tested"
else
    id libvirt-qemu >/dev/null 2>&1 ||
        useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu >/dev/null 2>&1 ||
        id libvirt-qemu >/dev/null 2>&1 && lv_ok=1 || bad "cannot create user libvirt-qemu"
fi
if [ -n "$lv_ok" ]; then
    lv=$tmp/lv
    mkdir -p "$lv/etc"
    cat >"$lv/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"
EOF
    virsh_uri="qemu:///embed?root=$lv"
    export LIBVIRT_LOG_OUTPUTS="3:file:$tmp/libvirt.log"
    v() { virsh -q -c "$virsh_uri" "$@" 2>>"$tmp/virsh.err"; }
    # A virsh session: commands through a FIFO, each followed by a marker.
    vspid='' vseq=0
    vs_start() {
        mkfifo "$tmp/vs.in" && exec 5<>"$tmp/vs.in" || return 1
        virsh -c "$virsh_uri" <"$tmp/vs.in" >"$tmp/vs.out" 2>>"$tmp/virsh.err" &
        vspid=$!
        echo "echo VWS-END-0-" >&5
    }
    vs() { # vs COMMAND...: its output in $tmp/vs.res (10 s at most)
        vseq=$((vseq + 1))
        echo "$*" >&5
        echo "echo VWS-END-$vseq-" >&5
        _end=$(($(now_ms) + 10000))
        while [ "$(now_ms)" -lt $_end ]; do
            grep -q "^VWS-END-$vseq-" "$tmp/vs.out" 2>/dev/null && break
            sleep 0.1
        done
        # virsh echoes each command after a prompt, and echo's output has
        # no newline: "virsh # echo M\nMvirsh # next command\n".
        awk -v a="VWS-END-$((vseq - 1))-" -v b="VWS-END-$vseq-" '
            index($0, b) == 1 { exit }
            on && !/^virsh # / && !/^VWS-END-/ && NF { print }
            index($0, a) == 1 { on = 1 }' "$tmp/vs.out" >"$tmp/vs.res"
    }
    vs_stop() {
        [ -n "$vspid" ] || return 0
        echo quit >&5
        _end=$(($(now_ms) + 10000))
        while kill -0 "$vspid" 2>/dev/null && [ "$(now_ms)" -lt $_end ]; do sleep 0.1; done
        kill -9 "$vspid" 2>/dev/null
        wait "$vspid" 2>/dev/null
        vspid=''
        exec 5>&-
    }
    log=$lv/console.log
    name=vws-guest-$$
    ID3=cccccccc-2fa1-11d2-883f-0016d3cca427 H3=tiny3 IP3=10.0.0.9/24
    cat >"$tmp/dom.xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$cache/vmlinuz</kernel>
    <initrd>$cache/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet vws.id=$ID3 vws.hostname=$H3 vws.ip=$IP3</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='$log'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
    t0=$(now_ms)
    if v define "$tmp/dom.xml" >/dev/null; then
        dom=$name
        ok
        echo "virsh define (embed, capabilities probed): $(($(now_ms) - t0)) ms"
    else
        bad "virsh define: $(tail -n 3 "$tmp/virsh.err")"
    fi
    if [ -n "$dom" ] && t0=$(now_ms) && v start "$dom" >/dev/null; then
        ok
        if wait_for "VWS-GUEST-READY" 60; then
            echo "libvirt start to READY: $(($(now_ms) - t0)) ms"
            ok
            has "VWS-GUEST-READY id=$ID3 hostname=$H3 ip=$IP3\$" && ok || bad "READY line: $(lines | grep READY)"
            [ "$(v domstate "$dom")" = running ] && ok || bad "domstate is not running"
            v suspend "$dom" >/dev/null && ok || bad "virsh suspend failed"
            [ "$(v domstate "$dom")" = paused ] && ok || bad "domstate is not paused after suspend"
            sleep 0.5
            b=$(beat)
            sleep 4
            [ "$(beat)" -eq "$b" ] && ok || bad "heartbeats went on while suspended ($b -> $(beat))"
            v resume "$dom" >/dev/null && ok || bad "virsh resume failed"
            wait_beat_above "$b" 8 && ok || bad "heartbeats did not resume (last $b)"
            # The embedded driver lives only in the process that opened it,
            # and libvirt runs QEMU with -no-shutdown: the guest's power off
            # is acted on (QEMU ended, "shut off") only by a process holding
            # the driver when it happens.  A one-shot virsh exits first and
            # the domain stays "in shutdown"; so shut down from a session.
            vs_start
            vs shutdown "$dom"
            case $(cat "$tmp/vs.res") in *"is being shutdown"*) ok ;; *) bad "virsh shutdown failed" ;; esac
            wait_for "VWS-GUEST-POWEROFF" 30 && ok || bad "no POWEROFF after virsh shutdown"
            end=$(($(now_ms) + 30000)) st=
            while [ "$(now_ms)" -lt $end ]; do
                vs domstate "$dom"
                st=$(cat "$tmp/vs.res")
                [ "$st" = "shut off" ] && break
                sleep 0.5
            done
            [ "$st" = "shut off" ] && ok || bad "domstate '$st' 30 s after virsh shutdown"
            # Only one process may hold an embed root (run/qemu/driver.pid).
            if err=$(virsh -q -c "$virsh_uri" list --all 2>&1); then
                echo "NOTE: a second virsh could use $virsh_uri while a session held it"
            else
                echo "NOTE: a second virsh cannot use an embed root in use: $(echo "$err" |
                    grep -o "Failed to acquire pid file" | head -n 1)"
            fi
            vs_stop
        else
            bad "no READY through libvirt within 60 s; console: $(lines | tail -n 20)"
        fi
    elif [ -n "$dom" ]; then
        bad "virsh start: $(tail -n 3 "$tmp/virsh.err")"
    fi
    if [ -n "$dom" ]; then
        v destroy "$dom" >/dev/null 2>&1
        v undefine "$dom" >/dev/null && ok || bad "virsh undefine failed"
        [ -z "$(v list --all --name | tr -d ' \n')" ] && ok || bad "domains left: $(v list --all --name)"
        dom=
    fi
fi

summary
