# hung (issue 15): an ext2 filesystem (mounted by the ext4 driver) on the
# third disk, frozen with FIFREEZE. frozenwriter writes to a file on it: it
# takes the shared open file's f_pos_lock (a mutex: the file is open in init
# too) and blocks in sb_start_write (the superblock's percpu_rw_semaphore).
# poswriter writes through the same open file and blocks on that f_pos_lock
# behind it: a wait-for chain of two. khungtaskd panics.
scenario_setup() {
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
}

scenario_view() {
    show mounts cat /proc/mounts
    show blocked pycore-blocked
}

scenario_crash() {
    # khungtaskd checks every timeout seconds; it panics on the second
    # look at a task that has not run in between.
    echo 1 > /proc/sys/kernel/hung_task_panic
    echo 5 > /proc/sys/kernel/hung_task_timeout_secs
    echo "PYCORE: crashing via the hung-task watchdog (hung_task_panic=1, timeout 5 s)"
    sleep 120
}
