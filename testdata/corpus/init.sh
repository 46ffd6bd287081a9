#!/bin/sh
# /init of the corpus guest (busybox). One initramfs serves both kernels:
# the crashing kernel starts a few distinctively named processes, loads
# the capture kernel with `kexec -p` and crashes as the scenario says;
# the capture kernel (it sees /proc/vmcore) writes the dump to the disks.
# Parameters come from the kernel command line: pycore.scenario=sysrq|oom|hung|swap|locks,
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

# The hung-task scenario: an ext2 filesystem (mounted by the ext4 driver) on
# the third disk, frozen with FIFREEZE. frozenwriter writes to a file
# on it: it takes the shared open file's f_pos_lock (a mutex: the file is
# open in init too) and blocks in sb_start_write (the superblock's
# percpu_rw_semaphore). poswriter writes through the same open file
# and blocks on that f_pos_lock behind it: a wait-for chain of two.
if [ "$scenario" = hung ]; then
    [ -b /dev/vdc ] || stop "hung setup failed: no /dev/vdc"
    mke2fs -F /dev/vdc >/dev/null 2>&1 || stop "hung setup failed: mke2fs /dev/vdc"
    mkdir -p /mnt
    mount -t ext4 /dev/vdc /mnt || stop "hung setup failed: mount /dev/vdc"
    exec 3>/mnt/pycore-file
    fsfreeze --freeze /mnt || stop "hung setup failed: fsfreeze"
    frozenwriter &
    sleep 1
    poswriter &
    sleep 1
fi

# The locks scenario (issue 15): the corpus's test module pycore_locks
# (modules/pycore_locks.c, unsigned: taint E) starts kthreads that deadlock
# ABBA on two mutexes and queue an rwsem reader behind a writer sleeping
# with it held; they are listed below, then pycore_spin's soft lockup panics.
if [ "$scenario" = locks ]; then
    insmod /test-modules/pycore_locks.ko || stop "locks setup failed: insmod pycore_locks.ko"
    sleep 2
fi

# The swap scenario (issue 16): zram swap devices, one per compressor the
# kernel's zram offers (6.12: zstd, deflate, lz4hc, lz4). busybox's swapon
# has no -p: each device gets a lower priority than the one before, so the
# small ones fill first and the pages spread over all four. pycore-swapper
# writes known bytes to anonymous memory; two reads of most of memory push them out.
if [ "$scenario" = swap ]; then
    for module in $(cat /modules/swap/order); do
        options=
        [ "$module" = zram.ko ] && options=num_devices=4
        insmod "/modules/swap/$module" $options || stop "swap setup failed: insmod $module"
    done
    device=0
    for spec in zstd:12M deflate:12M lz4hc:12M lz4:256M; do
        echo "${spec%:*}" > /sys/block/zram$device/comp_algorithm || stop "swap setup failed: zram$device ${spec%:*}"
        echo "${spec#*:}" > /sys/block/zram$device/disksize || stop "swap setup failed: zram$device disksize"
        mkswap /dev/zram$device >/dev/null || stop "swap setup failed: mkswap zram$device"
        swapon /dev/zram$device || stop "swap setup failed: swapon zram$device"
        device=$((device + 1))
    done
    [ -e /sys/module/zswap/parameters/enabled ] && echo 1 > /sys/module/zswap/parameters/enabled
    echo "PYCORE: zswap $(cat /sys/module/zswap/parameters/enabled 2>/dev/null || echo 'not built')"
    echo 200 > /proc/sys/vm/swappiness
    pycore-swapper 96 &
    echo -1000 > /proc/$!/oom_score_adj
    sleep 2
    # One read() from /dev/zero into a buffer of 90% of memory, then 95%:
    # with the swapper's 96 MiB that is more than memory holds.
    for share in 90 95; do
        kb=$(awk -v share=$share '/MemTotal/ {print int($2 * share / 100)}' /proc/meminfo)
        dd if=/dev/zero of=/dev/null bs=${kb}k count=1 2>/dev/null
    done
fi

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
if [ "$scenario" = hung ]; then
    show mounts cat /proc/mounts
    show blocked pycore-blocked
fi
if [ "$scenario" = locks ]; then
    show blocked pycore-blocked
fi
if [ "$scenario" = swap ]; then
    show swaps cat /proc/swaps
    show zram pycore-zram-stat
fi
echo "$loglevel" > /proc/sys/kernel/printk
# The serial port drains the tty's buffer behind the shell: a panic now would
# cut the listings short (it did on the QEMU case).
sleep 2

case "$scenario" in
    sysrq)
        echo "PYCORE: crashing via sysrq-c"
        echo c > /proc/sysrq-trigger
        ;;
    oom)
        echo 1 > /proc/sys/vm/panic_on_oom
        echo "PYCORE: crashing via OOM (panic_on_oom=1)"
        pycore-hog &
        pycore-hog &
        wait
        ;;
    swap)
        echo "PYCORE: crashing via sysrq-c"
        echo c > /proc/sysrq-trigger
        ;;
    hung)
        # khungtaskd checks every timeout seconds; it panics on the second
        # look at a task that has not run in between.
        echo 1 > /proc/sys/kernel/hung_task_panic
        echo 5 > /proc/sys/kernel/hung_task_timeout_secs
        echo "PYCORE: crashing via the hung-task watchdog (hung_task_panic=1, timeout 5 s)"
        sleep 120
        ;;
    locks)
        # The soft lockup watchdog reports a CPU stuck for 2 * watchdog_thresh
        # seconds; the blocked kthreads must not end it as hung tasks first.
        echo 0 > /proc/sys/kernel/hung_task_panic
        echo 1 > /proc/sys/kernel/softlockup_panic
        echo 3 > /proc/sys/kernel/watchdog_thresh
        echo "PYCORE: crashing via the soft lockup watchdog (softlockup_panic=1, watchdog_thresh 3 s)"
        echo 1 > /sys/module/pycore_locks/parameters/spin
        sleep 120
        ;;
esac
stop "crash failed: still running after scenario $scenario"
