// SPDX-License-Identifier: GPL-2.0
/*
 * pycore_stall: the RCU stall corpus case's test module (testdata/corpus,
 * case *-rcu-*). Loading it starts nothing; two writes to its parameters
 * make a grace period that never ends and a spinlock nobody gets:
 *
 *   hold=1  pycore_stall_a, bound to CPU 0, takes the spinlock
 *           pycore_stall_lock and, with it held (preemption disabled: CPU 0
 *           reports no quiescent state), loops in pycore_stall_hold until
 *           `release` is written; pycore_stall_sync sleeps (D) in
 *           synchronize_rcu. The write returns once a grace period that
 *           needs CPU 0 is in progress, so that the guest can list them.
 *   spin=1  pycore_stall_b, bound to CPU 1, spins in
 *           spin_lock(&pycore_stall_lock).
 *
 * The RCU CPU stall detector then reports CPU 0 (kernel.panic_on_rcu_stall=1
 * makes it panic) rcupdate.rcu_cpu_stall_timeout seconds after the grace
 * period began.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>

/* kernel/rcu/tree.c exports it (rcutorture's); no public header declares it. */
extern unsigned long rcu_get_gp_seq(void);

static DEFINE_SPINLOCK(pycore_stall_lock);
static DECLARE_COMPLETION(pycore_stall_held);
static bool pycore_holding, pycore_spinning;
/* Written through sysfs only, so the compiler cannot take the loop for an endless one. */
static bool release;
module_param(release, bool, 0200);
MODULE_PARM_DESC(release, "write 1 to let pycore_stall_a drop pycore_stall_lock");

/* Not inlined, and given the lock, as code that waits for a condition under a spinlock is. */
static noinline void pycore_stall_hold(spinlock_t *lock)
{
	while (!READ_ONCE(release))
		cpu_relax();
	spin_unlock(lock);
}

static int pycore_stall_holder(void *data)
{
	spin_lock(&pycore_stall_lock);
	complete(&pycore_stall_held);
	pycore_stall_hold(&pycore_stall_lock);
	return 0;
}

static int pycore_stall_waiter(void *data)
{
	spin_lock(&pycore_stall_lock);
	spin_unlock(&pycore_stall_lock);
	return 0;
}

static int pycore_stall_sync(void *data)
{
	synchronize_rcu();
	return 0;
}

static int pycore_start(int (*fn)(void *), const char *name, int cpu)
{
	struct task_struct *task = kthread_create(fn, NULL, "%s", name);

	if (IS_ERR(task))
		return PTR_ERR(task);
	if (cpu >= 0)
		kthread_bind(task, cpu);
	wake_up_process(task);
	return 0;
}

/*
 * Ask for a grace period and wait until one is stuck: in progress (the low
 * two bits of rcu_state.gp_seq set) and still the same one 200 ms later, long
 * after every CPU but CPU 0 has passed a quiescent state. The one in progress
 * when CPU 0 stopped may have had CPU 0's already: it ends, and the one asked
 * for starts. (start_poll_synchronize_rcu()'s cookie is no help here: 6.1
 * counts polled grace periods apart, in gp_seq_polled.)
 */
static int pycore_wait_for_stuck_grace_period(void)
{
	unsigned long seq;
	int tries;

	start_poll_synchronize_rcu();
	for (tries = 0; tries < 25; tries++) {
		seq = rcu_get_gp_seq();
		msleep(200);
		if ((seq & 3) && rcu_get_gp_seq() == seq)
			return 0;
	}
	return -ETIMEDOUT;
}

static int pycore_hold_set(const char *value, const struct kernel_param *kp)
{
	bool start;
	int err = kstrtobool(value, &start);

	if (err)
		return err;
	if (!start || pycore_holding)
		return 0;
	pycore_holding = true;
	err = pycore_start(pycore_stall_holder, "pycore_stall_a", 0);
	if (err)
		return err;
	wait_for_completion(&pycore_stall_held);
	err = pycore_wait_for_stuck_grace_period();
	if (err)
		return err;
	return pycore_start(pycore_stall_sync, "pycore_stall_sync", -1);
}

static int pycore_spin_set(const char *value, const struct kernel_param *kp)
{
	bool start;
	int err = kstrtobool(value, &start);

	if (err)
		return err;
	if (!start || pycore_spinning)
		return 0;
	if (!pycore_holding)
		return -EINVAL;
	pycore_spinning = true;
	return pycore_start(pycore_stall_waiter, "pycore_stall_b", 1);
}

static const struct kernel_param_ops pycore_hold_ops = {
	.set = pycore_hold_set,
	.get = param_get_bool,
};
module_param_cb(hold, &pycore_hold_ops, &pycore_holding, 0200);
MODULE_PARM_DESC(hold, "write 1 to start pycore_stall_a (holds pycore_stall_lock on CPU 0) and pycore_stall_sync");

static const struct kernel_param_ops pycore_spin_ops = {
	.set = pycore_spin_set,
	.get = param_get_bool,
};
module_param_cb(spin, &pycore_spin_ops, &pycore_spinning, 0200);
MODULE_PARM_DESC(spin, "write 1 (after hold) to start pycore_stall_b spinning for pycore_stall_lock on CPU 1");

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pycore corpus: an RCU CPU stall by a spinlock holder, a waiter spinning for it, a synchronize_rcu sleeper");
