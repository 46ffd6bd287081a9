# swap (issue 16): zram swap devices, one per compressor the kernel's zram
# offers (6.12: zstd, deflate, lz4hc, lz4). busybox's swapon has no -p: each
# device gets a lower priority than the one before, so the small ones fill
# first and the pages spread over all four. pycore-swapper writes known bytes
# to anonymous memory; two reads of most of memory push them out; sysrq-c.
scenario_setup() {
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
}

scenario_view() {
    show swaps cat /proc/swaps
    show zram pycore-zram-stat
}

scenario_crash() {
    echo "PYCORE: crashing via sysrq-c"
    echo c > /proc/sysrq-trigger
}
