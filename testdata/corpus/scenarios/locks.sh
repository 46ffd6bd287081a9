# locks (issue 15): the corpus's test module pycore_locks
# (modules/pycore_locks.c, unsigned: taint OE) starts kthreads that deadlock
# ABBA on two mutexes and queue an rwsem reader behind a writer sleeping
# with it held; they are listed, then pycore_spin's soft lockup panics.
scenario_setup() {
    insmod /test-modules/pycore_locks.ko || stop "locks setup failed: insmod pycore_locks.ko"
    sleep 2
}

scenario_view() {
    show blocked pycore-blocked
}

scenario_crash() {
    # The soft lockup watchdog reports a CPU stuck for 2 * watchdog_thresh
    # seconds; the blocked kthreads must not end it as hung tasks first.
    echo 0 > /proc/sys/kernel/hung_task_panic
    echo 1 > /proc/sys/kernel/softlockup_panic
    echo 3 > /proc/sys/kernel/watchdog_thresh
    echo "PYCORE: crashing via the soft lockup watchdog (softlockup_panic=1, watchdog_thresh 3 s)"
    echo 1 > /sys/module/pycore_locks/parameters/spin
    sleep 120
}
