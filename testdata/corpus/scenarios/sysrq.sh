# sysrq: `echo c > /proc/sysrq-trigger` (the kernel's own "crash now").
scenario_crash() {
    echo "PYCORE: crashing via sysrq-c"
    echo c > /proc/sysrq-trigger
}
