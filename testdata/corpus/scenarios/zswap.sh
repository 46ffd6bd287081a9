# zswap (issue 16): the swap scenario (scenarios/swap.sh, sourced: its zram
# devices, swapper and memory pressure) with zswap in front of the zram
# devices and its pool held to 5% of memory, so that the swapper's pages end
# up both in zswap's pool (lzo, zsmalloc: the generic kernel's defaults) and,
# rejected or written back once the pool is full, in zram behind it. Needs a
# kernel built with CONFIG_ZSWAP (Debian's generic flavour, not the cloud
# one). A case's recipe hashes this file, not swap.sh: rebuild the zswap
# cases by hand (--force) after changing swap.sh.
. /scenarios/swap.sh
[ -e /sys/module/zswap/parameters/max_pool_percent ] || stop "zswap setup failed: the kernel has no zswap"
echo 5 > /sys/module/zswap/parameters/max_pool_percent || stop "zswap setup failed: max_pool_percent"
