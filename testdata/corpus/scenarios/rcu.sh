# rcu (issue 15): the test module pycore_stall (modules/pycore_stall.c,
# unsigned: taint OE). pycore_stall_a holds the spinlock pycore_stall_lock on
# CPU 0 with preemption disabled, so the grace period pycore_stall_sync waits
# for in synchronize_rcu never ends; they are listed, then pycore_stall_b
# spins for the lock on CPU 1 and the RCU CPU stall detector panics.
scenario_setup() {
    insmod /test-modules/pycore_stall.ko || stop "rcu setup failed: insmod pycore_stall.ko"
    # Read when a grace period starts: the stall is reported this long after
    # hold=1, time enough for the listings. The soft lockup watchdog (2 *
    # watchdog_thresh) and khungtaskd must not end it first.
    echo 20 > /sys/module/rcupdate/parameters/rcu_cpu_stall_timeout
    echo 1 > /proc/sys/kernel/panic_on_rcu_stall
    echo 0 > /proc/sys/kernel/softlockup_panic
    echo 60 > /proc/sys/kernel/watchdog_thresh
    echo 0 > /proc/sys/kernel/hung_task_panic
    echo 1 > /sys/module/pycore_stall/parameters/hold || stop "rcu setup failed: no grace period began"
}

scenario_view() {
    show blocked pycore-blocked
}

scenario_crash() {
    echo "PYCORE: crashing via the RCU CPU stall detector (panic_on_rcu_stall=1, rcu_cpu_stall_timeout 20 s)"
    echo 1 > /sys/module/pycore_stall/parameters/spin
    sleep 120
}
