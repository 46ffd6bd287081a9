# oom: panic_on_oom=1 and two dd hogs of 70% of memory each.
scenario_crash() {
    echo 1 > /proc/sys/vm/panic_on_oom
    echo "PYCORE: crashing via OOM (panic_on_oom=1)"
    pycore-hog &
    pycore-hog &
    wait
}
