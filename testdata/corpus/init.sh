#!/bin/sh
# /init of the corpus guest (busybox). One initramfs serves both kernels:
# the crashing kernel starts a few distinctively named processes, loads
# the capture kernel with `kexec -p` and crashes as the scenario says;
# the capture kernel (it sees /proc/vmcore) writes the dump to the disks.
# Parameters come from the kernel command line: pycore.scenario=NAME (scenarios/NAME.sh),
# pycore.capture=kdump|qemu, pycore.full=yes|no (write the full ELF too),
# pycore.dumplevel=N (makedumpfile -d, default 31). Lines starting "PYCORE:" are read by the host.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp

param() {
    for word in $(cat /proc/cmdline); do
        case "$word" in "$1="*) echo "${word#*=}"; return;; esac
    done
}

# Modules the cloud kernels build as modules (virtio, fw_cfg), in dependency order.
for module in $(cat /modules/order 2>/dev/null); do
    insmod "/modules/$module" || echo "PYCORE: insmod $module failed"
done
sleep 1

stop() {
    echo "PYCORE: $1"
    sync
    poweroff -f
}

if [ -e /proc/vmcore ]; then
    echo "PYCORE: capture kernel up, /proc/vmcore is $(stat -c %s /proc/vmcore) bytes"
    [ -b /dev/vda ] && [ -b /dev/vdb ] || stop "capture failed: no /dev/vda or /dev/vdb"
    # The full ELF is /proc/vmcore as the kernel serves it ("cp /proc/vmcore").
    if [ "$(param pycore.full)" != "no" ]; then
        size=$(stat -c %s /proc/vmcore)
        dd if=/proc/vmcore of=/dev/vda bs=1M 2>/dev/null || stop "capture failed: dd /proc/vmcore"
        echo "PYCORE: dump vda elf $size"
    fi
    # The filtered, compressed dump is what a kdump service writes. It goes
    # out as a flattened stream (-F): no tmpfs copy in the small capture
    # kernel, and the host reassembles it with makedumpfile -R.
    # pycore.dumplevel: the swap case keeps user pages (-d 0).
    level=$(param pycore.dumplevel)
    makedumpfile -F -z -d "${level:-31}" /proc/vmcore 2>/tmp/makedumpfile.log | dd of=/dev/vdb bs=1M 2>/tmp/dd.log
    status=$?
    cat /tmp/makedumpfile.log
    grep -q "makedumpfile Completed" /tmp/makedumpfile.log && [ $status = 0 ] || stop "capture failed: makedumpfile"
    echo "PYCORE: dump vdb flattened-zstd $(sed -n 's/^\([0-9]*\) bytes.*/\1/p' /tmp/dd.log)"
    stop "capture done"
fi

scenario=$(param pycore.scenario)
echo "PYCORE: crashing kernel up, scenario $scenario"

# Named processes for ps/bt: a comm is the script's file name.
pycore-spin &
pycore-sleeper &
pycore-sleeper &
mkfifo /tmp/pycore.fifo
pycore-reader /tmp/pycore.fifo &
sleep 2

if [ "$(param pycore.capture)" = "kdump" ]; then
    # kexec_file_load (-s) first: the legacy kexec_load of bookworm's
    # kexec-tools fails with EINVAL on these kernels.
    append="console=ttyS0 nr_cpus=1 reset_devices irqpoll panic=1 pycore.full=$(param pycore.full) pycore.dumplevel=$(param pycore.dumplevel)"
    kexec -s -p /boot/vmlinuz --initrd=/boot/capture.img --append="$append" \
        || kexec -p /boot/vmlinuz --initrd=/boot/capture.img --append="$append" \
        || stop "kexec -p failed"
    [ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] || stop "capture kernel not loaded"
    echo "PYCORE: capture kernel loaded"
    # kexec copied them into the reserved region; freeing them keeps
    # 16 MB of incompressible pages out of the filtered dumps.
    rm -f /boot/vmlinuz /boot/capture.img
fi

# The scenario (scenarios/NAME.sh, one file per scenario so that a new one
# leaves the other cases' recipes alone) defines scenario_crash and may
# define scenario_setup (before the guest's view) and scenario_view (its own
# listings after the common ones, through show).
scenario_setup() { :; }
scenario_view() { :; }
[ -f "/scenarios/$scenario.sh" ] || stop "unknown scenario $scenario"
. "/scenarios/$scenario.sh"
scenario_setup

# The guest's own view, the second oracle where crash is wrong (crash 9.0.2
# on 7.2): each between "PYCORE: begin NAME: COMMAND" and "PYCORE: end NAME";
# build.py saves them under reference/guest/. The console loglevel is 1
# meanwhile so that no kernel message lands inside a listing.
show() {
    name=$1
    shift
    echo "PYCORE: begin $name: $*"
    "$@"
    echo "PYCORE: end $name"
}
loglevel=$(cut -f1 /proc/sys/kernel/printk)
echo 1 > /proc/sys/kernel/printk
show date date +%s
show uptime cat /proc/uptime
show meminfo cat /proc/meminfo
show modules cat /proc/modules
show slabinfo cat /proc/slabinfo
show ps ps
scenario_view
echo "$loglevel" > /proc/sys/kernel/printk
# The serial port drains the tty's buffer behind the shell: a panic now would
# cut the listings short (it did on the QEMU case).
sleep 2

scenario_crash
stop "crash failed: still running after scenario $scenario"
