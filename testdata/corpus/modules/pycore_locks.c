// SPDX-License-Identifier: GPL-2.0
/*
 * pycore_locks: the lock corpus case's test module (testdata/corpus, case
 * *-locks-*). Loading it leaves kernel threads blocked the way pycore's
 * hang analysis has to explain:
 *
 *   pycore_abba_a, pycore_abba_b  an ABBA deadlock: each takes one of the
 *                                 mutexes pycore_mutex_a / pycore_mutex_b,
 *                                 sleeps, then waits for the other's
 *   pycore_rwsem_w                holds pycore_rwsem for write and sleeps
 *                                 uninterruptibly (msleep) for an hour
 *   pycore_rwsem_r                down_read(pycore_rwsem): queued behind it
 *
 * Writing 1 to /sys/module/pycore_locks/parameters/spin starts pycore_spin,
 * bound to the last online CPU, looping with preemption disabled: the soft
 * lockup watchdog fires (kernel.softlockup_panic=1 makes it panic). The
 * spinner is started separately so that the guest can list the blocked
 * tasks before the panic.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched.h>

static DEFINE_MUTEX(pycore_mutex_a);
static DEFINE_MUTEX(pycore_mutex_b);
static DECLARE_RWSEM(pycore_rwsem);
static DECLARE_COMPLETION(pycore_rwsem_written);
static bool pycore_spinning;

struct pycore_abba {
	struct mutex *first;
	struct mutex *second;
};

static struct pycore_abba pycore_order_a = { &pycore_mutex_a, &pycore_mutex_b };
static struct pycore_abba pycore_order_b = { &pycore_mutex_b, &pycore_mutex_a };

/* Never returns: the second mutex_lock waits for the other thread forever. */
static int pycore_abba_thread(void *data)
{
	struct pycore_abba *order = data;

	mutex_lock(order->first);
	msleep(500);
	mutex_lock(order->second);
	return 0;
}

static int pycore_rwsem_writer(void *data)
{
	down_write(&pycore_rwsem);
	complete(&pycore_rwsem_written);
	for (;;)
		msleep(3600 * 1000);
	return 0;
}

static int pycore_rwsem_reader(void *data)
{
	down_read(&pycore_rwsem);
	return 0;
}

/* Not inlined, so that the looping frame has a name of its own on the stack. */
static noinline void pycore_spin_loop(void)
{
	for (;;)
		cpu_relax();
}

static int pycore_spin_thread(void *data)
{
	preempt_disable();
	pycore_spin_loop();
	return 0;
}

static int pycore_start(int (*fn)(void *), void *data, const char *name, int cpu)
{
	struct task_struct *task = kthread_create(fn, data, "%s", name);

	if (IS_ERR(task))
		return PTR_ERR(task);
	if (cpu >= 0)
		kthread_bind(task, cpu);
	wake_up_process(task);
	return 0;
}

static int pycore_spin_set(const char *value, const struct kernel_param *kp)
{
	bool start;
	int err = kstrtobool(value, &start);

	if (err)
		return err;
	if (!start || pycore_spinning)
		return 0;
	pycore_spinning = true;
	return pycore_start(pycore_spin_thread, NULL, "pycore_spin", nr_cpu_ids - 1);
}

static const struct kernel_param_ops pycore_spin_ops = {
	.set = pycore_spin_set,
	.get = param_get_bool,
};
module_param_cb(spin, &pycore_spin_ops, &pycore_spinning, 0200);
MODULE_PARM_DESC(spin, "write 1 to start pycore_spin (a soft lockup on the last CPU)");

static int __init pycore_locks_init(void)
{
	int err;

	err = pycore_start(pycore_abba_thread, &pycore_order_a, "pycore_abba_a", -1);
	if (!err)
		err = pycore_start(pycore_abba_thread, &pycore_order_b, "pycore_abba_b", -1);
	if (!err)
		err = pycore_start(pycore_rwsem_writer, NULL, "pycore_rwsem_w", -1);
	if (err)
		return err;
	/* The reader must queue behind a writer that already holds the rwsem. */
	wait_for_completion(&pycore_rwsem_written);
	return pycore_start(pycore_rwsem_reader, NULL, "pycore_rwsem_r", -1);
}
module_init(pycore_locks_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pycore corpus: an ABBA mutex deadlock, an rwsem reader behind a sleeping writer, a soft lockup");
