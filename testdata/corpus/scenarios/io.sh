# io (issues 15 and 13): I/O that never completes, and idle sockets.
# null_blk (Debian's module and configfs, /modules/io) is a blk-mq disk,
# nullb0, whose every request ends COMPLETION_NSEC after it starts
# (irqmode=2: an hrtimer per request): longer than the rest of the guest's
# life (about 15 s; a loaded host stretches it). add_disk's partition scan
# reads sector 0 inside insmod (null_blk's disks take partitions; the efi
# and msdos parsers read it in turn), so insmod itself waits twice that
# long; null_blk's 5 s request timeout (which leaves the request to its
# timer) is raised before the scenario's I/O. In order:
#   dd iflag=direct reads block 8: a bio waited for in submit_bio_wait,
#     whose wakeups every half hung-task timeout were set from the default
#     120 s before the crash lowers it (khungtaskd reports it);
#   dd conv=fsync writes block 64 and waits uninterruptibly for the page's
#     writeback (khungtaskd reports it);
#   two buffered dd readers of block 0 (no lseek: blkdev_llseek would wait
#     for the bdev inode's i_rwsem, which a buffered read holds shared on
#     6.1.192 and 7.2): the first's readahead request holds the folio
#     locked, both wait killably for its lock (listed, not reported).
# Beside them, a TCP connection over loopback between two busybox nc
# (a listener, IPv6 with the client's v4-mapped address, and its client;
# idle, stdin a FIFO nobody writes) and pycore-unix's unix sockets.
COMPLETION_NSEC=120000000000

scenario_setup() {
    for module in $(cat /modules/io/order); do
        options=
        [ "$module" = null_blk.ko ] && options="nr_devices=1 queue_mode=2 irqmode=2 completion_nsec=$COMPLETION_NSEC gb=1"
        insmod "/modules/io/$module" $options || stop "io setup failed: insmod $module"
    done
    [ -b /dev/nullb0 ] || stop "io setup failed: no /dev/nullb0"
    echo 3600000 > /sys/block/nullb0/queue/io_timeout || stop "io setup failed: nullb0 io_timeout"
    dd if=/dev/nullb0 of=/dev/null bs=4096 skip=8 count=1 iflag=direct 2>/dev/null &
    sleep 1
    dd if=/dev/zero of=/dev/nullb0 bs=4096 seek=64 count=1 conv=notrunc,fsync 2>/dev/null &
    sleep 1
    dd if=/dev/nullb0 of=/dev/null bs=4096 count=1 2>/dev/null &
    sleep 1
    dd if=/dev/nullb0 of=/dev/null bs=4096 count=1 2>/dev/null &

    ip link set lo up || stop "io setup failed: lo up"
    mkfifo /tmp/pycore-net.fifo
    nc -l -p 7777 <> /tmp/pycore-net.fifo > /dev/null 2>&1 &
    echo "nc-listener $!" > /tmp/pycore-net.pids
    sleep 1
    nc 127.0.0.1 7777 <> /tmp/pycore-net.fifo > /dev/null 2>&1 &
    echo "nc-client $!" >> /tmp/pycore-net.pids
    pycore-unix /tmp/pycore.sock &
    echo "pycore-unix $!" >> /tmp/pycore-net.pids
    sleep 2
    grep -q " 01 " /proc/net/tcp || stop "io setup failed: no established TCP connection"
}

scenario_view() {
    show blocked pycore-blocked
    show inflight cat /sys/block/nullb0/inflight
    show diskstats grep nullb0 /proc/diskstats
    show tcp cat /proc/net/tcp
    show tcp6 cat /proc/net/tcp6
    show unix cat /proc/net/unix
    show net_tasks pycore-net-tasks
}

scenario_crash() {
    # khungtaskd checks every timeout seconds; it panics on the second
    # look at a task that has not run in between.
    echo 1 > /proc/sys/kernel/hung_task_panic
    echo 5 > /proc/sys/kernel/hung_task_timeout_secs
    echo "PYCORE: crashing via the hung-task watchdog (hung_task_panic=1, timeout 5 s)"
    sleep 120
}
