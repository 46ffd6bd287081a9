# large (issues 11 and 18): a guest of 4 GiB over two NUMA nodes and 4 CPUs
# (build.py CASES: numa_nodes, cpus) with over two thousand tasks in a spread of
# states: 2000 busybox sleeps (S), cats reading empty pipes (S, pipe_read),
# readers opening FIFOs no one writes (S, fifo_open), stopped sleeps (T),
# zombies no one reaps (Z) and spinners bound to CPUs 1-3 (R, two on CPU 3 so
# that its run queue holds a waiting task); then sysrq-c.
scenario_setup() {
    # In a subshell: the sleeps are init's children but not its jobs. 2000, not the 3000 of the
    # first build: crash's references walk the task list through gdb (reference.py's per-dump
    # `list -s task_struct.pid` form, about 5 tasks a second on the loaded 2-core build host),
    # and 3200 tasks outlasted its 900 s crash session.
    ( for i in $(seq 2000); do sleep 100000 & done )
    for i in $(seq 20); do
        ( sleep 100000 | cat ) &
    done
    for i in $(seq 10); do
        mkfifo /tmp/pycore-large.fifo$i
        pycore-reader /tmp/pycore-large.fifo$i &
    done
    # Stopped once they run sleep: a SIGSTOP right after the fork stops the shell's child before its exec.
    stopped=
    for i in $(seq 10); do
        sleep 100000 &
        stopped="$stopped $!"
    done
    sleep 2
    kill -STOP $stopped
    # The shell forks "sleep 0" and becomes "sleep 100000", which never waits for it.
    for i in $(seq 10); do
        sh -c 'sleep 0 & exec sleep 100000' &
    done
    # Niced: the shell's listings still get the CPUs' time under TCG.
    for cpu in 1 2 3 3; do
        taskset -c $cpu pycore-spin &
        renice -n 19 -p $! >/dev/null
    done
    sleep 5
    echo "PYCORE: large: $(ls -d /proc/[0-9]* | wc -l) processes, $(nproc) CPUs," \
        "nodes $(ls -d /sys/devices/system/node/node* | tr '\n' ' ')"
}

scenario_crash() {
    # ps printed thousands of lines: let the serial port drain them before the panic.
    sleep 10
    echo "PYCORE: crashing via sysrq-c"
    echo c > /proc/sysrq-trigger
}
